using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

public class ActivationsTests
{
    public static TheoryData<int> Sizes => Numerics.SizeData();

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Sigmoid_AnySize_MatchesNaiveTwin(int n)
    {
        float[] x = Numerics.Random(n, seed: n, scale: 12f);
        var expected = new float[n];
        CanaryBuffer actual = Canary.Filled(n, float.NaN);
        Naive.Sigmoid(x, expected);
        Activations.Sigmoid(x, actual);
        Numerics.AssertClose(expected, actual, rtol: 1e-5f, atol: 1e-7f, $"n={n}");
        actual.AssertIntact($"n={n}");
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Sigmoid_InputsUpTo100_MatchesNaiveTwinRelatively(int n)
    {
        // x over [-100, 100] with the saturated ends ±100 and the cutoffs of the vector exp placed in every lane
        // position: a relative tolerance holds wherever σ(x) is a normal float; below 2e-38 (x < -87.3, where the
        // vector exp flushes to 0) the absolute tolerance takes over.
        float[] x = Numerics.Random(n, seed: 800 + n, scale: 100f);
        float[] edges = [-100f, 100f, -87.3f, -87f, -20f, 20f, -1e-7f, 0f];
        for (int i = 0; i < n; i += 3)
        {
            x[i] = edges[(i / 3) % edges.Length];
        }
        var expected = new float[n];
        CanaryBuffer actual = Canary.Filled(n, float.NaN);
        Naive.Sigmoid(x, expected);
        Activations.Sigmoid(x, actual);
        Numerics.AssertClose(expected, actual, rtol: 2e-6f, atol: 2e-38f, $"n={n}");
        actual.AssertIntact($"n={n}");
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Tanh_AnySize_MatchesNaiveTwin(int n)
    {
        float[] x = Numerics.Random(n, seed: 100 + n, scale: 6f);
        var expected = new float[n];
        CanaryBuffer actual = Canary.Filled(n, float.NaN);
        Naive.Tanh(x, expected);
        Activations.Tanh(x, actual);
        Numerics.AssertClose(expected, actual, rtol: 1e-5f, atol: 1e-7f, $"n={n}");
        actual.AssertIntact($"n={n}");
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void SigmoidBackward_AnySize_MatchesNaiveTwinAndAccumulates(int n)
    {
        float[] y = Numerics.Random(n, seed: 200 + n);
        for (int i = 0; i < n; i++)
        {
            y[i] = 0.5f + 0.5f * y[i];
        }
        float[] dy = Numerics.Random(n, seed: 300 + n);
        float[] expected = Numerics.Random(n, seed: 400 + n);
        CanaryBuffer actual = Canary.From(expected);
        Naive.SigmoidBackward(y, dy, expected);
        Activations.SigmoidBackward(y, dy, actual);
        Numerics.AssertClose(expected, actual, rtol: 1e-5f, atol: 1e-6f, $"n={n}");
        actual.AssertIntact($"n={n}");
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void TanhBackward_AnySize_MatchesNaiveTwinAndAccumulates(int n)
    {
        float[] y = Numerics.Random(n, seed: 500 + n);
        float[] dy = Numerics.Random(n, seed: 600 + n);
        float[] expected = Numerics.Random(n, seed: 700 + n);
        CanaryBuffer actual = Canary.From(expected);
        Naive.TanhBackward(y, dy, expected);
        Activations.TanhBackward(y, dy, actual);
        Numerics.AssertClose(expected, actual, rtol: 1e-5f, atol: 1e-6f, $"n={n}");
        actual.AssertIntact($"n={n}");
    }

    [Fact]
    public void Backward_MatchesFiniteDifferenceOfForward()
    {
        // d/dx σ(x) and d/dx tanh(x) at a few points, oracle in double.
        float[] x = [-6f, -1.5f, -0.3f, 0f, 0.01f, 0.7f, 2f, 5f];
        var s = new float[x.Length];
        var t = new float[x.Length];
        Activations.Sigmoid(x, s);
        Activations.Tanh(x, t);
        var ones = Enumerable.Repeat(1f, x.Length).ToArray();
        var ds = new float[x.Length];
        var dt = new float[x.Length];
        Activations.SigmoidBackward(s, ones, ds);
        Activations.TanhBackward(t, ones, dt);
        for (int i = 0; i < x.Length; i++)
        {
            double h = 1e-5;
            double sigNumeric = (1 / (1 + Math.Exp(-(x[i] + h))) - 1 / (1 + Math.Exp(-(x[i] - h)))) / (2 * h);
            double tanhNumeric = (Math.Tanh(x[i] + h) - Math.Tanh(x[i] - h)) / (2 * h);
            Assert.Equal(sigNumeric, ds[i], 5);
            Assert.Equal(tanhNumeric, dt[i], 5);
        }
    }

    [Fact]
    public void Sigmoid_ExtremeInputs_SaturateWithoutNaN()
    {
        float[] x = [-1e30f, -100f, 100f, 1e30f];
        var y = new float[4];
        Activations.Sigmoid(x, y);
        Assert.Equal(new[] { 0f, 0f, 1f, 1f }, y.Select(v => MathF.Round(v, 6)).ToArray());
        Activations.Tanh(x, y);
        Assert.Equal(new[] { -1f, -1f, 1f, 1f }, y);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(37)]
    public void Sigmoid_NonFiniteInputs_NaNStaysNaNAndInfinitiesSaturate(int n)
    {
        // Every lane position of every vector width sees each special value once.
        float[] specials = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -88.5f, 88.5f];
        float[] x = new float[n * specials.Length];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = specials[(i / n + i) % specials.Length];
        }
        var y = new float[x.Length];
        Activations.Sigmoid(x, y);
        for (int i = 0; i < x.Length; i++)
        {
            float expected = float.IsNaN(x[i]) ? float.NaN : x[i] > 0 ? 1f : 0f;
            Assert.True(expected.Equals(y[i]) || (x[i] == -88.5f && y[i] < 1e-38f), $"x[{i}] = {x[i]}: {y[i]}");
        }
    }
}
