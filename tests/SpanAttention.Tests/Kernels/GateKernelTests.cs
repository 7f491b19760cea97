using SpanAttention.Recurrent;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

/// <summary>
/// The hand-written gate kernels (Vector512, Vector256 and scalar loops) at every width remainder:
/// H = 1..70 and a few primes, against double-precision formulas. Lives in the Kernels namespace so CI
/// runs it under forced Vector512, without AVX-512 and without SIMD.
/// </summary>
public class GateKernelTests
{
    public static TheoryData<int> Sizes()
    {
        var data = new TheoryData<int>();
        for (int n = 1; n <= 70; n++) { data.Add(n); }
        foreach (int n in new[] { 97, 127, 131 }) { data.Add(n); }
        return data;
    }

    private static double Sig(double v) => 1 / (1 + Math.Exp(-v));

    // Activations are float32 (TensorPrimitives ≈ 1-2 ulp); everything is O(1), so 1e-5 relative with a
    // 1e-6 absolute floor is ~10x above float round-off and far below any formula slip.
    private const float Rtol = 1e-5f, Atol = 1e-6f;

    [Theory]
    [MemberData(nameof(Sizes))]
    public void GruGates_ForwardBackward_MatchDoubleFormulas(int n)
    {
        float[] gx = Numerics.Random(3 * n, n), gh = Numerics.Random(3 * n, n + 1), bi = Numerics.Random(3 * n, n + 2, 0.3f), bh = Numerics.Random(3 * n, n + 3, 0.3f);
        float[] hp = Numerics.Random(n, n + 4), dh = Numerics.Random(n, n + 5);
        CanaryBuffer gates = Canary.From(gx), h = Canary.Filled(n, float.NaN), extra = Canary.Filled(n, float.NaN);
        GruGates.Forward(n, gates, gh, bi, bh, hp, default, h, default, extra);
        CanaryBuffer dhIo = Canary.From(dh), dG = Canary.Filled(3 * n, float.NaN), dGh = Canary.Filled(3 * n, float.NaN);
        GruGates.Backward(n, dhIo, default, gates, extra, hp, default, dG, dGh);
        Canary.AssertIntact($"GRU H={n}", ("gates", gates), ("h", h), ("hn", extra), ("dh", dhIo), ("dGates", dG), ("dGatesHh", dGh));

        var eGates = new float[3 * n]; var eH = new float[n]; var eExtra = new float[n];
        var eDG = new float[3 * n]; var eDGh = new float[3 * n]; var eDh = new float[n];
        for (int j = 0; j < n; j++)
        {
            double r = Sig((double)gx[j] + bi[j] + gh[j] + bh[j]);
            double z = Sig((double)gx[n + j] + bi[n + j] + gh[n + j] + bh[n + j]);
            double hn = (double)gh[2 * n + j] + bh[2 * n + j];
            double nn = Math.Tanh((double)gx[2 * n + j] + bi[2 * n + j] + r * hn);
            eGates[j] = (float)r; eGates[n + j] = (float)z; eGates[2 * n + j] = (float)nn; eExtra[j] = (float)hn;
            eH[j] = (float)((1 - z) * nn + z * hp[j]);
            double dan = dh[j] * (1 - z) * (1 - nn * nn);
            double dar = dan * hn * r * (1 - r);
            double daz = dh[j] * (hp[j] - nn) * z * (1 - z);
            eDG[j] = eDGh[j] = (float)dar; eDG[n + j] = eDGh[n + j] = (float)daz;
            eDG[2 * n + j] = (float)dan; eDGh[2 * n + j] = (float)(dan * r); eDh[j] = (float)(dh[j] * z);
        }
        Numerics.AssertClose(eGates, gates, Rtol, Atol, "gates");
        Numerics.AssertClose(eExtra, extra, Rtol, Atol, "hn");
        Numerics.AssertClose(eH, h, Rtol, Atol, "h");
        Numerics.AssertClose(eDG, dG, Rtol, Atol, "dGates");
        Numerics.AssertClose(eDGh, dGh, Rtol, Atol, "dGatesHh");
        Numerics.AssertClose(eDh, dhIo, Rtol, Atol, "dh direct");
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void LstmGates_ForwardBackward_MatchDoubleFormulas(int n)
    {
        float[] gx = Numerics.Random(4 * n, n), gh = Numerics.Random(4 * n, n + 1), bi = Numerics.Random(4 * n, n + 2, 0.3f), bh = Numerics.Random(4 * n, n + 3, 0.3f);
        float[] cp = Numerics.Random(n, n + 4), dh = Numerics.Random(n, n + 5), dc = Numerics.Random(n, n + 6);
        CanaryBuffer gates = Canary.From(gx), h = Canary.Filled(n, float.NaN), c = Canary.Filled(n, float.NaN), extra = Canary.Filled(n, float.NaN);
        LstmGates.Forward(n, gates, gh, bi, bh, default, cp, h, c, extra);
        CanaryBuffer dhIo = Canary.From(dh), dcIo = Canary.From(dc), dG = Canary.Filled(4 * n, float.NaN);
        LstmGates.Backward(n, dhIo, dcIo, gates, extra, default, cp, dG, default);
        Canary.AssertIntact($"LSTM H={n}", ("gates", gates), ("h", h), ("c", c), ("tanh c", extra), ("dh", dhIo), ("dc", dcIo), ("dGates", dG));

        var eGates = new float[4 * n]; var eH = new float[n]; var eC = new float[n]; var eDG = new float[4 * n]; var eDc = new float[n];
        for (int j = 0; j < n; j++)
        {
            double a(int g) => (double)gx[g * n + j] + bi[g * n + j] + gh[g * n + j] + bh[g * n + j];
            double i = Sig(a(0)), f = Sig(a(1)), g = Math.Tanh(a(2)), o = Sig(a(3));
            double cn = f * cp[j] + i * g, tc = Math.Tanh(cn);
            eGates[j] = (float)i; eGates[n + j] = (float)f; eGates[2 * n + j] = (float)g; eGates[3 * n + j] = (float)o;
            eC[j] = (float)cn; eH[j] = (float)(o * tc);
            double dct = dc[j] + dh[j] * o * (1 - tc * tc);
            eDG[j] = (float)(dct * g * i * (1 - i)); eDG[n + j] = (float)(dct * cp[j] * f * (1 - f));
            eDG[2 * n + j] = (float)(dct * i * (1 - g * g)); eDG[3 * n + j] = (float)(dh[j] * tc * o * (1 - o));
            eDc[j] = (float)(dct * f);
        }
        Numerics.AssertClose(eGates, gates, Rtol, Atol, "gates");
        Numerics.AssertClose(eC, c, Rtol, Atol, "c");
        Numerics.AssertClose(eH, h, Rtol, Atol, "h");
        Numerics.AssertClose(eDG, dG, Rtol, Atol, "dGates");
        Numerics.AssertClose(eDc, dcIo, Rtol, Atol, "dc prev");
        Assert.All(dhIo.ToArray(), v => Assert.Equal(0f, v));
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void RnnGates_ForwardBackward_MatchDoubleFormulas(int n)
    {
        float[] gx = Numerics.Random(n, n), gh = Numerics.Random(n, n + 1), bi = Numerics.Random(n, n + 2, 0.3f), bh = Numerics.Random(n, n + 3, 0.3f);
        float[] dh = Numerics.Random(n, n + 5);
        CanaryBuffer gates = Canary.From(gx), h = Canary.Filled(n, float.NaN);
        RnnGates.Forward(n, gates, gh, bi, bh, default, default, h, default, default);
        CanaryBuffer dhIo = Canary.From(dh), dG = Canary.Filled(n, float.NaN);
        RnnGates.Backward(n, dhIo, default, gates, default, default, default, dG, default);
        Canary.AssertIntact($"RNN H={n}", ("gates", gates), ("h", h), ("dh", dhIo), ("dGates", dG));
        var eH = new float[n]; var eDG = new float[n];
        for (int j = 0; j < n; j++)
        {
            double y = Math.Tanh((double)gx[j] + bi[j] + gh[j] + bh[j]);
            eH[j] = (float)y;
            eDG[j] = (float)(dh[j] * (1 - y * y));
        }
        Numerics.AssertClose(eH, h, Rtol, Atol, "h");
        Numerics.AssertClose(eDG, dG, Rtol, Atol, "dGates");
        Assert.All(dhIo.ToArray(), v => Assert.Equal(0f, v));
    }
}
