using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using SpanAttention.Vision;
using Xunit;

// In the Kernels namespace so CI re-runs these under Vector512-forced, AVX-512-off and scalar: the convolution's
// arithmetic is the packed GEMM's micro-kernels, and the lowering's stride-1 paths go through TensorPrimitives.
namespace SpanAttention.Tests.Kernels.Vision;

/// <summary>The fast convolution (im2col + packed GEMM) against its naive twin run in double.</summary>
public class Conv2dTests
{
    /// <summary>(B, C_in, C_out, H, W, k, s, p): every k in {1, 3, 5} x s in {1, 2} x p in {0, 1, 2}, channels 1..17, prime and tiny images, and a few large ones past the GEMM's tiles and KC slice.</summary>
    public static TheoryData<int, int, int, int, int, int, int, int> Cases()
    {
        var data = new TheoryData<int, int, int, int, int, int, int, int>();
        int[] sizes = [1, 2, 3, 5, 7, 8, 11, 13, 17, 4, 9, 6];
        int n = 0;
        foreach (int k in new[] { 1, 3, 5 })
        {
            foreach (int s in new[] { 1, 2 })
            {
                foreach (int p in new[] { 0, 1, 2 })
                {
                    for (int v = 0; v < 3; v++, n++)
                    {
                        int h = sizes[n % sizes.Length], w = sizes[(n * 5 + 3) % sizes.Length];
                        h = Math.Max(h, k - 2 * p);       // the image must hold one kernel position
                        w = Math.Max(w, k - 2 * p);
                        int cIn = 1 + n * 7 % 17, cOut = 1 + (n * 11 + 4) % 17;
                        data.Add(1 + n % 3, cIn, cOut, h, w, k, s, p);
                    }
                }
            }
        }
        data.Add(2, 17, 17, 23, 19, 5, 1, 2);                // K = 425 > KC: two k slices
        data.Add(1, 3, 33, 37, 41, 3, 1, 1);                 // P = 1517, C_out past an MR tile
        data.Add(3, 16, 32, 12, 12, 3, 2, 1);                // whole tiles
        data.Add(2, 9, 5, 31, 29, 1, 1, 0);                  // the pointwise path on a prime image
        data.Add(2, 9, 5, 31, 29, 1, 2, 0);                  // 1 x 1 with stride: lowered
        data.Add(1, 2, 3, 1, 1, 5, 1, 2);                    // a 1 x 1 image, everything but the centre is padding
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardBackward_AnyGeometry_MatchNaiveTwin(int batch, int cIn, int cOut, int height, int width, int k, int s, int p)
    {
        var g = new Conv2dGeometry(cIn, cOut, k, s, p);
        int oh = g.OutputSize(height, "h"), ow = g.OutputSize(width, "w");
        int seed = ((batch * 31 + cIn) * 31 + cOut) * 31 + height * 7 + width + k + s * 3 + p * 5;
        float[] x = Numerics.Random(batch * cIn * height * width, seed), weight = Numerics.Random(g.WeightSize, seed + 1);
        float[] bias = Numerics.Random(cOut, seed + 2), dy = Numerics.Random(batch * cOut * oh * ow, seed + 3);
        var conv = new Conv2d(g, height, width);

        CanaryBuffer y = Canary.Filled(dy.Length, float.NaN);         // every element must be written
        conv.Forward(x, batch, height, width, weight, bias, y);
        var expectedY = new double[dy.Length];
        NaiveVision.Conv2dForward<double>(g, D(x), batch, height, width, D(weight), D(bias), expectedY);
        float patchScale = MathF.Sqrt(g.PatchSize);
        AssertClose(expectedY, y.Span, 2e-6f * patchScale + 1e-5f, "y");

        // Backward accumulates onto whatever the gradients hold.
        CanaryBuffer dX = Canary.From(Numerics.Random(x.Length, seed + 4));
        CanaryBuffer dW = Canary.From(Numerics.Random(weight.Length, seed + 5));
        CanaryBuffer dB = Canary.From(Numerics.Random(cOut, seed + 6));
        double[] expectedDx = D(dX.Span), expectedDw = D(dW.Span), expectedDb = D(dB.Span);
        conv.Backward(dy, x, batch, height, width, weight, dX, dW, dB);
        NaiveVision.Conv2dBackward<double>(g, D(dy), D(x), batch, height, width, D(weight), expectedDx, expectedDw, expectedDb);
        float outputScale = MathF.Sqrt(batch * oh * ow);
        AssertClose(expectedDx, dX.Span, 2e-6f * MathF.Sqrt(cOut * k * k) + 1e-5f, "dX");
        AssertClose(expectedDw, dW.Span, 2e-6f * outputScale + 1e-5f, "dWeight");
        AssertClose(expectedDb, dB.Span, 2e-6f * outputScale + 1e-5f, "dBias");
        Canary.AssertIntact("conv", ("y", y), ("dX", dX), ("dW", dW), ("dB", dB));
    }

    [Property(MaxTest = 60)]
    public Property ForwardBackward_RandomGeometry_MatchNaiveTwin()
    {
        Gen<int[]> cases =
            from k in Gen.Elements(1, 2, 3, 4, 5)
            from s in Gen.Choose(1, 3)
            from p in Gen.Choose(0, 2)
            from h in Gen.Choose(1, 20)
            from w in Gen.Choose(1, 20)
            from cIn in Gen.Choose(1, 17)
            from cOut in Gen.Choose(1, 17)
            from b in Gen.Choose(0, 3)
            select new[] { b, cIn, cOut, Math.Max(h, k - 2 * p), Math.Max(w, k - 2 * p), k, s, p };
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            ForwardBackward_AnyGeometry_MatchNaiveTwin(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
            return true;
        });
    }

    [Fact]
    public void Backward_EmptyDx_SkipsTheInputGradientOnly()
    {
        var g = new Conv2dGeometry(3, 5, 3, 1, 1);
        var conv = new Conv2d(g, 9, 7);
        float[] x = Numerics.Random(2 * 3 * 9 * 7, 1), weight = Numerics.Random(g.WeightSize, 2), dy = Numerics.Random(2 * 5 * 9 * 7, 3);
        float[] dW = new float[g.WeightSize], dB = new float[5], dWFull = new float[g.WeightSize], dBFull = new float[5];
        conv.Backward(dy, x, 2, 9, 7, weight, Span<float>.Empty, dW, dB);
        conv.Backward(dy, x, 2, 9, 7, weight, new float[x.Length], dWFull, dBFull);
        Numerics.AssertEqual(dWFull, dW, "dWeight");
        Numerics.AssertEqual(dBFull, dB, "dBias");
    }

    [Fact]
    public void Forward_SmallerImageAfterLarger_ReusesTheBuffers()
    {
        var g = new Conv2dGeometry(2, 3, 3, 2, 1);
        var conv = new Conv2d(g, 16, 16);
        int capacity = conv.Capacity;
        foreach ((int h, int w) in new[] { (16, 16), (5, 9), (16, 3) })
        {
            int oh = g.OutputSize(h, "h"), ow = g.OutputSize(w, "w");
            float[] x = Numerics.Random(2 * h * w, h * w), weight = Numerics.Random(g.WeightSize, 7), bias = Numerics.Random(3, 8);
            var y = new float[3 * oh * ow];
            conv.Forward(x, 1, h, w, weight, bias, y);
            var expected = new double[y.Length];
            NaiveVision.Conv2dForward<double>(g, D(x), 1, h, w, D(weight), D(bias), expected);
            AssertClose(expected, y, 1e-5f, $"{h}x{w}");
        }
        Assert.Equal(capacity, conv.Capacity);
    }

    [Fact]
    public void Calls_BadArguments_ThrowNamingTheArgument()
    {
        var g = new Conv2dGeometry(2, 3, 3, 1, 0);
        var conv = new Conv2d(g, 8, 8);
        float[] x = new float[2 * 8 * 8], w = new float[g.WeightSize], b = new float[3], y = new float[3 * 6 * 6];
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => conv.Forward(new float[5], 1, 8, 8, w, b, y)).ParamName);
        Assert.Equal("weight", Assert.Throws<ArgumentException>(() => conv.Forward(x, 1, 8, 8, new float[3], b, y)).ParamName);
        Assert.Equal("bias", Assert.Throws<ArgumentException>(() => conv.Forward(x, 1, 8, 8, w, new float[2], y)).ParamName);
        Assert.Equal("y", Assert.Throws<ArgumentException>(() => conv.Forward(x, 1, 8, 8, w, b, new float[7])).ParamName);
        Assert.Equal("height", Assert.Throws<ArgumentOutOfRangeException>(() => conv.Forward(new float[2 * 2 * 8], 1, 2, 8, w, b, Array.Empty<float>())).ParamName);
        var tooLarge = Assert.Throws<ArgumentOutOfRangeException>(() => conv.Forward(new float[2 * 9 * 9], 1, 9, 9, w, b, new float[3 * 7 * 7]));
        Assert.Contains(nameof(Conv2d.EnsureCapacity), tooLarge.Message);
        Assert.Equal("dX", Assert.Throws<ArgumentException>(() => conv.Backward(y, x, 1, 8, 8, w, new float[3], w, b)).ParamName);
        Assert.Equal("dY", Assert.Throws<ArgumentException>(() => conv.Backward(x, x, 1, 8, 8, w, x, w, b)).ParamName);
        Assert.Equal("dBias", Assert.Throws<ArgumentException>(() => conv.Backward(y, x, 1, 8, 8, w, x, w, new float[1])).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2dGeometry(0, 1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2dGeometry(1, 1, 3, stride: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2dGeometry(1, 1, 3, padding: -1));
    }

    [Fact]
    public void ForwardBackward_SteadyState_AllocateNothing()
    {
        // 2·C_out·P·K = 0.1 MFLOP per GEMM: below KernelThreads.ParallelThresholdFlops, so on the calling thread.
        var g = new Conv2dGeometry(3, 8, 3, 1, 1);
        var conv = new Conv2d(g, 16, 16);
        float[] x = Numerics.Random(2 * 3 * 16 * 16, 1), w = Numerics.Random(g.WeightSize, 2), b = Numerics.Random(8, 3);
        float[] y = new float[2 * 8 * 16 * 16], dx = new float[x.Length], dw = new float[w.Length], db = new float[8];
        var pointwise = new Conv2d(new Conv2dGeometry(8, 4, 1), 16, 16);
        float[] w1 = Numerics.Random(32, 4), b1 = Numerics.Random(4, 5), y1 = new float[2 * 4 * 16 * 16], dy1 = new float[y1.Length];
        long bytes = Allocations.AfterWarmUp(() =>
        {
            conv.Forward(x, 2, 16, 16, w, b, y);
            pointwise.Forward(y, 2, 16, 16, w1, b1, y1);
            pointwise.Backward(dy1, y, 2, 16, 16, w1, y, w1, b1);
            conv.Backward(y, x, 2, 16, 16, w, dx, dw, db);
        });
        Assert.Equal(0, bytes);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(17)]
    [InlineData(33)]
    public void Relu_FeatureMaps_MatchNaiveTwin(int channels)
    {
        // ReLU over (B, C, H, W) is the element-wise Activations.Relu over the flat buffer.
        int n = 2 * channels * 13 * 11;
        float[] x = Numerics.Random(n, channels, 3f), dy = Numerics.Random(n, channels + 1);
        CanaryBuffer y = Canary.Filled(n, float.NaN);
        var expected = new float[n];
        Activations.Relu(x, y);
        Naive.Relu(x, expected);
        Numerics.AssertEqual(expected, y.Span, "relu");
        CanaryBuffer dx = Canary.From(Numerics.Random(n, channels + 2));
        float[] expectedDx = dx.ToArray();
        Activations.ReluBackward(y.Span, dy, dx);
        Naive.ReluBackward(y.Span, dy, expectedDx);
        Numerics.AssertEqual(expectedDx, dx.Span, "dx");
        Canary.AssertIntact("relu", ("y", y), ("dx", dx));
    }

    internal static double[] D(ReadOnlySpan<float> values)
    {
        var d = new double[values.Length];
        for (int i = 0; i < d.Length; i++)
        {
            d[i] = values[i];
        }
        return d;
    }

    /// <summary>|expected - actual| ≤ tolerance·(1 + |expected|), naming the first element that fails.</summary>
    internal static void AssertClose(double[] expected, ReadOnlySpan<float> actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (!(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i]))))
            {
                Assert.Fail($"{what}[{i}] of {expected.Length}: {actual[i]:R}, expected {expected[i]:R} (tolerance {tolerance})");
            }
        }
    }
}
