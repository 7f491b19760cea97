using SpanAttention.Parameters;

namespace SpanAttention.Attention;

/// <summary>
/// The naive twins of <see cref="AttentionLayer"/>: one query against its keys, written as plain scalar
/// loops straight from the formulas, with nothing precomputed, cached or vectorised. Kept on purpose as the
/// oracle of the tests and the baseline of the benchmarks.
/// </summary>
/// <remarks>
/// A layer is passed only for its dimensions, its scorer and its parameter slots. Both twins recompute
/// every projection per query (the fast layer projects keys once per source batch). They allocate nothing.
/// </remarks>
internal static class NaiveAttention
{
    /// <summary>Weights and context of one query.</summary>
    /// <param name="layer">Supplies the scorer, the dimensions and the parameter slots.</param>
    /// <param name="parameters">All parameter values.</param>
    /// <param name="query">q: (Dq).</param>
    /// <param name="keys">K: (S, Dk).</param>
    /// <param name="values">V: (S, Dv).</param>
    /// <param name="valid">Empty (all valid) or (S): true where a position may get weight.</param>
    /// <param name="weights">a: (S). Overwritten.</param>
    /// <param name="context">c: (Dv). Overwritten.</param>
    public static void Forward(AttentionLayer layer, ReadOnlySpan<float> parameters, ReadOnlySpan<float> query, ReadOnlySpan<float> keys,
        ReadOnlySpan<float> values, ReadOnlySpan<bool> valid, Span<float> weights, Span<float> context)
    {
        ArgumentNullException.ThrowIfNull(layer);
        int s = weights.Length, dk = layer.KeyDim, dv = layer.ValueDim;
        CheckShapes(layer, query, keys, values, valid, s);
        for (int j = 0; j < s; j++)
        {
            weights[j] = Score(layer, parameters, query, keys.Slice(j * dk, dk));       // s_j
        }
        Kernels.Naive.Softmax(weights, valid, weights);                                 // a = softmax(s), masked
        for (int d = 0; d < dv; d++)
        {
            float sum = 0f;
            for (int j = 0; j < s; j++)
            {
                sum += weights[j] * values[j * dv + d];                                  // c = Σ_j a_j v_j
            }
            context[d] = sum;
        }
    }

    /// <summary>Backward of <see cref="Forward"/> for one query. Accumulates into every gradient.</summary>
    /// <param name="layer">Supplies the scorer, the dimensions and the parameter slots.</param>
    /// <param name="parameters">All parameter values.</param>
    /// <param name="dContext">dc: (Dv).</param>
    /// <param name="dWeights">Empty or da: (S), upstream gradient of the weights.</param>
    /// <param name="query">q: (Dq).</param>
    /// <param name="keys">K: (S, Dk).</param>
    /// <param name="values">V: (S, Dv).</param>
    /// <param name="weights">a: (S), forward's output.</param>
    /// <param name="gradients">All parameter gradients. Accumulated.</param>
    /// <param name="dQuery">dq: (Dq). Accumulated.</param>
    /// <param name="dKeys">dK: (S, Dk). Accumulated.</param>
    /// <param name="dValues">dV: (S, Dv). Accumulated.</param>
    public static void Backward(AttentionLayer layer, ReadOnlySpan<float> parameters, ReadOnlySpan<float> dContext, ReadOnlySpan<float> dWeights,
        ReadOnlySpan<float> query, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, ReadOnlySpan<float> weights,
        Span<float> gradients, Span<float> dQuery, Span<float> dKeys, Span<float> dValues)
    {
        ArgumentNullException.ThrowIfNull(layer);
        int s = weights.Length, dq = layer.QueryDim, dk = layer.KeyDim, dv = layer.ValueDim;
        CheckShapes(layer, query, keys, values, default, s);
        // c = Σ_j a_j v_j  ->  da_j = v_j · dc ;  dv_j += a_j dc
        // a = softmax(s)   ->  ds_j = a_j (da_j - Σ_i a_i da_i)
        float dot = 0f;
        for (int j = 0; j < s; j++)
        {
            dot += weights[j] * DWeight(dContext, dWeights, values, j, dv);
        }
        for (int j = 0; j < s; j++)
        {
            float aj = weights[j];
            for (int d = 0; d < dv; d++)
            {
                dValues[j * dv + d] += aj * dContext[d];
            }
            float ds = aj * (DWeight(dContext, dWeights, values, j, dv) - dot);
            ReadOnlySpan<float> k = keys.Slice(j * dk, dk);
            Span<float> dk_ = dKeys.Slice(j * dk, dk);
            switch (layer.Scorer)
            {
                case AttentionScorer.Dot or AttentionScorer.ScaledDot when dq == dk:
                {
                    // s_j = c q · k_j  ->  dq += c ds_j k_j ;  dk_j += c ds_j q
                    float c = layer.Scorer == AttentionScorer.ScaledDot ? 1f / MathF.Sqrt(dk) : 1f;
                    for (int d = 0; d < dk; d++)
                    {
                        dQuery[d] += c * ds * k[d];
                        dk_[d] += c * ds * query[d];
                    }
                    break;
                }
                case AttentionScorer.General:
                case AttentionScorer.Dot:
                case AttentionScorer.ScaledDot:
                {
                    // s_j = c Σ_i q_i Σ_d W[i,d] k_jd  (General: c = 1; Dot/ScaledDot with Dq ≠ Dk: W is the key projection, c = 1 or 1/sqrt(Dq))
                    //   ->  dq_i += c ds_j (W k_j)_i ; dW[i,d] += c ds_j q_i k_jd ; dk_jd += c ds_j Σ_i q_i W[i,d]
                    ParameterSlot slot = Slot(layer.Scorer == AttentionScorer.General ? layer.Weight : layer.KeyProjectionWeight);
                    float cds = (layer.Scorer == AttentionScorer.ScaledDot ? 1f / MathF.Sqrt(dq) : 1f) * ds;
                    ReadOnlySpan<float> w = slot.Of(parameters);
                    Span<float> dW = slot.Of(gradients);
                    for (int i = 0; i < dq; i++)
                    {
                        float wk = 0f;
                        for (int d = 0; d < dk; d++)
                        {
                            wk += w[i * dk + d] * k[d];
                            dW[i * dk + d] += cds * query[i] * k[d];
                            dk_[d] += cds * query[i] * w[i * dk + d];
                        }
                        dQuery[i] += cds * wk;
                    }
                    break;
                }
                case AttentionScorer.Additive:
                {
                    // s_j = Σ_a v_a h_a, h = tanh(z), z = W_q q + W_k k_j + b
                    ReadOnlySpan<float> wq = Slot(layer.QueryWeight).Of(parameters);
                    ReadOnlySpan<float> wkey = Slot(layer.KeyWeight).Of(parameters);
                    ReadOnlySpan<float> v = Slot(layer.ScoreWeight).Of(parameters);
                    Span<float> dWq = layer.QueryWeight!.Of(gradients);
                    Span<float> dWk = layer.KeyWeight!.Of(gradients);
                    Span<float> db = layer.KeyBias!.Of(gradients);
                    Span<float> dV = layer.ScoreWeight!.Of(gradients);
                    for (int a = 0; a < layer.AttentionDim; a++)
                    {
                        float h = MathF.Tanh(AdditivePreactivation(layer, parameters, query, k, a));
                        dV[a] += ds * h;                                   // dv_a += ds_j h_a
                        float dz = ds * v[a] * (1f - h * h);               // dz_a = ds_j v_a (1 - h_a²)
                        db[a] += dz;
                        for (int i = 0; i < dq; i++)
                        {
                            dWq[a * dq + i] += dz * query[i];
                            dQuery[i] += dz * wq[a * dq + i];
                        }
                        for (int d = 0; d < dk; d++)
                        {
                            dWk[a * dk + d] += dz * k[d];
                            dk_[d] += dz * wkey[a * dk + d];
                        }
                    }
                    break;
                }
                default:
                    throw new ArgumentOutOfRangeException(nameof(layer), $"Unknown scorer {layer.Scorer}.");
            }
        }
    }

    /// <summary>s = score(q, k) for one key, straight from the formula.</summary>
    private static float Score(AttentionLayer layer, ReadOnlySpan<float> parameters, ReadOnlySpan<float> q, ReadOnlySpan<float> k)
    {
        int dq = layer.QueryDim, dk = layer.KeyDim;
        switch (layer.Scorer)
        {
            case AttentionScorer.Dot or AttentionScorer.ScaledDot when dq == dk:
            {
                float sum = 0f;
                for (int d = 0; d < dk; d++)
                {
                    sum += q[d] * k[d];
                }
                return layer.Scorer == AttentionScorer.ScaledDot ? sum / MathF.Sqrt(dk) : sum;
            }
            case AttentionScorer.General:
            case AttentionScorer.Dot:
            case AttentionScorer.ScaledDot:
            {
                // s = c q · (W k): General's W, or the dot scorers' key projection when Dq ≠ Dk (c = 1/sqrt(Dq) for ScaledDot)
                ReadOnlySpan<float> w = Slot(layer.Scorer == AttentionScorer.General ? layer.Weight : layer.KeyProjectionWeight).Of(parameters);
                float sum = 0f;
                for (int i = 0; i < dq; i++)
                {
                    float wk = 0f;
                    for (int d = 0; d < dk; d++)
                    {
                        wk += w[i * dk + d] * k[d];
                    }
                    sum += q[i] * wk;
                }
                return layer.Scorer == AttentionScorer.ScaledDot ? sum / MathF.Sqrt(dq) : sum;
            }
            case AttentionScorer.Additive:
            {
                ReadOnlySpan<float> v = Slot(layer.ScoreWeight).Of(parameters);
                float sum = 0f;
                for (int a = 0; a < layer.AttentionDim; a++)
                {
                    sum += v[a] * MathF.Tanh(AdditivePreactivation(layer, parameters, q, k, a));
                }
                return sum;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(layer), $"Unknown scorer {layer.Scorer}.");
        }
    }

    /// <summary>z_a = (W_q q)_a + (W_k k)_a + b_a.</summary>
    private static float AdditivePreactivation(AttentionLayer layer, ReadOnlySpan<float> parameters, ReadOnlySpan<float> q, ReadOnlySpan<float> k, int a)
    {
        int dq = layer.QueryDim, dk = layer.KeyDim;
        ReadOnlySpan<float> wq = Slot(layer.QueryWeight).Of(parameters);
        ReadOnlySpan<float> wk = Slot(layer.KeyWeight).Of(parameters);
        float z = Slot(layer.KeyBias).Of(parameters)[a];
        for (int i = 0; i < dq; i++)
        {
            z += wq[a * dq + i] * q[i];
        }
        for (int d = 0; d < dk; d++)
        {
            z += wk[a * dk + d] * k[d];
        }
        return z;
    }

    /// <summary>da_j = v_j · dc + upstream da_j.</summary>
    private static float DWeight(ReadOnlySpan<float> dContext, ReadOnlySpan<float> dWeights, ReadOnlySpan<float> values, int j, int dv)
    {
        float sum = dWeights.IsEmpty ? 0f : dWeights[j];
        for (int d = 0; d < dv; d++)
        {
            sum += values[j * dv + d] * dContext[d];
        }
        return sum;
    }

    private static void CheckShapes(AttentionLayer layer, ReadOnlySpan<float> query, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, ReadOnlySpan<bool> valid, int s)
    {
        Kernels.Guard.SameLength(query.Length, layer.QueryDim, nameof(query));
        Kernels.Guard.SameLength(keys.Length, s * layer.KeyDim, nameof(keys));
        Kernels.Guard.SameLength(values.Length, s * layer.ValueDim, nameof(values));
        if (!valid.IsEmpty)
        {
            Kernels.Guard.SameLength(valid.Length, s, nameof(valid));
        }
    }

    private static ParameterSlot Slot(ParameterSlot? slot) =>
        slot ?? throw new InvalidOperationException("This scorer has parameters: call RegisterParameters first.");
}
