using System.Numerics.Tensors;
using SpanAttention.Kernels;
using SpanAttention.Parameters;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Transformer;

/// <summary>
/// The full Transformer encoder-decoder of "Attention Is All You Need" (nn.Transformer-style, post-norm): L encoder
/// layers over the source, L decoder layers with causal self-attention over the target and cross-attention over the
/// encoder's memory, and a linear layer to the target vocabulary. Trains all T target positions at once (teacher
/// forcing, causal mask) with the masked cross-entropy; its hand-written backward sits next to the forward.
/// </summary>
/// <remarks>
/// <para>Sizes from the <see cref="Seq2SeqConfig"/>: E = EmbeddingSize (d_model), L = EncoderLayers (both stacks),
/// Heads, F = EffectiveFeedForwardSize, Activation, V_src, V_tgt, PaddingId. The recurrent settings (H, cell, scorer) are
/// not used.</para>
/// <para>Parameters, in registration (= state_dict) order: <c>encoder.embedding.weight</c> (V_src, E);
/// <c>encoder.layers.{k}.*</c> (nn.TransformerEncoderLayer names); <c>decoder.embedding.weight</c> (V_tgt, E);
/// <c>decoder.layers.{k}.*</c> (nn.TransformerDecoderLayer names); <c>decoder.out.weight</c> (V_tgt, E),
/// <c>decoder.out.bias</c> (V_tgt). As nn.TransformerEncoder(layer, L) and nn.TransformerDecoder(layer, L) without a
/// final norm: in post-norm every layer already ends with one.</para>
/// <para>Forward (n_b the source length, m_b the target length of row b):
/// (1) x_0 = sqrt(E) · E_src[src] + PE (B, S, E);
/// (2) x_k = enc_k(x_{k-1}; keys s &lt; n_b) for k = 1..L; memory M = x_L (B, S, E);
/// (3) y_0 = sqrt(E) · E_tgt[tgt_in] + PE (B, T, E);
/// (4) y_k = dec_k(y_{k-1}, M; self-attention keys j ≤ i, j &lt; m_b; memory keys s &lt; n_b) for k = 1..L (B, T, E);
/// (5) logits = y_L W_outᵀ + b_out (B·T, V);
/// (6) loss = mean over non-padding targets of −log softmax(logits)[tgt_out].
/// Backward walks (6) to (1); d M accumulates over the L decoder layers (each one's cross-attention reads it) before the
/// encoder's backward.</para>
/// <para>Both embeddings are initialised N(0, 1/E), as <see cref="TransformerEncoder"/>'s (fairseq's choice: the scaled
/// rows then have unit-scale elements, like the positional encoding). Padded memory rows are masked in every
/// cross-attention, so they change nothing and get no gradient. No dropout. Workspaces are sized once for
/// (maxBatch, maxSource, maxTarget); a training step allocates nothing. Not thread-safe (it owns its workspaces).</para>
/// </remarks>
internal sealed partial class TransformerSeq2Seq
{
    private readonly Embedding _sourceEmbedding, _targetEmbedding;
    private readonly PositionalEncoding _sourceInput, _targetInput;
    private readonly TransformerEncoderLayer[] _encoder;
    private readonly TransformerDecoderLayer[] _decoder;
    private readonly Linear _out;
    private readonly int _e, _v;

    private readonly float[] _x;        // (L+1, B, S, E) x_0 .. x_L; x_L is the memory M
    private readonly float[] _y;        // (L+1, B, T, E) y_0 .. y_L
    private readonly float[] _logits;   // (B·T, V)
    private readonly float[] _probabilities;   // (B·T, V) softmax(logits), for the backward
    private readonly float[] _dLogits;  // (B·T, V)
    private readonly float[] _dX;       // (2, B, S, E) dx_k, alternating between encoder layers
    private readonly float[] _dY;       // (2, B, T, E) dy_k, alternating between decoder layers
    private readonly float[] _dMemory;  // (B, S, E) d M, summed over the decoder layers
    private readonly int[] _targets;    // (B·T) tgt_out, row-major

    private int _batch, _source, _steps, _count;
    private Seq2SeqBatch? _last;

    /// <summary>Builds a model with freshly initialised parameters (seeded).</summary>
    /// <param name="config">The architecture (validated; see the remarks for the settings used).</param>
    /// <param name="maxBatch">Largest B.</param>
    /// <param name="maxSource">Largest S.</param>
    /// <param name="maxTarget">Largest T (training target length, and the longest decoded output).</param>
    /// <param name="seed">Initialisation seed.</param>
    public TransformerSeq2Seq(Seq2SeqConfig config, int maxBatch, int maxSource, int maxTarget, int seed = 0)
        : this(config, null, maxBatch, maxSource, maxTarget)
    {
        var random = new Random(seed);
        InitializeEmbedding(_sourceEmbedding, random);
        foreach (TransformerEncoderLayer layer in _encoder)
        {
            layer.Initialize(Parameters, random);
        }
        InitializeEmbedding(_targetEmbedding, random);
        foreach (TransformerDecoderLayer layer in _decoder)
        {
            layer.Initialize(Parameters, random);
        }
        _out.Initialize(Parameters, random);
    }

    /// <summary>
    /// Builds a model without initialising its parameters: over <paramref name="shared"/> (a replica for another thread)
    /// or over new zeroed parameters that the caller fills (a loader, a test).
    /// </summary>
    internal TransformerSeq2Seq(Seq2SeqConfig config, ParameterSet? shared, int maxBatch, int maxSource, int maxTarget)
    {
        ArgumentNullException.ThrowIfNull(config);
        config = config with { Decoder = DecoderStyle.Transformer };        // the decoder is this class's, whatever the field said
        config.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSource, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTarget, 1);
        Config = config;
        _e = config.EmbeddingSize;
        _v = config.TargetVocabSize;
        int layers = config.EncoderLayers, f = config.EffectiveFeedForwardSize;
        var layout = new ParameterLayout();
        _sourceEmbedding = new Embedding(layout, "encoder.embedding", config.SourceVocabSize, _e, config.PaddingId);
        _sourceInput = new PositionalEncoding(_sourceEmbedding, maxSource, maxBatch * maxSource);
        _encoder = new TransformerEncoderLayer[layers];
        for (int k = 0; k < layers; k++)
        {
            _encoder[k] = new TransformerEncoderLayer(layout, $"encoder.layers.{k}.", _e, config.Heads, f, config.Activation, normFirst: false, maxBatch, maxSource);
        }
        _targetEmbedding = new Embedding(layout, "decoder.embedding", _v, _e, config.PaddingId);
        _targetInput = new PositionalEncoding(_targetEmbedding, maxTarget, maxBatch * maxTarget);
        _decoder = new TransformerDecoderLayer[layers];
        for (int k = 0; k < layers; k++)
        {
            _decoder[k] = new TransformerDecoderLayer(layout, $"decoder.layers.{k}.", _e, config.Heads, f, config.Activation, normFirst: false,
                maxBatch, maxTarget, maxSource);
        }
        _out = new Linear(layout, "decoder.out", _e, _v);
        if (shared is not null && (shared.Layout.Count != layout.Count || shared.Layout.Slots.Count != layout.Slots.Count))
        {
            throw new ArgumentException("The shared parameters do not match this configuration's layout.", nameof(shared));
        }
        Parameters = shared ?? new ParameterSet(layout);
        MaxBatch = maxBatch;
        MaxSource = maxSource;
        MaxTarget = maxTarget;
        int sourceSize = maxBatch * maxSource * _e, targetSize = maxBatch * maxTarget * _e, rows = maxBatch * maxTarget;
        _x = new float[(layers + 1) * sourceSize];
        _y = new float[(layers + 1) * targetSize];
        _logits = new float[rows * _v];
        _probabilities = new float[rows * _v];
        _dLogits = new float[rows * _v];
        _dX = new float[2 * sourceSize];
        _dY = new float[2 * targetSize];
        _dMemory = new float[sourceSize];
        _targets = new int[rows];
    }

    /// <summary>The architecture (its <see cref="Seq2SeqConfig.Decoder"/> is <see cref="DecoderStyle.Transformer"/>).</summary>
    public Seq2SeqConfig Config { get; }

    /// <summary>A short summary of a Transformer encoder-decoder configuration, for messages, headers and <c>spanattn info</c>.</summary>
    internal static string Describe(Seq2SeqConfig config) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"Transformer encoder-decoder x{config.EncoderLayers} E={config.EmbeddingSize} heads={config.Heads} F={config.EffectiveFeedForwardSize}" +
        $"{(config.Activation == FeedForwardActivation.Gelu ? " gelu" : "")} V={config.SourceVocabSize}->{config.TargetVocabSize}");

    /// <summary>Every parameter value and gradient, one flat buffer each, with PyTorch-named slots.</summary>
    public ParameterSet Parameters { get; }

    /// <summary>The layout of <see cref="Parameters"/>.</summary>
    public ParameterLayout Layout => Parameters.Layout;

    /// <summary>Largest B.</summary>
    public int MaxBatch { get; }

    /// <summary>Largest S.</summary>
    public int MaxSource { get; }

    /// <summary>Largest T.</summary>
    public int MaxTarget { get; }

    /// <summary>Counted (non-padding) target tokens of the last <see cref="Forward"/>.</summary>
    public int LastTokenCount => _count;

    /// <summary>The logits of the last <see cref="Forward"/>: (B, T, V).</summary>
    public ReadOnlySpan<float> Logits => _logits.AsSpan(0, _batch * _steps * _v);

    /// <summary>The encoder layers (their self-attention weights are the encoder's alignments).</summary>
    internal ReadOnlySpan<TransformerEncoderLayer> EncoderLayers => _encoder;

    /// <summary>The decoder layers (their cross-attention weights are the alignments).</summary>
    internal ReadOnlySpan<TransformerDecoderLayer> DecoderLayers => _decoder;

    private void InitializeEmbedding(Embedding embedding, Random random)
    {
        embedding.Initialize(Parameters, random);
        Span<float> weight = embedding.Weight.Of(Parameters.Values.AsSpan());
        TensorPrimitives.Multiply(weight, 1f / MathF.Sqrt(_e), weight);                    // N(0, 1/E): see the remarks
    }

    /// <summary>Teacher-forced forward over a padded batch and the masked cross-entropy (mean over non-padding target tokens).</summary>
    /// <param name="batch">The batch (B ≤ MaxBatch, S ≤ MaxSource, T ≤ MaxTarget).</param>
    /// <returns>The mean loss over counted tokens (0 if none).</returns>
    public float Forward(Seq2SeqBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int bsz = batch.BatchSize, s = batch.SourceLength, t = batch.TargetLength;
        CheckShape(bsz, s, t);
        ReadOnlySpan<float> values = Parameters.Values;
        _batch = bsz;
        _source = s;
        _steps = t;

        // (1)-(2) the encoder: memory M = x_L (B, S, E)
        Encode(batch.SourceIds, batch.SourceLengths, bsz, s);
        ReadOnlySpan<float> memory = Memory(bsz, s);

        // (3) y_0 = sqrt(E) · E_tgt[tgt_in] + PE (B, T, E)
        int targetSize = bsz * t * _e;
        _targetInput.Forward(batch.TargetInput, bsz, t, values, TargetState(0, targetSize));

        // (4) y_k = dec_k(y_{k-1}, M)
        ReadOnlySpan<int> targetLengths = batch.TargetLengths.AsSpan(0, bsz), sourceLengths = batch.SourceLengths.AsSpan(0, bsz);
        for (int k = 0; k < _decoder.Length; k++)
        {
            _decoder[k].Forward(values, TargetState(k, targetSize), memory, bsz, t, s, targetLengths, sourceLengths, TargetState(k + 1, targetSize));
        }

        // (5) logits = y_L W_outᵀ + b (B·T, V)
        int rows = bsz * t;
        Span<float> logits = _logits.AsSpan(0, rows * _v);
        _out.Forward(TargetState(_decoder.Length, targetSize), rows, values, logits);

        // (6) the masked cross-entropy
        batch.TargetOutput.AsSpan(0, rows).CopyTo(_targets);
        float loss = CrossEntropy.Forward(logits, _targets.AsSpan(0, rows), _v, Config.PaddingId, _probabilities.AsSpan(0, rows * _v), out _count);
        _last = batch;
        return loss;
    }

    /// <summary>Counts the counted target tokens whose arg-max prediction (of the last <see cref="Forward"/>) is right.</summary>
    /// <returns>The number of correct non-padding tokens.</returns>
    public int CountCorrect()
    {
        RequireForward();
        int rows = _batch * _steps;
        return CrossEntropy.CountCorrect(_logits.AsSpan(0, rows * _v), _targets.AsSpan(0, rows), _v, Config.PaddingId);
    }

    /// <summary>
    /// Backward of the last <see cref="Forward"/> (d mean loss = 1). Accumulates into <see cref="ParameterSet.Gradients"/>
    /// (zero them once per step before).
    /// </summary>
    public void Backward()
    {
        RequireForward();
        Seq2SeqBatch batch = _last!;
        int bsz = _batch, s = _source, t = _steps, rows = bsz * t, e = _e;
        int sourceSize = bsz * s * e, targetSize = bsz * t * e;
        ReadOnlySpan<float> values = Parameters.Values;
        Span<float> grads = Parameters.Gradients;
        ReadOnlySpan<float> memory = Memory(bsz, s);

        // (6) dlogits = (p - onehot(tgt_out)) / count on counted rows
        Span<float> dLogits = _dLogits.AsSpan(0, rows * _v);
        dLogits.Clear();
        CrossEntropy.Backward(1f, _probabilities.AsSpan(0, rows * _v), _targets.AsSpan(0, rows), _v, Config.PaddingId, _count, dLogits);

        // (5) logits = y_L W_outᵀ + b: dy_L = dlogits W_out, dW_out += dlogitsᵀ y_L, db_out += Σ dlogits
        int current = 0;
        Span<float> dY = TargetGradient(current, targetSize);
        dY.Clear();
        _out.Backward(dLogits, TargetState(_decoder.Length, targetSize), rows, values, grads, dY);

        // (4) the decoder layers in reverse; every layer's cross-attention adds its part of d M
        Span<float> dMemory = _dMemory.AsSpan(0, sourceSize);
        dMemory.Clear();
        for (int k = _decoder.Length - 1; k >= 0; k--)
        {
            Span<float> dPrevious = TargetGradient(1 - current, targetSize);
            dPrevious.Clear();
            _decoder[k].Backward(TargetGradient(current, targetSize), values, TargetState(k, targetSize), memory, grads, dPrevious, dMemory);
            current = 1 - current;
        }

        // (3) y_0 = sqrt(E) · E_tgt[tgt_in] + PE: dE_tgt[tgt_in] += sqrt(E) · dy_0
        _targetInput.Backward(TargetGradient(current, targetSize), batch.TargetInput, bsz, t, grads);

        // (2) the encoder layers in reverse, from d M = dx_L
        current = 0;
        dMemory.CopyTo(SourceGradient(current, sourceSize));
        for (int k = _encoder.Length - 1; k >= 0; k--)
        {
            Span<float> dPrevious = SourceGradient(1 - current, sourceSize);
            dPrevious.Clear();
            _encoder[k].Backward(SourceGradient(current, sourceSize), values, SourceState(k, sourceSize), grads, dPrevious);
            current = 1 - current;
        }

        // (1) x_0 = sqrt(E) · E_src[src] + PE: dE_src[src] += sqrt(E) · dx_0
        _sourceInput.Backward(SourceGradient(current, sourceSize), batch.SourceIds, bsz, s, grads);
    }

    /// <summary>(1)-(2): the encoder's forward into x_0 .. x_L; x_L is the memory.</summary>
    private void Encode(ReadOnlySpan<int> sourceIds, ReadOnlySpan<int> sourceLengths, int bsz, int s)
    {
        int sourceSize = bsz * s * _e;
        ReadOnlySpan<float> values = Parameters.Values;
        ReadOnlySpan<int> lengths = CheckLengths(sourceLengths, bsz, s, nameof(sourceLengths));
        _sourceInput.Forward(sourceIds, bsz, s, values, SourceState(0, sourceSize));               // (1) x_0 (B, S, E)
        for (int k = 0; k < _encoder.Length; k++)
        {
            _encoder[k].Forward(values, SourceState(k, sourceSize), bsz, s, lengths, causal: false, SourceState(k + 1, sourceSize));   // (2) x_k
        }
    }

    private ReadOnlySpan<float> Memory(int bsz, int s) => SourceState(_encoder.Length, bsz * s * _e);

    private Span<float> SourceState(int k, int size) => _x.AsSpan(k * MaxBatch * MaxSource * _e, size);

    private Span<float> TargetState(int k, int size) => _y.AsSpan(k * MaxBatch * MaxTarget * _e, size);

    private Span<float> SourceGradient(int k, int size) => _dX.AsSpan(k * MaxBatch * MaxSource * _e, size);

    private Span<float> TargetGradient(int k, int size) => _dY.AsSpan(k * MaxBatch * MaxTarget * _e, size);

    private void CheckShape(int bsz, int s, int t)
    {
        if (bsz < 1 || bsz > MaxBatch || s < 1 || s > MaxSource || t < 1 || t > MaxTarget)
        {
            throw new ArgumentOutOfRangeException(nameof(bsz),
                $"The batch shape (B={bsz}, S={s}, T={t}) is outside the model's capacity (B ≤ {MaxBatch}, S ≤ {MaxSource}, T ≤ {MaxTarget}).");
        }
    }

    private static ReadOnlySpan<int> CheckLengths(ReadOnlySpan<int> lengths, int bsz, int steps, string name)
    {
        Guard.Length(lengths.Length, bsz, name);
        lengths = lengths.Slice(0, bsz);
        for (int b = 0; b < bsz; b++)
        {
            if ((uint)lengths[b] > (uint)steps)
            {
                throw new ArgumentOutOfRangeException(name, $"{name}[{b}] = {lengths[b]} must be in 0..{steps}.");
            }
        }
        return lengths;
    }

    private void RequireForward()
    {
        if (_last is null)
        {
            throw new InvalidOperationException("Call Forward first.");
        }
    }
}
