using System.Globalization;
using System.Text;
using System.Text.Json;
using SpanAttention.Attention;
using SpanAttention.Recurrent;
using SpanAttention.Transformer;

namespace SpanAttention.Seq2Seq;

/// <summary>How the decoder uses the encoder: bahdanau (attention before the cell), luong (attention after the cell) or none (a fixed context).</summary>
public enum DecoderStyle
{
    /// <summary>Query = previous decoder state; cell input = [embedding(prev token); context]; logits from [h; context].</summary>
    Bahdanau = 0,

    /// <summary>Query = current decoder state; h̃ = tanh(W_c [context; h]) feeds the output layer and (input feeding) the next step's input.</summary>
    Luong = 1,

    /// <summary>No attention: one fixed context (the decoder's initial state, i.e. the encoder's final state) at every step.</summary>
    None = 2,

    /// <summary>
    /// A Transformer decoder (causal multi-head self-attention over the output so far, multi-head cross-attention over a
    /// Transformer encoder's memory, a feed-forward layer; <see cref="Seq2SeqConfig.EncoderLayers"/> layers of width E):
    /// the full encoder-decoder of "Attention Is All You Need". Needs <see cref="EncoderKind.Transformer"/>; the recurrent
    /// settings (cell, H, scorer) are not used, and it has no dropout.
    /// </summary>
    Transformer = 3,
}

/// <summary>What turns the source tokens into the memory the decoder attends to.</summary>
public enum EncoderKind
{
    /// <summary>A stack of <see cref="Seq2SeqConfig.Cell"/> layers over the embedded tokens, one step at a time (optionally bidirectional).</summary>
    Recurrent = 0,

    /// <summary>
    /// <see cref="Seq2SeqConfig.EncoderLayers"/> Transformer encoder layers (multi-head self-attention and a feed-forward
    /// block, post-norm) over the sqrt(E)-scaled embeddings plus the sinusoidal positional encoding, all positions at once.
    /// </summary>
    Transformer = 1,

    /// <summary>
    /// A precomputed feature grid (<see cref="Seq2SeqConfig.FeatureSize"/> features per position, e.g. a CNN's flattened
    /// h' x w' map) is the memory itself; h0 = tanh(W mean(valid positions) + b). No source vocabulary.
    /// </summary>
    Features = 2,

    /// <summary>
    /// A small CNN trained end to end (<see cref="Seq2SeqConfig.ConvChannels"/>: one block of conv 3x3 pad 1 + bias, ReLU,
    /// 2x2 max pooling per entry) over (C, H, W) pixels, pooled to a <see cref="Seq2SeqConfig.GridHeight"/> x
    /// <see cref="Seq2SeqConfig.GridWidth"/> grid whose L positions are the memory; h0 = tanh(W mean(grid) + b). No source vocabulary.
    /// </summary>
    Image = 3,
}

/// <summary>
/// The whole architecture of a <see cref="Seq2SeqModel"/> as one record with commented defaults. It is
/// stored as JSON text in a model file's <c>__metadata__</c> (<see cref="ToJson"/> / <see cref="FromJson"/>).
/// </summary>
/// <remarks>
/// The encoder has <see cref="HiddenSize"/> units per direction; the decoder is one cell of the same kind with
/// <see cref="HiddenSize"/> units. When the encoder is bidirectional its final state ([forward; backward] of the
/// last layer, 2H) is mapped to the decoder's initial state by a learned bridge h0 = tanh(W [h_f; h_b] + b);
/// otherwise h0 is the last layer's final state itself. An LSTM decoder starts from c0 = 0.
/// A Transformer encoder (<see cref="Encoder"/>) gives memory states of size E (d_model = E, <see cref="Heads"/> heads,
/// feed-forward size <see cref="FeedForwardSize"/>) and h0 = tanh(W mean(valid memory rows) + b); the decoder is still
/// one <see cref="Cell"/> of <see cref="HiddenSize"/> units.
/// </remarks>
public sealed record Seq2SeqConfig
{
    /// <summary>V_src: source vocabulary size (ids 0..V_src-1; id <see cref="PaddingId"/> is padding); 0 for a <see cref="EncoderKind.Features"/> source.</summary>
    public int SourceVocabSize { get; init; }

    /// <summary>V_tgt: target vocabulary size.</summary>
    public int TargetVocabSize { get; init; }

    /// <summary>E: embedding size of both embeddings. Default 64.</summary>
    public int EmbeddingSize { get; init; } = 64;

    /// <summary>H: hidden size of the encoder (per direction) and of the decoder. Default 128.</summary>
    public int HiddenSize { get; init; } = 128;

    /// <summary>Cell of the encoder and the decoder. Default GRU.</summary>
    public RecurrentKind Cell { get; init; } = RecurrentKind.Gru;

    /// <summary>L: encoder layers (recurrent layers, or Transformer encoder layers). Default 1.</summary>
    public int EncoderLayers { get; init; } = 1;

    /// <summary>The encoder: recurrent (default) or Transformer.</summary>
    public EncoderKind Encoder { get; init; } = EncoderKind.Recurrent;

    /// <summary>Transformer encoder: attention heads; must divide E. Ignored by a recurrent encoder. Default 4.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>F: Transformer encoder feed-forward size (dim_feedforward); 0 means 4E. Ignored by a recurrent encoder. Default 0.</summary>
    public int FeedForwardSize { get; init; }

    /// <summary>Transformer encoder: the feed-forward activation. Ignored by a recurrent encoder. Default ReLU (PyTorch's).</summary>
    public FeedForwardActivation Activation { get; init; } = FeedForwardActivation.Relu;

    /// <summary>F: features per position of a <see cref="EncoderKind.Features"/> source (the memory's width). Ignored by the other encoders. Default 0.</summary>
    public int FeatureSize { get; init; }

    /// <summary>C: channels of an <see cref="EncoderKind.Image"/> source (3 for RGB, 1 for grey). 0 for the other encoders.</summary>
    public int ImageChannels { get; init; }

    /// <summary>H_img: pixel rows of an <see cref="EncoderKind.Image"/> source (every image has this size). 0 for the other encoders.</summary>
    public int ImageHeight { get; init; }

    /// <summary>W_img: pixel columns of an <see cref="EncoderKind.Image"/> source. 0 for the other encoders.</summary>
    public int ImageWidth { get; init; }

    /// <summary>
    /// The output channels of each conv block of an <see cref="EncoderKind.Image"/> encoder, first block first; the last
    /// is D, the memory's width. Compared by value. Empty for the other encoders.
    /// </summary>
    public IReadOnlyList<int> ConvChannels { get => _convChannels; init => _convChannels = ValueList<int>.Of(value); }

    /// <summary>gh: rows of the pooled feature grid of an <see cref="EncoderKind.Image"/> encoder. 0 for the other encoders.</summary>
    public int GridHeight { get; init; }

    /// <summary>gw: columns of the pooled feature grid (L = gh·gw memory positions). 0 for the other encoders.</summary>
    public int GridWidth { get; init; }

    /// <summary>
    /// Per-channel mean subtracted from the pixels before the first conv (x' = (x - mean_c) / std_c), or empty for 0.
    /// Compared by value. Part of a model file, so a loaded model preprocesses images as it was trained.
    /// </summary>
    public IReadOnlyList<float> PixelMean { get => _pixelMean; init => _pixelMean = ValueList<float>.Of(value); }

    /// <summary>Per-channel standard deviation the pixels are divided by (each &gt; 0), or empty for 1. Compared by value.</summary>
    public IReadOnlyList<float> PixelStd { get => _pixelStd; init => _pixelStd = ValueList<float>.Of(value); }

    private readonly ValueList<int> _convChannels = ValueList<int>.Empty;
    private readonly ValueList<float> _pixelMean = ValueList<float>.Empty;
    private readonly ValueList<float> _pixelStd = ValueList<float>.Empty;

    /// <summary>Whether the encoder is bidirectional (then a bridge maps 2H to H). Default false.</summary>
    public bool Bidirectional { get; init; }

    /// <summary>Decoder style. Default Bahdanau.</summary>
    public DecoderStyle Decoder { get; init; } = DecoderStyle.Bahdanau;

    /// <summary>Attention scorer (ignored by <see cref="DecoderStyle.None"/>). Default additive. Dot and ScaledDot over keys of another width than H
    /// (a bidirectional, Transformer or feature-grid encoder) learn a key projection W [H, Denc] first.</summary>
    public AttentionScorer Scorer { get; init; } = AttentionScorer.Additive;

    /// <summary>A: hidden size of the additive scorer; 0 means H. Default 0.</summary>
    public int AttentionSize { get; init; }

    /// <summary>
    /// p: dropout probability in [0, 1) on the source and target embeddings and on the vector the output layer reads
    /// (inverted dropout, see <see cref="Seq2Seq.Dropout"/>; only in training mode). Default 0 (off).
    /// </summary>
    public float Dropout { get; init; }

    /// <summary>
    /// Bahdanau decoder: the gating scalar of Show, Attend and Tell, β_t = σ(f_β(h_{t-1})), scales the context the cell and
    /// the output layer read (see <see cref="Seq2Seq.ContextGate"/>; parameters <c>decoder.f_beta.*</c>). Default false.
    /// </summary>
    public bool ContextGate { get; init; }

    /// <summary>
    /// λ of the doubly stochastic attention regularisation of Show, Attend and Tell: the training loss adds
    /// λ Σ_b Σ_{l &lt; n_b} (1 - Σ_{t &lt; T_b} α_{t,b,l})² divided by the counted target tokens (the cross-entropy's
    /// divisor), which pushes every source position (image region) to receive about one unit of attention over the
    /// output. Attention decoders only; 0 (default) is off.
    /// </summary>
    public float AttentionRegularization { get; init; }

    /// <summary>Padding id in both vocabularies: ignored by the loss and accuracy, zero embedding row. Default 0.</summary>
    public int PaddingId { get; init; }

    /// <summary>Begin-of-sequence id: the decoder's first input. Default 1.</summary>
    public int BosId { get; init; } = 1;

    /// <summary>End-of-sequence id: decoding stops after emitting it. Default 2.</summary>
    public int EosId { get; init; } = 2;

    /// <summary>Encoder output (key/value) size: H or 2H (recurrent), E (Transformer), F (features), the last conv channels (image).</summary>
    public int EncoderOutputSize => Encoder switch
    {
        EncoderKind.Transformer => EmbeddingSize,
        EncoderKind.Features => FeatureSize,
        EncoderKind.Image => ConvChannels.Count > 0 ? ConvChannels[^1] : 0,
        _ => (Bidirectional ? 2 : 1) * HiddenSize,
    };

    /// <summary>
    /// Whether the attention learns a key projection <c>decoder.attention.key_proj.weight</c> [H, Denc]: a Dot or
    /// ScaledDot scorer over keys of another width than the H-wide query (bidirectional, Transformer E ≠ H, features F ≠ H).
    /// </summary>
    internal bool ProjectsDotKeys => Decoder != DecoderStyle.None && Scorer is (AttentionScorer.Dot or AttentionScorer.ScaledDot) && EncoderOutputSize != HiddenSize;

    /// <summary>Whether the source is token ids (a source vocabulary), not a feature grid or an image.</summary>
    public bool HasSourceVocabulary => Encoder is not (EncoderKind.Features or EncoderKind.Image);

    /// <summary>L of an <see cref="EncoderKind.Image"/> encoder: gh·gw memory positions per image.</summary>
    internal int GridPositions => GridHeight * GridWidth;

    /// <summary>F as used: <see cref="FeedForwardSize"/> or 4E when 0.</summary>
    public int EffectiveFeedForwardSize => FeedForwardSize > 0 ? FeedForwardSize : 4 * EmbeddingSize;

    /// <summary>A as used: <see cref="AttentionSize"/> or H when 0.</summary>
    public int EffectiveAttentionSize => AttentionSize > 0 ? AttentionSize : HiddenSize;

    /// <summary>Largest V_src or V_tgt accepted (2^24 tokens).</summary>
    internal const int MaxVocabSize = 1 << 24;

    /// <summary>Largest E, H or A accepted (65,536).</summary>
    internal const int MaxWidth = 1 << 16;

    /// <summary>Largest L accepted (64 encoder layers).</summary>
    internal const int MaxEncoderLayers = 64;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first invalid setting.
    /// </summary>
    /// <remarks>
    /// Upper limits (so that no size computed from a configuration overflows, and a model file cannot ask for an
    /// absurd model): vocabularies at most 2^24 tokens; E, H and A at most 65,536; at most 64 encoder layers; and every
    /// weight matrix and per-token table the model allocates (e.g. V·G·H, the decoder's input table) at most
    /// <see cref="Array.MaxLength"/> floats.
    /// </remarks>
    public void Validate()
    {
        static void Check(bool ok, string message)
        {
            if (!ok)
            {
                throw new ArgumentException("Seq2SeqConfig: " + message);
            }
        }
        Check(HasSourceVocabulary ? SourceVocabSize >= 2 : SourceVocabSize == 0,
            HasSourceVocabulary ? $"SourceVocabSize must be ≥ 2, got {SourceVocabSize}." : $"a {Encoder} encoder has no source vocabulary: SourceVocabSize must be 0, got {SourceVocabSize}.");
        Check(TargetVocabSize >= 3, $"TargetVocabSize must be ≥ 3, got {TargetVocabSize}.");
        Check(EmbeddingSize >= 1, $"EmbeddingSize must be ≥ 1, got {EmbeddingSize}.");
        Check(HiddenSize >= 1, $"HiddenSize must be ≥ 1, got {HiddenSize}.");
        Check(EncoderLayers >= 1, $"EncoderLayers must be ≥ 1, got {EncoderLayers}.");
        Check(Enum.IsDefined(Cell), $"unknown Cell {(int)Cell}.");
        Check(Enum.IsDefined(Decoder), $"unknown Decoder {(int)Decoder}.");
        Check(Enum.IsDefined(Scorer), $"unknown Scorer {(int)Scorer}.");
        Check(AttentionSize >= 0, $"AttentionSize must be ≥ 0, got {AttentionSize}.");
        Check(Enum.IsDefined(Encoder), $"unknown Encoder {(int)Encoder}.");
        Check(Heads >= 1, $"Heads must be ≥ 1, got {Heads}.");
        Check(FeedForwardSize >= 0, $"FeedForwardSize must be ≥ 0, got {FeedForwardSize}.");
        Check(Enum.IsDefined(Activation), $"unknown Activation {(int)Activation}.");
        Check(Dropout is >= 0f and < 1f, $"Dropout must be in [0, 1), got {Dropout.ToString(CultureInfo.InvariantCulture)}.");
        Check(!ContextGate || Decoder == DecoderStyle.Bahdanau, $"ContextGate applies to the Bahdanau decoder only (it gates the context the cell reads), got {Decoder}.");
        Check(float.IsFinite(AttentionRegularization) && AttentionRegularization >= 0f,
            $"AttentionRegularization must be a finite λ ≥ 0, got {AttentionRegularization.ToString(CultureInfo.InvariantCulture)}.");
        Check(AttentionRegularization == 0f || Decoder is DecoderStyle.Bahdanau or DecoderStyle.Luong, $"AttentionRegularization needs an attention decoder (Bahdanau or Luong), got {Decoder}.");
        Check(Decoder != DecoderStyle.Transformer || Encoder == EncoderKind.Transformer, $"a Transformer decoder reads a Transformer encoder's memory: Encoder must be Transformer, got {Encoder}.");
        Check(Decoder != DecoderStyle.Transformer || Dropout == 0f, "a Transformer decoder has no dropout: Dropout must be 0.");
        Check(PaddingId >= 0 && (PaddingId < SourceVocabSize || !HasSourceVocabulary) && PaddingId < TargetVocabSize, $"PaddingId {PaddingId} is outside a vocabulary.");
        Check(BosId >= 0 && BosId < TargetVocabSize && BosId != PaddingId, $"BosId {BosId} must be a non-padding target id.");
        Check(EosId >= 0 && EosId < TargetVocabSize && EosId != PaddingId, $"EosId {EosId} must be a non-padding target id.");
        Check(SourceVocabSize <= MaxVocabSize, $"SourceVocabSize must be ≤ {MaxVocabSize}, got {SourceVocabSize}.");
        Check(TargetVocabSize <= MaxVocabSize, $"TargetVocabSize must be ≤ {MaxVocabSize}, got {TargetVocabSize}.");
        Check(EmbeddingSize <= MaxWidth, $"EmbeddingSize must be ≤ {MaxWidth}, got {EmbeddingSize}.");
        Check(HiddenSize <= MaxWidth, $"HiddenSize must be ≤ {MaxWidth}, got {HiddenSize}.");
        Check(AttentionSize <= MaxWidth, $"AttentionSize must be ≤ {MaxWidth}, got {AttentionSize}.");
        Check(EncoderLayers <= MaxEncoderLayers, $"EncoderLayers must be ≤ {MaxEncoderLayers}, got {EncoderLayers}.");
        Check(FeedForwardSize <= MaxWidth, $"FeedForwardSize must be ≤ {MaxWidth}, got {FeedForwardSize}.");
        if (Encoder == EncoderKind.Transformer)
        {
            Check(EmbeddingSize % Heads == 0, $"a Transformer encoder needs EmbeddingSize divisible by Heads, got EmbeddingSize {EmbeddingSize} and Heads {Heads}.");
            Check(!Bidirectional, "Bidirectional applies to a recurrent encoder only (a Transformer encoder already sees the whole sentence).");
            Check((long)EffectiveFeedForwardSize * EmbeddingSize <= Array.MaxLength && 3L * EmbeddingSize * EmbeddingSize <= Array.MaxLength,
                $"the Transformer sizes (EmbeddingSize {EmbeddingSize}, FeedForwardSize {EffectiveFeedForwardSize}) give a weight of more than {Array.MaxLength} floats.");
        }
        if (Encoder == EncoderKind.Features)
        {
            Check(FeatureSize is >= 1 and <= MaxWidth, $"a Features encoder needs FeatureSize in 1..{MaxWidth}, got {FeatureSize}.");
            Check(!Bidirectional, "Bidirectional applies to a recurrent encoder only (a feature grid has no direction).");
        }
        else
        {
            Check(FeatureSize == 0, $"FeatureSize applies to a Features encoder only, got {FeatureSize} with a {Encoder} encoder.");
        }
        ValidateImage(Check);
        // The largest config-sized buffers, in long arithmetic (all factors are bounded above, so no long overflows):
        // gate rows G·H times the widest row any weight or table has.
        long gh = 4L * HiddenSize;                                                  // G ≤ 4
        long vocab = Math.Max(SourceVocabSize, TargetVocabSize);
        long widest = Math.Max(Math.Max(vocab, 2L * EmbeddingSize + 4L * HiddenSize + FeatureSize), EffectiveAttentionSize);
        Check(gh * widest <= Array.MaxLength && 2L * gh * vocab <= Array.MaxLength && vocab * (EmbeddingSize + 3L * HiddenSize) <= Array.MaxLength,
            $"the sizes (SourceVocabSize {SourceVocabSize}, TargetVocabSize {TargetVocabSize}, EmbeddingSize {EmbeddingSize}, HiddenSize {HiddenSize}, AttentionSize {AttentionSize}) give a weight or table of more than {Array.MaxLength} floats.");
    }

    /// <summary>Largest C, H_img, W_img, conv channels, blocks and grid side accepted.</summary>
    internal const int MaxImageChannels = 64, MaxImageSide = 4096, MaxConvChannels = 4096, MaxConvBlocks = 8, MaxGridSide = 64;

    /// <summary>The image encoder's settings: required and in range for an Image encoder, absent for the others.</summary>
    private void ValidateImage(Action<bool, string> check)
    {
        if (Encoder != EncoderKind.Image)
        {
            check(ImageChannels == 0 && ImageHeight == 0 && ImageWidth == 0 && ConvChannels.Count == 0 && GridHeight == 0 && GridWidth == 0
                && PixelMean.Count == 0 && PixelStd.Count == 0,
                $"ImageChannels, ImageHeight, ImageWidth, ConvChannels, GridHeight, GridWidth, PixelMean and PixelStd apply to an Image encoder only (this is a {Encoder} encoder).");
            return;
        }
        check(ImageChannels is >= 1 and <= MaxImageChannels, $"an Image encoder needs ImageChannels in 1..{MaxImageChannels}, got {ImageChannels}.");
        check(ImageHeight is >= 1 and <= MaxImageSide && ImageWidth is >= 1 and <= MaxImageSide,
            $"an Image encoder needs ImageHeight and ImageWidth in 1..{MaxImageSide}, got {ImageHeight} x {ImageWidth}.");
        int blocks = ConvChannels.Count;
        check(blocks is >= 1 and <= MaxConvBlocks, $"an Image encoder needs 1..{MaxConvBlocks} ConvChannels (one per conv block), got {blocks}.");
        for (int k = 0; k < blocks; k++)
        {
            check(ConvChannels[k] is >= 1 and <= MaxConvChannels, $"ConvChannels[{k}] must be in 1..{MaxConvChannels}, got {ConvChannels[k]}.");
        }
        // Each block halves the map (2x2 pooling, floor), so every block's input must be at least 2 x 2.
        int h = ImageHeight, w = ImageWidth;
        long widest = 0;
        for (int k = 0; k < blocks; k++)
        {
            check(h >= 2 && w >= 2, $"a {ImageHeight} x {ImageWidth} image is too small for {blocks} conv blocks (block {k} would get {h} x {w}; each block halves the map).");
            widest = Math.Max(widest, 9L * (k == 0 ? ImageChannels : ConvChannels[k - 1]) * h * w);
            widest = Math.Max(widest, (long)ConvChannels[k] * h * w);
            h /= 2;
            w /= 2;
        }
        check(widest <= Array.MaxLength, $"the image sizes ({ImageChannels} x {ImageHeight} x {ImageWidth}, ConvChannels {ConvChannels}) give a buffer of more than {Array.MaxLength} floats per image.");
        check(GridHeight >= 1 && GridHeight <= h && GridWidth >= 1 && GridWidth <= w && GridHeight <= MaxGridSide && GridWidth <= MaxGridSide,
            $"GridHeight x GridWidth must be within the last feature map ({h} x {w}) and at most {MaxGridSide} a side, got {GridHeight} x {GridWidth}.");
        check(PixelMean.Count is 0 || PixelMean.Count == ImageChannels, $"PixelMean needs 0 or ImageChannels = {ImageChannels} values, got {PixelMean.Count}.");
        check(PixelStd.Count is 0 || PixelStd.Count == ImageChannels, $"PixelStd needs 0 or ImageChannels = {ImageChannels} values, got {PixelStd.Count}.");
        foreach (float m in PixelMean)
        {
            check(float.IsFinite(m), $"PixelMean values must be finite, got {PixelMean}.");
        }
        foreach (float sd in PixelStd)
        {
            check(float.IsFinite(sd) && sd > 0f, $"PixelStd values must be finite and > 0, got {PixelStd}.");
        }
        check(!Bidirectional, "Bidirectional applies to a recurrent encoder only (an image has no direction).");
    }

    /// <summary>The configuration as compact JSON text (property names as in this record).</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteNumber(nameof(SourceVocabSize), SourceVocabSize);
            w.WriteNumber(nameof(TargetVocabSize), TargetVocabSize);
            w.WriteNumber(nameof(EmbeddingSize), EmbeddingSize);
            w.WriteNumber(nameof(HiddenSize), HiddenSize);
            w.WriteString(nameof(Cell), Cell.ToString());
            w.WriteNumber(nameof(EncoderLayers), EncoderLayers);
            w.WriteBoolean(nameof(Bidirectional), Bidirectional);
            w.WriteString(nameof(Decoder), Decoder.ToString());
            w.WriteString(nameof(Scorer), Scorer.ToString());
            w.WriteNumber(nameof(AttentionSize), AttentionSize);
            w.WriteNumber(nameof(Dropout), Dropout);
            w.WriteNumber(nameof(PaddingId), PaddingId);
            w.WriteNumber(nameof(BosId), BosId);
            w.WriteNumber(nameof(EosId), EosId);
            // Written only when set: a model without them has the JSON it had before these keys existed.
            if (ContextGate)
            {
                w.WriteBoolean(nameof(ContextGate), ContextGate);
            }
            if (AttentionRegularization > 0f)
            {
                w.WriteNumber(nameof(AttentionRegularization), AttentionRegularization);
            }
            if (Encoder == EncoderKind.Transformer)
            {
                // Written for a Transformer encoder only: a recurrent model's JSON is what it was before these keys existed.
                w.WriteString(nameof(Encoder), Encoder.ToString());
                w.WriteNumber(nameof(Heads), Heads);
                w.WriteNumber(nameof(FeedForwardSize), FeedForwardSize);
                w.WriteString(nameof(Activation), Activation.ToString());
            }
            else if (Encoder == EncoderKind.Features)
            {
                w.WriteString(nameof(Encoder), Encoder.ToString());
                w.WriteNumber(nameof(FeatureSize), FeatureSize);
            }
            else if (Encoder == EncoderKind.Image)
            {
                // Written for an Image encoder only; the preprocessing travels with the model.
                w.WriteString(nameof(Encoder), Encoder.ToString());
                w.WriteNumber(nameof(ImageChannels), ImageChannels);
                w.WriteNumber(nameof(ImageHeight), ImageHeight);
                w.WriteNumber(nameof(ImageWidth), ImageWidth);
                WriteArray(w, nameof(ConvChannels), ConvChannels, (w, x) => w.WriteNumberValue(x));
                w.WriteNumber(nameof(GridHeight), GridHeight);
                w.WriteNumber(nameof(GridWidth), GridWidth);
                WriteArray(w, nameof(PixelMean), PixelMean, (w, x) => w.WriteNumberValue(x));
                WriteArray(w, nameof(PixelStd), PixelStd, (w, x) => w.WriteNumberValue(x));
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteArray<T>(Utf8JsonWriter w, string name, IReadOnlyList<T> values, Action<Utf8JsonWriter, T> write)
    {
        w.WriteStartArray(name);
        foreach (T x in values)
        {
            write(w, x);
        }
        w.WriteEndArray();
    }

    /// <summary>Parses <see cref="ToJson"/> output and validates it.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The configuration.</returns>
    /// <exception cref="FormatException">Malformed JSON, a missing or mistyped property, or an invalid configuration.</exception>
    public static Seq2SeqConfig FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            JsonElement r = doc.RootElement;
            int Int(string name) => r.GetProperty(name).GetInt32();
            TEnum Enum<TEnum>(string name) where TEnum : struct, Enum =>
                System.Enum.TryParse(r.GetProperty(name).GetString(), ignoreCase: false, out TEnum v) && System.Enum.IsDefined(v)
                    ? v : throw new FormatException($"Seq2SeqConfig JSON: unknown {name} '{r.GetProperty(name)}'.");
            var config = new Seq2SeqConfig
            {
                SourceVocabSize = Int(nameof(SourceVocabSize)),
                TargetVocabSize = Int(nameof(TargetVocabSize)),
                EmbeddingSize = Int(nameof(EmbeddingSize)),
                HiddenSize = Int(nameof(HiddenSize)),
                Cell = Enum<RecurrentKind>(nameof(Cell)),
                EncoderLayers = Int(nameof(EncoderLayers)),
                Bidirectional = r.GetProperty(nameof(Bidirectional)).GetBoolean(),
                Decoder = Enum<DecoderStyle>(nameof(Decoder)),
                Scorer = Enum<AttentionScorer>(nameof(Scorer)),
                AttentionSize = Int(nameof(AttentionSize)),
                Dropout = r.TryGetProperty(nameof(Dropout), out JsonElement dropout) ? dropout.GetSingle() : 0f, // files from before dropout: 0
                PaddingId = Int(nameof(PaddingId)),
                BosId = Int(nameof(BosId)),
                EosId = Int(nameof(EosId)),
                ContextGate = r.TryGetProperty(nameof(ContextGate), out JsonElement gate) && gate.GetBoolean(),
                AttentionRegularization = r.TryGetProperty(nameof(AttentionRegularization), out JsonElement lambda) ? lambda.GetSingle() : 0f,
                Encoder = r.TryGetProperty(nameof(Encoder), out _) ? Enum<EncoderKind>(nameof(Encoder)) : EncoderKind.Recurrent, // files from before: recurrent
                Heads = r.TryGetProperty(nameof(Heads), out _) ? Int(nameof(Heads)) : 4,
                FeedForwardSize = r.TryGetProperty(nameof(FeedForwardSize), out _) ? Int(nameof(FeedForwardSize)) : 0,
                Activation = r.TryGetProperty(nameof(Activation), out _) ? Enum<FeedForwardActivation>(nameof(Activation)) : FeedForwardActivation.Relu,
                FeatureSize = r.TryGetProperty(nameof(FeatureSize), out _) ? Int(nameof(FeatureSize)) : 0,
                ImageChannels = r.TryGetProperty(nameof(ImageChannels), out _) ? Int(nameof(ImageChannels)) : 0,
                ImageHeight = r.TryGetProperty(nameof(ImageHeight), out _) ? Int(nameof(ImageHeight)) : 0,
                ImageWidth = r.TryGetProperty(nameof(ImageWidth), out _) ? Int(nameof(ImageWidth)) : 0,
                ConvChannels = r.TryGetProperty(nameof(ConvChannels), out JsonElement conv) ? [.. conv.EnumerateArray().Select(x => x.GetInt32())] : [],
                GridHeight = r.TryGetProperty(nameof(GridHeight), out _) ? Int(nameof(GridHeight)) : 0,
                GridWidth = r.TryGetProperty(nameof(GridWidth), out _) ? Int(nameof(GridWidth)) : 0,
                PixelMean = r.TryGetProperty(nameof(PixelMean), out JsonElement mean) ? [.. mean.EnumerateArray().Select(x => x.GetSingle())] : [],
                PixelStd = r.TryGetProperty(nameof(PixelStd), out JsonElement std) ? [.. std.EnumerateArray().Select(x => x.GetSingle())] : [],
            };
            config.Validate();
            return config;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            throw new FormatException("Seq2SeqConfig JSON: " + e.Message, e);
        }
    }

    /// <summary>A short human-readable summary.</summary>
    /// <returns>The summary.</returns>
    public string Describe() => Decoder == DecoderStyle.Transformer
        ? TransformerSeq2Seq.Describe(this)
        : string.Create(CultureInfo.InvariantCulture,
        $"{Encoder switch
        {
            EncoderKind.Transformer => $"Transformer x{EncoderLayers} heads={Heads} F={EffectiveFeedForwardSize}{(Activation == FeedForwardActivation.Gelu ? " gelu" : "")} + {Cell} decoder",
            EncoderKind.Features => $"features F={FeatureSize} + {Cell} decoder",
            EncoderKind.Image => $"CNN {ImageChannels}x{ImageHeight}x{ImageWidth} conv {string.Join("-", ConvChannels)} grid {GridHeight}x{GridWidth} + {Cell} decoder",
            _ => $"{Cell} x{EncoderLayers}{(Bidirectional ? " bi" : "")}",
        }} E={EmbeddingSize} H={HiddenSize} {Decoder}/{Scorer} V={SourceVocabSize}->{TargetVocabSize}{(Dropout > 0f ? $" dropout={Dropout}" : "")}{(ContextGate ? " gate" : "")}{(AttentionRegularization > 0f ? $" attention-reg={AttentionRegularization}" : "")}");
}
