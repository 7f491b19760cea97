namespace SpanAttention.Evaluation;

/// <summary>The text scores of a captioning corpus: see <see cref="CaptionMetrics.Score"/>.</summary>
/// <param name="ExactMatch">The fraction of captions equal to their reference word for word, in [0, 1].</param>
/// <param name="Bleu">Corpus BLEU-4 with one reference per image (<see cref="Evaluation.Bleu"/>).</param>
/// <param name="Captions">Captions scored.</param>
internal sealed record CaptionScores(double ExactMatch, BleuScore Bleu, int Captions);

/// <summary>
/// Exact caption match and BLEU-4 of generated captions against one reference each, over words (the captioning tasks'
/// tokens). With the built-in tasks' one reference per image, exact match is the headline number; BLEU shows how far
/// the wrong captions are from right. BLEU-4 is 0 for a corpus whose captions all have fewer than 4 words (no 4-gram).
/// </summary>
internal static class CaptionMetrics
{
    /// <summary>Scores generated captions against their references.</summary>
    /// <param name="generated">N generated captions, as words.</param>
    /// <param name="references">N reference captions, in the same order.</param>
    /// <returns>Exact match, BLEU-4 and N.</returns>
    /// <exception cref="EvaluationInputException">The counts differ, the corpus is empty, or a caption is null.</exception>
    public static CaptionScores Score(IReadOnlyList<IReadOnlyList<string>> generated, IReadOnlyList<IReadOnlyList<string>> references)
    {
        double exact = SequenceMetrics.ExactMatch(generated, references);
        BleuScore bleu = Bleu.Corpus(generated, references);
        return new CaptionScores(exact, bleu, generated.Count);
    }
}
