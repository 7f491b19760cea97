namespace SpanAttention.Data;

/// <summary>One training example: a source text and its target text (both NFC, untokenised).</summary>
/// <param name="Source">The text to translate.</param>
/// <param name="Target">Its translation.</param>
public readonly record struct SentencePair(string Source, string Target);
