namespace SpanAttention.Evaluation;

/// <summary>
/// Corpus-level accuracy of predicted token sequences (hypotheses) against one reference each. Tokens are
/// compared with <see cref="EqualityComparer{T}.Default"/> (ordinal for strings), after whatever
/// tokenisation the task uses (words for hi-en, characters for dates).
/// </summary>
public static class SequenceMetrics
{
    /// <summary>The fraction of sentences whose hypothesis equals its reference exactly: same length, same token at every position.</summary>
    /// <param name="hypotheses">N predicted sequences.</param>
    /// <param name="references">N reference sequences, in the same order.</param>
    /// <returns>A value in [0, 1].</returns>
    /// <exception cref="EvaluationInputException">The counts differ, the corpus is empty, or a sequence is null.</exception>
    public static double ExactMatch<T>(IReadOnlyList<IReadOnlyList<T>> hypotheses, IReadOnlyList<IReadOnlyList<T>> references)
    {
        CheckCorpus(hypotheses, references);
        EqualityComparer<T> equal = EqualityComparer<T>.Default;
        int matches = 0;
        for (int i = 0; i < hypotheses.Count; i++)
        {
            IReadOnlyList<T> h = hypotheses[i], r = references[i];
            bool same = h.Count == r.Count;
            for (int k = 0; same && k < r.Count; k++)
            {
                same = equal.Equals(h[k], r[k]);
            }
            matches += same ? 1 : 0;
        }
        return (double)matches / hypotheses.Count;
    }

    /// <summary>
    /// Position-wise token accuracy, micro-averaged over the corpus: the number of reference positions k
    /// (0 ≤ k &lt; |reference|) where the hypothesis has the same token at the same position k, divided by
    /// the total number of reference tokens.
    /// </summary>
    /// <remarks>
    /// <para>Effectively computes Σᵢ #{k &lt; |rᵢ| : k &lt; |hᵢ| ∧ hᵢ[k] = rᵢ[k]} / Σᵢ |rᵢ|.</para>
    /// <para>A hypothesis shorter than its reference scores 0 at the missing positions; tokens a
    /// hypothesis has past the reference's end are not counted (exact match and BLEU's brevity and
    /// precision see them). No alignment is searched: one inserted token shifts everything after it, which
    /// is the point for the reverse and dates tasks (the position is the answer). A sentence weighs by its
    /// reference length (micro average).</para>
    /// </remarks>
    /// <param name="hypotheses">N predicted sequences.</param>
    /// <param name="references">N reference sequences, in the same order; not all empty.</param>
    /// <returns>A value in [0, 1].</returns>
    /// <exception cref="EvaluationInputException">The counts differ, the corpus is empty, a sequence is null, or every reference is empty.</exception>
    public static double TokenAccuracy<T>(IReadOnlyList<IReadOnlyList<T>> hypotheses, IReadOnlyList<IReadOnlyList<T>> references)
    {
        CheckCorpus(hypotheses, references);
        EqualityComparer<T> equal = EqualityComparer<T>.Default;
        long correct = 0, total = 0;
        for (int i = 0; i < hypotheses.Count; i++)
        {
            IReadOnlyList<T> h = hypotheses[i], r = references[i];
            int common = Math.Min(h.Count, r.Count);
            for (int k = 0; k < common; k++)
            {
                correct += equal.Equals(h[k], r[k]) ? 1 : 0;
            }
            total += r.Count;
        }
        if (total == 0)
        {
            throw new EvaluationInputException("Token accuracy is undefined: every reference is empty.");
        }
        return (double)correct / total;
    }

    /// <summary>Same count, at least one sentence, no null sequence.</summary>
    internal static void CheckCorpus<T>(IReadOnlyList<IReadOnlyList<T>> hypotheses, IReadOnlyList<IReadOnlyList<T>> references)
    {
        ArgumentNullException.ThrowIfNull(hypotheses);
        ArgumentNullException.ThrowIfNull(references);
        if (hypotheses.Count != references.Count)
        {
            throw new EvaluationInputException($"There are {hypotheses.Count} hypotheses but {references.Count} references.");
        }
        if (hypotheses.Count == 0)
        {
            throw new EvaluationInputException("The corpus is empty: nothing to score.");
        }
        for (int i = 0; i < hypotheses.Count; i++)
        {
            if (hypotheses[i] is null)
            {
                throw new EvaluationInputException($"Hypothesis {i} is null.");
            }
            if (references[i] is null)
            {
                throw new EvaluationInputException($"Reference {i} is null.");
            }
        }
    }
}
