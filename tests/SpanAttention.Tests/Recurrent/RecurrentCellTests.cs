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
        Assert.ThrowsAny<Exception>(() => Check<WrongGruGates>(RecurrentKind.Gru, 2));

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
}
