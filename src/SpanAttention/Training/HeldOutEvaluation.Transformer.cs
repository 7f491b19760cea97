using SpanAttention.Seq2Seq;
using SpanAttention.Transformer;

namespace SpanAttention.Training;

/// <summary>The same held-out measures for the full Transformer encoder-decoder (cached greedy decoding, one teacher-forced forward per batch).</summary>
public static partial class HeldOutEvaluation
{
    /// <summary>Greedy exact match and token accuracy of a Transformer encoder-decoder, as <see cref="Score(Seq2SeqModel, IReadOnlyList{int[]}, IReadOnlyList{int[]}, int)"/>.</summary>
    /// <param name="model">The model; its workspaces must hold the longest source and <paramref name="maxLength"/> steps.</param>
    /// <param name="sources">Source ids per pair (tokens + &lt;eos&gt;).</param>
    /// <param name="targets">Reference ids per pair (no specials).</param>
    /// <param name="maxLength">Longest output decoded.</param>
    /// <returns>Both fractions in [0, 1]; (0, 0) without pairs.</returns>
    internal static (double ExactMatch, double TokenAccuracy) Score(TransformerSeq2Seq model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(targets);
        if (sources.Count != targets.Count)
        {
            throw new ArgumentException($"{sources.Count} sources but {targets.Count} targets.", nameof(targets));
        }
        return sources.Count == 0 ? (0, 0) : Compare(TransformerDecoding.Greedy(model, sources, maxLength), targets);
    }

    /// <summary>The teacher-forced mean cross-entropy per target token over batches (forward only; the parameters are not changed).</summary>
    /// <param name="model">The model; every batch must fit its workspaces.</param>
    /// <param name="batches">Padded batches.</param>
    /// <returns>The token-weighted mean loss; 0 without tokens.</returns>
    internal static double TeacherForcedLoss(TransformerSeq2Seq model, IReadOnlyList<Seq2SeqBatch> batches)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        double sum = 0;
        long tokens = 0;
        foreach (Seq2SeqBatch batch in batches)
        {
            float loss = model.Forward(batch);
            sum += (double)loss * model.LastTokenCount;
            tokens += model.LastTokenCount;
        }
        return tokens == 0 ? 0 : sum / tokens;
    }
}
