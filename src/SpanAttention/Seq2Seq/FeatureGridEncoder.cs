using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// The encoder of precomputed features: a grid of F-wide vectors per example (e.g. a pretrained CNN's h' x w' feature
/// map flattened to S = h'·w' positions, as in Show, Attend and Tell) is the memory itself, and the decoder's initial
/// state comes from its mean through the <see cref="MeanBridge"/>. The decoder attends over the grid exactly as it
/// attends over a sentence's encoder states.
/// </summary>
/// <remarks>
/// <para>Parameters: <c>bridge.weight</c> (H, F), <c>bridge.bias</c> (H).</para>
/// <para>Forward (n_b = the valid positions of row b): (1) states[b, s] = features[b, s] for s &lt; n_b, 0 on the padded
/// rows (B, S, F); (2) h_0 = tanh(W mean_{s &lt; n_b} states[b, s] + b) (B, H). Backward: the bridge's gradients only;
/// d(states) stops here, since the features are data (an image encoder trained end to end is another encoder).</para>
/// </remarks>
internal sealed class FeatureGridEncoder : IEncoder
{
    private readonly MeanBridge _bridge;
    private readonly int _f;

    /// <summary>Registers the bridge in <paramref name="layout"/> and sizes its workspaces.</summary>
    public FeatureGridEncoder(Seq2SeqConfig config, ParameterLayout layout, int maxBatch)
    {
        _f = config.FeatureSize;
        _bridge = new MeanBridge(layout, _f, config.HiddenSize);
        _bridge.EnsureCapacity(maxBatch);
    }

    /// <inheritdoc/>
    public int Size => _f;

    /// <inheritdoc/>
    public void Initialize(ParameterSet parameters, Random random) => _bridge.Initialize(parameters, random);

    /// <inheritdoc/>
    public void EnsureCapacity(int maxBatch, int maxSource) => _bridge.EnsureCapacity(maxBatch);

    /// <inheritdoc/>
    public void Forward(ParameterSet parameters, SourceInput source, EncoderPass pass, EncoderMemory memory)
    {
        int bsz = source.Batch, steps = source.Steps, f = _f;
        if (!source.IsFeatures || source.FeatureSize != f)
        {
            throw new ArgumentException(source.IsFeatures
                ? $"The feature grid has F = {source.FeatureSize} features per position; this model's encoder reads F = {f}."
                : $"This model's encoder reads a feature grid (F = {f}), not token ids.", nameof(source));
        }
        Guard.Length(source.Features.Length, bsz * steps * f, nameof(source));
        Guard.Length(source.Lengths.Length, bsz, nameof(source));
        ReadOnlySpan<int> lengths = source.Lengths.Slice(0, bsz);
        for (int b = 0; b < bsz; b++)
        {
            if ((uint)lengths[b] > (uint)steps)
            {
                throw new ArgumentOutOfRangeException(nameof(source), $"sourceLengths[{b}] = {lengths[b]} must be in 0..{steps}.");
            }
        }
        memory.SetShape(bsz, steps, lengths);

        // (1) states = the features, padded rows 0: (B, S, F)
        Span<float> states = memory.States;
        source.Features.Slice(0, bsz * steps * f).CopyTo(states);
        for (int b = 0; b < bsz; b++)
        {
            states.Slice((b * steps + lengths[b]) * f, (steps - lengths[b]) * f).Clear();
        }

        // (2) h_0 = tanh(W mean(states) + b): (B, H)
        _bridge.Forward(states, lengths, bsz, steps, parameters.Values, memory.InitialState);
    }

    /// <inheritdoc/>
    public void Backward(ParameterSet parameters, SourceInput source, EncoderMemory memory, bool applyDropoutMasks)
    {
        // (2) the bridge; the d(states) it adds to (and the decoder's) belong to data, so they go no further
        _bridge.Backward(memory.DInitialState, memory.InitialState, source.Lengths, source.Batch, source.Steps,
            parameters.Values, parameters.Gradients, memory.DStates);
    }

    /// <summary>The decoding forward: the training forward (nothing here is worth packing).</summary>
    public void ForwardPrepared(InferenceWeights weights, ParameterSet parameters, SourceInput source, EncoderMemory memory) =>
        Forward(parameters, source, EncoderPass.Plain, memory);
}
