using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Recurrent;

/// <summary>
/// A (multi-layer, optionally bidirectional) recurrent network over padded, batch-major sequences with
/// per-row lengths: PyTorch's <c>nn.RNN</c> / <c>nn.GRU</c> / <c>nn.LSTM</c> (batch_first) fed a
/// <c>pack_padded_sequence</c>. The cell is the type argument: <see cref="RnnGates"/>, <see cref="GruGates"/>
/// or <see cref="LstmGates"/>.
/// </summary>
/// <typeparam name="TGates">The cell's gate math.</typeparam>
/// <remarks>
/// <para>Shapes: x (B, S, I); output (B, S, D·H) with D = 2 when bidirectional, <c>[forward; backward]</c>
/// per step; states h0, hN, c0, cN (L·D, B, H), index layer·D + direction, as PyTorch.</para>
/// <para>Speed by design: per layer and direction, the input projection of all B·S steps is one GEMM before
/// the time loop; only W_hh·h is sequential (one GEMM over the batch per step against W_hh packed once per call, a GEMV at B = 1). Backward
/// runs the time loop once, then forms dX, dW_ih, dW_hh and both bias gradients with one GEMM (or GEMV)
/// each over all steps.</para>
/// <para>Variable lengths by masking: rows are kept in place; at step t a row with t ≥ length is skipped,
/// so its state stays frozen (its final state is the state at its last valid step), its output is zero
/// and its gate gradients are zero (so it adds nothing to the all-steps GEMMs). The reverse direction of
/// a row starts at its own last valid step. Padded input positions are never read into the state, but
/// must be finite (they meet zero gradients in the dW_ih GEMM).</para>
/// <para>Workspaces (forward caches, backward scratch) are sized once for (maxBatch, maxSteps) and reused:
/// after the first call, Forward and Backward allocate nothing. A larger shape throws; call
/// <see cref="EnsureCapacity"/> to resize explicitly. An instance is not thread-safe (it owns the caches).</para>
/// </remarks>
internal sealed class RecurrentLayer<TGates>
    where TGates : struct, IRecurrentGates
{
    private readonly RecurrentWeights[] _weights; // [layer·D + direction]
    private int _maxBatch;
    private int _maxSteps;

    // Forward caches, per layer·D + direction, rows indexed b·S + t (batch-major, like x).
    private float[][] _gates = [];    // (B·S, G·H) input projection, then the gate activations
    private float[][] _extra = [];    // (B·S, E·H) the cell's extra cache
    private float[][] _hPrev = [];    // (B·S, H) state entering each step
    private float[][] _cPrev = [];    // (B·S, H) LSTM cell state entering each step
    private float[][] _layerOutput = []; // [layer < L-1] (B·S, D·H) input of the layer above
    private float[][] _dLayerOutput = []; // [layer < L-1] (B·S, D·H) its gradient

    // Shared scratch.
    private float[] _ghStep = [];     // (B, G·H) W_hh·h of one step
    private float[] _hState = [];     // (B, H)
    private float[] _cState = [];     // (B, H)
    private float[] _dGates = [];     // (B·S, G·H)
    private float[] _dGatesHh = [];   // (B·S, G·H), GRU only
    private readonly PackedMatrix _packedHhT;  // op(B) = W_hhᵀ (H, G·H) for the forward step GEMM, packed once per direction per call
    private readonly PackedMatrix _packedHh;   // op(B) = W_hh (G·H, H) for the backward step GEMM, packed once per direction per call
    private PackedGemvMatrix? _packedHhRow;    // W_hh (G·H, H) for batch-1 steps (forward W_hh·h, backward W_hhᵀ·dGates); allocated on first use
    private int _packedHhRowIndex = -1;        // which layer/direction's W_hh _packedHhRow holds in this forward/backward pair, -1: none
    private float[] _ones = [];       // (B·S)
    private int[] _lengths = [];      // (B) lengths of the last forward

    private int _batch;
    private int _steps;
    private int _maxLength;
    private bool _hasForward;

    /// <summary>Registers the parameters (PyTorch names, state_dict order) and sizes the workspaces.</summary>
    /// <param name="layout">The model's parameter layout.</param>
    /// <param name="prefix">Name prefix, e.g. <c>"encoder.rnn."</c>.</param>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="numLayers">L ≥ 1.</param>
    /// <param name="bidirectional">Whether each layer also runs right to left (D = 2).</param>
    /// <param name="maxBatch">Largest batch B a call may use.</param>
    /// <param name="maxSteps">Largest number of steps S a call may use.</param>
    public RecurrentLayer(ParameterLayout layout, string prefix, int inputSize, int hiddenSize, int numLayers = 1, bool bidirectional = false, int maxBatch = 1, int maxSteps = 1)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numLayers, 1);
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        Directions = bidirectional ? 2 : 1;
        int first = layout.Count;
        _weights = new RecurrentWeights[numLayers * Directions];
        for (int k = 0; k < numLayers; k++)
        {
            for (int d = 0; d < Directions; d++)
            {
                int layerInput = k == 0 ? inputSize : Directions * hiddenSize;
                _weights[k * Directions + d] = new RecurrentWeights(layout, prefix, $"_l{k}" + (d == 1 ? "_reverse" : ""), TGates.GateCount, layerInput, hiddenSize);
            }
        }
        ParameterOffset = first;
        ParameterCount = layout.Count - first;
        // Every layer and direction has a W_hh of the same shape (G·H, H), so one packed matrix per use is
        // shared by all of them, re-packed (allocation-free) as the loops move from one to the next.
        _packedHhT = new PackedMatrix(hiddenSize, TGates.GateCount * hiddenSize);
        _packedHh = new PackedMatrix(TGates.GateCount * hiddenSize, hiddenSize);
        EnsureCapacity(maxBatch, maxSteps);
    }

    /// <summary>I.</summary>
    public int InputSize { get; }

    /// <summary>H.</summary>
    public int HiddenSize { get; }

    /// <summary>L.</summary>
    public int NumLayers { get; }

    /// <summary>D: 1, or 2 when bidirectional.</summary>
    public int Directions { get; }

    /// <summary>Width of one output step: D·H.</summary>
    public int OutputSize => Directions * HiddenSize;

    /// <summary>Number of state vectors per row: L·D (the first dimension of h0, hN, c0, cN).</summary>
    public int StateCount => NumLayers * Directions;

    /// <summary>Offset of this layer's first parameter in the flat buffer; its parameters are contiguous.</summary>
    public int ParameterOffset { get; }

    /// <summary>Number of floats of all this layer's parameters.</summary>
    public int ParameterCount { get; }

    /// <summary>The tensors of layer <paramref name="layer"/>, direction <paramref name="direction"/> (1 = reverse).</summary>
    /// <param name="layer">0 ≤ layer &lt; L.</param>
    /// <param name="direction">0 or (bidirectional) 1.</param>
    /// <returns>Its weights.</returns>
    public RecurrentWeights Weights(int layer, int direction) => _weights[layer * Directions + direction];

    /// <summary>PyTorch's default initialisation: every tensor ~ U(-1/sqrt(H), 1/sqrt(H)), in registration order.</summary>
    /// <param name="parameters">The parameter set built from the layout.</param>
    /// <param name="random">Seeded random source.</param>
    public void Initialize(ParameterSet parameters, Random random)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(random);
        foreach (RecurrentWeights w in _weights)
        {
            w.Initialize(parameters, random);
        }
    }

    /// <summary>Sizes the workspaces for at least (maxBatch, maxSteps). Allocates only when growing.</summary>
    /// <param name="maxBatch">Largest batch.</param>
    /// <param name="maxSteps">Largest number of steps.</param>
    public void EnsureCapacity(int maxBatch, int maxSteps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSteps, 1);
        if (maxBatch <= _maxBatch && maxSteps <= _maxSteps)
        {
            return;
        }
        _maxBatch = Math.Max(maxBatch, _maxBatch);
        _maxSteps = Math.Max(maxSteps, _maxSteps);
        int h = HiddenSize;
        int gh = TGates.GateCount * h;
        int rows = _maxBatch * _maxSteps;
        int n = _weights.Length;
        _gates = new float[n][];
        _extra = new float[n][];
        _hPrev = new float[n][];
        _cPrev = new float[n][];
        for (int i = 0; i < n; i++)
        {
            _gates[i] = new float[rows * gh];
            _extra[i] = new float[rows * TGates.ExtraWidth * h];
            _hPrev[i] = new float[rows * h];
            _cPrev[i] = TGates.HasCellState ? new float[rows * h] : [];
        }
        _layerOutput = new float[NumLayers - 1][];
        _dLayerOutput = new float[NumLayers - 1][];
        for (int k = 0; k < NumLayers - 1; k++)
        {
            _layerOutput[k] = new float[rows * OutputSize];
            _dLayerOutput[k] = new float[rows * OutputSize];
        }
        _ghStep = new float[_maxBatch * gh];
        _hState = new float[_maxBatch * h];
        _cState = new float[_maxBatch * h];
        _dGates = new float[rows * gh];
        _dGatesHh = TGates.SeparateHiddenGradient ? new float[rows * gh] : [];
        _ones = new float[rows];
        _ones.AsSpan().Fill(1f);
        _lengths = new int[_maxBatch];
        _hasForward = false;
    }

    /// <summary>Runs every layer and direction over the batch. Overwrites the outputs and caches what Backward needs.</summary>
    /// <param name="parameters">Parameter values (read).</param>
    /// <param name="batch">B ≤ maxBatch.</param>
    /// <param name="steps">S ≤ maxSteps.</param>
    /// <param name="x">Inputs: (B, S, I). Padded positions must be finite.</param>
    /// <param name="lengths">(B) valid steps per row, each in [0, S].</param>
    /// <param name="h0">(L·D, B, H) initial hidden states, or empty for zeros.</param>
    /// <param name="c0">(L·D, B, H) LSTM initial cell states, or empty for zeros.</param>
    /// <param name="output">(B, S, D·H) last layer's hidden state per step; zero at padded steps. Overwritten.</param>
    /// <param name="hN">(L·D, B, H) each row's hidden state at its last valid step, or empty. Overwritten.</param>
    /// <param name="cN">(L·D, B, H) LSTM: each row's cell state at its last valid step, or empty. Overwritten.</param>
    public void Forward(
        ParameterSet parameters, int batch, int steps, ReadOnlySpan<float> x, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, Span<float> output, Span<float> hN, Span<float> cN) =>
        Forward(parameters, batch, steps, x, lengths, h0, c0, output, hN, cN, default);

    /// <summary>
    /// <see cref="Forward(ParameterSet, int, int, ReadOnlySpan{float}, ReadOnlySpan{int}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float})"/>
    /// with layer 0's input projection x·W_ihᵀ supplied by the caller (e.g. looked up from a per-token table when x is
    /// an embedding): then layer 0 does not read x. Pass the same projection's gradient store to <c>Backward</c>.
    /// </summary>
    /// <param name="parameters">Parameter values (read).</param>
    /// <param name="batch">B ≤ maxBatch.</param>
    /// <param name="steps">S ≤ maxSteps.</param>
    /// <param name="x">Inputs: (B, S, I) (not read by layer 0 when <paramref name="inputProjection"/> is given).</param>
    /// <param name="lengths">(B) valid steps per row.</param>
    /// <param name="h0">(L·D, B, H) initial hidden states, or empty.</param>
    /// <param name="c0">(L·D, B, H) LSTM initial cell states, or empty.</param>
    /// <param name="output">(B, S, D·H). Overwritten.</param>
    /// <param name="hN">(L·D, B, H), or empty. Overwritten.</param>
    /// <param name="cN">(L·D, B, H), or empty. Overwritten.</param>
    /// <param name="inputProjection">(D, B·S, G·H): x·W_ih_l0ᵀ per layer-0 direction (no bias), or empty.</param>
    public void Forward(
        ParameterSet parameters, int batch, int steps, ReadOnlySpan<float> x, ReadOnlySpan<int> lengths,
        ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, Span<float> output, Span<float> hN, Span<float> cN, ReadOnlySpan<float> inputProjection)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckShape(batch, steps, lengths);
        int h = HiddenSize;
        int stateLength = StateCount * batch * h;
        Guard.Length(x.Length, batch * steps * InputSize, nameof(x));
        Guard.Length(output.Length, batch * steps * OutputSize, nameof(output));
        CheckState(h0, stateLength, nameof(h0));
        CheckState(hN, stateLength, nameof(hN));
        CheckState(c0, stateLength, nameof(c0));
        CheckState(cN, stateLength, nameof(cN));
        int projection = batch * steps * TGates.GateCount * h;   // one direction's (B·S, G·H)
        if (!inputProjection.IsEmpty)
        {
            Guard.Length(inputProjection.Length, Directions * projection, nameof(inputProjection));
        }

        _batch = batch;
        _steps = steps;
        _maxLength = 0;
        _packedHhRowIndex = -1;   // the parameters may have changed since the last call: batch-1 steps pack again
        for (int b = 0; b < batch; b++)
        {
            _lengths[b] = lengths[b];
            _maxLength = Math.Max(_maxLength, lengths[b]);
        }
        ReadOnlySpan<float> values = parameters.Values;
        for (int k = 0; k < NumLayers; k++)
        {
            ReadOnlySpan<float> input = k == 0 ? x : _layerOutput[k - 1];
            Span<float> layerOutput = k == NumLayers - 1 ? output : _layerOutput[k];
            for (int d = 0; d < Directions; d++)
            {
                int s = k * Directions + d;
                ForwardDirection(values, s, d, input, k == 0 && !inputProjection.IsEmpty ? inputProjection.Slice(d * projection, projection) : default, layerOutput,
                    h0.IsEmpty ? default : h0.Slice(s * batch * h, batch * h),
                    c0.IsEmpty ? default : c0.Slice(s * batch * h, batch * h),
                    hN.IsEmpty ? default : hN.Slice(s * batch * h, batch * h),
                    cN.IsEmpty ? default : cN.Slice(s * batch * h, batch * h));
            }
        }
        _hasForward = true;
    }

    /// <summary>One layer, one direction: input projection GEMM, then the sequential time loop.</summary>
    private void ForwardDirection(
        ReadOnlySpan<float> values, int index, int direction, ReadOnlySpan<float> input, ReadOnlySpan<float> projection, Span<float> output,
        ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, Span<float> hN, Span<float> cN)
    {
        RecurrentWeights w = _weights[index];
        int batch = _batch, steps = _steps, h = HiddenSize, gh = TGates.GateCount * h, eh = TGates.ExtraWidth * h;
        int inSize = w.InputSize, outStride = OutputSize, outOffset = direction * h;
        ReadOnlySpan<float> weightIh = w.WeightIh.Of(values);   // (G·H, in)
        ReadOnlySpan<float> weightHh = w.WeightHh.Of(values);   // (G·H, H)
        ReadOnlySpan<float> biasIh = w.BiasIh.Of(values);       // (G·H)
        ReadOnlySpan<float> biasHh = w.BiasHh.Of(values);       // (G·H)
        Span<float> gates = _gates[index];                        // (B·S, G·H)
        Span<float> extra = _extra[index];                        // (B·S, E·H)
        Span<float> hPrev = _hPrev[index];                        // (B·S, H)
        Span<float> cPrev = _cPrev[index];                        // (B·S, H)
        Span<float> hState = _hState.AsSpan(0, batch * h);        // (B, H)
        Span<float> cState = _cState.AsSpan(0, batch * h);        // (B, H)
        Span<float> ghStep = _ghStep.AsSpan(0, batch * gh);       // (B, G·H)

        // 1. Input projection of every step at once: gates (B·S, G·H) = input (B·S, in) · W_ihᵀ.
        //    The GEMM reads W_ih (G·H, in) as op(B) = W_ihᵀ directly: its B packing transposes 8 x 8 blocks in
        //    registers, one pass over W_ih (no separate transposed copy of W_ih per call).
        //    Or given by the caller (projection (B·S, G·H), e.g. a per-token table lookup).
        if (projection.IsEmpty)
        {
            Gemm.Multiply(batch * steps, gh, inSize, input, inSize, Transpose.No, weightIh, inSize, Transpose.Yes, gates, gh, false);
        }
        else
        {
            projection.CopyTo(gates);
        }
        if (batch > 1)
        {
            // W_hhᵀ (H, G·H) packed once into the GEMM's panel layout: every step's GEMM then skips
            // packing B again (docs/performance.md has the measurement).
            _packedHhT.Pack(weightHh, h, Transpose.Yes);
        }
        else
        {
            // Batch 1: W_hh packed once into the GEMV's tile stream (see PackedGemvMatrix), read at every step.
            PackSingleRow(weightHh, gh, h);
            _packedHhRowIndex = index;
        }

        // 2. Initial state (zeros by default); padded steps' outputs are zero.
        if (h0.IsEmpty) { hState.Clear(); } else { h0.CopyTo(hState); }
        if (TGates.HasCellState)
        {
            if (c0.IsEmpty) { cState.Clear(); } else { c0.CopyTo(cState); }
        }
        for (int b = 0; b < batch; b++)
        {
            for (int t = _lengths[b]; t < steps; t++)
            {
                output.Slice((b * steps + t) * outStride + outOffset, h).Clear();
            }
        }

        // 3. The time loop: only W_hh·h is sequential. Left to right, or right to left for the reverse
        //    direction; a row is active at step t when t < its length, otherwise its state stays frozen.
        int maxLength = _maxLength;
        for (int i = 0; i < maxLength; i++)
        {
            int t = direction == 0 ? i : maxLength - 1 - i;
            if (batch == 1)
            {
                Gemv.Multiply(_packedHhRow!, hState, ghStep, false);                               // (G·H) = W_hh·h
            }
            else
            {
                Gemm.Multiply(batch, hState, h, Transpose.No, _packedHhT, ghStep, gh, false);   // (B, G·H) = H·W_hhᵀ
            }
            for (int b = 0; b < batch; b++)
            {
                if (t >= _lengths[b])
                {
                    continue;
                }
                int row = b * steps + t;
                Span<float> hb = hState.Slice(b * h, h);
                Span<float> hp = hPrev.Slice(row * h, h);
                hb.CopyTo(hp);                                                                       // cache h_prev
                Span<float> cb = default, cp = default;
                if (TGates.HasCellState)
                {
                    cb = cState.Slice(b * h, h);
                    cp = cPrev.Slice(row * h, h);
                    cb.CopyTo(cp);                                                                   // cache c_prev
                }
                TGates.Forward(h, gates.Slice(row * gh, gh), ghStep.Slice(b * gh, gh), biasIh, biasHh,
                    hp, cp, hb, cb, extra.Slice(row * eh, eh));
                hb.CopyTo(output.Slice(row * outStride + outOffset, h));
            }
        }

        // 4. Final states: each row's state after its last valid step (frozen since).
        if (!hN.IsEmpty)
        {
            hState.CopyTo(hN);
        }
        if (TGates.HasCellState && !cN.IsEmpty)
        {
            cState.CopyTo(cN);
        }
    }

    /// <summary>
    /// Backpropagation through time of the last <c>Forward</c>. Accumulates into every gradient.
    /// </summary>
    /// <param name="parameters">Parameter values (read) and gradients (accumulated).</param>
    /// <param name="x">The same inputs (B, S, I) as the forward call.</param>
    /// <param name="dOutput">(B, S, D·H) gradient of the output, or empty; padded steps are ignored.</param>
    /// <param name="dHN">(L·D, B, H) gradient of hN, or empty.</param>
    /// <param name="dCN">(L·D, B, H) gradient of cN (LSTM), or empty.</param>
    /// <param name="dX">(B, S, I) gradient of x, accumulated; or empty to skip.</param>
    /// <param name="dH0">(L·D, B, H) gradient of h0, accumulated; or empty to skip.</param>
    /// <param name="dC0">(L·D, B, H) gradient of c0 (LSTM), accumulated; or empty to skip.</param>
    public void Backward(
        ParameterSet parameters, ReadOnlySpan<float> x, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> dHN, ReadOnlySpan<float> dCN,
        Span<float> dX, Span<float> dH0, Span<float> dC0) =>
        Backward(parameters, x, dOutput, dHN, dCN, dX, dH0, dC0, default);

    /// <summary>
    /// Backward of a forward whose layer-0 input projection was supplied: layer 0's gate gradients (the gradient of
    /// that projection) are written to <paramref name="dInputProjection"/>, and dX and dW_ih_l0 are left to the caller.
    /// </summary>
    /// <param name="parameters">Parameter values (read) and gradients (accumulated).</param>
    /// <param name="x">The same inputs (B, S, I) as the forward call.</param>
    /// <param name="dOutput">(B, S, D·H) gradient of the output, or empty.</param>
    /// <param name="dHN">(L·D, B, H) gradient of hN, or empty.</param>
    /// <param name="dCN">(L·D, B, H) gradient of cN (LSTM), or empty.</param>
    /// <param name="dX">(B, S, I) accumulated; or empty (not written when <paramref name="dInputProjection"/> is given).</param>
    /// <param name="dH0">(L·D, B, H) accumulated; or empty.</param>
    /// <param name="dC0">(L·D, B, H) accumulated (LSTM); or empty.</param>
    /// <param name="dInputProjection">(D, B·S, G·H) overwritten with d(x·W_ih_l0ᵀ) per direction; or empty for the
    /// ordinary backward.</param>
    public void Backward(
        ParameterSet parameters, ReadOnlySpan<float> x, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> dHN, ReadOnlySpan<float> dCN,
        Span<float> dX, Span<float> dH0, Span<float> dC0, Span<float> dInputProjection)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!_hasForward)
        {
            throw new InvalidOperationException("Backward needs a Forward call first (it uses that call's caches).");
        }
        int batch = _batch, steps = _steps, h = HiddenSize;
        int stateLength = StateCount * batch * h;
        Guard.Length(x.Length, batch * steps * InputSize, nameof(x));
        if (!dOutput.IsEmpty) { Guard.Length(dOutput.Length, batch * steps * OutputSize, nameof(dOutput)); }
        if (!dX.IsEmpty) { Guard.Length(dX.Length, batch * steps * InputSize, nameof(dX)); }
        CheckState(dHN, stateLength, nameof(dHN));
        CheckState(dCN, stateLength, nameof(dCN));
        CheckState(dH0, stateLength, nameof(dH0));
        CheckState(dC0, stateLength, nameof(dC0));
        int projection = batch * steps * TGates.GateCount * h;
        if (!dInputProjection.IsEmpty)
        {
            Guard.Length(dInputProjection.Length, Directions * projection, nameof(dInputProjection));
        }

        ReadOnlySpan<float> values = parameters.Values;
        Span<float> gradients = parameters.Gradients;
        for (int k = NumLayers - 1; k >= 0; k--)
        {
            ReadOnlySpan<float> input = k == 0 ? x : _layerOutput[k - 1];
            ReadOnlySpan<float> dLayerOutput = k == NumLayers - 1 ? dOutput : _dLayerOutput[k];
            Span<float> dInput = k == 0 ? dX : _dLayerOutput[k - 1].AsSpan(0, batch * steps * OutputSize);
            if (k > 0)
            {
                dInput.Clear(); // both directions of layer k accumulate into it
            }
            for (int d = 0; d < Directions; d++)
            {
                int s = k * Directions + d;
                BackwardDirection(values, gradients, s, d, input, k == 0 && !dInputProjection.IsEmpty ? dInputProjection.Slice(d * projection, projection) : default, dLayerOutput,
                    dHN.IsEmpty ? default : dHN.Slice(s * batch * h, batch * h),
                    dCN.IsEmpty ? default : dCN.Slice(s * batch * h, batch * h),
                    dInput,
                    dH0.IsEmpty ? default : dH0.Slice(s * batch * h, batch * h),
                    dC0.IsEmpty ? default : dC0.Slice(s * batch * h, batch * h));
            }
        }
    }

    /// <summary>One layer, one direction: the reverse time loop, then the all-steps gradient GEMMs.</summary>
    private void BackwardDirection(
        ReadOnlySpan<float> values, Span<float> gradients, int index, int direction, ReadOnlySpan<float> input, Span<float> dProjection,
        ReadOnlySpan<float> dOutput, ReadOnlySpan<float> dHN, ReadOnlySpan<float> dCN, Span<float> dInput, Span<float> dH0, Span<float> dC0)
    {
        RecurrentWeights w = _weights[index];
        int batch = _batch, steps = _steps, h = HiddenSize, gh = TGates.GateCount * h, eh = TGates.ExtraWidth * h;
        int rows = batch * steps, inSize = w.InputSize, outStride = OutputSize, outOffset = direction * h;
        ReadOnlySpan<float> weightIh = w.WeightIh.Of(values);   // (G·H, in)
        ReadOnlySpan<float> weightHh = w.WeightHh.Of(values);   // (G·H, H)
        ReadOnlySpan<float> gates = _gates[index];                // (B·S, G·H)
        ReadOnlySpan<float> extra = _extra[index];                // (B·S, E·H)
        ReadOnlySpan<float> hPrev = _hPrev[index];                // (B·S, H)
        ReadOnlySpan<float> cPrev = _cPrev[index];                // (B·S, H)
        Span<float> dh = _hState.AsSpan(0, batch * h);            // (B, H) gradient flowing into the current h
        Span<float> dc = _cState.AsSpan(0, batch * h);            // (B, H) ... and c
        Span<float> dGates = _dGates.AsSpan(0, rows * gh);        // (B·S, G·H)
        Span<float> dGatesHh = TGates.SeparateHiddenGradient ? _dGatesHh.AsSpan(0, rows * gh) : dGates;

        // Padded (row, step) pairs keep zero gate gradients, so they add nothing to the GEMMs below.
        dGates.Clear();
        if (TGates.SeparateHiddenGradient)
        {
            dGatesHh.Clear();
        }
        if (dHN.IsEmpty) { dh.Clear(); } else { dHN.CopyTo(dh); }
        if (TGates.HasCellState)
        {
            if (dCN.IsEmpty) { dc.Clear(); } else { dCN.CopyTo(dc); }
        }

        if (batch > 1)
        {
            _packedHh.Pack(weightHh, h, Transpose.No);            // W_hh (G·H, H) for the per-step GEMM below
        }
        else
        {
            if (_packedHhRowIndex != index)
            {
                PackSingleRow(weightHh, gh, h);                    // W_hh for the per-step packed Wᵀ·x below
                _packedHhRowIndex = index;
            }
            // else: still this direction's W_hh from the forward (one layer, one direction: nothing packed since)
        }

        // 1. The time loop, in the reverse order of the forward one.
        int maxLength = _maxLength;
        for (int i = 0; i < maxLength; i++)
        {
            int t = direction == 0 ? maxLength - 1 - i : i;
            for (int b = 0; b < batch; b++)
            {
                if (t >= _lengths[b])
                {
                    continue; // frozen state: dh, dc pass through unchanged
                }
                int row = b * steps + t;
                Span<float> dhb = dh.Slice(b * h, h);
                if (!dOutput.IsEmpty)
                {
                    System.Numerics.Tensors.TensorPrimitives.Add(dhb, dOutput.Slice(row * outStride + outOffset, h), dhb); // dh' = dh_next + dOutput_t
                }
                TGates.Backward(h, dhb, TGates.HasCellState ? dc.Slice(b * h, h) : default,
                    gates.Slice(row * gh, gh), extra.Slice(row * eh, eh), hPrev.Slice(row * h, h),
                    TGates.HasCellState ? cPrev.Slice(row * h, h) : default,
                    dGates.Slice(row * gh, gh), TGates.SeparateHiddenGradient ? dGatesHh.Slice(row * gh, gh) : default);
            }
            // dh_prev += dGatesHh_t · W_hh over the batch (rows b·S + t: a view with leading dimension S·G·H).
            if (batch == 1)
            {
                Gemv.MultiplyTransposed(_packedHhRow!, dGatesHh.Slice(t * gh, gh), dh, true);    // (H) += W_hhᵀ·dGatesHh_t
            }
            else
            {
                Gemm.Multiply(batch, dGatesHh.Slice(t * gh), steps * gh, Transpose.No, _packedHh, dh, h, true);
            }
        }
        if (!dH0.IsEmpty)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(dH0, dh, dH0);
        }
        if (TGates.HasCellState && !dC0.IsEmpty)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(dC0, dc, dC0);
        }

        // 2. Everything that does not depend on the order of steps, one GEMM each over all B·S steps:
        //    dInput += dGates·W_ih;  dW_ih += dGatesᵀ·input;  dW_hh += dGatesHhᵀ·Hprev;  db += column sums.
        //    With a caller-supplied input projection, dGates is its gradient: hand it back instead of dInput and dW_ih.
        bool projected = !dProjection.IsEmpty;
        if (projected)
        {
            dGates.CopyTo(dProjection);
        }
        else if (!dInput.IsEmpty)
        {
            Gemm.Multiply(rows, inSize, gh, dGates, gh, Transpose.No, weightIh, inSize, Transpose.No, dInput, inSize, true);
        }
        w.AccumulateWeightGradients(rows, dGates, dGatesHh, input.Slice(0, rows * inSize), hPrev.Slice(0, rows * h), _ones, gradients, includeWeightIh: !projected);
    }

    private void CheckShape(int batch, int steps, ReadOnlySpan<int> lengths)
    {
        if (batch < 1 || batch > _maxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), $"batch {batch} is outside [1, {_maxBatch}]; call EnsureCapacity to grow the workspaces.");
        }
        if (steps < 1 || steps > _maxSteps)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), $"steps {steps} is outside [1, {_maxSteps}]; call EnsureCapacity to grow the workspaces.");
        }
        Guard.SameLength(lengths.Length, batch, nameof(lengths));
        for (int b = 0; b < batch; b++)
        {
            if ((uint)lengths[b] > (uint)steps)
            {
                throw new ArgumentOutOfRangeException(nameof(lengths), $"lengths[{b}] = {lengths[b]} is outside [0, {steps}].");
            }
        }
    }

    private static void CheckState(ReadOnlySpan<float> state, int length, string name)
    {
        if (!state.IsEmpty)
        {
            Guard.Length(state.Length, length, name);
        }
    }

    /// <summary>Packs a (G·H, H) W_hh into <see cref="_packedHhRow"/> for batch-1 steps (allocated on the first call).</summary>
    private void PackSingleRow(ReadOnlySpan<float> weightHh, int gh, int h)
    {
        _packedHhRow ??= new PackedGemvMatrix(gh, h);
        _packedHhRow.Pack(weightHh, gh, h, h);
    }
}
