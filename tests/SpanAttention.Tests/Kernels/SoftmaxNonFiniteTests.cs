using SpanAttention.Attention;
using SpanAttention.Kernels;
using SpanAttention.Parameters;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

/// <summary>
/// Softmax of non-finite logits, as documented on <see cref="Softmax"/> and in docs/kernels.md: -∞ gets 0; k logits
/// of +∞ get 1/k each; only -∞ gives zeros; a NaN makes every valid weight NaN; masked positions always 0. Every size
/// 1..70 and some primes, with the special value at the start, the middle and the scalar remainder.
/// </summary>
public sealed class SoftmaxNonFiniteTests
{
    public static TheoryData<int> Sizes()
    {
        var data = new TheoryData<int>();
        foreach (int n in Numerics.Sizes())
        {
            if (n >= 1 && n <= 300)
            {
                data.Add(n);
            }
        }
        data.Add(71);
        data.Add(73);
        data.Add(101);
        return data;
    }

    private static IEnumerable<int> Positions(int n) => new[] { 0, n / 2, n - 1 }.Distinct();

    // The three entry points over one row (prefix length n of a padded row, mask, and rows), in place and not.
    private static IEnumerable<(string Form, float[] Weights)> AllForms(float[] scores, bool[]? valid = null)
    {
        int n = scores.Length;
        var a = new float[n];
        Softmax.Forward(scores, valid is null ? ReadOnlySpan<bool>.Empty : valid, a);
        yield return ("mask", a);
        if (valid is null)
        {
            var b = new float[n];
            Softmax.Forward(scores, b);
            yield return ("plain", b);
            float[] padded = [.. scores, 5f, float.NaN, float.PositiveInfinity];
            var c = new float[n + 3];
            Softmax.Forward(padded, n, c);
            Assert.Equal([0f, 0f, 0f], c[n..]);
            yield return ("prefix", c[..n]);
            float[] inPlace = (float[])padded.Clone();
            Softmax.Forward(inPlace, n, inPlace);
            yield return ("prefix in place", inPlace[..n]);
            float[] rows = [.. scores, .. scores];
            Softmax.ForwardRows(rows, 2, n, [n, n], rows);
            Assert.Equal(rows[..n], rows[n..]);
            yield return ("rows in place", rows[..n]);
        }
        else
        {
            float[] inPlace = (float[])scores.Clone();
            Softmax.Forward(inPlace, valid, inPlace);
            yield return ("mask in place", inPlace);
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_PositiveInfinities_ShareTheWeightEqually(int n)
    {
        foreach (int p in Positions(n))
        {
            float[] scores = Numerics.Random(n, seed: n + p, scale: 1e30f);
            scores[p] = float.PositiveInfinity;
            int q = (p + 7) % n;
            scores[q] = float.PositiveInfinity;
            float share = p == q ? 1f : 0.5f;
            foreach ((string form, float[] w) in AllForms(scores))
            {
                for (int j = 0; j < n; j++)
                {
                    Assert.True((j == p || j == q ? share : 0f) == w[j], $"n={n} p={p} q={q} {form}: w[{j}] = {w[j]}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_NegativeInfinity_GetsZeroAndTheRestIsTheSoftmaxOfTheRest(int n)
    {
        foreach (int p in Positions(n))
        {
            float[] scores = Numerics.Random(n, seed: 3 * n + p, scale: 20f);
            scores[p] = float.NegativeInfinity;
            var expected = new float[n];
            bool[] rest = [.. Enumerable.Range(0, n).Select(j => j != p)];
            Naive.Softmax(scores, rest, expected);
            foreach ((string form, float[] w) in AllForms(scores))
            {
                Assert.Equal(0f, w[p]);
                Numerics.AssertClose(expected, w, rtol: 2e-5f, atol: 1e-7f, $"n={n} p={p} {form}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_OnlyNegativeInfinity_AllZeros(int n)
    {
        float[] scores = [.. Enumerable.Repeat(float.NegativeInfinity, n)];
        foreach ((string form, float[] w) in AllForms(scores))
        {
            Assert.True(w.All(x => x == 0f), $"n={n} {form}: [{string.Join(", ", w)}]");
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_NaNAnywhere_EveryWeightNaN(int n)
    {
        foreach (int p in Positions(n))
        {
            foreach (float other in new[] { 0f, float.PositiveInfinity, float.NegativeInfinity })
            {
                float[] scores = Numerics.Random(n, seed: 5 * n + p, scale: 20f);
                scores[p] = float.NaN;
                if (n > 1)
                {
                    scores[(p + 1) % n] = other;
                }
                foreach ((string form, float[] w) in AllForms(scores))
                {
                    Assert.True(w.All(float.IsNaN), $"n={n} p={p} other={other} {form}: [{string.Join(", ", w)}]");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_TwoNaNsBesideAPositiveInfinity_EveryWeightNaN(int n)
    {
        // An even number of NaNs must not cancel out (a NaN is a flag, not a parity), with or without a mask.
        if (n < 3)
        {
            return;
        }
        foreach (int p in Positions(n))
        {
            float[] scores = Numerics.Random(n, seed: 11 * n + p, scale: 20f);
            scores[p] = float.NaN;
            scores[(p + 1) % n] = float.NaN;
            scores[(p + 2) % n] = float.PositiveInfinity;
            bool[] valid = [.. Enumerable.Repeat(true, n)];
            foreach ((string form, float[] w) in AllForms(scores).Concat(AllForms(scores, valid)))
            {
                Assert.True(w.All(float.IsNaN), $"n={n} p={p} {form}: [{string.Join(", ", w)}]");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_MaskedNonFinite_IsIgnoredAndMaskedPositionsStayZero(int n)
    {
        foreach (int p in Positions(n))
        {
            float[] scores = Numerics.Random(n, seed: 7 * n + p, scale: 20f);
            bool[] valid = [.. Enumerable.Range(0, n).Select(j => j % 3 != 1)];
            scores[1 % n] = float.NaN;                          // masked when n > 1
            scores[p] = valid[p] ? float.PositiveInfinity : float.NaN;
            foreach ((string form, float[] w) in AllForms(scores, valid))
            {
                for (int j = 0; j < n; j++)
                {
                    if (!valid[j])
                    {
                        Assert.Equal(0f, w[j]);
                    }
                }
                if (valid[p])
                {
                    Assert.True(w[p] == 1f, $"n={n} p={p} {form}: the one valid +∞ gets weight {w[p]}");
                    Assert.Equal(1f, w.Sum());
                }
            }
            // A NaN at a valid position: every valid weight NaN, masked still 0.
            int v = Array.IndexOf(valid, true);
            scores[v] = float.NaN;
            foreach ((string form, float[] w) in AllForms(scores, valid))
            {
                for (int j = 0; j < n; j++)
                {
                    Assert.True(valid[j] ? float.IsNaN(w[j]) : w[j] == 0f, $"n={n} {form}: w[{j}] = {w[j]}");
                }
            }
        }
    }

    [Theory]
    [InlineData(AttentionScorer.Dot)]
    [InlineData(AttentionScorer.ScaledDot)]
    [InlineData(AttentionScorer.General)]
    public void AttentionForward_ScoresThatOverflowFloat_FiniteWeightsSummingToOne(AttentionScorer scorer)
    {
        const int B = 2, S = 19, D = 11;
        var layer = new AttentionLayer(scorer, D, D, D, D, B, S);
        var layout = new ParameterLayout();
        layer.RegisterParameters(layout, "a.");
        float[] parameters = new float[layout.Count];
        for (int i = 0; i < D && parameters.Length > 0; i++)
        {
            parameters[i * D + i] = 1f;                         // General: W = I
        }
        // Queries and keys of 1e20: every score q·k ≈ ±1e40 overflows float to ±∞ (or to NaN inside a sum of ±∞).
        float[] query = [.. Enumerable.Range(0, B * D).Select(i => 1e20f)];
        float[] keys = Numerics.Random(B * S * D, seed: 9, scale: 1f).Select(x => x * 1e20f).ToArray();
        for (int j = 0; j < B * S * D; j += D)
        {
            keys[j] = 1e20f * (j % 2 == 0 ? 1 : -1);            // same-sign products: no +∞ + -∞ inside one score
            for (int d = 1; d < D; d++)
            {
                keys[j + d] = Math.Abs(keys[j + d]) * (j % 2 == 0 ? 1 : -1);
            }
        }
        float[] values = Numerics.Random(B * S * D, seed: 10, scale: 1f);
        var weights = new float[B * S];
        var context = new float[B * D];
        layer.PrepareKeys(parameters, keys, B, S);
        layer.Forward(parameters, query, keys, values, [S, S - 4], weights, context);
        for (int b = 0; b < B; b++)
        {
            ReadOnlySpan<float> w = weights.AsSpan(b * S, S);
            Assert.True(w.ToArray().All(float.IsFinite), $"{scorer} row {b}: [{string.Join(", ", w.ToArray())}]");
            Assert.Equal(1f, w.ToArray().Sum(), 1e-5f);
        }
        Assert.True(context.All(float.IsFinite), $"{scorer}: context [{string.Join(", ", context)}]");
    }
}
