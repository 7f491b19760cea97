namespace SpanAttention.Data;

/// <summary>
/// One pair as token ids, laid out the way a seq2seq model consumes it:
/// <c>Source</c> = tokens [+ &lt;eos&gt;], <c>TargetInput</c> = &lt;sos&gt; + tokens (what the decoder
/// reads under teacher forcing), <c>TargetOutput</c> = tokens + &lt;eos&gt; (what it must predict).
/// TargetInput and TargetOutput have the same length T.
/// </summary>
/// <param name="Source">Source ids, (S).</param>
/// <param name="TargetInput">Decoder inputs, (T).</param>
/// <param name="TargetOutput">Decoder labels, (T).</param>
internal sealed record EncodedPair(int[] Source, int[] TargetInput, int[] TargetOutput);

/// <summary>Turns text pairs into <see cref="EncodedPair"/>s with the special tokens a seq2seq needs.</summary>
internal static class PairEncoder
{
    /// <summary>Encodes a source text: tokens, then &lt;eos&gt; when <paramref name="appendEos"/>.</summary>
    /// <param name="text">Source text (tokenised with the vocabulary's tokenization).</param>
    /// <param name="vocabulary">Source vocabulary.</param>
    /// <param name="appendEos">Whether to end the sequence with &lt;eos&gt;.</param>
    /// <param name="unknownTokens">When given, receives every token not in the vocabulary.</param>
    /// <returns>The ids, (S).</returns>
    public static int[] EncodeSource(string text, Vocabulary vocabulary, bool appendEos = true, ICollection<string>? unknownTokens = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        int[] ids = vocabulary.EncodeText(text, unknownTokens);
        if (!appendEos)
        {
            return ids;
        }
        int[] withEos = new int[ids.Length + 1];
        ids.CopyTo(withEos, 0);
        withEos[^1] = Vocabulary.EosId;
        return withEos;
    }

    /// <summary>Encodes a target text as (decoder input, decoder label) = (&lt;sos&gt; + ids, ids + &lt;eos&gt;).</summary>
    /// <param name="text">Target text.</param>
    /// <param name="vocabulary">Target vocabulary.</param>
    /// <param name="unknownTokens">When given, receives every token not in the vocabulary.</param>
    /// <returns>The two sequences, each (T) with T = tokens + 1.</returns>
    public static (int[] Input, int[] Output) EncodeTarget(string text, Vocabulary vocabulary, ICollection<string>? unknownTokens = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        int[] ids = vocabulary.EncodeText(text, unknownTokens);
        int[] input = new int[ids.Length + 1];
        int[] output = new int[ids.Length + 1];
        input[0] = Vocabulary.SosId;
        ids.CopyTo(input, 1);
        ids.CopyTo(output, 0);
        output[^1] = Vocabulary.EosId;
        return (input, output);
    }

    /// <summary>Encodes every pair.</summary>
    /// <param name="pairs">Text pairs.</param>
    /// <param name="sourceVocabulary">Source vocabulary (its tokenization is used).</param>
    /// <param name="targetVocabulary">Target vocabulary.</param>
    /// <param name="appendSourceEos">Whether sources end with &lt;eos&gt;.</param>
    /// <param name="unknownTokens">When given, receives every unknown source or target token.</param>
    /// <returns>One encoded pair per input pair, same order.</returns>
    public static EncodedPair[] Encode(IReadOnlyList<SentencePair> pairs, Vocabulary sourceVocabulary, Vocabulary targetVocabulary,
        bool appendSourceEos = true, ICollection<string>? unknownTokens = null)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var encoded = new EncodedPair[pairs.Count];
        for (int i = 0; i < encoded.Length; i++)
        {
            int[] source = EncodeSource(pairs[i].Source, sourceVocabulary, appendSourceEos, unknownTokens);
            (int[] input, int[] output) = EncodeTarget(pairs[i].Target, targetVocabulary, unknownTokens);
            encoded[i] = new EncodedPair(source, input, output);
        }
        return encoded;
    }
}
