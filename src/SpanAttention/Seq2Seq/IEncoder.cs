using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// The encoder seam: an encoder turns a source batch into an <see cref="EncoderMemory"/> (states as keys and values,
/// valid positions, the decoder's initial state), and its backward takes d(states) and d(initial state) from that
/// memory and accumulates its own parameter gradients. The decoder depends on the memory only, never on the encoder.
/// </summary>
/// <remarks>
/// <para>The built-in encoders, chosen by <see cref="Seq2SeqConfig.Encoder"/>: a recurrent stack over token ids, a
/// Transformer over token ids, and a precomputed feature grid. Your own encoder implements this interface and is given to
/// <see cref="Seq2SeqModel(Seq2SeqConfig, Func{ParameterLayout, IEncoder}, int, int, int, int)"/>: its constructor
/// registers its parameters in the layout it is handed (under its own names, before the decoder's), and the configuration
/// describes its memory (<see cref="Seq2SeqConfig.EncoderOutputSize"/> = <see cref="Size"/>; token ids or a feature grid).
/// docs/architecture.md shows one.</para>
/// <para>Contract: <see cref="Forward"/> calls <see cref="EncoderMemory.SetShape"/>, writes every valid state row and the
/// initial state, and zeroes the padded rows; <see cref="Backward"/> only accumulates into
/// <see cref="ParameterSet.Gradients"/>; no call allocates once <see cref="EnsureCapacity"/> has sized the workspaces.</para>
/// </remarks>
public interface IEncoder
{
    /// <summary>D: the width of a memory state.</summary>
    int Size { get; }

    /// <summary>Fills this encoder's parameters with their initial values.</summary>
    void Initialize(ParameterSet parameters, Random random);

    /// <summary>Grows the workspaces for (maxBatch, maxSource); allocates only when growing.</summary>
    void EnsureCapacity(int maxBatch, int maxSource);

    /// <summary>Encodes a source batch into <paramref name="memory"/> (sets its shape, states, lengths and initial state).</summary>
    void Forward(ParameterSet parameters, SourceInput source, EncoderPass pass, EncoderMemory memory);

    /// <summary>
    /// Backward of the last <see cref="Forward"/>: reads <see cref="EncoderMemory.DStates"/> and
    /// <see cref="EncoderMemory.DInitialState"/>, accumulates into the parameter gradients.
    /// </summary>
    void Backward(ParameterSet parameters, SourceInput source, EncoderMemory memory, bool applyDropoutMasks);

    /// <summary>
    /// The decoding forward with weights prepared by <see cref="Seq2SeqModel.PrepareInference()"/>; caches nothing for
    /// backward. An encoder with nothing to pack runs <see cref="Forward"/> with <see cref="EncoderPass.Plain"/>.
    /// </summary>
    void ForwardPrepared(InferenceWeights weights, ParameterSet parameters, SourceInput source, EncoderMemory memory);
}

/// <summary>
/// A source batch as an encoder reads it: token ids (B, S), a grid of feature vectors (B, S, F) (e.g. a CNN's
/// h' x w' grid flattened to S = h'·w' positions), or images (B, C, H, W) that the encoder makes S positions of, with
/// per-row lengths. Each encoder reads the kind it is built for.
/// </summary>
public readonly ref struct SourceInput
{
    /// <summary>Token ids.</summary>
    /// <param name="ids">(B, S) token ids, padded.</param>
    /// <param name="lengths">(B) valid steps per row, each in 0..S.</param>
    /// <param name="batch">B.</param>
    /// <param name="steps">S.</param>
    public SourceInput(ReadOnlySpan<int> ids, ReadOnlySpan<int> lengths, int batch, int steps)
    {
        Ids = ids;
        Lengths = lengths;
        Batch = batch;
        Steps = steps;
    }

    private SourceInput(ReadOnlySpan<float> features, int featureSize, ReadOnlySpan<int> lengths, int batch, int steps)
    {
        Features = features;
        FeatureSize = featureSize;
        Lengths = lengths;
        Batch = batch;
        Steps = steps;
    }

    private SourceInput(ReadOnlySpan<float> pixels, int channels, int height, int width, ReadOnlySpan<int> lengths, int batch, int steps)
    {
        Pixels = pixels;
        Channels = channels;
        Height = height;
        Width = width;
        Lengths = lengths;
        Batch = batch;
        Steps = steps;
    }

    /// <summary>A batch of images, for an encoder that turns each image into S memory positions (e.g. a CNN's pooled grid).</summary>
    /// <param name="pixels">(B, C, H, W) pixel values, channel-major as in PyTorch (e.g. in [0, 1]).</param>
    /// <param name="channels">C ≥ 1.</param>
    /// <param name="height">H ≥ 1.</param>
    /// <param name="width">W ≥ 1.</param>
    /// <param name="lengths">(B) memory positions per image: each S (every position of an image is valid).</param>
    /// <param name="batch">B.</param>
    /// <param name="steps">S: the memory positions the encoder makes of one image (gh·gw for the built-in image encoder).</param>
    /// <returns>The source.</returns>
    public static SourceInput FromImages(ReadOnlySpan<float> pixels, int channels, int height, int width, ReadOnlySpan<int> lengths, int batch, int steps) =>
        new(pixels, channels, height, width, lengths, batch, steps);

    /// <summary>A feature grid.</summary>
    /// <param name="features">(B, S, F) feature vectors, padded (padded rows are ignored).</param>
    /// <param name="featureSize">F.</param>
    /// <param name="lengths">(B) valid positions per row, each in 0..S.</param>
    /// <param name="batch">B.</param>
    /// <param name="steps">S.</param>
    /// <returns>The source.</returns>
    public static SourceInput FromFeatures(ReadOnlySpan<float> features, int featureSize, ReadOnlySpan<int> lengths, int batch, int steps) =>
        new(features, featureSize, lengths, batch, steps);

    /// <summary>(B, S) token ids; empty for a feature grid.</summary>
    public ReadOnlySpan<int> Ids { get; }

    /// <summary>(B, S, F) feature vectors; empty for token ids.</summary>
    public ReadOnlySpan<float> Features { get; }

    /// <summary>F: the width of one feature vector; 0 for token ids.</summary>
    public int FeatureSize { get; }

    /// <summary>Whether this source is a feature grid.</summary>
    public bool IsFeatures => FeatureSize > 0;

    /// <summary>(B, C, H, W) pixels; empty unless this source is images.</summary>
    public ReadOnlySpan<float> Pixels { get; }

    /// <summary>C of an image source; 0 for token ids and feature grids.</summary>
    public int Channels { get; }

    /// <summary>H of an image source (pixel rows); 0 otherwise.</summary>
    public int Height { get; }

    /// <summary>W of an image source (pixel columns); 0 otherwise.</summary>
    public int Width { get; }

    /// <summary>Whether this source is a batch of images.</summary>
    public bool IsImages => Channels > 0;

    /// <summary>(B) valid positions per row.</summary>
    public ReadOnlySpan<int> Lengths { get; }

    /// <summary>B.</summary>
    public int Batch { get; }

    /// <summary>S.</summary>
    public int Steps { get; }
}

/// <summary>How a training forward runs the encoder.</summary>
/// <param name="Dropout">Dropout probability of the source embeddings; 0 when not training.</param>
/// <param name="DropoutSeed">The seed of the mask hash.</param>
/// <param name="DropoutStep">The step of the mask hash.</param>
/// <param name="DropoutRowOffset">The index of row 0 in the whole batch (a half batch on another thread draws the same masks).</param>
/// <param name="AllowTables">Whether the encoder may use its per-token input tables (off in tests of the reference path).</param>
public readonly record struct EncoderPass(float Dropout, ulong DropoutSeed, long DropoutStep, int DropoutRowOffset, bool AllowTables)
{
    /// <summary>No dropout, tables allowed: what decoding uses.</summary>
    public static EncoderPass Plain => new(0f, 0, 0, 0, true);
}
