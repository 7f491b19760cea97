using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

/// <summary>ReLU and exact GELU against their naive twins at every remainder length, and against erf values.</summary>
public class FeedForwardActivationsTests
{
    public static TheoryData<int> Sizes => Numerics.SizeData();

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Relu_AnySize_MatchesNaiveTwin(int n)
    {
        float[] x = Numerics.Random(n, seed: 700 + n, scale: 3f);
        var expected = new float[n];
        CanaryBuffer actual = Canary.Filled(n, float.NaN);
        Naive.Relu(x, expected);
        Activations.Relu(x, actual);
        Numerics.AssertEqual(expected, actual, $"n={n}");
        actual.AssertIntact($"n={n}");
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void ReluBackward_AnySize_MatchesNaiveTwinAndAccumulates(int n)
    {
        float[] y = Numerics.Random(n, seed: 800 + n);
        Naive.Relu(y, y);
        float[] dy = Numerics.Random(n, seed: 900 + n);
        float[] expected = Numerics.Random(n, seed: 1000 + n);
        CanaryBuffer actual = Canary.From(expected);
        Naive.ReluBackward(y, dy, expected);
        Activations.ReluBackward(y, dy, actual);
        Numerics.AssertEqual(expected, actual, $"n={n}");
        actual.AssertIntact($"n={n}");
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Gelu_AnySize_MatchesNaiveTwin(int n)
    {
        float[] x = Numerics.Random(n, seed: 1100 + n, scale: 8f);
        var expected = new float[n];
        CanaryBuffer actual = Canary.Filled(n, float.NaN);
        Naive.Gelu(x, expected);
        Activations.Gelu(x, actual);
        // erfc fit: 1.2e-7 fractional, exp: a few ulps; the left tail x·Φ(x) is tiny, hence the absolute floor
        Numerics.AssertClose(expected, actual, rtol: 2e-6f, atol: 1e-7f, $"n={n}");
        actual.AssertIntact($"n={n}");
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void GeluBackward_AnySize_MatchesNaiveTwinAndAccumulates(int n)
    {
        float[] x = Numerics.Random(n, seed: 1200 + n, scale: 8f);
        float[] dy = Numerics.Random(n, seed: 1300 + n);
        float[] expected = Numerics.Random(n, seed: 1400 + n);
        CanaryBuffer actual = Canary.From(expected);
        Naive.GeluBackward(x, dy, expected);
        Activations.GeluBackward(x, dy, actual);
        Numerics.AssertClose(expected, actual, rtol: 2e-6f, atol: 1e-6f, $"n={n}");
        actual.AssertIntact($"n={n}");
    }

    [Fact]
    public void Gelu_KnownValues_MatchErf()
    {
        // x·½ erfc(-x/√2) from Python's math.erfc (double), rounded to float
        float[] x = [-10f, -5f, -3f, -1f, -0.5f, 0f, 0.5f, 1f, 3f, 5f, 10f, 1e-3f];
        float[] expected = [-7.619853024160593e-23f, -1.4332578593959731e-06f, -0.004049694094890287f, -0.15865525393145707f, -0.15426876936299344f, 0f,
            0.34573123063700656f, 0.8413447460685429f, 2.99595030590511f, 4.99999856674214f, 10f, 0.000500398942213911f];
        var actual = new float[x.Length];
        Activations.Gelu(x, actual);                       // 12 elements: one 8-wide vector and a scalar tail
        Numerics.AssertClose(expected, actual, rtol: 1e-5f, atol: 1e-30f, "vector");   // the tails keep their relative accuracy
        var naive = new float[x.Length];
        Naive.Gelu(x, naive);
        Numerics.AssertClose(expected, naive, rtol: 1e-6f, atol: 1e-30f, "naive");
    }
}
