using System.Text;
using SpanAttention.Attention;

namespace SpanAttention.Tests.Attention;

/// <summary>
/// Central finite differences of loss = Σ dContext·context + Σ dWeights·weights, computed entirely in
/// double from the same float inputs, as the oracle for the hand-written float gradients.
/// </summary>
/// <remarks>
/// Tolerance: |analytic - fd| ≤ 1e-3·|fd| + 1e-4·(1 + max|fd| of that tensor). The double oracle's own
/// error is ~1e-10 (step h = 1e-6: truncation O(h²) ≈ 1e-12, cancellation ≈ 1e-16/h ≈ 1e-10), so
/// the difference is the float gradient's rounding error: sums of at most ~100 products of O(1) numbers,
/// relative error ≲ 100 · 6e-8 ≈ 6e-6, i.e. under 1e-5 of the gradient's scale, ten times below the
/// tolerance. A wrong backward (a dropped term) is off by O(0.1..1) of that scale, a thousand times above.
/// </remarks>
internal static class GradientCheck
{
    private const double Step = 1e-6;

    /// <summary>Returns null when every gradient matches, else a description of the first mismatch of each tensor.</summary>
    public static string? Compare(AttentionCase c, AttentionCase.Gradients g, bool withDWeights = true)
    {
        var oracle = new DoubleAttention(c, withDWeights);
        var report = new StringBuilder();
        CompareTensor("dQueries", c.Queries, g.DQueries, oracle, report);
        CompareTensor("dKeys", c.Keys, g.DKeys, oracle, report);
        CompareTensor("dValues", c.Values, g.DValues, oracle, report);
        foreach (SpanAttention.Parameters.ParameterSlot slot in c.Parameters.Layout.Slots)
        {
            // the "before"/"after" slots belong to no one: their gradient must stay exactly 0
            CompareTensor("d" + slot.Name, c.Parameters.Values, g.DParameters, oracle, report, slot.Offset, slot.Length);
        }
        return report.Length == 0 ? null : $"{c}: {report}";
    }

    private static void CompareTensor(string name, float[] x, float[] analytic, DoubleAttention oracle, StringBuilder report, int offset = 0, int length = -1)
    {
        if (length < 0)
        {
            length = x.Length;
        }
        var fd = new double[length];
        double max = 0;
        for (int i = 0; i < length; i++)
        {
            float saved = x[offset + i];
            double plus = oracle.Loss(x, offset + i, saved + Step);
            double minus = oracle.Loss(x, offset + i, saved - Step);
            fd[i] = (plus - minus) / (2 * Step);
            max = Math.Max(max, Math.Abs(fd[i]));
        }
        for (int i = 0; i < length; i++)
        {
            double diff = Math.Abs(analytic[offset + i] - fd[i]);
            if (!(diff <= 1e-3 * Math.Abs(fd[i]) + 1e-4 * (1 + max)))
            {
                report.Append($"{name}[{i}] = {analytic[offset + i]:R}, finite differences {fd[i]:R}; ");
                return;
            }
        }
    }

    /// <summary>The same attention in double precision, straight from the formulas.</summary>
    private sealed class DoubleAttention
    {
        private readonly AttentionCase _c;
        private readonly bool _withDWeights;

        public DoubleAttention(AttentionCase c, bool withDWeights)
        {
            _c = c;
            _withDWeights = withDWeights;
        }

        /// <summary>The loss with element <paramref name="index"/> of <paramref name="perturbed"/> (one of the case's arrays) replaced by <paramref name="value"/>.</summary>
        public double Loss(float[] perturbed, int index, double value)
        {
            AttentionCase c = _c;
            double X(float[] array, int i) => ReferenceEquals(array, perturbed) && i == index ? value : array[i];
            float[] p = c.Parameters.Values;
            double loss = 0;
            var scores = new double[c.S];
            for (int t = 0; t < c.T; t++)
            {
                for (int b = 0; b < c.B; b++)
                {
                    int row = t * c.B + b;
                    for (int j = 0; j < c.S; j++)
                    {
                        scores[j] = Score(q: i => X(c.Queries, row * c.Dq + i), k: d => X(c.Keys, (b * c.S + j) * c.Dk + d), w: i => X(p, i));
                    }
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < c.S; j++)
                    {
                        if (c.Valid[b * c.S + j])
                        {
                            max = Math.Max(max, scores[j]);
                        }
                    }
                    double sum = 0;
                    for (int j = 0; j < c.S; j++)
                    {
                        scores[j] = c.Valid[b * c.S + j] ? Math.Exp(scores[j] - max) : 0;
                        sum += scores[j];
                    }
                    for (int j = 0; j < c.S; j++)
                    {
                        double a = sum > 0 ? scores[j] / sum : 0;
                        if (_withDWeights)
                        {
                            loss += c.DWeights[row * c.S + j] * a;
                        }
                        for (int d = 0; d < c.Dv; d++)
                        {
                            loss += c.DContext[row * c.Dv + d] * a * X(c.Values, (b * c.S + j) * c.Dv + d);
                        }
                    }
                }
            }
            return loss;
        }

        private double Score(Func<int, double> q, Func<int, double> k, Func<int, double> w)
        {
            AttentionCase c = _c;
            AttentionLayer layer = c.Layer;
            switch (c.Scorer)
            {
                case AttentionScorer.Dot or AttentionScorer.ScaledDot when c.Dq == c.Dk:
                {
                    double sum = 0;
                    for (int d = 0; d < c.Dk; d++)
                    {
                        sum += q(d) * k(d);
                    }
                    return c.Scorer == AttentionScorer.ScaledDot ? sum / Math.Sqrt(c.Dk) : sum;
                }
                case AttentionScorer.Dot or AttentionScorer.ScaledDot:
                {
                    // s = q · (W k) over the learned key projection W [Dq, Dk]; ScaledDot divides by sqrt(Dq)
                    int o = layer.KeyProjectionWeight!.Offset;
                    double sum = 0;
                    for (int i = 0; i < c.Dq; i++)
                    {
                        for (int d = 0; d < c.Dk; d++)
                        {
                            sum += q(i) * w(o + i * c.Dk + d) * k(d);
                        }
                    }
                    return c.Scorer == AttentionScorer.ScaledDot ? sum / Math.Sqrt(c.Dq) : sum;
                }
                case AttentionScorer.General:
                {
                    int o = layer.Weight!.Offset;
                    double sum = 0;
                    for (int i = 0; i < c.Dq; i++)
                    {
                        for (int d = 0; d < c.Dk; d++)
                        {
                            sum += q(i) * w(o + i * c.Dk + d) * k(d);
                        }
                    }
                    return sum;
                }
                default:
                {
                    int oq = layer.QueryWeight!.Offset, ok = layer.KeyWeight!.Offset, ob = layer.KeyBias!.Offset, ov = layer.ScoreWeight!.Offset;
                    double sum = 0;
                    for (int a = 0; a < c.A; a++)
                    {
                        double z = w(ob + a);
                        for (int i = 0; i < c.Dq; i++)
                        {
                            z += w(oq + a * c.Dq + i) * q(i);
                        }
                        for (int d = 0; d < c.Dk; d++)
                        {
                            z += w(ok + a * c.Dk + d) * k(d);
                        }
                        sum += w(ov + a) * Math.Tanh(z);
                    }
                    return sum;
                }
            }
        }
    }
}
