using System.Numerics.Tensors;
using SpanAttention.Kernels;
using SpanAttention.Parameters;
using SpanAttention.Transformer;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// The Transformer encoder over token ids, feeding the recurrent attention decoders through the seam: the
/// sqrt(E)-scaled embedding plus the sinusoidal positional encoding, L <see cref="TransformerEncoderLayer"/>s
/// (nn.TransformerEncoder, post-norm, ReLU or GELU) with the source lengths as the key padding mask, and the decoder's initial
/// state from the mean of the valid memory rows. Its memory states are the last layer's outputs (B, S, E).
/// </summary>
/// <remarks>
/// <para>Parameters, in registration (= state_dict) order: <c>encoder.embedding.weight</c> (V_src, E);
/// <c>encoder.layers.{i}.self_attn.in_proj_weight</c>, ..., <c>encoder.layers.{i}.norm2.bias</c> (nn.TransformerEncoder
/// names, see <see cref="TransformerEncoderLayer"/>); <c>bridge.weight</c> (H, E), <c>bridge.bias</c> (H).</para>
/// <para>Forward (n_b = the length of row b):
/// (1) x_0 = drop(sqrt(E) · E_src[ids] + PE) (B, S, E);
/// (2) x_k = layer_k(x_{k-1}, lengths) for k = 1..L (B, S, E);
/// (3) states = x_L with rows s ≥ n_b set to 0 (B, S, E);
/// (4) m_b = (1/n_b) Σ_{s &lt; n_b} states[b, s] (B, E) (0 for an empty row); h_0 = tanh(W_b m + b_b) (B, H), as
/// Show, Attend and Tell initialises its LSTM from the mean annotation.
/// Backward walks (4) to (1) in reverse and accumulates into every parameter gradient.</para>
/// <para>The embedding is initialised N(0, 1/E) rather than nn.Embedding's N(0, 1), as fairseq's Transformer does: then
/// sqrt(E) · E_src[id] has unit-scale elements, comparable with the positional encoding's, and the positions are not
/// drowned at the input.</para>
/// <para>Padded query positions still run through the layers (their keys are masked everywhere), but their outputs are
/// zeroed in (3) and so receive no gradient. Dropout is on the encoder's input only (the layers run with dropout 0).</para>
/// </remarks>
internal sealed class TransformerEncoder : IEncoder
{
    private readonly Embedding _embedding;
    private readonly PositionalEncoding _input;
    private readonly TransformerEncoderLayer[] _layers;
    private readonly MeanBridge _bridge;
    private readonly int _e;
    private readonly bool _dropout;

    private int _maxBatch, _maxSource;
    private float[] _x = [];            // (L, B, S, E) x_0 .. x_{L-1}: each layer's input
    private float[] _mask = [];         // (B, S, E) dropout mask of x_0, when dropping
    private float[] _dX = [];           // (2, B, S, E) dx_k, alternating between the layers
    private bool _dropped;              // the last Forward dropped its input

    /// <summary>Registers the encoder's parameters in <paramref name="layout"/> and sizes its workspaces.</summary>
    public TransformerEncoder(Seq2SeqConfig config, ParameterLayout layout, int maxBatch, int maxSource)
    {
        _e = config.EmbeddingSize;
        _dropout = config.Dropout > 0f;
        Size = _e;
        _embedding = new Embedding(layout, "encoder.embedding", config.SourceVocabSize, _e, config.PaddingId);
        _input = new PositionalEncoding(_embedding, maxSource, maxBatch * maxSource);
        _layers = new TransformerEncoderLayer[config.EncoderLayers];
        for (int k = 0; k < _layers.Length; k++)
        {
            _layers[k] = new TransformerEncoderLayer(layout, $"encoder.layers.{k}.", _e, config.Heads, config.EffectiveFeedForwardSize,
                config.Activation, normFirst: false, maxBatch, maxSource);
        }
        _bridge = new MeanBridge(layout, _e, config.HiddenSize);
        EnsureCapacity(maxBatch, maxSource);
    }

    /// <inheritdoc/>
    public int Size { get; }

    /// <inheritdoc/>
    public void Initialize(ParameterSet parameters, Random random)
    {
        _embedding.Initialize(parameters, random);
        Span<float> weight = _embedding.Weight.Of(parameters.Values.AsSpan());
        TensorPrimitives.Multiply(weight, 1f / MathF.Sqrt(_e), weight);                  // N(0, 1/E): see the remarks
        foreach (TransformerEncoderLayer layer in _layers)
        {
            layer.Initialize(parameters, random);
        }
        _bridge.Initialize(parameters, random);
    }

    /// <inheritdoc/>
    public void EnsureCapacity(int maxBatch, int maxSource)
    {
        if (maxBatch <= _maxBatch && maxSource <= _maxSource)
        {
            return;
        }
        int b = _maxBatch = Math.Max(maxBatch, _maxBatch);
        int s = _maxSource = Math.Max(maxSource, _maxSource);
        int tokens = b * s * _e;
        _input.EnsureCapacity(s, b * s);
        foreach (TransformerEncoderLayer layer in _layers)
        {
            layer.EnsureCapacity(b, s);
        }
        _x = new float[_layers.Length * tokens];
        _mask = _dropout ? new float[tokens] : [];
        _dX = new float[2 * tokens];
        _bridge.EnsureCapacity(b);
    }

    /// <inheritdoc/>
    public void Forward(ParameterSet parameters, SourceInput source, EncoderPass pass, EncoderMemory memory)
    {
        int bsz = source.Batch, steps = source.Steps, e = _e, size = bsz * steps * e;
        ReadOnlySpan<int> lengths = CheckLengths(source.Lengths, bsz, steps);
        memory.SetShape(bsz, steps, lengths);
        ReadOnlySpan<float> values = parameters.Values;

        // (1) x_0 = drop(sqrt(E) · E_src[ids] + PE): (B, S, E)
        Span<float> x0 = Input(0, size);
        _input.Forward(source.Ids, bsz, steps, values, x0);
        _dropped = pass.Dropout > 0f;
        if (_dropped)
        {
            Span<float> mask = _mask.AsSpan(0, size);                                   // index ((row0 + b)·S + s)·E + e
            Dropout.FillMask(Dropout.Key(pass.DropoutSeed, pass.DropoutStep, Dropout.SourceEmbedding), (long)pass.DropoutRowOffset * steps * e, pass.Dropout, mask);
            Dropout.Apply(x0, mask);
        }

        // (2) x_k = layer_k(x_{k-1}); the last layer writes the memory states directly
        Span<float> states = memory.States;                                              // (B, S, E)
        for (int k = 0; k < _layers.Length; k++)
        {
            Span<float> y = k == _layers.Length - 1 ? states : Input(k + 1, size);
            _layers[k].Forward(values, Input(k, size), bsz, steps, lengths, causal: false, y);
        }

        // (3) padded rows of the memory are 0
        for (int b = 0; b < bsz; b++)
        {
            states.Slice((b * steps + lengths[b]) * e, (steps - lengths[b]) * e).Clear();
        }

        // (4) m = mean of the valid rows (B, E); h_0 = tanh(W_b m + b_b) (B, H)
        _bridge.Forward(states, lengths, bsz, steps, values, memory.InitialState);
    }

    /// <inheritdoc/>
    public void Backward(ParameterSet parameters, SourceInput source, EncoderMemory memory, bool applyDropoutMasks)
    {
        int bsz = source.Batch, steps = source.Steps, e = _e, size = bsz * steps * e;
        ReadOnlySpan<int> lengths = source.Lengths.Slice(0, bsz);
        ReadOnlySpan<float> values = parameters.Values;
        Span<float> grads = parameters.Gradients;

        // (3) dx_L = dstates, 0 on the padded rows (zeroed in the forward)
        int current = 0;
        Span<float> dY = Gradient(current, size);
        memory.DStates.CopyTo(dY);
        for (int b = 0; b < bsz; b++)
        {
            dY.Slice((b * steps + lengths[b]) * e, (steps - lengths[b]) * e).Clear();
        }

        // (4) h_0 = tanh(W_b m + b_b): the bridge's gradients, and dm_b / n_b into every valid row of dx_L
        _bridge.Backward(memory.DInitialState, memory.InitialState, lengths, bsz, steps, values, grads, dY);

        // (2) the layers in reverse: dx_{k-1} = layer_k's backward of dx_k
        for (int k = _layers.Length - 1; k >= 0; k--)
        {
            Span<float> dX = Gradient(1 - current, size);
            dX.Clear();
            _layers[k].Backward(Gradient(current, size), values, Input(k, size), grads, dX);
            current = 1 - current;
        }

        // (1) x_0 = drop(sqrt(E) · E_src[ids] + PE): dE_src[ids] += sqrt(E) · (dx_0 ⊙ mask)
        Span<float> dX0 = Gradient(current, size);
        if (_dropped && applyDropoutMasks)
        {
            Dropout.Apply(dX0, _mask.AsSpan(0, size));
        }
        _input.Backward(dX0, source.Ids, bsz, steps, grads);
    }

    /// <summary>
    /// The decoding forward. A Transformer encoder has no per-step matrix-vector products to pack, so this is the
    /// training forward without dropout (its caches for backward are simply not used).
    /// </summary>
    public void ForwardPrepared(InferenceWeights weights, ParameterSet parameters, SourceInput source, EncoderMemory memory) =>
        Forward(parameters, source, EncoderPass.Plain, memory);

    private Span<float> Input(int k, int size) => _x.AsSpan(k * size, size);

    private Span<float> Gradient(int k, int size) => _dX.AsSpan(k * size, size);

    /// <summary>The first B lengths, each checked to be in 0..S.</summary>
    private static ReadOnlySpan<int> CheckLengths(ReadOnlySpan<int> lengths, int bsz, int steps)
    {
        Guard.Length(lengths.Length, bsz, nameof(lengths));
        lengths = lengths.Slice(0, bsz);
        for (int b = 0; b < bsz; b++)
        {
            if ((uint)lengths[b] > (uint)steps)
            {
                throw new ArgumentOutOfRangeException(nameof(lengths), $"sourceLengths[{b}] = {lengths[b]} must be in 0..{steps}.");
            }
        }
        return lengths;
    }
}
