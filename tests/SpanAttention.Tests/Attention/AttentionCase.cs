using FsCheck;
using FsCheck.Fluent;
using SpanAttention.Attention;
using SpanAttention.Parameters;

namespace SpanAttention.Tests.Attention;

/// <summary>How a case masks its source rows.</summary>
public enum MaskKind
{
    /// <summary>Every position valid.</summary>
    None,

    /// <summary>Per-row valid prefix lengths (0..S, 0 included).</summary>
    Lengths,

    /// <summary>An explicit random (B, S) bool mask.</summary>
    Bool,
}

/// <summary>One random attention problem: shapes, parameters, inputs, upstream gradients, and the fast layer's outputs and gradients.</summary>
public sealed class AttentionCase
{
    public AttentionCase(AttentionScorer scorer, int batch, int source, int steps, int queryDim, int keyDim, int valueDim, int attentionDim,
        MaskKind mask, int seed, float inputScale = 1f, float parameterScale = 0f, bool projectKeys = false)
    {
        Scorer = scorer;
        B = batch;
        S = source;
        T = steps;
        if (scorer is AttentionScorer.Dot or AttentionScorer.ScaledDot && !projectKeys)
        {
            keyDim = queryDim;
        }
        Dq = queryDim;
        Dk = keyDim;
        Dv = valueDim;
        A = attentionDim;
        Mask = mask;
        Seed = seed;
        Layer = new AttentionLayer(scorer, Dq, Dk, Dv, A, B, S, T);
        var layout = new ParameterLayout();
        layout.Add("before", 3); // the attention slots do not start at offset 0, like in a real model
        Layer.RegisterParameters(layout, "attention.");
        layout.Add("after", 2);
        Parameters = new ParameterSet(layout);
        var rng = new Random(seed);
        Layer.InitializeParameters(Parameters, rng);
        if (parameterScale > 0f)
        {
            foreach (ParameterSlot slot in layout.Slots)
            {
                Parameters.InitializeUniform(slot, parameterScale, rng);
            }
        }
        Queries = Fill(T * B * Dq, rng, inputScale);
        Keys = Fill(B * S * Dk, rng, inputScale);
        Values = Fill(B * S * Dv, rng, 1f);
        DContext = Fill(T * B * Dv, rng, 1f);
        DWeights = Fill(T * B * S, rng, 1f);
        Lengths = mask == MaskKind.Lengths ? new int[B] : [];
        Valid = new bool[B * S];
        for (int b = 0; b < B; b++)
        {
            int length = rng.Next(S + 1);
            if (b == 0 && mask == MaskKind.Lengths && S > 1)
            {
                length = rng.Next(2) == 0 ? 0 : S; // exercise the empty and the full row often
            }
            for (int j = 0; j < S; j++)
            {
                Valid[b * S + j] = mask switch
                {
                    MaskKind.None => true,
                    MaskKind.Lengths => j < length,
                    _ => rng.Next(4) != 0,
                };
            }
            if (mask == MaskKind.Lengths)
            {
                Lengths[b] = length;
            }
        }
        if (mask == MaskKind.Bool && B > 1)
        {
            Valid.AsSpan(S, S).Clear(); // one fully masked row
        }
    }

    public AttentionScorer Scorer { get; }
    public int B { get; }
    public int S { get; }
    public int T { get; }
    public int Dq { get; }
    public int Dk { get; }
    public int Dv { get; }
    public int A { get; }
    public MaskKind Mask { get; }
    public int Seed { get; }
    internal AttentionLayer Layer { get; }
    public ParameterSet Parameters { get; }
    public float[] Queries { get; }
    public float[] Keys { get; }
    public float[] Values { get; }
    public float[] DContext { get; }
    public float[] DWeights { get; }
    public int[] Lengths { get; }
    public bool[] Valid { get; }

    public override string ToString() =>
        $"{Scorer} B={B} S={S} T={T} Dq={Dq} Dk={Dk} Dv={Dv} A={A} mask={Mask} seed={Seed}";

    /// <summary>Runs the fast forward: weights (T, B, S) and context (T, B, Dv).</summary>
    /// <param name="stepByStep">Use the single-step API T times instead of ForwardSteps.</param>
    public (float[] Weights, float[] Context) Forward(bool stepByStep = false)
    {
        var weights = new float[T * B * S];
        var context = new float[T * B * Dv];
        Layer.PrepareKeys(Parameters.Values, Keys, B, S);
        if (stepByStep || T == 1)
        {
            for (int t = 0; t < T; t++)
            {
                ReadOnlySpan<float> q = Queries.AsSpan(t * B * Dq, B * Dq);
                Span<float> a = weights.AsSpan(t * B * S, B * S);
                Span<float> c = context.AsSpan(t * B * Dv, B * Dv);
                if (Mask == MaskKind.Bool)
                {
                    Layer.Forward(Parameters.Values, q, Keys, Values, Valid, a, c);
                }
                else
                {
                    Layer.Forward(Parameters.Values, q, Keys, Values, Lengths, a, c);
                }
            }
        }
        else if (Mask == MaskKind.Bool)
        {
            Layer.ForwardSteps(Parameters.Values, Queries, T, Keys, Values, Valid, weights, context);
        }
        else
        {
            Layer.ForwardSteps(Parameters.Values, Queries, T, Keys, Values, Lengths, weights, context);
        }
        return (weights, context);
    }

    /// <summary>Gradients of loss = Σ dContext·context + Σ dWeights·weights w.r.t. every input and parameter.</summary>
    public sealed record Gradients(float[] DQueries, float[] DKeys, float[] DValues, float[] DParameters);

    /// <summary>Fast forward then backward (steps in reverse order when step by step).</summary>
    public Gradients Backward(bool stepByStep = false, bool withDWeights = true)
    {
        (float[] weights, _) = Forward(stepByStep);
        var g = new Gradients(new float[Queries.Length], new float[Keys.Length], new float[Values.Length], new float[Parameters.Values.Length]);
        ReadOnlySpan<float> dWeights = withDWeights ? DWeights : default;
        if (stepByStep || T == 1)
        {
            for (int t = T - 1; t >= 0; t--)
            {
                Layer.Backward(DContext.AsSpan(t * B * Dv, B * Dv), dWeights.IsEmpty ? dWeights : dWeights.Slice(t * B * S, B * S), Parameters.Values,
                    Queries.AsSpan(t * B * Dq, B * Dq), Keys, Values, Lengths, weights.AsSpan(t * B * S, B * S),
                    g.DParameters, g.DQueries.AsSpan(t * B * Dq, B * Dq), g.DKeys, g.DValues);
            }
        }
        else
        {
            Layer.BackwardSteps(DContext, dWeights, Parameters.Values, Queries, T, Keys, Values, Lengths, weights, g.DParameters, g.DQueries, g.DKeys, g.DValues);
        }
        Layer.PrepareKeysBackward(Parameters.Values, Keys, g.DParameters, g.DKeys);
        return g;
    }

    /// <summary>
    /// Step-by-step forward and backward the way the training model runs the additive scorer: each forward step keeps
    /// its tanh layer (B, S, A), each backward step reads it and stores d(W_q q) (B, A), and dW_q comes from one
    /// <see cref="AttentionLayer.AccumulateQueryWeightGradient"/> over all T·B rows. Length masks only.
    /// </summary>
    public Gradients BackwardKept()
    {
        var weights = new float[T * B * S];
        var context = new float[T * B * Dv];
        var hidden = new float[T * B * S * A];
        var dpq = new float[T * B * A];
        Layer.PrepareKeys(Parameters.Values, Keys, B, S);
        for (int t = 0; t < T; t++)
        {
            Layer.Forward(Parameters.Values, Queries.AsSpan(t * B * Dq, B * Dq), Keys, Values, Lengths,
                weights.AsSpan(t * B * S, B * S), context.AsSpan(t * B * Dv, B * Dv), hidden.AsSpan(t * B * S * A, B * S * A));
        }
        var g = new Gradients(new float[Queries.Length], new float[Keys.Length], new float[Values.Length], new float[Parameters.Values.Length]);
        for (int t = T - 1; t >= 0; t--)
        {
            Layer.Backward(DContext.AsSpan(t * B * Dv, B * Dv), DWeights.AsSpan(t * B * S, B * S), Parameters.Values,
                Queries.AsSpan(t * B * Dq, B * Dq), Keys, Values, Lengths, weights.AsSpan(t * B * S, B * S),
                g.DParameters, g.DQueries.AsSpan(t * B * Dq, B * Dq), g.DKeys, g.DValues,
                hidden.AsSpan(t * B * S * A, B * S * A), dpq.AsSpan(t * B * A, B * A));
        }
        Layer.AccumulateQueryWeightGradient(g.DParameters, T * B, dpq, Queries);
        Layer.PrepareKeysBackward(Parameters.Values, Keys, g.DParameters, g.DKeys);
        return g;
    }

    /// <summary>The naive twin, row by row: weights, context, and (optionally) gradients.</summary>
    public (float[] Weights, float[] Context, Gradients Grads) Naive(bool withDWeights = true)
    {
        var weights = new float[T * B * S];
        var context = new float[T * B * Dv];
        var g = new Gradients(new float[Queries.Length], new float[Keys.Length], new float[Values.Length], new float[Parameters.Values.Length]);
        for (int t = 0; t < T; t++)
        {
            for (int b = 0; b < B; b++)
            {
                int row = t * B + b;
                ReadOnlySpan<float> q = Queries.AsSpan(row * Dq, Dq);
                ReadOnlySpan<float> k = Keys.AsSpan(b * S * Dk, S * Dk);
                ReadOnlySpan<float> v = Values.AsSpan(b * S * Dv, S * Dv);
                Span<float> a = weights.AsSpan(row * S, S);
                NaiveAttention.Forward(Layer, Parameters.Values, q, k, v, Valid.AsSpan(b * S, S), a, context.AsSpan(row * Dv, Dv));
                NaiveAttention.Backward(Layer, Parameters.Values, DContext.AsSpan(row * Dv, Dv), withDWeights ? DWeights.AsSpan(row * S, S) : default,
                    q, k, v, a, g.DParameters, g.DQueries.AsSpan(row * Dq, Dq), g.DKeys.AsSpan(b * S * Dk, S * Dk), g.DValues.AsSpan(b * S * Dv, S * Dv));
            }
        }
        return (weights, context, g);
    }

    private static float[] Fill(int n, Random rng, float scale)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        }
        return x;
    }

    /// <summary>
    /// Random small cases: every dimension drawn from ranges that avoid multiples of 16 being special. Dot and ScaledDot
    /// get Dk = Dq or (half the time) an independent Dk, which makes them learn a key projection when the two differ.
    /// </summary>
    public static Gen<AttentionCase> Generator(AttentionScorer scorer, MaskKind mask, int maxSteps = 3, int maxSource = 11, int maxDim = 9) =>
        from b in Gen.Choose(1, 3)
        from s in Gen.Choose(1, maxSource)
        from t in Gen.Choose(1, maxSteps)
        from dq in Gen.Choose(1, maxDim)
        from dk in Gen.Choose(1, maxDim)
        from dv in Gen.Choose(1, maxDim)
        from a in Gen.Choose(1, maxDim)
        from seed in Gen.Choose(0, int.MaxValue - 1)
        from project in Gen.Elements(false, true)
        select new AttentionCase(scorer, b, s, t, dq, dk, dv, a, mask, seed, projectKeys: project);
}
