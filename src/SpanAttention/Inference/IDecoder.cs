using SpanAttention.Seq2Seq;

namespace SpanAttention.Inference;

/// <summary>
/// What <see cref="TranslationModel"/> decodes with, whatever the architecture: greedy and beam search over source ids,
/// thread-safe. <see cref="Translator"/> serves a recurrent decoder, <see cref="TransformerTranslator"/> the full
/// Transformer encoder-decoder.
/// </summary>
internal interface IDecoder
{
    /// <summary>The model configuration.</summary>
    Seq2SeqConfig Config { get; }

    /// <summary>Greedy decoding of each source.</summary>
    /// <param name="sources">Source id sequences.</param>
    /// <param name="maxLength">Maximum decoder steps.</param>
    /// <returns>One hypothesis per source.</returns>
    Hypothesis[] Greedy(IReadOnlyList<int[]> sources, int maxLength);

    /// <summary>Beam search for one source.</summary>
    /// <param name="source">Source ids.</param>
    /// <param name="beamWidth">K.</param>
    /// <param name="maxLength">Maximum decoder steps.</param>
    /// <param name="lengthPenalty">Length-normalisation exponent.</param>
    /// <param name="nBest">Hypotheses to return.</param>
    /// <returns>The n best, best first.</returns>
    Hypothesis[] Beam(int[] source, int beamWidth, int maxLength, float lengthPenalty, int nBest);
}
