using System.Numerics.Tensors;
using SpanAttention.Kernels;
using SpanAttention.Parameters;
using SpanAttention.Recurrent;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// The prepared decoding forward of the recurrent encoder: the same equations as <see cref="Forward"/>, row by row,
/// with the packed matrices and the source table of an <see cref="InferenceWeights"/>. Forward only.
/// </summary>
internal sealed partial class RecurrentEncoder
{
    private int _pBatch, _pSource;
    private float[] _pGates = [];       // (S, G·H) one direction's input projections
    private float[] _pLayer = [];       // (2, S, D·H) outputs of the layers below the last, alternating
    private float[] _pScratch = [];     // RecurrentInference scratch

    private void EnsurePrepared(int bsz, int source)
    {
        if (bsz <= _pBatch && source <= _pSource)
        {
            return;
        }
        int s = _pSource = Math.Max(source, _pSource);
        _pBatch = Math.Max(bsz, _pBatch);
        int gw = _rnn.GateWidth, layers = _states / _rnn.Directions;
        _pGates = new float[s * gw];
        _pLayer = layers > 1 ? new float[2 * s * Size] : [];
        _pScratch = new float[gw + 4 * _h];                 // RecurrentInference.SequenceScratch: G·H + ExtraWidth·H + 3·H, ExtraWidth ≤ 1
    }

    /// <inheritdoc/>
    public void ForwardPrepared(InferenceWeights weights, ParameterSet parameters, SourceInput source, EncoderMemory memory)
    {
        int bsz = source.Batch, steps = source.Steps;
        ReadOnlySpan<int> ids = source.Ids, lengths = source.Lengths;
        Guard.SameLength(lengths.Length, bsz, nameof(source));
        for (int b = 0; b < bsz; b++)
        {
            if ((uint)lengths[b] > (uint)steps)
            {
                throw new ArgumentOutOfRangeException(nameof(source), $"sourceLengths[{b}] = {lengths[b]} must be in 0..{steps}.");
            }
        }
        memory.SetShape(bsz, steps, lengths);
        EnsurePrepared(bsz, steps);
        int h = _h, bh = bsz * h, e = _e, gw = _rnn.GateWidth, width = Size;
        int directions = _rnn.Directions, layers = _states / directions;
        ReadOnlySpan<float> values = parameters.Values;
        Span<float> x0 = _embedded.AsSpan(0, bsz * steps * e);
        _embedding.Forward(ids, values, x0);                                                              // (B, S, E), validates the ids
        Span<float> states = memory.States;                                                               // (B, S, D·H)
        Span<float> gates = _pGates.AsSpan(0, steps * gw);
        for (int b = 0; b < bsz; b++)
        {
            int n = lengths[b];
            if (b > 0 && n == lengths[b - 1] && ids.Slice(b * steps, steps).SequenceEqual(ids.Slice((b - 1) * steps, steps)))
            {
                // Same source as the row above (beam search encodes one source K times): copy its encoding.
                states.Slice((b - 1) * steps * width, steps * width).CopyTo(states.Slice(b * steps * width, steps * width));
                for (int s = 0; s < _states; s++)
                {
                    _hN.AsSpan(s * bh + (b - 1) * h, h).CopyTo(_hN.AsSpan(s * bh + b * h, h));
                    if (_lstm)
                    {
                        _cN.AsSpan(s * bh + (b - 1) * h, h).CopyTo(_cN.AsSpan(s * bh + b * h, h));
                    }
                }
                continue;
            }
            for (int k = 0; k < layers; k++)
            {
                int input = k == 0 ? e : width;
                ReadOnlySpan<float> x = k == 0 ? x0.Slice(b * steps * e, steps * e)
                    : _pLayer.AsSpan(((k - 1) & 1) * steps * width, steps * width);                        // (S, in)
                Span<float> output = k == layers - 1 ? states.Slice(b * steps * width, steps * width)
                    : _pLayer.AsSpan((k & 1) * steps * width, steps * width);                              // (S, D·H)
                output.Slice(n * width).Clear();                                                            // padded steps: 0
                for (int d = 0; d < directions; d++)
                {
                    int s = k * directions + d;
                    Span<float> g = gates.Slice(0, n * gw);                                                 // (n, G·H)
                    PackedMatrix? ihT = weights.EncoderIhT[s];
                    if (ihT is null)
                    {
                        ReadOnlySpan<float> table = weights.SourceTable.AsSpan(d * _vocabulary * gw, _vocabulary * gw); // (Vs, G·H)
                        InputTable.LookUp(table, gw, ids.Slice(b * steps), n, g);                            // x_t W_ihᵀ = T_src[id]
                    }
                    else if (n > 0)
                    {
                        Gemm.Multiply(n, x, input, Transpose.No, ihT, g, gw, accumulate: false);           // (n, G·H) = X W_ihᵀ
                    }
                    _rnn.PreparedSequence(weights.EncoderHh[s], weights.EncoderBiasIh[s].Of(values), weights.EncoderBiasHh[s].Of(values), g, n, d == 1,
                        output.Slice(d * h), width, _pScratch, _hN.AsSpan(s * bh + b * h, h), _lstm ? _cN.AsSpan(s * bh + b * h, h) : default);
                }
            }
        }

        // h_0 as in the training forward, one row at a time with the packed bridge.
        Span<float> h0 = memory.InitialState;
        int last = _states - directions;
        for (int b = 0; b < bsz; b++)
        {
            Span<float> h0b = h0.Slice(b * h, h);
            if (weights.Bridge is not null)
            {
                Span<float> bridgeIn = _bridgeIn.AsSpan(0, 2 * h);                                           // [h_f; h_b]
                _hN.AsSpan(last * bh + b * h, h).CopyTo(bridgeIn.Slice(0, h));
                _hN.AsSpan((last + 1) * bh + b * h, h).CopyTo(bridgeIn.Slice(h, h));
                Gemv.Multiply(weights.Bridge, bridgeIn, h0b, accumulate: false);
                TensorPrimitives.Add(h0b, _bridge!.Bias!.Of(values), h0b);
                TensorPrimitives.Tanh(h0b, h0b);                                                             // h_0 = tanh(W [h_f; h_b] + b)
            }
            else
            {
                _hN.AsSpan(last * bh + b * h, h).CopyTo(h0b);
            }
        }
    }
}
