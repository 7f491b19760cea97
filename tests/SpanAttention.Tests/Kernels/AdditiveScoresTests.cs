using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

/// <summary>The fused additive-attention kernels (rational tanh): forward scores, the tanh layer, and the backward that recomputes it.</summary>
public sealed class AdditiveScoresTests
{
    public static TheoryData<int> Sizes => Numerics.SizeData();

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_AnyWidth_MatchesNaive(int a)
    {
        foreach (int n in new[] { 0, 1, 3, 7 })
        {
            float[] q = Numerics.Random(a, 1, 2f), keys = Numerics.Random(n * a, 2, 2f), v = Numerics.Random(a, 3);
            var expected = new float[n];
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int k = 0; k < a; k++)
                {
                    s += v[k] * Math.Tanh(q[k] + keys[j * a + k]);
                }
                expected[j] = (float)s;
            }
            CanaryBuffer scores = Canary.Filled(n, float.NaN);
            AdditiveScores.Forward(q, keys, n, v, scores);
            // |tanh error| ≤ 1e-6 per term, |v_k| ≤ 1: the sum may drift by A·1e-6 at most, plus float rounding
            Numerics.AssertClose(expected, scores, 1e-5f, 1e-6f * (a + 1), $"A = {a}, n = {n}");
            scores.AssertIntact($"A = {a}, n = {n}");
        }
    }

    [Fact]
    public void Tanh_DenseSweep_WithinOneMillionthOfExact()
    {
        double worst = 0;
        for (int i = -2_000_000; i <= 2_000_000; i++)
        {
            float x = i * 6e-6f;                                                        // [-12, 12]
            worst = Math.Max(worst, Math.Abs(AdditiveScores.Tanh(x) - Math.Tanh(x)));
        }
        Assert.True(worst <= 1e-6, $"max |error| {worst:E2}");
        Assert.InRange(AdditiveScores.Tanh(1e30f), 1f - 1e-6f, 1f);                    // clamped: saturates, never overshoots
        Assert.InRange(AdditiveScores.Tanh(float.NegativeInfinity), -1f, -1f + 1e-6f);
        Assert.Equal(0f, AdditiveScores.Tanh(0f));
        Assert.InRange(AdditiveScores.Tanh(1e-20f) / 1e-20f, 1f - 1e-6f, 1f + 1e-6f);   // odd: tiny arguments keep their relative accuracy
    }

    [Fact]
    public void Forward_VectorLanes_UseTheSameTanhAsScalar()
    {
        // one key of width 8·k + 3 = vector lanes plus a scalar remainder; every lane sees the same argument
        const int a = 19;
        float[] q = Enumerable.Repeat(0.3f, a).ToArray(), keys = Enumerable.Repeat(0.45f, a).ToArray(), v = Enumerable.Repeat(1f, a).ToArray();
        var s = new float[1];
        AdditiveScores.Forward(q, keys, 1, v, s);
        Assert.Equal(a * AdditiveScores.Tanh(0.75f), s[0], 5);
    }

    [Fact]
    public void Forward_ShortSpans_ThrowNamingTheArgument()
    {
        var q = new float[4];
        Assert.Equal("keys", Assert.ThrowsAny<ArgumentException>(() => AdditiveScores.Forward(q, new float[7], 2, new float[4], new float[2])).ParamName);
        Assert.Equal("v", Assert.ThrowsAny<ArgumentException>(() => AdditiveScores.Forward(q, new float[8], 2, new float[3], new float[2])).ParamName);
        Assert.Equal("scores", Assert.ThrowsAny<ArgumentException>(() => AdditiveScores.Forward(q, new float[8], 2, new float[4], new float[1])).ParamName);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Hidden_AnyWidth_IsTheSameTanhOfQueryPlusKey(int a)
    {
        const int n = 3;
        float[] q = Numerics.Random(a, 4, 2f), keys = Numerics.Random(n * a, 5, 2f);
        CanaryBuffer hidden = Canary.Filled(n * a, float.NaN);
        AdditiveScores.Hidden(q, keys, n, hidden);
        hidden.AssertIntact($"A = {a}");
        for (int j = 0; j < n; j++)
        {
            for (int k = 0; k < a; k++)
            {
                Assert.Equal(AdditiveScores.Tanh(q[k] + keys[j * a + k]), hidden[j * a + k], 6);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Backward_AnyWidth_MatchesNaiveTwinAndAccumulates(int a)
    {
        // ds has a zero (a masked key) that must contribute nothing; the three outputs start non-zero (accumulate).
        foreach (int n in new[] { 1, 4, 9 })
        {
            float[] q = Numerics.Random(a, 11, 2f), keys = Numerics.Random(n * a, 12, 2f), v = Numerics.Random(a, 13);
            float[] ds = Numerics.Random(n, 14);
            if (n > 1)
            {
                ds[1] = 0f;
            }
            CanaryBuffer dv = Canary.From(Numerics.Random(a, 15)), dq = Canary.From(Numerics.Random(a, 16)), dKeys = Canary.From(Numerics.Random(n * a, 17));
            double[] eDv = [.. dv.ToArray().Select(x => (double)x)], eDq = [.. dq.ToArray().Select(x => (double)x)], eDk = [.. dKeys.ToArray().Select(x => (double)x)];
            for (int j = 0; j < n; j++)
            {
                for (int k = 0; k < a; k++)
                {
                    double h = Math.Tanh(q[k] + keys[j * a + k]);
                    eDv[k] += ds[j] * h;                               // s_j = v · h_j
                    double g = ds[j] * v[k] * (1 - h * h);             // h_j = tanh(q + K_j)
                    eDq[k] += g;
                    eDk[j * a + k] += g;
                }
            }
            AdditiveScores.Backward(q, keys, n, v, ds, dv, dq, dKeys);
            // the rational tanh is within 1e-6 of tanh: each term (|ds|, |v| ≤ 1) moves by a few 1e-6 at most
            float atol = 4e-6f * (n + 1);
            Numerics.AssertClose([.. eDv.Select(x => (float)x)], dv, 1e-5f, atol, $"dv A = {a}, n = {n}");
            Numerics.AssertClose([.. eDq.Select(x => (float)x)], dq, 1e-5f, atol, $"dq A = {a}, n = {n}");
            Numerics.AssertClose([.. eDk.Select(x => (float)x)], dKeys, 1e-5f, atol, $"dK A = {a}, n = {n}");
            Canary.AssertIntact($"A = {a}, n = {n}", ("dv", dv), ("dq", dq), ("dKeys", dKeys));
        }
    }

    [Fact]
    public void Backward_IsTheGradientOfForward()
    {
        // L = Σ_j ds_j s_j(q, K, v): central differences of Forward (in double around float inputs) against Backward.
        const int a = 21, n = 5;
        float[] q = Numerics.Random(a, 21, 1.5f), keys = Numerics.Random(n * a, 22, 1.5f), v = Numerics.Random(a, 23);
        float[] ds = Numerics.Random(n, 24);
        var dv = new float[a];
        var dq = new float[a];
        var dKeys = new float[n * a];
        AdditiveScores.Backward(q, keys, n, v, ds, dv, dq, dKeys);
        void Check(float[] x, float[] grad, string what)
        {
            // perturb a double copy of x and feed the kernel its float rounding (the kernel is float)
            double[] xd = [.. x.Select(value => (double)value)];
            double Loss()
            {
                float[] saved = (float[])x.Clone();
                for (int k = 0; k < x.Length; k++)
                {
                    x[k] = (float)xd[k];
                }
                var s = new float[n];
                AdditiveScores.Forward(q, keys, n, v, s);
                saved.CopyTo(x, 0);
                double l = 0;
                for (int j = 0; j < n; j++)
                {
                    l += (double)ds[j] * s[j];
                }
                return l;
            }
            double[] numeric = FiniteDifferences.Central(xd, Loss, 1e-2);
            for (int k = 0; k < x.Length; k++)
            {
                Assert.True(Math.Abs(numeric[k] - grad[k]) <= 2e-3 + 2e-2 * Math.Abs(numeric[k]), $"{what}[{k}]: numeric {numeric[k]}, analytic {grad[k]}");
            }
        }
        Check(q, dq, "dq");
        Check(keys, dKeys, "dK");
        Check(v, dv, "dv");
    }

    [Fact]
    public void Backward_ShortSpans_ThrowNamingTheArgument()
    {
        float[] q = new float[4], v = new float[4], ds = new float[2], dv = new float[4], dq = new float[4], dk = new float[8];
        Assert.Equal("keys", Assert.ThrowsAny<ArgumentException>(() => AdditiveScores.Backward(q, new float[7], 2, v, ds, dv, dq, dk)).ParamName);
        Assert.Equal("dScores", Assert.ThrowsAny<ArgumentException>(() => AdditiveScores.Backward(q, new float[8], 2, v, new float[1], dv, dq, dk)).ParamName);
        Assert.Equal("dv", Assert.ThrowsAny<ArgumentException>(() => AdditiveScores.Backward(q, new float[8], 2, v, ds, new float[3], dq, dk)).ParamName);
        Assert.Equal("dKeys", Assert.ThrowsAny<ArgumentException>(() => AdditiveScores.Backward(q, new float[8], 2, v, ds, dv, dq, new float[7])).ParamName);
    }
}
