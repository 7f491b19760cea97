using System.Numerics.Tensors;

namespace SpanAttention.Kernels;

/// <summary>
/// The additive (Bahdanau) attention score of one query against n projected keys: s_j = v · tanh(q + K_j).
/// </summary>
public static class AdditiveScores
{
    /// <summary>s_j = Σ_a v_a tanh(q_a + K_ja) for j &lt; n.</summary>
    /// <param name="q">q: (A), the projected query W_q q.</param>
    /// <param name="keys">K: (n, A) row-major, the projected keys W_k k_j + b.</param>
    /// <param name="n">Number of keys.</param>
    /// <param name="v">v: (A).</param>
    /// <param name="scratch">(A) scratch.</param>
    /// <param name="scores">s: (n). Overwritten.</param>
    /// <remarks>Forward only (the training path keeps tanh(q + K_j) for its backward, see AttentionLayer).
    /// Per key: one add, one tanh and one dot product over A, all with TensorPrimitives' exact tanh.</remarks>
    public static void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, int n, ReadOnlySpan<float> v, Span<float> scratch, Span<float> scores)
    {
        int a = q.Length;
        Guard.NonNegative(n, nameof(n));
        Guard.SameLength(v.Length, a, nameof(v));
        Guard.Length(keys.Length, n * a, nameof(keys));
        Guard.Length(scratch.Length, a, nameof(scratch));
        Guard.Length(scores.Length, n, nameof(scores));
        Span<float> hidden = scratch.Slice(0, a);
        for (int j = 0; j < n; j++)
        {
            TensorPrimitives.Add(q, keys.Slice(j * a, a), hidden);          // q + K_j
            TensorPrimitives.Tanh(hidden, hidden);                          // tanh(q + K_j)
            scores[j] = TensorPrimitives.Dot(v, hidden);                    // v · tanh(q + K_j)
        }
    }
}
