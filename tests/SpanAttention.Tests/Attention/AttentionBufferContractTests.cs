using SpanAttention.Attention;
using SpanAttention.Parameters;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Attention;

/// <summary>
/// The overwrite/accumulate contract of every <see cref="AttentionLayer"/> API, for every scorer: outputs
/// documented as overwritten are passed NaN-filled and must come out bit-identical to a run on zeroed
/// buffers; outputs documented as accumulated are passed known non-zero values X and must come out as
/// X + (the run on zeroed buffers). Each run uses its own freshly built layer, so no workspace state is shared.
/// </summary>
public sealed class AttentionBufferContractTests
{
    private const int B = 3, S = 6, T = 2, Dq = 5, Dv = 4, A = 6;
    private static readonly int[] Lengths = [2, 0, 6];   // a short row, an empty row, a full last row (its writes end at the buffers' ends)
    private const int EmptyRow = 1;

    public static TheoryData<AttentionScorer> Scorers => new(Enum.GetValues<AttentionScorer>());

    /// <summary>One layer with its parameters and inputs, rebuilt identically from the same seed.</summary>
    private sealed class Problem
    {
        public Problem(AttentionScorer scorer)
        {
            Scorer = scorer;
            Dk = scorer is AttentionScorer.Dot or AttentionScorer.ScaledDot ? Dq : 7;
            Layer = new AttentionLayer(scorer, Dq, Dk, Dv, A, B, S, T);
            var layout = new ParameterLayout();
            layout.Add("before", 3);
            Layer.RegisterParameters(layout, "attention.");
            layout.Add("after", 2);
            Parameters = new ParameterSet(layout);
            Layer.InitializeParameters(Parameters, new Random(5));
            Queries = Canary.From(Numerics.Random(T * B * Dq, 11, 1.5f));
            Keys = Canary.From(Numerics.Random(B * S * Dk, 12, 1.5f));
            Values = Canary.From(Numerics.Random(B * S * Dv, 13));
            DContext = Canary.From(Numerics.Random(T * B * Dv, 14));
            DWeights = Canary.From(Numerics.Random(T * B * S, 15));
            Mask = new bool[B * S];
            var rng = new Random(16);
            for (int i = 0; i < Mask.Length; i++)
            {
                Mask[i] = rng.Next(3) != 0;
            }
            Mask[0] = true;
            Mask[B * S - 1] = true;   // the last row's last position counts, so writes at the very end are reached
            Mask.AsSpan(EmptyRow * S, S).Clear();   // row 1 fully masked
        }

        public AttentionScorer Scorer { get; }
        public int Dk { get; }
        public AttentionLayer Layer { get; }
        public ParameterSet Parameters { get; }
        public CanaryBuffer Queries { get; }
        public CanaryBuffer Keys { get; }
        public CanaryBuffer Values { get; }
        public CanaryBuffer DContext { get; }
        public CanaryBuffer DWeights { get; }
        public bool[] Mask { get; }

        public ReadOnlySpan<float> Query(int t) => Queries.Span.Slice(t * B * Dq, B * Dq);

        /// <summary>The inputs (read past their ends, a kernel would pick up canaries and change its outputs).</summary>
        public void AssertInputsIntact() => Canary.AssertIntact(Scorer.ToString(), ("queries", Queries), ("keys", Keys), ("values", Values), ("dContext", DContext), ("dWeights", DWeights));

        public int GradientCount => Parameters.Values.Length;
    }

    /// <summary>An (n) output slice filled with <paramref name="value"/>, between canaries.</summary>
    private static CanaryBuffer Filled(int n, float value) => Canary.Filled(n, value);

    /// <summary>Asserts the canaries around each output and returns the payloads.</summary>
    private static float[][] Intact(string what, params CanaryBuffer[] outputs)
    {
        var payloads = new float[outputs.Length][];
        for (int i = 0; i < outputs.Length; i++)
        {
            outputs[i].AssertIntact($"{what} output {i}");
            payloads[i] = outputs[i].ToArray();
        }
        return payloads;
    }

    /// <summary>The accumulate contract: actual = start + fromZero, up to the rounding of one more addition.</summary>
    private static void AssertAccumulated(float[] start, float[] fromZero, float[] actual, string what)
    {
        var expected = new float[start.Length];
        for (int i = 0; i < expected.Length; i++)
        {
            expected[i] = start[i] + fromZero[i];
        }
        Numerics.AssertClose(expected, actual, 1e-5f, 1e-5f, what);
    }

    private static void AssertPaddingZero(float[] weights, float[] context, int rowsPerStep)
    {
        for (int t = 0; t < weights.Length / (rowsPerStep * S); t++)
        {
            for (int b = 0; b < rowsPerStep; b++)
            {
                for (int j = Lengths[b]; j < S; j++)
                {
                    Assert.Equal(0f, weights[(t * rowsPerStep + b) * S + j]);
                }
            }
            // row 1 has no valid position: its context is exactly 0, whatever the buffer held
            Assert.All(context.AsSpan((t * rowsPerStep + EmptyRow) * Dv, Dv).ToArray(), c => Assert.Equal(0f, c));
        }
    }

    [Theory]
    [MemberData(nameof(Scorers))]
    public void Forward_Lengths_OverwritesDirtyWeightsAndContext(AttentionScorer scorer)
    {
        (float[] Weights, float[] Context) Run(float fill)
        {
            var p = new Problem(scorer);
            CanaryBuffer weights = Filled(B * S, fill), context = Filled(B * Dv, fill);
            p.Layer.PrepareKeys(p.Parameters.Values, p.Keys, B, S);
            p.Layer.Forward(p.Parameters.Values, p.Query(0), p.Keys, p.Values, Lengths, weights, context);
            float[][] o = Intact($"{scorer} lengths", weights, context);
            return (o[0], o[1]);
        }
        var clean = Run(0f);
        var dirty = Run(float.NaN);
        Numerics.AssertEqual(clean.Weights, dirty.Weights, $"{scorer} weights");
        Numerics.AssertEqual(clean.Context, dirty.Context, $"{scorer} context");
        AssertPaddingZero(dirty.Weights, dirty.Context, B);
    }

    [Theory]
    [MemberData(nameof(Scorers))]
    public void Forward_Mask_OverwritesDirtyWeightsAndContext(AttentionScorer scorer)
    {
        (float[] Weights, float[] Context) Run(float fill)
        {
            var p = new Problem(scorer);
            CanaryBuffer weights = Filled(B * S, fill), context = Filled(B * Dv, fill);
            p.Layer.PrepareKeys(p.Parameters.Values, p.Keys, B, S);
            p.Layer.Forward(p.Parameters.Values, p.Query(0), p.Keys, p.Values, p.Mask, weights, context);
            float[][] o = Intact($"{scorer} mask", weights, context);
            return (o[0], o[1]);
        }
        var clean = Run(0f);
        var dirty = Run(float.NaN);
        Numerics.AssertEqual(clean.Weights, dirty.Weights, $"{scorer} weights");
        Numerics.AssertEqual(clean.Context, dirty.Context, $"{scorer} context");
        Assert.All(dirty.Context.AsSpan(EmptyRow * Dv, Dv).ToArray(), c => Assert.Equal(0f, c));   // fully masked row
        Assert.All(dirty.Weights.AsSpan(EmptyRow * S, S).ToArray(), w => Assert.Equal(0f, w));
    }

    [Theory]
    [MemberData(nameof(Scorers))]
    public void ForwardSteps_LengthsAndMask_OverwriteDirtyWeightsAndContext(AttentionScorer scorer)
    {
        foreach (bool useMask in new[] { false, true })
        {
            (float[] Weights, float[] Context) Run(float fill)
            {
                var p = new Problem(scorer);
                CanaryBuffer weights = Filled(T * B * S, fill), context = Filled(T * B * Dv, fill);
                p.Layer.PrepareKeys(p.Parameters.Values, p.Keys, B, S);
                if (useMask)
                {
                    p.Layer.ForwardSteps(p.Parameters.Values, p.Queries, T, p.Keys, p.Values, p.Mask, weights, context);
                }
                else
                {
                    p.Layer.ForwardSteps(p.Parameters.Values, p.Queries, T, p.Keys, p.Values, Lengths, weights, context);
                }
                float[][] o = Intact($"{scorer} steps mask={useMask}", weights, context);
                return (o[0], o[1]);
            }
            var clean = Run(0f);
            var dirty = Run(float.NaN);
            Numerics.AssertEqual(clean.Weights, dirty.Weights, $"{scorer} mask={useMask} weights");
            Numerics.AssertEqual(clean.Context, dirty.Context, $"{scorer} mask={useMask} context");
            if (!useMask)
            {
                AssertPaddingZero(dirty.Weights, dirty.Context, B);
            }
        }
    }

    [Fact]
    public void Forward_KeptHiddenLayer_OverwritesDirtyWeightsContextAndValidHiddenRows()
    {
        (float[] Weights, float[] Context, float[] Hidden) Run(float fill)
        {
            var p = new Problem(AttentionScorer.Additive);
            CanaryBuffer weights = Filled(B * S, fill), context = Filled(B * Dv, fill), hidden = Filled(B * S * A, fill);
            p.Layer.PrepareKeys(p.Parameters.Values, p.Keys, B, S);
            p.Layer.Forward(p.Parameters.Values, p.Query(0), p.Keys, p.Values, Lengths, weights, context, hidden);
            float[][] o = Intact("kept hidden", weights, context, hidden);
            return (o[0], o[1], o[2]);
        }
        var clean = Run(0f);
        var dirty = Run(float.NaN);
        Numerics.AssertEqual(clean.Weights, dirty.Weights, "weights");
        Numerics.AssertEqual(clean.Context, dirty.Context, "context");
        for (int b = 0; b < B; b++)
        {
            // only the valid positions' tanh rows are written (documented); those must not depend on the buffer
            Numerics.AssertEqual(clean.Hidden.AsSpan(b * S * A, Lengths[b] * A), dirty.Hidden.AsSpan(b * S * A, Lengths[b] * A), $"hidden row {b}");
        }
        AssertPaddingZero(dirty.Weights, dirty.Context, B);
    }

    /// <summary>Every gradient output of one backward pass (parameters, queries, keys, values).</summary>
    private sealed record Grads(CanaryBuffer Parameters, CanaryBuffer Queries, CanaryBuffer Keys, CanaryBuffer Values)
    {
        public static Grads Start(Problem p, float scale) => scale == 0f
            ? new Grads(Canary.Zeros(p.GradientCount), Canary.Zeros(T * B * Dq), Canary.Zeros(B * S * p.Dk), Canary.Zeros(B * S * Dv))
            : new Grads(Canary.From(Numerics.Random(p.GradientCount, 21, scale)), Canary.From(Numerics.Random(T * B * Dq, 22, scale)),
                Canary.From(Numerics.Random(B * S * p.Dk, 23, scale)), Canary.From(Numerics.Random(B * S * Dv, 24, scale)));

        public void AssertAccumulatedOnto(Grads start, Grads fromZero, string what)
        {
            Canary.AssertIntact(what, ("dParameters", Parameters), ("dQueries", Queries), ("dKeys", Keys), ("dValues", Values));
            Canary.AssertIntact($"{what} from zero", ("dParameters", fromZero.Parameters), ("dQueries", fromZero.Queries),
                ("dKeys", fromZero.Keys), ("dValues", fromZero.Values));
            AssertAccumulated(start.Parameters.ToArray(), fromZero.Parameters.ToArray(), Parameters.ToArray(), $"{what} dParameters");
            AssertAccumulated(start.Queries.ToArray(), fromZero.Queries.ToArray(), Queries.ToArray(), $"{what} dQueries");
            AssertAccumulated(start.Keys.ToArray(), fromZero.Keys.ToArray(), Keys.ToArray(), $"{what} dKeys");
            AssertAccumulated(start.Values.ToArray(), fromZero.Values.ToArray(), Values.ToArray(), $"{what} dValues");
        }
    }

    /// <summary>A fresh problem, gradients starting at <paramref name="startScale"/>, zeroed (T, B, S) weights and
    /// (T, B, Dv) context buffers, and the keys already prepared.</summary>
    private static (Problem P, Grads G, float[] Weights, float[] Context) KeysPrepared(AttentionScorer scorer, float startScale)
    {
        var p = new Problem(scorer);
        Grads g = Grads.Start(p, startScale);
        p.Layer.PrepareKeys(p.Parameters.Values, p.Keys, B, S);
        return (p, g, new float[T * B * S], new float[T * B * Dv]);
    }

    [Theory]
    [MemberData(nameof(Scorers))]
    public void Backward_StepByStep_AccumulatesIntoEveryGradient(AttentionScorer scorer)
    {
        foreach (bool withDWeights in new[] { false, true })
        {
            Grads Run(float startScale)
            {
                (Problem p, Grads g, float[] weights, float[] context) = KeysPrepared(scorer, startScale);
                for (int t = 0; t < T; t++)
                {
                    p.Layer.Forward(p.Parameters.Values, p.Query(t), p.Keys, p.Values, Lengths, weights.AsSpan(t * B * S, B * S), context.AsSpan(t * B * Dv, B * Dv));
                }
                for (int t = T - 1; t >= 0; t--)
                {
                    p.Layer.Backward(p.DContext.Span.Slice(t * B * Dv, B * Dv), withDWeights ? p.DWeights.Span.Slice(t * B * S, B * S) : default,
                        p.Parameters.Values, p.Query(t), p.Keys, p.Values, Lengths, weights.AsSpan(t * B * S, B * S),
                        g.Parameters, g.Queries.Span.Slice(t * B * Dq, B * Dq), g.Keys, g.Values);
                }
                p.Layer.PrepareKeysBackward(p.Parameters.Values, p.Keys, g.Parameters, g.Keys);
                p.AssertInputsIntact();
                return g;
            }
            var p0 = new Problem(scorer);
            Grads fromZero = Run(0f);
            Assert.Contains(fromZero.Queries.ToArray(), x => x != 0f);   // the pass produces gradients at all
            Run(1f).AssertAccumulatedOnto(Grads.Start(p0, 1f), fromZero, $"{scorer} dWeights={withDWeights}");
        }
    }

    [Theory]
    [MemberData(nameof(Scorers))]
    public void BackwardSteps_LengthsAndMask_AccumulateIntoEveryGradient(AttentionScorer scorer)
    {
        foreach (bool useMask in new[] { false, true })
        {
            Grads Run(float startScale)
            {
                (Problem p, Grads g, float[] weights, float[] context) = KeysPrepared(scorer, startScale);
                if (useMask)
                {
                    p.Layer.ForwardSteps(p.Parameters.Values, p.Queries, T, p.Keys, p.Values, p.Mask, weights, context);
                }
                else
                {
                    p.Layer.ForwardSteps(p.Parameters.Values, p.Queries, T, p.Keys, p.Values, Lengths, weights, context);
                }
                p.Layer.BackwardSteps(p.DContext, p.DWeights, p.Parameters.Values, p.Queries, T, p.Keys, p.Values,
                    useMask ? ReadOnlySpan<int>.Empty : Lengths, weights, g.Parameters, g.Queries, g.Keys, g.Values);
                p.Layer.PrepareKeysBackward(p.Parameters.Values, p.Keys, g.Parameters, g.Keys);
                p.AssertInputsIntact();
                return g;
            }
            var p0 = new Problem(scorer);
            Grads fromZero = Run(0f);
            Assert.Contains(fromZero.Keys.ToArray(), x => x != 0f);
            Run(1f).AssertAccumulatedOnto(Grads.Start(p0, 1f), fromZero, $"{scorer} mask={useMask}");
        }
    }

    [Fact]
    public void Backward_KeptHiddenLayer_OverwritesProjectedQueryGradientAndAccumulatesTheRest()
    {
        (Grads G, float[] Dpq) Run(float startScale, float dpqFill)
        {
            var p = new Problem(AttentionScorer.Additive);
            Grads g = Grads.Start(p, startScale);
            var weights = new float[T * B * S];
            var context = new float[T * B * Dv];
            var hidden = new float[T * B * S * A];
            CanaryBuffer dpqBuffer = Filled(T * B * A, dpqFill);
            Span<float> dpq = dpqBuffer;
            p.Layer.PrepareKeys(p.Parameters.Values, p.Keys, B, S);
            for (int t = 0; t < T; t++)
            {
                p.Layer.Forward(p.Parameters.Values, p.Query(t), p.Keys, p.Values, Lengths,
                    weights.AsSpan(t * B * S, B * S), context.AsSpan(t * B * Dv, B * Dv), hidden.AsSpan(t * B * S * A, B * S * A));
            }
            for (int t = T - 1; t >= 0; t--)
            {
                p.Layer.Backward(p.DContext.Span.Slice(t * B * Dv, B * Dv), p.DWeights.Span.Slice(t * B * S, B * S), p.Parameters.Values,
                    p.Query(t), p.Keys, p.Values, Lengths, weights.AsSpan(t * B * S, B * S),
                    g.Parameters, g.Queries.Span.Slice(t * B * Dq, B * Dq), g.Keys, g.Values,
                    hidden.AsSpan(t * B * S * A, B * S * A), dpq.Slice(t * B * A, B * A));
            }
            p.Layer.AccumulateQueryWeightGradient(g.Parameters, T * B, dpq, p.Queries);
            p.Layer.PrepareKeysBackward(p.Parameters.Values, p.Keys, g.Parameters, g.Keys);
            return (g, Intact("d(W_q q)", dpqBuffer)[0]);
        }
        var fromZero = Run(0f, 0f);
        var dirty = Run(1f, float.NaN);
        Numerics.AssertEqual(fromZero.Dpq, dirty.Dpq, "d(W_q q)");
        Assert.Contains(fromZero.Dpq, x => x != 0f);
        dirty.G.AssertAccumulatedOnto(Grads.Start(new Problem(AttentionScorer.Additive), 1f), fromZero.G, "kept");
    }

    [Fact]
    public void AccumulateQueryWeightGradient_AddsOntoExistingGradients()
    {
        var p = new Problem(AttentionScorer.Additive);
        float[] dpq = Numerics.Random(T * B * A, 31);
        float[] fromZero = new float[p.GradientCount];
        p.Layer.AccumulateQueryWeightGradient(fromZero, T * B, dpq, p.Queries);
        float[] start = Numerics.Random(p.GradientCount, 32);
        float[] actual = (float[])start.Clone();
        p.Layer.AccumulateQueryWeightGradient(actual, T * B, dpq, p.Queries);
        AssertAccumulated(start, fromZero, actual, "dW_q");
        Assert.Contains(fromZero, x => x != 0f);
        // only the W_q slot changes
        ParameterSlot wq = p.Layer.QueryWeight!;
        for (int i = 0; i < start.Length; i++)
        {
            if (i < wq.Offset || i >= wq.Offset + wq.Length)
            {
                Assert.Equal(start[i], actual[i]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Scorers))]
    public void PrepareKeysBackward_SecondCall_AddsNothing(AttentionScorer scorer)
    {
        var p = new Problem(scorer);
        Grads g = Grads.Start(p, 0f);
        var weights = new float[B * S];
        var context = new float[B * Dv];
        p.Layer.PrepareKeys(p.Parameters.Values, p.Keys, B, S);
        p.Layer.Forward(p.Parameters.Values, p.Query(0), p.Keys, p.Values, Lengths, weights, context);
        p.Layer.Backward(p.DContext.Span.Slice(0, B * Dv), default, p.Parameters.Values, p.Query(0), p.Keys, p.Values, Lengths, weights,
            g.Parameters, g.Queries.Span.Slice(0, B * Dq), g.Keys, g.Values);
        p.Layer.PrepareKeysBackward(p.Parameters.Values, p.Keys, g.Parameters, g.Keys);
        float[] parameters = g.Parameters.ToArray(), keys = g.Keys.ToArray();
        p.Layer.PrepareKeysBackward(p.Parameters.Values, p.Keys, g.Parameters, g.Keys);
        Numerics.AssertEqual(parameters, g.Parameters.ToArray(), "dParameters");
        Numerics.AssertEqual(keys, g.Keys.ToArray(), "dKeys");
        Canary.AssertIntact(scorer.ToString(), ("dParameters", g.Parameters), ("dKeys", g.Keys));
    }
}
