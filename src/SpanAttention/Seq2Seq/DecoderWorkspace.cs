namespace SpanAttention.Seq2Seq;

/// <summary>
/// The decoder's activations and gradients for one pass, sized once for (maxBatch, maxSource, maxTarget): what a
/// forward step writes and its backward reads, step-major (T, B, ·) so that step t's rows are contiguous, plus the
/// per-step gradient carries of the backward.
/// </summary>
/// <remarks>
/// <para>State slot t holds h_t (slot 0 = h_0 from the encoder); the other per-step buffers hold step t's values.
/// Every accessor returns the current <see cref="Batch"/>'s rows; nothing here allocates after construction except
/// <see cref="EnsureCapacity"/> when it grows.</para>
/// <para>Widths: E embedding, H hidden, Dc context, I = E + (Dc or H) cell input, O output-layer input, V vocabulary,
/// G·H gate width, A attention size (additive scorer only).</para>
/// </remarks>
internal sealed class DecoderWorkspace
{
    private readonly int _e, _h, _dc, _i, _o, _v, _cacheSize, _gw, _a;
    private readonly bool _lstm, _luong, _dropout, _gate, _coverage;
    private int _maxBatch, _maxSource, _maxTarget;

    // Forward, step-major.
    private float[] _hs = [];         // (T+1, B, H) decoder states, [0] = h_0
    private float[] _cs = [];         // (T+1, B, H) LSTM cell states
    private float[] _fixed = [];      // (B, H) None: the fixed context
    private float[] _embedded = [];   // (T, B, E)
    private float[] _x = [];          // (T, B, I) cell inputs
    private float[] _cache = [];      // (T, B, CacheSize) the cell's saved gates
    private float[] _context = [];    // (T, B, Dc)
    private float[] _weights = [];    // (T, B, S) alignments
    private float[] _combined = [];   // (T, B, Dc + H) Luong [c; h]
    private float[] _output = [];     // (T, B, O) output-layer inputs ([h; c] or h̃)
    private float[] _tilde = [];      // (T, B, H) Luong with dropout: h̃_t before dropout (the tanh backward needs it)
    private float[] _embeddingMask = [];// (T, B, E) dropout masks: 0 or 1/(1-p)
    private float[] _outputMask = []; // (T, B, O)
    private float[] _logits = [];     // (T, B, V)
    private float[] _probs = [];      // (T, B, V)
    private int[] _fed = [];          // (T, B) fed tokens
    private int[] _targets = [];      // (T, B) expected tokens
    private float[] _tableRows = [];  // (B, G·H) one step's looked-up input-table rows
    private float[] _beta = [];       // (T, B) context gate: β_t
    private float[] _gated = [];      // (T, B, Dc) context gate: β_t c_t, what the cell and the output layer read
    private float[] _coverageSums = [];// (B, S) attention regularisation: Σ_t α_t

    // Backward.
    private float[] _dLogits = [];    // (T, B, V)
    private float[] _dOutput = [];    // (T, B, O)
    private float[] _dGates = [];     // (T, B, G·H) the cell's gate gradients, for one weight-gradient GEMM after BPTT
    private float[] _dGatesHh = [];   // (T, B, G·H) their hidden-side twins (GRU)
    private float[] _dProjQuery = []; // (T, B, A) d(W_q q) per step, for one dW_q GEMM after BPTT
    private float[] _dH = [];         // (B, H) gradient of the current state
    private float[] _dHPrev = [];     // (B, H) gradient of the previous state (accumulated by the cell and the query)
    private float[] _dC = [];         // (B, H)
    private float[] _dCPrev = [];     // (B, H)
    private float[] _dX = [];         // (B, I)
    private float[] _dEmbedded = [];  // (B, E)
    private float[] _dContext = [];   // (B, Dc)
    private float[] _dCombined = [];  // (B, Dc + H)
    private float[] _dPre = [];       // (B, H) gradient before a tanh
    private float[] _dTilde = [];     // (B, H) Luong: gradient of h̃_t from step t+1's input
    private float[] _dFixed = [];     // (B, H) None: gradient of the fixed context
    private float[] _dWeights = [];   // (T, B, S) attention regularisation: d α_t

    public DecoderWorkspace(int embedding, int hidden, int context, int input, int output, int vocabulary, int cacheSize, int gateWidth,
        int attentionSize, bool lstm, bool luong, bool dropout, bool gate, bool coverage, int maxBatch, int maxSource, int maxTarget)
    {
        (_e, _h, _dc, _i, _o, _v, _cacheSize, _gw, _a) = (embedding, hidden, context, input, output, vocabulary, cacheSize, gateWidth, attentionSize);
        (_lstm, _luong, _dropout, _gate, _coverage) = (lstm, luong, dropout, gate, coverage);
        EnsureCapacity(maxBatch, maxSource, maxTarget);
    }

    /// <summary>The current B.</summary>
    public int Batch { get; private set; }

    /// <summary>The current S.</summary>
    public int Source { get; private set; }

    /// <summary>Grows the buffers (never shrinks).</summary>
    public void EnsureCapacity(int maxBatch, int maxSource, int maxTarget)
    {
        if (maxBatch <= _maxBatch && maxSource <= _maxSource && maxTarget <= _maxTarget)
        {
            return;
        }
        int b = _maxBatch = Math.Max(maxBatch, _maxBatch);
        int s = _maxSource = Math.Max(maxSource, _maxSource);
        int t = _maxTarget = Math.Max(maxTarget, _maxTarget);
        int h = _h;
        _hs = new float[(t + 1) * b * h];
        _cs = _lstm ? new float[(t + 1) * b * h] : [];
        _fixed = new float[b * h];
        _embedded = new float[t * b * _e];
        _x = new float[t * b * _i];
        _cache = new float[t * b * _cacheSize];
        _context = new float[t * b * _dc];
        _weights = new float[t * b * s];
        _combined = new float[t * b * (_dc + h)];
        _output = new float[t * b * _o];
        _tilde = _dropout && _luong ? new float[t * b * h] : [];
        _embeddingMask = _dropout ? new float[t * b * _e] : [];
        _outputMask = _dropout ? new float[t * b * _o] : [];
        _logits = new float[t * b * _v];
        _probs = new float[t * b * _v];
        _fed = new int[t * b];
        _targets = new int[t * b];
        _tableRows = new float[b * _gw];
        _beta = _gate ? new float[t * b] : [];
        _gated = _gate ? new float[t * b * _dc] : [];
        _coverageSums = _coverage ? new float[b * s] : [];
        _dWeights = _coverage ? new float[t * b * s] : [];
        _dLogits = new float[t * b * _v];
        _dOutput = new float[t * b * _o];
        _dGates = new float[t * b * _gw];
        _dGatesHh = new float[t * b * _gw];
        // The additive scorer's tanh layer (T, B, S, A) is not kept for backward: AdditiveScores recomputes it there
        // in the same pass that uses it (docs/performance.md), so only d(W_q q) is stored per step.
        _dProjQuery = new float[t * b * _a];
        _dH = new float[b * h];
        _dHPrev = new float[b * h];
        _dC = new float[b * h];
        _dCPrev = new float[b * h];
        _dX = new float[b * _i];
        _dEmbedded = new float[b * _e];
        _dContext = new float[b * _dc];
        _dCombined = new float[b * (_dc + h)];
        _dPre = new float[b * h];
        _dTilde = new float[b * h];
        _dFixed = new float[b * h];
    }

    /// <summary>Sets the current (B, S) for the pass.</summary>
    public void SetShape(int batch, int source)
    {
        Batch = batch;
        Source = source;
    }

    // ---- Forward, step t (B rows each) ----

    /// <summary>h_t (B, H): slot 0 is h_0, slot t + 1 the state after step t.</summary>
    public Span<float> State(int slot) => _hs.AsSpan(slot * Batch * _h, Batch * _h);

    /// <summary>Slots first..first+count-1 of the states: (count, B, H).</summary>
    public Span<float> States(int first, int count) => _hs.AsSpan(first * Batch * _h, count * Batch * _h);

    /// <summary>c_t (B, H) of an LSTM, slot as <see cref="State"/>; empty otherwise.</summary>
    public Span<float> CellState(int slot) => _lstm ? _cs.AsSpan(slot * Batch * _h, Batch * _h) : default;

    /// <summary>None: the fixed context c = h_0 (B, H).</summary>
    public Span<float> FixedContext => _fixed.AsSpan(0, Batch * _h);

    /// <summary>emb(y_t) (B, E).</summary>
    public Span<float> Embedded(int t) => _embedded.AsSpan(t * Batch * _e, Batch * _e);

    /// <summary>x_t (B, I): the cell's input.</summary>
    public Span<float> Input(int t) => _x.AsSpan(t * Batch * _i, Batch * _i);

    /// <summary>Steps 0..count-1 of the cell inputs: (count, B, I).</summary>
    public Span<float> Inputs(int count) => _x.AsSpan(0, count * Batch * _i);

    /// <summary>The cell's saved gates of step t (B, CacheSize).</summary>
    public Span<float> Cache(int t) => _cache.AsSpan(t * Batch * _cacheSize, Batch * _cacheSize);

    /// <summary>c_t (B, Dc).</summary>
    public Span<float> Context(int t) => _context.AsSpan(t * Batch * _dc, Batch * _dc);

    /// <summary>a_t (B, S): the alignment.</summary>
    public Span<float> Weights(int t) => _weights.AsSpan(t * Batch * Source, Batch * Source);

    /// <summary>Steps 0..count-1 of the alignments: (count, B, S).</summary>
    public Span<float> AllWeights(int count) => _weights.AsSpan(0, count * Batch * Source);

    /// <summary>Context gate: β_t (B).</summary>
    public Span<float> Beta(int t) => _beta.AsSpan(t * Batch, Batch);

    /// <summary>Context gate: β_t c_t (B, Dc).</summary>
    public Span<float> Gated(int t) => _gated.AsSpan(t * Batch * _dc, Batch * _dc);

    /// <summary>Attention regularisation: Σ_t α_t (B, S).</summary>
    public Span<float> Coverage => _coverageSums.AsSpan(0, Batch * Source);

    /// <summary>Luong: [c_t; h_t] (B, Dc + H).</summary>
    public Span<float> Combined(int t) => _combined.AsSpan(t * Batch * (_dc + _h), Batch * (_dc + _h));

    /// <summary>o_t (B, O): the output layer's input ([h_t; c_t] or h̃_t), after dropout.</summary>
    public Span<float> Output(int t) => _output.AsSpan(t * Batch * _o, Batch * _o);

    /// <summary>Steps 0..count-1 of the output-layer inputs: (count, B, O).</summary>
    public Span<float> Outputs(int count) => _output.AsSpan(0, count * Batch * _o);

    /// <summary>Luong with dropout: h̃_t before dropout (B, H).</summary>
    public Span<float> Tilde(int t) => _tilde.AsSpan(t * Batch * _h, Batch * _h);

    /// <summary>Dropout mask of emb(y_t) (B, E).</summary>
    public Span<float> EmbeddingMask(int t) => _embeddingMask.AsSpan(t * Batch * _e, Batch * _e);

    /// <summary>Dropout mask of o_t (B, O).</summary>
    public Span<float> OutputMask(int t) => _outputMask.AsSpan(t * Batch * _o, Batch * _o);

    /// <summary>Steps 0..count-1 of the output masks: (count, B, O).</summary>
    public Span<float> OutputMasks(int count) => _outputMask.AsSpan(0, count * Batch * _o);

    /// <summary>Logits of step t (B, V).</summary>
    public Span<float> Logits(int t) => _logits.AsSpan(t * Batch * _v, Batch * _v);

    /// <summary>Steps 0..count-1 of the logits: (count, B, V).</summary>
    public Span<float> AllLogits(int count) => _logits.AsSpan(0, count * Batch * _v);

    /// <summary>Softmax of the logits, steps 0..count-1: (count, B, V).</summary>
    public Span<float> Probabilities(int count) => _probs.AsSpan(0, count * Batch * _v);

    /// <summary>The tokens fed at step t (B).</summary>
    public Span<int> Fed(int t) => _fed.AsSpan(t * Batch, Batch);

    /// <summary>The tokens fed at steps 0..count-1: (count, B).</summary>
    public Span<int> AllFed(int count) => _fed.AsSpan(0, count * Batch);

    /// <summary>The expected tokens of steps 0..count-1: (count, B).</summary>
    public Span<int> Targets(int count) => _targets.AsSpan(0, count * Batch);

    /// <summary>One step's looked-up input-table rows (B, G·H).</summary>
    public Span<float> TableRows => _tableRows.AsSpan(0, Batch * _gw);

    // ---- Backward ----

    /// <summary>d logits, steps 0..count-1: (count, B, V).</summary>
    public Span<float> DLogits(int count) => _dLogits.AsSpan(0, count * Batch * _v);

    /// <summary>d o, steps 0..count-1: (count, B, O).</summary>
    public Span<float> DOutputs(int count) => _dOutput.AsSpan(0, count * Batch * _o);

    /// <summary>d o_t (B, O).</summary>
    public Span<float> DOutput(int t) => _dOutput.AsSpan(t * Batch * _o, Batch * _o);

    /// <summary>The cell's gate gradients, steps 0..count-1: (count, B, G·H).</summary>
    public Span<float> DGates(int count) => _dGates.AsSpan(0, count * Batch * _gw);

    /// <summary>Their hidden-side twins (GRU): (count, B, G·H).</summary>
    public Span<float> DGatesHh(int count) => _dGatesHh.AsSpan(0, count * Batch * _gw);

    /// <summary>Step t's gate gradients (B, G·H).</summary>
    public Span<float> DGatesAt(int t) => _dGates.AsSpan(t * Batch * _gw, Batch * _gw);

    /// <summary>Step t's hidden-side gate gradients (B, G·H).</summary>
    public Span<float> DGatesHhAt(int t) => _dGatesHh.AsSpan(t * Batch * _gw, Batch * _gw);

    /// <summary>Whether d(W_q q) is stored (the additive scorer).</summary>
    public bool StoresProjectedQueryGradient => _a > 0;

    /// <summary>Step t's d(W_q q) (B, A); empty when the scorer has no query projection.</summary>
    public Span<float> DProjectedQuery(int t) => _a == 0 ? default : _dProjQuery.AsSpan(t * Batch * _a, Batch * _a);

    /// <summary>d(W_q q), steps 0..count-1: (count, B, A).</summary>
    public Span<float> DProjectedQueries(int count) => _dProjQuery.AsSpan(0, count * Batch * _a);

    /// <summary>d h_t (B, H): the upstream gradient of the state of the step being differentiated.</summary>
    public Span<float> DH => _dH.AsSpan(0, Batch * _h);

    /// <summary>d h_{t-1} (B, H): accumulated by the step's backward (the cell, and the query of Bahdanau).</summary>
    public Span<float> DHPrev => _dHPrev.AsSpan(0, Batch * _h);

    /// <summary>d c_t (B, H), LSTM; empty otherwise.</summary>
    public Span<float> DC => _lstm ? _dC.AsSpan(0, Batch * _h) : default;

    /// <summary>d c_{t-1} (B, H), LSTM; empty otherwise.</summary>
    public Span<float> DCPrev => _lstm ? _dCPrev.AsSpan(0, Batch * _h) : default;

    /// <summary>d x_t (B, I).</summary>
    public Span<float> DX => _dX.AsSpan(0, Batch * _i);

    /// <summary>d emb(y_t) (B, E).</summary>
    public Span<float> DEmbedded => _dEmbedded.AsSpan(0, Batch * _e);

    /// <summary>d c_t (B, Dc).</summary>
    public Span<float> DContext => _dContext.AsSpan(0, Batch * _dc);

    /// <summary>Luong: d [c_t; h_t] (B, Dc + H).</summary>
    public Span<float> DCombined => _dCombined.AsSpan(0, Batch * (_dc + _h));

    /// <summary>Gradient before a tanh (B, H).</summary>
    public Span<float> DPre => _dPre.AsSpan(0, Batch * _h);

    /// <summary>Luong: d h̃_t from step t+1's input (B, H).</summary>
    public Span<float> DTilde => _dTilde.AsSpan(0, Batch * _h);

    /// <summary>Attention regularisation: d α, steps 0..count-1: (count, B, S).</summary>
    public Span<float> DWeights(int count) => _dWeights.AsSpan(0, count * Batch * Source);

    /// <summary>Attention regularisation: d α_t (B, S); empty without it (the attention backward then has no d α).</summary>
    public ReadOnlySpan<float> DWeightsAt(int t) => _coverage ? _dWeights.AsSpan(t * Batch * Source, Batch * Source) : default;

    /// <summary>None: d c (B, H), summed over the steps.</summary>
    public Span<float> DFixed => _dFixed.AsSpan(0, Batch * _h);
}
