using SpanAttention.Parameters;
using SpanAttention.Recurrent;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Recurrent;

/// <summary>The single-step cells against the naive double twin and central finite differences.</summary>
public class RecurrentCellTests
{
    public static TheoryData<RecurrentKind, int> Cases()
    {
        var data = new TheoryData<RecurrentKind, int>();
        foreach (RecurrentKind kind in new[] { RecurrentKind.Rnn, RecurrentKind.Gru, RecurrentKind.Lstm })
        {
            data.Add(kind, 1); // GEMV path
            data.Add(kind, 3); // GEMM path
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardBackward_RandomBatch_MatchesNaiveAndFiniteDifferences(RecurrentKind kind, int batch)
    {
        switch (kind)
        {
            case RecurrentKind.Rnn: Check<RnnGates>(kind, batch); break;
            case RecurrentKind.Gru: Check<GruGates>(kind, batch); break;
            default: Check<LstmGates>(kind, batch); break;
        }
    }

    [Fact]
    public void Backward_WrongGruCellBackward_IsCaught() =>
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Check<WrongGruGates>(RecurrentKind.Gru, 2));

    private static void Check<TGates>(RecurrentKind kind, int batch)
        where TGates : struct, IRecurrentGates
    {
        const int I = 5, H = 11;
        bool lstm = kind == RecurrentKind.Lstm;
        var layout = new ParameterLayout();
        var cell = new RecurrentCell<TGates>(layout, "cell.", I, H, maxBatch: 4);
        var ps = new ParameterSet(layout);
        cell.Initialize(ps, new Random(11 + batch));
        float[] x = Support.Numerics.Random(batch * I, 1);
        float[] hPrev = Support.Numerics.Random(batch * H, 2, 0.8f);
        float[] cPrev = lstm ? Support.Numerics.Random(batch * H, 3, 0.8f) : [];
        float[] wh = Support.Numerics.Random(batch * H, 4);
        float[] wc = lstm ? Support.Numerics.Random(batch * H, 5) : [];
        var h = new float[batch * H];
        var c = lstm ? new float[batch * H] : [];
        var cache = new float[batch * cell.CacheSize];
        cell.Forward(ps, batch, x, hPrev, cPrev, h, c, cache);
        var dX = new float[x.Length];
        var dHPrev = new float[hPrev.Length];
        var dCPrev = new float[cPrev.Length];
        cell.Backward(ps, batch, wh, wc, x, hPrev, cPrev, cache, dX, dHPrev, dCPrev);

        double[] p = LayerRunner.ToDouble(ps.Values), xd = LayerRunner.ToDouble(x), hd = LayerRunner.ToDouble(hPrev), cd = LayerRunner.ToDouble(cPrev);
        var hRef = new double[batch * H];
        var cRef = new double[batch * H];
        double Loss()
        {
            double loss = 0;
            var hb = new double[H];
            var cb = new double[H];
            for (int b = 0; b < batch; b++)
            {
                NaiveRecurrent.StepForward<double>(kind, I, H, p, xd.AsSpan(b * I, I), hd.AsSpan(b * H, H), lstm ? cd.AsSpan(b * H, H) : default, hb, cb);
                for (int j = 0; j < H; j++)
                {
                    hRef[b * H + j] = hb[j];
                    cRef[b * H + j] = cb[j];
                    loss += wh[b * H + j] * hb[j] + (lstm ? wc[b * H + j] * cb[j] : 0);
                }
            }
            return loss;
        }
        Loss();
        Assert.Null(GradientCheck.Mismatch(hRef, h, 1e-5, 1e-6, "h"));
        if (lstm)
        {
            Assert.Null(GradientCheck.Mismatch(cRef, c, 1e-5, 1e-6, "c"));
        }
        // Tolerances as in RecurrentLayerTests: FD in double (~1e-9), float32 gradients (~1e-6 of scale).
        Assert.Null(GradientCheck.Mismatch(Central(p, Loss), ps.Gradients, 1e-4, 1e-5, "dParams"));
        Assert.Null(GradientCheck.Mismatch(Central(xd, Loss), dX, 1e-4, 1e-5, "dX"));
        Assert.Null(GradientCheck.Mismatch(Central(hd, Loss), dHPrev, 1e-4, 1e-5, "dHPrev"));
        Assert.Null(GradientCheck.Mismatch(Central(cd, Loss), dCPrev, 1e-4, 1e-5, "dCPrev"));
    }

    // Step 1e-6: the double oracle's loss is O(1), so cancellation error is ~1e-10 and truncation ~1e-12.
    private static double[] Central(double[] v, Func<double> loss) => FiniteDifferences.Central(v, loss, step: 1e-6);

    [Fact]
    public void Step_RepeatedOverSequence_EqualsOneDirectionLayer()
    {
        const int I = 4, H = 6, S = 5, B = 2;
        var layout = new ParameterLayout();
        var layer = new RecurrentLayer<LstmGates>(layout, "rnn.", I, H, 1, false, B, S);
        var cell = new RecurrentCell<LstmGates>(new ParameterLayout(), "cell.", I, H, B);
        var ps = new ParameterSet(layout);
        layer.Initialize(ps, new Random(5));
        float[] x = Support.Numerics.Random(B * S * I, 6);
        var output = new float[B * S * H];
        layer.Forward(ps, B, S, x, [S, S], default, default, output, default, default);

        // The cell's slots have the same offsets (0..) as layer 0's, so the same ParameterSet serves both.
        var h = new float[B * H];
        var c = new float[B * H];
        var hNext = new float[B * H];
        var cNext = new float[B * H];
        var xt = new float[B * I];
        var cache = new float[B * cell.CacheSize];
        for (int t = 0; t < S; t++)
        {
            for (int b = 0; b < B; b++)
            {
                Array.Copy(x, (b * S + t) * I, xt, b * I, I);
            }
            cell.Forward(ps, B, xt, h, c, hNext, cNext, cache);
            hNext.CopyTo(h, 0);
            cNext.CopyTo(c, 0);
            for (int b = 0; b < B; b++)
            {
                Support.Numerics.AssertClose(output.AsSpan((b * S + t) * H, H), h.AsSpan(b * H, H), 1e-6f, 1e-7f, $"t={t} b={b}");
            }
        }
    }

    public static TheoryData<RecurrentKind> Kinds() => new() { RecurrentKind.Rnn, RecurrentKind.Gru, RecurrentKind.Lstm };

    public static TheoryData<RecurrentKind, int> KindsAndBatches() => new()
    {
        { RecurrentKind.Rnn, 3 }, { RecurrentKind.Gru, 3 }, { RecurrentKind.Lstm, 3 },   // packed GEMMs
        { RecurrentKind.Rnn, 1 }, { RecurrentKind.Gru, 1 }, { RecurrentKind.Lstm, 1 },   // packed GEMVs (PrepareSingleRowSteps)
    };

    [Theory]
    [MemberData(nameof(KindsAndBatches))]
    public void PackedStepsAndDeferredWeightGradients_SeveralSteps_EqualPerStepPath(RecurrentKind kind, int batch)
    {
        switch (kind)
        {
            case RecurrentKind.Rnn: CheckPackedDeferred<RnnGates>(batch); break;
            case RecurrentKind.Gru: CheckPackedDeferred<GruGates>(batch); break;
            default: CheckPackedDeferred<LstmGates>(batch); break;
        }
    }

    // T steps of a cell run twice: (a) plain Forward/Backward (weights read directly, weight gradients per step);
    // (b) PrepareForwardSteps/PrepareBackwardSteps (packed weights) and Backward storing the gate gradients, then
    // one AccumulateWeightGradients over all T·B rows. Packed GEMMs are bit-identical; the deferred weight
    // gradients sum in another order, so they agree to float rounding. Odd sizes exercise every kernel remainder.
    // With B = 1 the fast path is PrepareSingleRowSteps (packed GEMVs, W·x and Wᵀ·x from one copy), whose sums
    // run in another order than the plain GEMVs: h and dX then agree to float rounding too.
    private static void CheckPackedDeferred<TGates>(int B)
        where TGates : struct, IRecurrentGates
    {
        const int I = 19, H = 13, T = 4;
        var layout = new ParameterLayout();
        var cell = new RecurrentCell<TGates>(layout, "cell.", I, H, maxBatch: B);
        var plain = new ParameterSet(layout);
        cell.Initialize(plain, new Random(21));
        var fast = new ParameterSet(layout);
        plain.Values.CopyTo(fast.Values, 0);
        int bh = B * H, cs = cell.CacheSize, gw = cell.GateWidth;
        float[] x = Support.Numerics.Random(T * B * I, 22);               // (T, B, I)
        float[] dhOut = Support.Numerics.Random(T * bh, 23);              // (T, B, H) gradient arriving at each h_t

        (float[] Hs, float[] DX) Run(ParameterSet ps, bool fastPath)
        {
            var hs = new float[(T + 1) * bh];                           // (T+1, B, H), h_0 = 0
            var cs2 = new float[(T + 1) * bh];
            var cache = new float[T * B * cs];
            bool lstm = TGates.HasCellState;
            if (fastPath && B > 1)
            {
                cell.PrepareForwardSteps(ps);
            }
            else if (fastPath)
            {
                cell.PrepareSingleRowSteps(ps);
            }
            for (int t = 0; t < T; t++)
            {
                cell.Forward(ps, B, x.AsSpan(t * B * I, B * I), hs.AsSpan(t * bh, bh), lstm ? cs2.AsSpan(t * bh, bh) : default,
                    hs.AsSpan((t + 1) * bh, bh), lstm ? cs2.AsSpan((t + 1) * bh, bh) : default, cache.AsSpan(t * B * cs, B * cs));
            }
            cell.EndSteps();
            var dX = new float[T * B * I];
            var dH = new float[bh];
            var dC = new float[bh];
            var dGates = new float[T * B * gw];
            var dGatesHh = new float[T * B * gw];
            if (fastPath && B > 1)
            {
                cell.PrepareBackwardSteps(ps);
            }
            else if (fastPath)
            {
                cell.PrepareSingleRowSteps(ps);
            }
            for (int t = T - 1; t >= 0; t--)
            {
                float[] dhT = dhOut.AsSpan(t * bh, bh).ToArray();
                System.Numerics.Tensors.TensorPrimitives.Add(dhT, dH, dhT);
                float[] dcT = dC.ToArray();
                Array.Clear(dH);
                Array.Clear(dC);
                cell.Backward(ps, B, dhT, lstm ? dcT : default, x.AsSpan(t * B * I, B * I), hs.AsSpan(t * bh, bh),
                    lstm ? cs2.AsSpan(t * bh, bh) : default, cache.AsSpan(t * B * cs, B * cs), dX.AsSpan(t * B * I, B * I), dH,
                    lstm ? dC : default,
                    fastPath ? dGates.AsSpan(t * B * gw, B * gw) : default, fastPath ? dGatesHh.AsSpan(t * B * gw, B * gw) : default, 0);
            }
            cell.EndSteps();
            if (fastPath)
            {
                cell.AccumulateWeightGradients(ps, T * B, dGates, dGatesHh, x, hs.AsSpan(0, T * bh));
            }
            return (hs, dX);
        }

        (float[] hsPlain, float[] dXPlain) = Run(plain, false);
        (float[] hsFast, float[] dXFast) = Run(fast, true);
        if (B > 1)
        {
            Support.Numerics.AssertEqual(hsPlain, hsFast, "h");
            Support.Numerics.AssertEqual(dXPlain, dXFast, "dX");
        }
        else
        {
            Support.Numerics.AssertClose(hsPlain, hsFast, 1e-5f, 1e-6f, "h");
            Support.Numerics.AssertClose(dXPlain, dXFast, 1e-5f, 1e-6f, "dX");
        }
        Assert.Contains(dXPlain, g => g != 0f);
        Assert.Contains(plain.Gradients, g => g != 0f);
        Support.Numerics.AssertClose(plain.Gradients, fast.Gradients, 1e-5f, 1e-6f, "dParams");
    }

    [Fact]
    public void EndSteps_AfterWeightsChange_ForwardReadsNewWeights()
    {
        const int I = 5, H = 9, B = 2;
        var layout = new ParameterLayout();
        var cell = new RecurrentCell<GruGates>(layout, "cell.", I, H, maxBatch: B);
        var ps = new ParameterSet(layout);
        cell.Initialize(ps, new Random(3));
        float[] x = Support.Numerics.Random(B * I, 4), hPrev = Support.Numerics.Random(B * H, 5);
        var h = new float[B * H];
        var expected = new float[B * H];
        var cache = new float[B * cell.CacheSize];
        cell.PrepareForwardSteps(ps);
        cell.Forward(ps, B, x, hPrev, default, h, default, cache);
        cell.EndSteps();
        for (int k = 0; k < ps.Values.Length; k++)
        {
            ps.Values[k] *= -0.5f;   // an optimizer step
        }
        cell.Forward(ps, B, x, hPrev, default, h, default, cache);
        var fresh = new RecurrentCell<GruGates>(new ParameterLayout(), "cell.", I, H, maxBatch: B);
        fresh.Forward(ps, B, x, hPrev, default, expected, default, cache);
        Support.Numerics.AssertEqual(expected, h, "h after the update");
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(1, true)]
    [InlineData(3, false)]
    [InlineData(3, true)]
    public void Forward_WithProjectedInputColumns_EqualsPlainForward(int batch, bool packed)
    {
        // x = [e; r] with P = 4 of I = 9 columns projected by the caller: gates = e·W_ih[:, :P]ᵀ + r·W_ih[:, P:]ᵀ.
        const int I = 9, P = 4, H = 7;
        var layout = new ParameterLayout();
        var cell = new RecurrentCell<GruGates>(layout, "cell.", I, H, maxBatch: 3);
        var ps = new ParameterSet(layout);
        cell.Initialize(ps, new Random(8));
        int gw = cell.GateWidth;
        float[] x = Support.Numerics.Random(batch * I, 9), hPrev = Support.Numerics.Random(batch * H, 10);
        float[] wIh = cell.Weights.WeightIh.Of(ps.Values.AsSpan()).ToArray();
        var projection = new float[batch * gw];
        for (int b = 0; b < batch; b++)
        {
            for (int g = 0; g < gw; g++)
            {
                double sum = 0;
                for (int c = 0; c < P; c++)
                {
                    sum += (double)x[b * I + c] * wIh[g * I + c];
                }
                projection[b * gw + g] = (float)sum;
            }
        }
        var expectedH = new float[batch * H];
        var h = new float[batch * H];
        var cache = new float[batch * cell.CacheSize];
        cell.Forward(ps, batch, x, hPrev, default, expectedH, default, cache);
        float[] expectedCache = (float[])cache.Clone();
        if (packed && batch > 1)
        {
            cell.PrepareForwardSteps(ps, P);
        }
        else if (packed)
        {
            cell.PrepareSingleRowSteps(ps, P);
        }
        cell.Forward(ps, batch, x, hPrev, default, h, default, cache, P, projection);
        cell.EndSteps();
        Support.Numerics.AssertClose(expectedH, h, 1e-5f, 1e-6f, "h");
        Support.Numerics.AssertClose(expectedCache, cache, 1e-5f, 1e-6f, "cache");
        Assert.Throws<ArgumentOutOfRangeException>(() => cell.Forward(ps, batch, x, hPrev, default, h, default, cache, I, projection));
    }
}
