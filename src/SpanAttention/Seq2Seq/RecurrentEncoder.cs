using System.Numerics.Tensors;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// The recurrent encoder over token ids: embedding, a stack of RNN/GRU/LSTM layers (optionally bidirectional), and the
/// decoder's initial state from the last layer's final state (bidirectional: through the bridge). Its memory states
/// are the last layer's outputs (B, S, D·H).
/// </summary>
/// <remarks>
/// <para>Parameters, in registration (= state_dict) order: <c>encoder.embedding.weight</c>; <c>encoder.rnn.weight_ih_l0</c>,
/// ... (nn.GRU/LSTM/RNN names); <c>bridge.weight</c>, <c>bridge.bias</c> (bidirectional only).</para>
/// <para>Forward, numbered as pass 1-3 of docs/derivations/seq2seq.md:
/// (1) x = drop(E_src[ids]) (B, S, E); (2) states, h_n = rnn(x) (B, S, D·H), (L·D, B, H);
/// (3) h_0 = tanh(W_b [h_f; h_b] + b_b) bidirectional, else the last layer's h_n.
/// A small source vocabulary (and no dropout) replaces layer 0's input projection by a lookup table
/// (<see cref="InputTable"/>). The prepared decoding forward is in RecurrentEncoder.Inference.cs.</para>
/// </remarks>
internal sealed partial class RecurrentEncoder : IEncoder
{
    private readonly Embedding _embedding;
    private readonly IEncoderStack _rnn;
    private readonly Linear? _bridge;
    private readonly int _e, _h, _states, _vocabulary, _paddingId;
    private readonly bool _lstm, _bidirectional, _dropout;

    private int _maxBatch, _maxSource;
    private float[] _embedded = [];     // (B, S, E)
    private float[] _mask = [];         // (B, S, E) dropout mask, when dropping
    private float[] _hN = [];           // (L·D, B, H) final states
    private float[] _cN = [];           // (L·D, B, H) LSTM final cell states
    private float[] _bridgeIn = [];     // (B, 2H) [h_f; h_b]
    private float[] _table = [];        // (D, V_src, G·H) E_src W_ih_l0ᵀ per direction
    private float[] _projection = [];   // (D, B·S, G·H) layer 0's input projection, looked up
    private float[] _dProjection = [];  // (D, B·S, G·H) its gradient
    private float[] _dTable = [];       // (V_src, G·H) table backward scratch
    private float[] _dTableEmb = [];    // (V_src, E) table backward scratch
    private float[] _dEmbedded = [];    // (B, S, E)
    private float[] _dHN = [];          // (L·D, B, H)
    private float[] _dBridgeIn = [];    // (B, 2H)
    private float[] _dPre = [];         // (B, H) gradient before the bridge's tanh
    private bool _dropped;              // the last Forward dropped the embeddings
    private bool _tablePass;            // the last Forward used the table

    /// <summary>Registers the encoder's parameters in <paramref name="layout"/> and sizes its workspaces.</summary>
    public RecurrentEncoder(Seq2SeqConfig config, ParameterLayout layout, int maxBatch, int maxSource)
    {
        _e = config.EmbeddingSize;
        _h = config.HiddenSize;
        _vocabulary = config.SourceVocabSize;
        _paddingId = config.PaddingId;
        _bidirectional = config.Bidirectional;
        _lstm = RecurrentFactory.HasCellState(config.Cell);
        _dropout = config.Dropout > 0f;
        _states = config.EncoderLayers * (config.Bidirectional ? 2 : 1);
        Size = config.EncoderOutputSize;
        _embedding = new Embedding(layout, "encoder.embedding", config.SourceVocabSize, _e, config.PaddingId);
        _rnn = RecurrentFactory.Encoder(config.Cell, layout, "encoder.rnn.", _e, _h, config.EncoderLayers, config.Bidirectional, maxBatch, maxSource);
        _bridge = config.Bidirectional ? new Linear(layout, "bridge", 2 * _h, _h) : null;
        EnsureCapacity(maxBatch, maxSource);
    }

    /// <inheritdoc/>
    public int Size { get; }

    /// <summary>Whether the last training <see cref="Forward"/> used the source table.</summary>
    public bool LastPassUsedTable => _tablePass;

    /// <inheritdoc/>
    public void Initialize(ParameterSet parameters, Random random)
    {
        _embedding.Initialize(parameters, random);
        _rnn.Initialize(parameters, random);
        _bridge?.Initialize(parameters, random);
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
        _rnn.EnsureCapacity(b, s);
        int h = _h, gw = _rnn.GateWidth, dirs = _rnn.Directions;
        _embedded = new float[b * s * _e];
        _mask = _dropout ? new float[b * s * _e] : [];
        _hN = new float[_states * b * h];
        _cN = _lstm ? new float[_states * b * h] : [];
        _bridgeIn = new float[b * 2 * h];
        _table = new float[dirs * _vocabulary * gw];
        _projection = new float[dirs * b * s * gw];
        _dProjection = new float[dirs * b * s * gw];
        _dTable = new float[_vocabulary * gw];
        _dTableEmb = new float[_vocabulary * _e];
        _dEmbedded = new float[b * s * _e];
        _dHN = new float[_states * b * h];
        _dBridgeIn = new float[b * 2 * h];
        _dPre = new float[b * h];
        _pBatch = _pSource = 0;                                       // the prepared path's buffers follow on next use
    }

    /// <summary>
    /// Whether a pass of (B, S) uses the table: worth it when the V_src table rows cost at most half of the B·S rows
    /// they replace. Never with embedding dropout: the table holds the projection of the plain embedding rows.
    /// </summary>
    private bool UseTable(int bsz, int source, in EncoderPass pass) => pass.AllowTables && pass.Dropout == 0f && 2L * _vocabulary <= (long)bsz * source;

    /// <inheritdoc/>
    public void Forward(ParameterSet parameters, SourceInput source, EncoderPass pass, EncoderMemory memory)
    {
        int bsz = source.Batch, steps = source.Steps, h = _h, bh = bsz * h;
        memory.SetShape(bsz, steps, source.Lengths);
        ReadOnlySpan<float> values = parameters.Values;

        // (1) x = drop(E_src[ids]): (B, S, E)
        Span<float> x = _embedded.AsSpan(0, bsz * steps * _e);
        _embedding.Forward(source.Ids, values, x);
        _dropped = pass.Dropout > 0f;
        if (_dropped)
        {
            Span<float> mask = _mask.AsSpan(0, x.Length);           // index ((row0 + b)·S + s)·E + e
            Dropout.FillMask(Dropout.Key(pass.DropoutSeed, pass.DropoutStep, Dropout.SourceEmbedding), (long)pass.DropoutRowOffset * steps * _e, pass.Dropout, mask);
            Dropout.Apply(x, mask);
        }

        // (2) states, h_n = rnn(x): (B, S, D·H), (L·D, B, H); layer 0's input projection by lookup when it pays
        _tablePass = UseTable(bsz, steps, pass);
        ReadOnlySpan<float> projection = _tablePass ? LookUpProjection(values, source.Ids, bsz * steps) : default;
        _rnn.Forward(parameters, bsz, steps, x, source.Lengths, memory.States, _hN.AsSpan(0, _states * bh),
            _lstm ? _cN.AsSpan(0, _states * bh) : default, projection);

        // (3) h_0 = tanh(W_b [h_f; h_b] + b_b) or the last layer's final state
        InitialState(values, bsz, memory.InitialState);
    }

    /// <summary>
    /// d(loss)/dx (rows, E) of the last <see cref="Backward"/>: the gradient that reached each embedded source position
    /// x = E_src[ids], through attention and through the recurrence (before the dropout mask, when dropping).
    /// </summary>
    /// <param name="rows">B·S of that pass.</param>
    /// <exception cref="InvalidOperationException">That pass looked layer 0's input projection up in the per-token
    /// table (small vocabulary, large batch): it never forms dx, only the projection's gradient.</exception>
    internal ReadOnlySpan<float> SourceGradient(int rows)
    {
        if (_tablePass)
        {
            throw new InvalidOperationException("The last pass used the input table, which forms no d(embedded source); run it with B·S below 2 V_src (e.g. one sentence).");
        }
        return _dEmbedded.AsSpan(0, rows * _e);
    }

    /// <inheritdoc/>
    public void Backward(ParameterSet parameters, SourceInput source, EncoderMemory memory, bool applyDropoutMasks)
    {
        int bsz = source.Batch, steps = source.Steps, h = _h, bh = bsz * h, e = _e;
        ReadOnlySpan<float> values = parameters.Values;
        Span<float> grads = parameters.Gradients;
        ReadOnlySpan<float> dH0 = memory.DInitialState;

        // (3) h_0: into the final states it was made of
        Span<float> dHN = _dHN.AsSpan(0, _states * bh);
        dHN.Clear();
        int last = _states - (_bidirectional ? 2 : 1);
        if (_bridge is not null)
        {
            // h_0 = tanh(pre), pre = W_b [h_f; h_b] + b_b: dpre = dh_0 (1 - h_0²)
            Span<float> dPre = _dPre.AsSpan(0, bh);
            ReadOnlySpan<float> h0 = memory.InitialState;
            for (int k = 0; k < bh; k++)
            {
                dPre[k] = dH0[k] * (1f - h0[k] * h0[k]);
            }
            Span<float> dBridgeIn = _dBridgeIn.AsSpan(0, 2 * bh);
            dBridgeIn.Clear();
            _bridge.Backward(dPre, _bridgeIn.AsSpan(0, 2 * bh), bsz, values, grads, dBridgeIn);
            for (int b = 0; b < bsz; b++)
            {
                dBridgeIn.Slice(b * 2 * h, h).CopyTo(dHN.Slice(last * bh + b * h, h));
                dBridgeIn.Slice(b * 2 * h + h, h).CopyTo(dHN.Slice((last + 1) * bh + b * h, h));
            }
        }
        else
        {
            dH0.CopyTo(dHN.Slice(last * bh, bh));
        }

        // (2) BPTT through the stack
        int rows = bsz * steps, gw = _rnn.GateWidth;
        Span<float> dX = _dEmbedded.AsSpan(0, rows * e);
        dX.Clear();
        Span<float> dProjection = _tablePass ? _dProjection.AsSpan(0, _rnn.Directions * rows * gw) : default;
        _rnn.Backward(parameters, _embedded.AsSpan(0, rows * e), memory.DStates, dHN, dX, dProjection);

        // (1) the embedding (through the table when the forward used it)
        Span<float> dEmbedding = _embedding.Weight.Of(grads);
        if (_tablePass)
        {
            for (int d = 0; d < _rnn.Directions; d++)
            {
                ParameterSlot weightIh = _rnn.FirstLayerWeightIh(d);
                InputTable.Backward(rows, source.Ids, dProjection.Slice(d * rows * gw, rows * gw), gw, _vocabulary, e, _paddingId,
                    _embedding.Weight.Of(values), weightIh.Of(values), e, weightIh.Of(grads), dEmbedding, _dTable, _dTableEmb);
            }
            return;
        }
        if (_dropped && applyDropoutMasks)
        {
            Dropout.Apply(dX, _mask.AsSpan(0, rows * e));            // x = drop(E[ids]): dE[ids] = dx ⊙ mask
        }
        _embedding.Backward(dX, source.Ids, grads);
    }

    /// <summary>h_0 (B, H) from the final states: through the bridge (bidirectional) or the last layer's.</summary>
    private void InitialState(ReadOnlySpan<float> values, int bsz, Span<float> h0)
    {
        int h = _h, bh = bsz * h;
        int last = _states - (_bidirectional ? 2 : 1);
        if (_bridge is null)
        {
            _hN.AsSpan(last * bh, bh).CopyTo(h0);                                          // h_0 = last layer's final state
            return;
        }
        Span<float> bridgeIn = _bridgeIn.AsSpan(0, 2 * bh);                                // (B, 2H) [h_f; h_b]
        for (int b = 0; b < bsz; b++)
        {
            _hN.AsSpan(last * bh + b * h, h).CopyTo(bridgeIn.Slice(b * 2 * h, h));
            _hN.AsSpan((last + 1) * bh + b * h, h).CopyTo(bridgeIn.Slice(b * 2 * h + h, h));
        }
        _bridge.Forward(bridgeIn, bsz, values, h0);
        TensorPrimitives.Tanh(h0, h0);                                                     // h_0 = tanh(W [h_f; h_b] + b)
    }

    /// <summary>Layer 0's input projection by lookup, per direction: (D, B·S, G·H).</summary>
    private ReadOnlySpan<float> LookUpProjection(ReadOnlySpan<float> values, ReadOnlySpan<int> ids, int rows)
    {
        int gw = _rnn.GateWidth, vs = _vocabulary;
        Span<float> projection = _projection.AsSpan(0, _rnn.Directions * rows * gw);
        for (int d = 0; d < _rnn.Directions; d++)
        {
            Span<float> table = _table.AsSpan(d * vs * gw, vs * gw);
            InputTable.Build(vs, gw, _e, _embedding.Weight.Of(values), _rnn.FirstLayerWeightIh(d).Of(values), _e, table); // table_d = E_src W_ih_l0ᵀ (V_src, G·H)
            InputTable.LookUp(table, gw, ids, rows, projection.Slice(d * rows * gw, rows * gw));
        }
        return projection;
    }
}
