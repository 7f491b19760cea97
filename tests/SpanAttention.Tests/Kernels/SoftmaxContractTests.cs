using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

/// <summary>
/// The parts of <see cref="Softmax"/>'s contract the size sweeps do not reach: the row-wise forward without
/// lengths, the row-wise backward, the bool-mask overload with an empty mask, and every length guard,
/// each asserted on the argument it names.
/// </summary>
public class SoftmaxContractTests
{
    public static TheoryData<int> Sizes => Numerics.SizeData();

    /// <summary>
    /// Backward is one fused multiply-add per element on every path (512-bit blocks, 256-bit blocks, scalar
    /// tail), so its bits do not depend on which path reaches an element: at every size the result equals
    /// fma(w_j, dW_j - dot, dS_j) with dot = Σ w_i dW_i as TensorPrimitives.Dot computes it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Sizes))]
    public void Backward_AnySize_IsOneFusedMultiplyAddPerElement(int n)
    {
        float[] weights = new float[n];
        Softmax.Forward(Numerics.Random(n, seed: 60 + n, scale: 3f), weights);
        float[] dWeights = Numerics.Random(n, seed: 61 + n), start = Numerics.Random(n, seed: 62 + n);
        float dot = System.Numerics.Tensors.TensorPrimitives.Dot(weights, dWeights);
        var expected = new float[n];
        for (int j = 0; j < n; j++)
        {
            expected[j] = MathF.FusedMultiplyAdd(weights[j], dWeights[j] - dot, start[j]);
        }
        CanaryBuffer dScores = Canary.From(start);
        Softmax.Backward(weights, dWeights, dScores);
        Numerics.AssertEqual(expected, dScores, $"n={n}");
        dScores.AssertIntact($"n={n}");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 17)]
    [InlineData(4, 33)]
    [InlineData(2, 70)]
    public void ForwardRows_NoLengths_EveryRowIsTheFullSoftmax(int rows, int cols)
    {
        float[] scores = Numerics.Random(rows * cols, seed: 40 + cols, scale: 6f);
        CanaryBuffer weights = Canary.Filled(rows * cols, float.NaN);
        Softmax.ForwardRows(scores, rows, cols, ReadOnlySpan<int>.Empty, weights);
        for (int r = 0; r < rows; r++)
        {
            var expected = new float[cols];
            Naive.Softmax(scores.AsSpan(r * cols, cols), ReadOnlySpan<bool>.Empty, expected);
            Numerics.AssertClose(expected, weights.Span.Slice(r * cols, cols), 2e-5f, 1e-7f, $"row {r}");
        }
        weights.AssertIntact($"{rows}x{cols}");
    }

    /// <summary>Every position for small rows; for long ones the starts of the vector blocks, the middle and the
    /// last 17 (the 256-bit block and the scalar remainder).</summary>
    private static IEnumerable<int> EveryBlockPosition(int n) => n <= 70
        ? Enumerable.Range(0, n)
        : new[] { 0, 1, 15, 16, 17, 31, 32, n / 2 }.Concat(Enumerable.Range(n - 17, 17)).Distinct();

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_OneLogitFarAboveTheRest_GetsWeightExactlyOneWherever(int n)
    {
        // s = -100 except s_p = 0: the max must be found wherever p is (plain, prefix and mask forms; a masked
        // +100 next to it must not count). A max that misses p gives exp(+100) = ∞ and NaN weights; one that reads
        // past the row's end picks up a canary (13579.25) and gives NaN too.
        if (n == 0)
        {
            return;
        }
        bool[] valid = [.. Enumerable.Repeat(true, n)];
        foreach (int p in EveryBlockPosition(n))
        {
            CanaryBuffer scores = Canary.Filled(n, -100f);
            scores[p] = 0f;
            CanaryBuffer plain = Canary.Filled(n, float.NaN), masked = Canary.Filled(n, float.NaN), prefix = Canary.Filled(n, float.NaN);
            Softmax.Forward(scores, plain);
            Softmax.Forward(scores, valid, masked);
            Softmax.Forward(scores, p + 1, prefix);
            int q = (p + 1) % n;
            if (q != p)
            {
                scores[q] = 100f;
                valid[q] = false;
            }
            CanaryBuffer maskedPlus = Canary.Filled(n, float.NaN);
            Softmax.Forward(scores, valid, maskedPlus);
            valid[q] = true;
            foreach ((string form, CanaryBuffer w) in new[] { ("plain", plain), ("mask", masked), ("prefix", prefix), ("masked +100", maskedPlus) })
            {
                w.AssertIntact($"n={n} p={p} {form}");
                for (int j = 0; j < n; j++)
                {
                    Assert.True(j == p ? w[j] == 1f : w[j] >= 0f && w[j] < 1e-38f, $"n={n} p={p} {form}: w[{j}] = {w[j]}");
                }
            }
            scores.AssertIntact($"n={n} p={p} scores");
        }
    }

    [Fact]
    public void ForwardRows_InPlace_EqualsOutOfPlace()
    {
        const int rows = 3, cols = 21;
        float[] scores = Numerics.Random(rows * cols, seed: 41, scale: 6f);
        var expected = new float[rows * cols];
        Softmax.ForwardRows(scores, rows, cols, [21, 5, 0], expected);
        float[] inPlace = (float[])scores.Clone();
        Softmax.ForwardRows(inPlace, rows, cols, [21, 5, 0], inPlace);
        Numerics.AssertEqual(expected, inPlace);
    }

    [Fact]
    public void ForwardRows_BadShapes_ThrowNamingTheArgument()
    {
        Assert.Equal("scores", Assert.ThrowsAny<ArgumentException>(() => Softmax.ForwardRows(new float[5], 2, 3, ReadOnlySpan<int>.Empty, new float[6])).ParamName);
        Assert.Equal("weights", Assert.ThrowsAny<ArgumentException>(() => Softmax.ForwardRows(new float[6], 2, 3, ReadOnlySpan<int>.Empty, new float[5])).ParamName);
        Assert.Equal("validLengths", Assert.ThrowsAny<ArgumentException>(() => Softmax.ForwardRows(new float[6], 2, 3, [3], new float[6])).ParamName);
        Assert.Equal("validLengths", Assert.ThrowsAny<ArgumentException>(() => Softmax.ForwardRows(new float[6], 2, 3, [3, 3, 3], new float[6])).ParamName);
        Assert.Equal("validLength", Assert.ThrowsAny<ArgumentException>(() => Softmax.ForwardRows(new float[6], 2, 3, [3, 4], new float[6])).ParamName);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_EmptyBoolMask_EqualsUnmaskedForward(int n)
    {
        float[] scores = Numerics.Random(n, seed: 60 + n, scale: 20f);
        var expected = new float[n];
        Naive.Softmax(scores, ReadOnlySpan<bool>.Empty, expected);
        CanaryBuffer weights = Canary.Filled(n, float.NaN);
        Softmax.Forward(scores, ReadOnlySpan<bool>.Empty, weights);
        Numerics.AssertClose(expected, weights, 2e-5f, 1e-7f, $"n={n}");
        weights.AssertIntact($"n={n}");
    }

    [Fact]
    public void Forward_EmptyBoolMaskOnEmptyRow_DoesNothing()
    {
        Assert.Null(Record.Exception(() => Softmax.Forward(ReadOnlySpan<float>.Empty, ReadOnlySpan<bool>.Empty, Span<float>.Empty)));
        Assert.Null(Record.Exception(() => Softmax.Forward(ReadOnlySpan<float>.Empty, Span<float>.Empty)));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 17)]
    [InlineData(2, 70)]
    [InlineData(5, 8)]
    public void BackwardRows_AnyShape_EqualsRowByRowBackwardAndAccumulates(int rows, int cols)
    {
        float[] scores = Numerics.Random(rows * cols, seed: 70 + cols, scale: 3f);
        var weights = new float[rows * cols];
        Softmax.ForwardRows(scores, rows, cols, ReadOnlySpan<int>.Empty, weights);
        float[] dWeights = Numerics.Random(rows * cols, seed: 71 + cols);
        float[] start = Numerics.Random(rows * cols, seed: 72 + cols);   // non-zero: Backward accumulates
        float[] expected = (float[])start.Clone();
        for (int r = 0; r < rows; r++)
        {
            Naive.SoftmaxBackward(weights.AsSpan(r * cols, cols), dWeights.AsSpan(r * cols, cols), expected.AsSpan(r * cols, cols));
        }
        CanaryBuffer dScores = Canary.From(start);
        Softmax.BackwardRows(weights, dWeights, rows, cols, dScores);
        Numerics.AssertClose(expected, dScores, 1e-4f, 1e-6f, $"{rows}x{cols}");
        dScores.AssertIntact($"{rows}x{cols}");
    }

    [Fact]
    public void BackwardRows_BadShapes_ThrowNamingTheArgument()
    {
        Assert.Equal("weights", Assert.ThrowsAny<ArgumentException>(() => Softmax.BackwardRows(new float[5], new float[6], 2, 3, new float[6])).ParamName);
        Assert.Equal("dWeights", Assert.ThrowsAny<ArgumentException>(() => Softmax.BackwardRows(new float[6], new float[5], 2, 3, new float[6])).ParamName);
        Assert.Equal("dScores", Assert.ThrowsAny<ArgumentException>(() => Softmax.BackwardRows(new float[6], new float[6], 2, 3, new float[5])).ParamName);
    }

    [Fact]
    public void Forward_LengthGuards_ThrowNamingTheArgument()
    {
        Assert.Equal("weights", Assert.ThrowsAny<ArgumentException>(() => Softmax.Forward(new float[3], new float[4])).ParamName);
        Assert.Equal("weights", Assert.ThrowsAny<ArgumentException>(() => Softmax.Forward(new float[3], 3, new float[2])).ParamName);
        Assert.Equal("weights", Assert.ThrowsAny<ArgumentException>(() => Softmax.Forward(new float[3], new bool[3], new float[2])).ParamName);
        Assert.Equal("valid", Assert.ThrowsAny<ArgumentException>(() => Softmax.Forward(new float[3], new bool[4], new float[3])).ParamName);
        Assert.Equal("valid", Assert.ThrowsAny<ArgumentException>(() => Softmax.Forward(new float[3], new bool[2], new float[3])).ParamName);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(4)]
    [InlineData(int.MinValue)]
    [InlineData(int.MaxValue)]
    public void Forward_ValidLengthOutOfRange_ThrowsNamingItAndTheRange(int validLength)
    {
        var weights = new float[3];
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Softmax.Forward(new float[3], validLength, weights));
        Assert.Equal("validLength", ex.ParamName);
        Assert.Contains("0..3", ex.Message, StringComparison.Ordinal);
        Assert.Contains(validLength.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void Forward_ValidLengthAtTheBounds_Accepted(int validLength)
    {
        var weights = new float[3];
        weights.AsSpan().Fill(float.NaN);
        Softmax.Forward([1f, 2f, 3f], validLength, weights);
        Assert.Equal(validLength == 0 ? 0f : 1f, weights.Sum(), 5);
    }

    [Fact]
    public void Backward_LengthGuards_ThrowNamingTheArgument()
    {
        Assert.Equal("dWeights", Assert.ThrowsAny<ArgumentException>(() => Softmax.Backward(new float[3], new float[2], new float[3])).ParamName);
        Assert.Equal("dWeights", Assert.ThrowsAny<ArgumentException>(() => Softmax.Backward(new float[3], new float[4], new float[3])).ParamName);
        Assert.Equal("dScores", Assert.ThrowsAny<ArgumentException>(() => Softmax.Backward(new float[3], new float[3], new float[2])).ParamName);
        Assert.Equal("dScores", Assert.ThrowsAny<ArgumentException>(() => Softmax.Backward(new float[3], new float[3], new float[4])).ParamName);
    }
}
