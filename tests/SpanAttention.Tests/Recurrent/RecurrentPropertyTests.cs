using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SpanAttention.Parameters;
using SpanAttention.Recurrent;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Recurrent;

/// <summary>Random shapes and length patterns: the fast layer agrees with the naive double twin.</summary>
public class RecurrentPropertyTests
{
    [Property(MaxTest = 60)]
    public Property Forward_RandomShapesAndLengths_MatchesNaiveDoubleTwin()
    {
        Gen<LayerCase> cases =
            from kind in Gen.Elements(RecurrentKind.Rnn, RecurrentKind.Gru, RecurrentKind.Lstm)
            from batch in Gen.Choose(1, 4)
            from steps in Gen.Choose(1, 6)
            from lengths in Gen.ArrayOf(Gen.Choose(1, steps), batch)
            from layers in Gen.Choose(1, 2)
            from bidirectional in Gen.Elements(false, true)
            from hidden in Gen.Choose(1, 10)
            from input in Gen.Choose(1, 5)
            from seed in Gen.Choose(0, 1_000_000)
            select new LayerCase(kind, input, hidden, layers, bidirectional, batch, steps, lengths, seed);
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            LayerResult fast = LayerRunner.Fast(c);
            var naive = LayerRunner.Naive(c);
            string? mismatch =
                GradientCheck.Mismatch(naive.Output, fast.Output, 1e-5, 1e-6, $"{c} output")
                ?? GradientCheck.Mismatch(naive.HN, fast.HN, 1e-5, 1e-6, $"{c} hN")
                ?? GradientCheck.Mismatch(naive.CN, fast.CN, 1e-5, 1e-6, $"{c} cN")
                // gradients: float32 backward vs the double naive backward (itself checked against FD elsewhere)
                ?? GradientCheck.Mismatch(naive.DParams, fast.DParams, 1e-4, 1e-5, $"{c} dParams")
                ?? GradientCheck.Mismatch(naive.DX, fast.DX, 1e-4, 1e-5, $"{c} dX")
                ?? GradientCheck.Mismatch(naive.DH0, fast.DH0, 1e-4, 1e-5, $"{c} dH0")
                ?? GradientCheck.Mismatch(naive.DC0, fast.DC0, 1e-4, 1e-5, $"{c} dC0");
            return mismatch is null ? true.ToProperty() : false.Label(mismatch);
        });
    }

    [Fact]
    public void CellForwardBackward_AfterWarmUp_AllocateZeroBytes()
    {
        Assert.Equal(0, CellAllocations<GruGates>(1));
        Assert.Equal(0, CellAllocations<GruGates>(4));
        Assert.Equal(0, CellAllocations<LstmGates>(1));
        Assert.Equal(0, CellAllocations<LstmGates>(4));
        Assert.Equal(0, CellAllocations<RnnGates>(4));
    }

    private static long CellAllocations<TGates>(int batch)
        where TGates : struct, IRecurrentGates
    {
        const int I = 7, H = 13;
        var layout = new ParameterLayout();
        var cell = new RecurrentCell<TGates>(layout, "cell.", I, H, batch);
        var ps = new ParameterSet(layout);
        cell.Initialize(ps, new Random(1));
        float[] x = Numerics.Random(batch * I, 2), hPrev = Numerics.Random(batch * H, 3), cPrev = Numerics.Random(batch * H, 4);
        float[] h = new float[batch * H], c = new float[batch * H], cache = new float[batch * cell.CacheSize];
        float[] dX = new float[x.Length], dH = new float[h.Length], dC = new float[h.Length];
        void Step()
        {
            cell.Forward(ps, batch, x, hPrev, cPrev, h, c, cache);
            cell.Backward(ps, batch, h, c, x, hPrev, cPrev, cache, dX, dH, dC);
        }
        Step();
        Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) { Step(); }
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
