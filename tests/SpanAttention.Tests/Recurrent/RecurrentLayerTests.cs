using SpanAttention.Parameters;
using SpanAttention.Recurrent;
using Xunit;

namespace SpanAttention.Tests.Recurrent;

/// <summary>
/// The fast layers against the double-precision oracle: forward against the naive twin, every gradient
/// against central finite differences of the naive forward, for every cell, with variable lengths,
/// several layers and both directions, including the initial states.
/// </summary>
public class RecurrentLayerTests
{
    // H = 9 runs both the 8-wide vector path and the scalar remainder of the gate kernels.
    public static TheoryData<RecurrentKind, int, bool> Configurations()
    {
        var data = new TheoryData<RecurrentKind, int, bool>();
        foreach (RecurrentKind kind in new[] { RecurrentKind.Rnn, RecurrentKind.Gru, RecurrentKind.Lstm })
        {
            data.Add(kind, 1, false);
            data.Add(kind, 1, true);
            data.Add(kind, 2, false);
            data.Add(kind, 2, true);
        }
        return data;
    }

    private static LayerCase Case(RecurrentKind kind, int layers, bool bidirectional, int seed = 7) =>
        new(kind, inputSize: 3, hiddenSize: 9, layers, bidirectional, batch: 3, steps: 5, lengths: [5, 2, 4], seed: seed + (int)kind * 10 + layers * 100 + (bidirectional ? 1000 : 0));

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Forward_VariableLengths_MatchesNaiveDoubleTwin(RecurrentKind kind, int layers, bool bidirectional)
    {
        LayerCase c = Case(kind, layers, bidirectional);
        LayerResult fast = LayerRunner.Fast(c);
        var naive = LayerRunner.Naive(c);
        // float32 forward of a few steps: errors ~1e-7 relative per op; 1e-5 leaves a wide margin.
        Assert.Null(GradientCheck.Mismatch(naive.Output, fast.Output, 1e-5, 1e-6, $"{c} output"));
        Assert.Null(GradientCheck.Mismatch(naive.HN, fast.HN, 1e-5, 1e-6, $"{c} hN"));
        Assert.Null(GradientCheck.Mismatch(naive.CN, fast.CN, 1e-5, 1e-6, $"{c} cN"));
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Backward_VariableLengths_MatchesFiniteDifferences(RecurrentKind kind, int layers, bool bidirectional)
    {
        LayerCase c = Case(kind, layers, bidirectional);
        var fd = LayerRunner.FiniteDifferences(c);
        // The naive double backward agrees with the FD oracle to FD precision (~1e-9).
        var naive = LayerRunner.Naive(c);
        Assert.Null(GradientCheck.Mismatch(fd.DParams, naive.DParams, 1e-6, 1e-7, $"{c} naive dParams"));
        Assert.Null(GradientCheck.Mismatch(fd.DX, naive.DX, 1e-6, 1e-7, $"{c} naive dX"));
        Assert.Null(GradientCheck.Mismatch(fd.DH0, naive.DH0, 1e-6, 1e-7, $"{c} naive dH0"));
        Assert.Null(GradientCheck.Mismatch(fd.DC0, naive.DC0, 1e-6, 1e-7, $"{c} naive dC0"));
        // The fast float backward: float32 round-off through S = 5 steps and L = 2 layers, summed over up to
        // B·S = 15 terms per weight gradient, stays below ~1e-5 of the tensor's scale; a wrong term in a
        // backward changes gradients by O(10%) of that scale (see the teeth test).
        Assert.Null(GradientCheck.AgainstOracle(c, LayerRunner.Fast(c), fd, 1e-4, 1e-5));
    }

    [Fact]
    public void Backward_WrongGruBackward_IsCaughtByTheCheck()
    {
        LayerCase c = Case(RecurrentKind.Gru, 2, true);
        var fd = LayerRunner.FiniteDifferences(c);
        Assert.Null(GradientCheck.AgainstOracle(c, LayerRunner.Fast<GruGates>(c), fd, 1e-4, 1e-5));
        Assert.NotNull(GradientCheck.AgainstOracle(c, LayerRunner.Fast<WrongGruGates>(c), fd, 1e-4, 1e-5));
    }

    [Fact]
    public void Backward_WrongLstmBackward_IsCaughtByTheCheck()
    {
        LayerCase c = Case(RecurrentKind.Lstm, 1, false);
        var fd = LayerRunner.FiniteDifferences(c);
        Assert.NotNull(GradientCheck.AgainstOracle(c, LayerRunner.Fast<WrongLstmGates>(c), fd, 1e-4, 1e-5));
    }

    [Theory]
    [InlineData(RecurrentKind.Rnn)]
    [InlineData(RecurrentKind.Gru)]
    [InlineData(RecurrentKind.Lstm)]
    public void Forward_RowInsideBatch_EqualsRowAlone(RecurrentKind kind)
    {
        LayerCase batch = Case(kind, 2, true);
        LayerResult all = LayerRunner.Fast(batch);
        int w = batch.D * batch.H, hs = batch.H;
        for (int b = 0; b < batch.B; b++)
        {
            LayerCase alone = Slice(batch, b);
            LayerResult one = LayerRunner.Fast(alone);
            // Alone, B = 1 takes the GEMV path for W_hh·h (another summation order): equal up to float round-off.
            Support.Numerics.AssertClose(all.Output.AsSpan(b * batch.S * w, batch.S * w), one.Output, 1e-5f, 1e-6f, $"row {b} output");
            for (int s = 0; s < batch.L * batch.D; s++)
            {
                Support.Numerics.AssertClose(all.HN.AsSpan((s * batch.B + b) * hs, hs), one.HN.AsSpan(s * hs, hs), 1e-5f, 1e-6f, $"row {b} hN");
                Support.Numerics.AssertClose(all.DH0.AsSpan((s * batch.B + b) * hs, hs), one.DH0.AsSpan(s * hs, hs), 1e-4f, 1e-5f, $"row {b} dH0");
            }
            Support.Numerics.AssertClose(all.DX.AsSpan(b * batch.S * batch.I, batch.S * batch.I), one.DX, 1e-4f, 1e-5f, $"row {b} dX");
        }
    }

    /// <summary>Row b of a case as a batch of one, with the same parameters and loss weights.</summary>
    private static LayerCase Slice(LayerCase c, int b)
    {
        var one = new LayerCase(c.Kind, c.I, c.H, c.L, c.Bidirectional, 1, c.S, [c.Lengths[b]], 0);
        c.Params.CopyTo(one.Params, 0);
        Array.Copy(c.X, b * c.S * c.I, one.X, 0, c.S * c.I);
        Array.Copy(c.WOut, b * c.S * c.D * c.H, one.WOut, 0, c.S * c.D * c.H);
        for (int s = 0; s < c.L * c.D; s++)
        {
            Array.Copy(c.H0, (s * c.B + b) * c.H, one.H0, s * c.H, c.H);
            Array.Copy(c.WH, (s * c.B + b) * c.H, one.WH, s * c.H, c.H);
            if (c.Kind == RecurrentKind.Lstm)
            {
                Array.Copy(c.C0, (s * c.B + b) * c.H, one.C0, s * c.H, c.H);
                Array.Copy(c.WC, (s * c.B + b) * c.H, one.WC, s * c.H, c.H);
            }
        }
        return one;
    }

    [Fact]
    public void Forward_PaddedSteps_OutputZeroAndFinalStateAtLastValidStep()
    {
        LayerCase c = Case(RecurrentKind.Gru, 1, true);
        LayerResult r = LayerRunner.Fast(c);
        int w = c.D * c.H;
        for (int b = 0; b < c.B; b++)
        {
            for (int t = c.Lengths[b]; t < c.S; t++)
            {
                Assert.All(r.Output.AsSpan((b * c.S + t) * w, w).ToArray(), v => Assert.Equal(0f, v));
            }
            // forward direction: hN is the output at the last valid step; reverse: the output at step 0.
            Support.Numerics.AssertEqual(r.Output.AsSpan((b * c.S + c.Lengths[b] - 1) * w, c.H), r.HN.AsSpan(b * c.H, c.H));
            Support.Numerics.AssertEqual(r.Output.AsSpan(b * c.S * w + c.H, c.H), r.HN.AsSpan((c.B + b) * c.H, c.H));
        }
    }

    [Fact]
    public void Forward_NoInitialState_EqualsZeroInitialState()
    {
        LayerCase c = Case(RecurrentKind.Lstm, 2, true);
        Array.Clear(c.H0);
        Array.Clear(c.C0);
        LayerResult zeros = LayerRunner.Fast<LstmGates>(c);
        LayerResult none = LayerRunner.Fast<LstmGates>(c, withInitialState: false);
        Support.Numerics.AssertEqual(zeros.Output, none.Output);
        Support.Numerics.AssertEqual(zeros.DParams, none.DParams);
    }

    [Fact]
    public void Constructor_TwoLayerBidirectional_RegistersPyTorchNamesAndShapes()
    {
        var layout = new ParameterLayout();
        var lstm = new RecurrentLayer<LstmGates>(layout, "encoder.rnn.", 5, 7, numLayers: 2, bidirectional: true);
        string[] expected =
        [
            "encoder.rnn.weight_ih_l0", "encoder.rnn.weight_hh_l0", "encoder.rnn.bias_ih_l0", "encoder.rnn.bias_hh_l0",
            "encoder.rnn.weight_ih_l0_reverse", "encoder.rnn.weight_hh_l0_reverse", "encoder.rnn.bias_ih_l0_reverse", "encoder.rnn.bias_hh_l0_reverse",
            "encoder.rnn.weight_ih_l1", "encoder.rnn.weight_hh_l1", "encoder.rnn.bias_ih_l1", "encoder.rnn.bias_hh_l1",
            "encoder.rnn.weight_ih_l1_reverse", "encoder.rnn.weight_hh_l1_reverse", "encoder.rnn.bias_ih_l1_reverse", "encoder.rnn.bias_hh_l1_reverse",
        ];
        Assert.Equal(expected, layout.Slots.Select(s => s.Name));
        Assert.Equal([28, 5], layout["encoder.rnn.weight_ih_l0"].Shape);
        Assert.Equal([28, 14], layout["encoder.rnn.weight_ih_l1_reverse"].Shape);
        Assert.Equal([28, 7], layout["encoder.rnn.weight_hh_l1"].Shape);
        Assert.Equal([28], layout["encoder.rnn.bias_hh_l0"].Shape);
        Assert.Equal(layout.Count, lstm.ParameterCount);

        var cellLayout = new ParameterLayout();
        _ = new RecurrentCell<GruGates>(cellLayout, "decoder.cell.", 4, 6);
        Assert.Equal(["decoder.cell.weight_ih", "decoder.cell.weight_hh", "decoder.cell.bias_ih", "decoder.cell.bias_hh"], cellLayout.Slots.Select(s => s.Name));
        Assert.Equal([18, 4], cellLayout["decoder.cell.weight_ih"].Shape);
    }

    [Fact]
    public void Initialize_Default_IsUniformWithinOneOverSqrtH()
    {
        var layout = new ParameterLayout();
        var gru = new RecurrentLayer<GruGates>(layout, "", 3, 16);
        var ps = new ParameterSet(layout);
        gru.Initialize(ps, new Random(1));
        float bound = 1f / 4f;
        Assert.All(ps.Values, v => Assert.InRange(v, -bound, bound));
        Assert.True(ps.Values.Max() > 0.9f * bound && ps.Values.Min() < -0.9f * bound);
    }

    [Fact]
    public void Forward_ShapeBeyondCapacity_ThrowsAndEnsureCapacityGrows()
    {
        var layout = new ParameterLayout();
        var gru = new RecurrentLayer<GruGates>(layout, "", 2, 3, maxBatch: 2, maxSteps: 4);
        var ps = new ParameterSet(layout);
        var x = new float[3 * 5 * 2];
        var output = new float[3 * 5 * 3];
        Assert.Throws<ArgumentOutOfRangeException>(() => gru.Forward(ps, 3, 5, x, [5, 5, 5], default, default, output, default, default));
        Assert.Throws<InvalidOperationException>(() => gru.Backward(ps, x, output, default, default, default, default, default));
        Assert.Throws<ArgumentOutOfRangeException>(() => gru.Forward(ps, 2, 4, x, [5, 1], default, default, output, default, default));
        gru.EnsureCapacity(3, 5);
        gru.Forward(ps, 3, 5, x, [5, 5, 5], default, default, output, default, default);
    }

    [Fact]
    public void ForwardBackward_AfterWarmUp_AllocateZeroBytes()
    {
        foreach (int batch in new[] { 1, 3 })
        {
            Assert.Equal(0, Allocations<GruGates>(batch));
            Assert.Equal(0, Allocations<LstmGates>(batch));
            Assert.Equal(0, Allocations<RnnGates>(batch));
        }
    }

    private static long Allocations<TGates>(int batch)
        where TGates : struct, IRecurrentGates
    {
        const int I = 5, H = 17, S = 6;
        var layout = new ParameterLayout();
        var layer = new RecurrentLayer<TGates>(layout, "", I, H, 2, true, batch, S);
        var ps = new ParameterSet(layout);
        layer.Initialize(ps, new Random(3));
        float[] x = Support.Numerics.Random(batch * S * I, 4);
        int[] lengths = Enumerable.Range(0, batch).Select(b => S - b).ToArray();
        var output = new float[batch * S * 2 * H];
        var states = new float[4 * batch * H];
        var cStates = new float[4 * batch * H];
        var dX = new float[x.Length];
        var dStates = new float[states.Length];
        var dCStates = new float[states.Length];
        void Forward() => layer.Forward(ps, batch, S, x, lengths, states, cStates, output, states, cStates);
        void Both()
        {
            layer.Forward(ps, batch, S, x, lengths, default, default, output, states, cStates);
            layer.Backward(ps, x, output, states, cStates, dX, dStates, dCStates);
        }
        for (int i = 0; i < 3; i++) { Forward(); Both(); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++) { Forward(); Both(); }
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
