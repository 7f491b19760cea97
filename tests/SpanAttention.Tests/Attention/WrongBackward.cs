using SpanAttention.Attention;

namespace SpanAttention.Tests.Attention;

/// <summary>
/// A copy of <see cref="NaiveAttention.Backward"/> in which one term can be dropped on purpose. It exists
/// only to prove that <see cref="GradientCheck"/> has teeth: with <see cref="Fault.None"/> it is the
/// correct backward and passes; with any fault the check must fail.
/// </summary>
public static class WrongBackward
{
    public enum Fault
    {
        None,
        SoftmaxCentering,   // ds_j = a_j da_j, dropping "- Σ_i a_i da_i"
        ValueGradient,      // dV not accumulated
        Scale,              // ScaledDot backward without the 1/sqrt(Dk)
        TanhDerivative,     // additive: dz = ds v, dropping "(1 - h²)"
        QueryProjection,    // general: dq gets ds k instead of ds W k
    }

    public static AttentionCase.Gradients Run(AttentionCase c, Fault fault)
    {
        (float[] weights, _) = c.Forward();
        var g = new AttentionCase.Gradients(new float[c.Queries.Length], new float[c.Keys.Length], new float[c.Values.Length], new float[c.Parameters.Values.Length]);
        AttentionLayer layer = c.Layer;
        float[] p = c.Parameters.Values;
        int dq = c.Dq, dk = c.Dk, dv = c.Dv, s = c.S;
        for (int t = 0; t < c.T; t++)
        {
            for (int b = 0; b < c.B; b++)
            {
                int row = t * c.B + b;
                float[] da = new float[s];
                float dot = 0f;
                for (int j = 0; j < s; j++)
                {
                    da[j] = c.DWeights[row * s + j];
                    for (int d = 0; d < dv; d++)
                    {
                        da[j] += c.Values[(b * s + j) * dv + d] * c.DContext[row * dv + d];
                    }
                    dot += weights[row * s + j] * da[j];
                }
                for (int j = 0; j < s; j++)
                {
                    float aj = weights[row * s + j];
                    if (fault != Fault.ValueGradient)
                    {
                        for (int d = 0; d < dv; d++)
                        {
                            g.DValues[(b * s + j) * dv + d] += aj * c.DContext[row * dv + d];
                        }
                    }
                    float ds = fault == Fault.SoftmaxCentering ? aj * da[j] : aj * (da[j] - dot);
                    int qo = row * dq, ko = (b * s + j) * dk;
                    switch (c.Scorer)
                    {
                        case AttentionScorer.Dot:
                        case AttentionScorer.ScaledDot:
                        {
                            float scale = c.Scorer == AttentionScorer.ScaledDot && fault != Fault.Scale ? 1f / MathF.Sqrt(dk) : 1f;
                            for (int d = 0; d < dk; d++)
                            {
                                g.DQueries[qo + d] += scale * ds * c.Keys[ko + d];
                                g.DKeys[ko + d] += scale * ds * c.Queries[qo + d];
                            }
                            break;
                        }
                        case AttentionScorer.General:
                        {
                            int wo = layer.Weight!.Offset;
                            for (int i = 0; i < dq; i++)
                            {
                                float wk = 0f;
                                for (int d = 0; d < dk; d++)
                                {
                                    wk += p[wo + i * dk + d] * c.Keys[ko + d];
                                    g.DParameters[wo + i * dk + d] += ds * c.Queries[qo + i] * c.Keys[ko + d];
                                    g.DKeys[ko + d] += ds * c.Queries[qo + i] * p[wo + i * dk + d];
                                }
                                g.DQueries[qo + i] += ds * (fault == Fault.QueryProjection ? c.Keys[ko + Math.Min(i, dk - 1)] : wk);
                            }
                            break;
                        }
                        default:
                        {
                            int oq = layer.QueryWeight!.Offset, ok = layer.KeyWeight!.Offset, ob = layer.KeyBias!.Offset, ov = layer.ScoreWeight!.Offset;
                            for (int a = 0; a < c.A; a++)
                            {
                                float z = p[ob + a];
                                for (int i = 0; i < dq; i++)
                                {
                                    z += p[oq + a * dq + i] * c.Queries[qo + i];
                                }
                                for (int d = 0; d < dk; d++)
                                {
                                    z += p[ok + a * dk + d] * c.Keys[ko + d];
                                }
                                float h = MathF.Tanh(z);
                                g.DParameters[ov + a] += ds * h;
                                float dz = fault == Fault.TanhDerivative ? ds * p[ov + a] : ds * p[ov + a] * (1f - h * h);
                                g.DParameters[ob + a] += dz;
                                for (int i = 0; i < dq; i++)
                                {
                                    g.DParameters[oq + a * dq + i] += dz * c.Queries[qo + i];
                                    g.DQueries[qo + i] += dz * p[oq + a * dq + i];
                                }
                                for (int d = 0; d < dk; d++)
                                {
                                    g.DParameters[ok + a * dk + d] += dz * c.Keys[ko + d];
                                    g.DKeys[ko + d] += dz * p[ok + a * dk + d];
                                }
                            }
                            break;
                        }
                    }
                }
            }
        }
        return g;
    }
}
