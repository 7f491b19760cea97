using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SpanAttention.Attention;
using SpanAttention.Tests.Support;
using Xunit;
using Xunit.Sdk;

namespace SpanAttention.Tests.Attention;

/// <summary>
/// Properties every scorer's attention must have, over random shapes (not multiples of 16) and random masks:
/// each property runs <see cref="Cases"/> random cases for every (scorer, mask) pair.
/// </summary>
public class AttentionPropertyTests
{
    private const int Cases = 25;

    private static readonly (AttentionScorer Scorer, MaskKind Mask)[] Combinations = AttentionGradientTests.Combinations;

    private static Gen<AttentionCase> Shapes(AttentionScorer scorer, MaskKind mask, float inputScale = 1f, float parameterScale = 0f, int minDim = 1, int minSource = 1) =>
        from b in Gen.Choose(1, 4)
        from s in Gen.Choose(minSource, 37)
        from t in Gen.Choose(1, 4)
        from dq in Gen.Choose(minDim, 23)
        from dk in Gen.Choose(minDim, 23)
        from dv in Gen.Choose(1, 19)
        from a in Gen.Choose(minDim, 21)
        from seed in Gen.Choose(0, int.MaxValue - 1)
        select new AttentionCase(scorer, b, s, t, dq, dk, dv, a, mask, seed, inputScale, parameterScale);

    /// <summary>weights ≥ 0, exactly 0 where masked, summing to 1 within 4·S ulps (exactly 0 for a fully masked row); everything finite.</summary>
    private static void AssertWeightsAreDistributions(AttentionCase c, float[] weights, float[] context)
    {
        for (int t = 0; t < c.T; t++)
        {
            for (int b = 0; b < c.B; b++)
            {
                int row = t * c.B + b;
                double sum = 0;
                bool any = false;
                for (int j = 0; j < c.S; j++)
                {
                    float a = weights[row * c.S + j];
                    bool valid = c.Valid[b * c.S + j];
                    any |= valid;
                    if (!float.IsFinite(a) || a < 0f || (!valid && a != 0f))
                    {
                        throw new XunitException($"{c}: weight[t={t}, b={b}, j={j}] = {a:R} (valid: {valid})");
                    }
                    sum += a;
                }
                double expected = any ? 1.0 : 0.0;
                if (Math.Abs(sum - expected) > 4.0 * c.S * 1.1920929e-7 /* 4·S ulps of 1 */)
                {
                    throw new XunitException($"{c}: weights of row (t={t}, b={b}) sum to {sum:R}, expected {expected}");
                }
                for (int d = 0; d < c.Dv; d++)
                {
                    float x = context[row * c.Dv + d];
                    if (!float.IsFinite(x) || (!any && x != 0f))
                    {
                        throw new XunitException($"{c}: context[t={t}, b={b}, d={d}] = {x:R} (row has a valid position: {any})");
                    }
                }
            }
        }
    }

    [Property(MaxTest = Cases)]
    public Property Forward_AnyInputs_WeightsAreMaskedDistributions() =>
        Properties.ForEach(Combinations, sm => Prop.ForAll(Shapes(sm.Scorer, sm.Mask).ToArbitrary(), c =>
        {
            (float[] weights, float[] context) = c.Forward(stepByStep: c.Seed % 2 == 0);
            AssertWeightsAreDistributions(c, weights, context);
        }));

    /// <summary>Raw scores around 1e4 and beyond (unscaled dot products of large vectors, large v): still finite, still distributions.</summary>
    [Property(MaxTest = Cases)]
    public Property Forward_HugeRawScores_WeightsStayFiniteDistributions() =>
        Properties.ForEach(Combinations, sm => Prop.ForAll(Shapes(sm.Scorer, sm.Mask, inputScale: 150f, parameterScale: sm.Scorer == AttentionScorer.Additive ? 5000f : 30f, minDim: 8, minSource: 8).ToArbitrary(), c =>
        {
            (float[] weights, float[] context) = c.Forward(stepByStep: c.Seed % 2 == 0);
            AssertWeightsAreDistributions(c, weights, context);
            // the raw scores really are huge (typically 1e4..1e6; with S, D, A ≥ 8 the largest is below 1e3 with probability < 1e-8)
            float max = MaxAbsRawScore(c);
            return max >= 1e3f ? true : throw new XunitException($"{c}: largest raw score only {max}");
        }));

    [Fact]
    public void Forward_ScoresOfPlusMinus1e4_GivesExactSoftmaxNoNaN()
    {
        // Dq = Dk = 1, q = 100: the scores are 100·k_j = [1e4, -1e4, 9999, 5000, 1e4]
        var layer = new AttentionLayer(AttentionScorer.Dot, 1, 1, 1, 0, maxBatch: 1, maxSource: 5);
        float[] keys = [100f, -100f, 99.99f, 50f, 100f];
        float[] values = [1f, 2f, 3f, 4f, 5f];
        var weights = new float[5];
        var context = new float[1];
        layer.PrepareKeys(default, keys, 1, 5);
        layer.Forward(default, [100f], keys, values, ReadOnlySpan<int>.Empty, weights, context);
        double e = Math.Exp(100f * 99.99f - 1e4); // the third score sits ~1 below the maximum
        double z = 2 + e;
        Numerics.AssertClose([(float)(1 / z), 0f, (float)(e / z), 0f, (float)(1 / z)], weights, 1e-5f, 0f, "weights");
        Numerics.AssertClose([(float)((1 + 3 * e + 5) / z)], context, 1e-5f, 0f, "context");
    }

    /// <summary>max |s_j| over the first step's queries, from the scorer formulas (float, like the layer).</summary>
    private static float MaxAbsRawScore(AttentionCase c)
    {
        AttentionLayer layer = c.Layer;
        float[] p = c.Parameters.Values;
        float max = 0f;
        for (int b = 0; b < c.B; b++)
        {
            ReadOnlySpan<float> q = c.Queries.AsSpan(b * c.Dq, c.Dq);
            for (int j = 0; j < c.S; j++)
            {
                ReadOnlySpan<float> k = c.Keys.AsSpan((b * c.S + j) * c.Dk, c.Dk);
                float s = 0f;
                switch (c.Scorer)
                {
                    case AttentionScorer.Dot:
                    case AttentionScorer.ScaledDot:
                        for (int d = 0; d < c.Dk; d++)
                        {
                            s += q[d] * k[d];
                        }
                        s = c.Scorer == AttentionScorer.ScaledDot ? s / MathF.Sqrt(c.Dk) : s;
                        break;
                    case AttentionScorer.General:
                        for (int i = 0; i < c.Dq; i++)
                        {
                            for (int d = 0; d < c.Dk; d++)
                            {
                                s += q[i] * p[layer.Weight!.Offset + i * c.Dk + d] * k[d];
                            }
                        }
                        break;
                    default:
                        for (int a = 0; a < c.A; a++)
                        {
                            float z = p[layer.KeyBias!.Offset + a];
                            for (int i = 0; i < c.Dq; i++)
                            {
                                z += p[layer.QueryWeight!.Offset + a * c.Dq + i] * q[i];
                            }
                            for (int d = 0; d < c.Dk; d++)
                            {
                                z += p[layer.KeyWeight!.Offset + a * c.Dk + d] * k[d];
                            }
                            s += p[layer.ScoreWeight!.Offset + a] * MathF.Tanh(z);
                        }
                        break;
                }
                max = MathF.Max(max, MathF.Abs(s));
            }
        }
        return max;
    }

    /// <summary>Permuting the (key, value, mask) rows of every source permutes the weights the same way and leaves the context unchanged.</summary>
    [Property(MaxTest = Cases)]
    public Property Forward_PermutedSourceRows_PermutesWeightsKeepsContext() =>
        Properties.ForEach(Enum.GetValues<AttentionScorer>(), scorer => Prop.ForAll(Shapes(scorer, MaskKind.Bool).ToArbitrary(), c =>
        {
            (float[] weights, float[] context) = c.Forward(stepByStep: c.Seed % 2 == 0);
            var rng = new Random(c.Seed);
            int[] perm = Enumerable.Range(0, c.S).OrderBy(_ => rng.Next()).ToArray(); // new row j holds old row perm[j]
            var permuted = new AttentionCase(scorer, c.B, c.S, c.T, c.Dq, c.Dk, c.Dv, c.A, MaskKind.Bool, c.Seed);
            for (int b = 0; b < c.B; b++)
            {
                for (int j = 0; j < c.S; j++)
                {
                    int from = b * c.S + perm[j], to = b * c.S + j;
                    c.Keys.AsSpan(from * c.Dk, c.Dk).CopyTo(permuted.Keys.AsSpan(to * c.Dk, c.Dk));
                    c.Values.AsSpan(from * c.Dv, c.Dv).CopyTo(permuted.Values.AsSpan(to * c.Dv, c.Dv));
                    permuted.Valid[to] = c.Valid[from];
                }
            }
            (float[] pWeights, float[] pContext) = permuted.Forward(stepByStep: c.Seed % 2 == 0);
            var expected = new float[weights.Length];
            for (int row = 0; row < c.T * c.B; row++)
            {
                for (int j = 0; j < c.S; j++)
                {
                    expected[row * c.S + j] = weights[row * c.S + perm[j]];
                }
            }
            // the score of each key is computed the same way wherever the key sits; only summation order changes
            Numerics.AssertClose(expected, pWeights, 1e-5f, 1e-7f, $"{c} weights");
            Numerics.AssertClose(context, pContext, 1e-5f, 4 * c.S * 1.2e-7f, $"{c} context"); // |v| ≤ 1: reordered sum of S terms
        }));

    /// <summary>Each context coordinate lies between the min and max of that value coordinate over the valid keys.</summary>
    [Property(MaxTest = Cases)]
    public Property Forward_AnyInputs_ContextInConvexHullOfValues() =>
        Properties.ForEach(Combinations, sm => Prop.ForAll(Shapes(sm.Scorer, sm.Mask).ToArbitrary(), c =>
        {
            (_, float[] context) = c.Forward(stepByStep: c.Seed % 2 == 0);
            for (int t = 0; t < c.T; t++)
            {
                for (int b = 0; b < c.B; b++)
                {
                    for (int d = 0; d < c.Dv; d++)
                    {
                        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
                        for (int j = 0; j < c.S; j++)
                        {
                            if (c.Valid[b * c.S + j])
                            {
                                float v = c.Values[(b * c.S + j) * c.Dv + d];
                                lo = MathF.Min(lo, v);
                                hi = MathF.Max(hi, v);
                            }
                        }
                        float x = context[(t * c.B + b) * c.Dv + d];
                        float slack = 4 * c.S * 1.2e-7f; // |values| ≤ 1: rounding of a convex combination of S terms
                        bool ok = float.IsPositiveInfinity(lo) ? x == 0f : x >= lo - slack && x <= hi + slack;
                        if (!ok)
                        {
                            throw new XunitException($"{c}: context[t={t}, b={b}, d={d}] = {x:R} outside [{lo:R}, {hi:R}]");
                        }
                    }
                }
            }
        }));

    /// <summary>The fast layer (single step and T steps) agrees with the naive twin: forward and every gradient.</summary>
    [Property(MaxTest = Cases)]
    public Property ForwardBackward_RandomShapes_MatchesNaiveTwin() =>
        Properties.ForEach(Combinations, sm => Prop.ForAll(Shapes(sm.Scorer, sm.Mask).ToArbitrary(), c =>
        {
            bool stepByStep = c.Seed % 2 == 0;
            (float[] weights, float[] context) = c.Forward(stepByStep);
            (float[] nWeights, float[] nContext, AttentionCase.Gradients ng) = c.Naive();
            AttentionCase.Gradients g = c.Backward(stepByStep);
            Numerics.AssertClose(nWeights, weights, 1e-4f, 1e-6f, $"{c} weights");
            Numerics.AssertClose(nContext, context, 1e-4f, 1e-5f, $"{c} context");
            Numerics.AssertClose(ng.DQueries, g.DQueries, 1e-3f, 1e-4f, $"{c} dQueries");
            Numerics.AssertClose(ng.DKeys, g.DKeys, 1e-3f, 1e-4f, $"{c} dKeys");
            Numerics.AssertClose(ng.DValues, g.DValues, 1e-3f, 1e-4f, $"{c} dValues");
            Numerics.AssertClose(ng.DParameters, g.DParameters, 1e-3f, 1e-4f, $"{c} dParameters");
        }));
}
