namespace SpanAttention.Seq2Seq;

/// <summary>
/// The doubly stochastic attention regularisation of Show, Attend and Tell (Xu et al. 2015, section 4.2.1): each
/// alignment row sums to one over the source positions by the softmax; this penalty asks the columns to sum to about
/// one over the output steps too, so that every image region (or source token) is attended to about once.
/// </summary>
/// <remarks>
/// <para>Forward: coverage[b, l] = Σ_{t &lt; T_b} α[t, b, l] over the row's counted target steps;
/// penalty = λ Σ_b Σ_{l &lt; n_b} (1 - coverage[b, l])² / N, N = the counted target tokens (the cross-entropy's divisor,
/// so that the loss is a sum over rows divided by N, and two half batches combine exactly as the trainer combines
/// them). The padded positions l ≥ n_b (weight 0 everywhere) are left out.</para>
/// <para>Backward (d penalty = 1): dα[t, b, l] = -2 λ (1 - coverage[b, l]) / N for t &lt; T_b and l &lt; n_b, else 0.</para>
/// </remarks>
internal static class AttentionCoverage
{
    /// <summary>Computes the coverage and returns the penalty.</summary>
    /// <param name="weights">α: (T, B, S), step-major as the decoder writes them.</param>
    /// <param name="steps">T.</param>
    /// <param name="bsz">B.</param>
    /// <param name="source">S.</param>
    /// <param name="sourceLengths">n_b: (B).</param>
    /// <param name="targetLengths">T_b: (B), the counted target steps of each row.</param>
    /// <param name="lambda">λ.</param>
    /// <param name="count">N, the counted target tokens (0: the penalty is 0).</param>
    /// <param name="coverage">(B, S). Overwritten (0 at the padded positions).</param>
    /// <returns>The penalty.</returns>
    public static float Forward(ReadOnlySpan<float> weights, int steps, int bsz, int source, ReadOnlySpan<int> sourceLengths,
        ReadOnlySpan<int> targetLengths, float lambda, int count, Span<float> coverage)
    {
        coverage.Slice(0, bsz * source).Clear();
        double sum = 0;
        for (int b = 0; b < bsz; b++)
        {
            int n = sourceLengths[b], tb = Math.Min(targetLengths[b], steps);
            Span<float> cov = coverage.Slice(b * source, n);
            for (int t = 0; t < tb; t++)
            {
                ReadOnlySpan<float> a = weights.Slice((t * bsz + b) * source, n);
                for (int l = 0; l < n; l++)
                {
                    cov[l] += a[l];                                        // coverage = Σ_t α_t
                }
            }
            for (int l = 0; l < n; l++)
            {
                double gap = 1.0 - cov[l];
                sum += gap * gap;                                          // Σ_l (1 - coverage)²
            }
        }
        return count == 0 ? 0f : (float)(lambda * sum / count);
    }

    /// <summary>dα of the penalty (d penalty = 1), for every step.</summary>
    /// <param name="coverage">(B, S), as <see cref="Forward"/> left it.</param>
    /// <param name="steps">T.</param>
    /// <param name="bsz">B.</param>
    /// <param name="source">S.</param>
    /// <param name="sourceLengths">n_b: (B).</param>
    /// <param name="targetLengths">T_b: (B).</param>
    /// <param name="lambda">λ.</param>
    /// <param name="count">N.</param>
    /// <param name="dWeights">dα: (T, B, S). Overwritten (0 outside the counted steps and valid positions).</param>
    public static void Backward(ReadOnlySpan<float> coverage, int steps, int bsz, int source, ReadOnlySpan<int> sourceLengths,
        ReadOnlySpan<int> targetLengths, float lambda, int count, Span<float> dWeights)
    {
        dWeights.Slice(0, steps * bsz * source).Clear();
        if (count == 0)
        {
            return;
        }
        float scale = -2f * lambda / count;
        for (int b = 0; b < bsz; b++)
        {
            int n = sourceLengths[b], tb = Math.Min(targetLengths[b], steps);
            ReadOnlySpan<float> cov = coverage.Slice(b * source, n);
            for (int t = 0; t < tb; t++)
            {
                Span<float> da = dWeights.Slice((t * bsz + b) * source, n);
                for (int l = 0; l < n; l++)
                {
                    da[l] = scale * (1f - cov[l]);                         // dα = -2λ (1 - coverage) / N
                }
            }
        }
    }
}
