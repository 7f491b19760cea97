using SpanAttention.Inference;
using SpanAttention.Seq2Seq;

namespace SpanAttention;

/// <summary>The attention of a Transformer encoder-decoder, head by head: cross-attention and the encoder's self-attention.</summary>
public sealed partial class TranslationModel
{
    /// <summary>Attention heads per layer: <see cref="Seq2SeqConfig.Heads"/> for a Transformer encoder-decoder, 1 for a recurrent attention decoder, 0 without attention.</summary>
    public int AttentionHeads => Config.Decoder switch
    {
        DecoderStyle.Transformer => Config.Heads,
        DecoderStyle.None => 0,
        _ => 1,
    };

    /// <summary>
    /// The greedy translation's alignment as one head of a Transformer's last decoder layer sees it (its cross-attention),
    /// or averaged over the heads (<paramref name="head"/> = -1, the same as <see cref="Align(string)"/>).
    /// </summary>
    /// <param name="text">The input.</param>
    /// <param name="head">0 .. <see cref="AttentionHeads"/> - 1, or -1 for the mean.</param>
    /// <param name="options">Maximum lengths (the beam width is not used: the translation is greedy).</param>
    /// <returns>The alignment: input tokens (and <c>&lt;eos&gt;</c>) as columns, output tokens as rows.</returns>
    /// <exception cref="ArgumentException">The text has no tokens.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="head"/> is not a head of the model.</exception>
    /// <exception cref="InvalidOperationException">The model is not a Transformer encoder-decoder (head -1 excepted), or the translation is empty.</exception>
    public Alignment Align(string text, int head, DecodingOptions? options = null)
    {
        if (head == -1 && _transformer is null)
        {
            return Align(text);
        }
        TransformerTranslator translator = TransformerOnly(head);
        options ??= new DecodingOptions();
        options.Validate();
        EncodedInput input = Encode(text, 0, options.MaxSourceLength, nameof(text));
        int[] output = translator.Greedy([input.Ids], options.MaxLengthFor(input.Ids.Length))[0].Tokens;
        if (output.Length == 0)
        {
            throw new InvalidOperationException($"The translation of '{text}' is empty: there is no alignment.");
        }
        var rows = new string[output.Length];
        for (int t = 0; t < rows.Length; t++)
        {
            rows[t] = TargetVocabulary[output[t]];
        }
        return new Alignment(Alignment.Columns(input.Tokens), rows, translator.AttentionWeights(input.Ids, output, head, encoder: false));
    }

    /// <summary>
    /// How the last encoder layer of a Transformer encoder-decoder attends over the input itself (its self-attention):
    /// one row per input token (and <c>&lt;eos&gt;</c>) over the same tokens, for one head or averaged (-1).
    /// </summary>
    /// <param name="text">The input.</param>
    /// <param name="head">0 .. <see cref="AttentionHeads"/> - 1, or -1 for the mean.</param>
    /// <param name="maxSourceLength">The longest input accepted, in tokens.</param>
    /// <returns>The weights as an alignment with the input tokens as both rows and columns.</returns>
    /// <exception cref="ArgumentException">The text has no tokens.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="head"/> is not a head of the model.</exception>
    /// <exception cref="InvalidOperationException">The model is not a Transformer encoder-decoder.</exception>
    public Alignment EncoderAttention(string text, int head = -1, int maxSourceLength = DecodeLimits.DefaultMaxSourceLength)
    {
        TransformerTranslator translator = TransformerOnly(head);
        EncodedInput input = Encode(text, 0, maxSourceLength, nameof(text));
        string[] columns = Alignment.Columns(input.Tokens);
        return new Alignment(columns, (string[])columns.Clone(), translator.AttentionWeights(input.Ids, [], head, encoder: true));
    }

    private TransformerTranslator TransformerOnly(int head)
    {
        if (_transformer is null)
        {
            throw new InvalidOperationException($"Attention per head is a Transformer encoder-decoder's (decoder {Config.Decoder} has one attention, and no encoder self-attention).");
        }
        if (head < -1 || head >= Config.Heads)
        {
            throw new ArgumentOutOfRangeException(nameof(head), head, $"The model has {Config.Heads} heads: head must be 0..{Config.Heads - 1}, or -1 for their mean.");
        }
        return (TransformerTranslator)GetTranslator();
    }
}
