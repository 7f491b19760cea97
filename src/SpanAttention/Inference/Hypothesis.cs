namespace SpanAttention.Inference;

/// <summary>One decoded output.</summary>
/// <param name="Tokens">Output ids, without BOS and without the final EOS.</param>
/// <param name="Score">Sum of log-probabilities of the emitted tokens (including EOS when it was emitted).</param>
/// <param name="NormalizedScore">Score / (steps)^α (beam search's length normalisation; = Score for greedy).</param>
/// <param name="Finished">Whether EOS was emitted (false: the maximum length was reached).</param>
/// <param name="Alignment">(Tokens.Length, SourceLength) row-major: the attention weights of the step that emitted each token; empty for the no-attention decoder.</param>
/// <param name="SourceLength">S of the source (the alignment's row width).</param>
public sealed record Hypothesis(int[] Tokens, float Score, float NormalizedScore, bool Finished, float[] Alignment, int SourceLength);
