using System.Numerics.Tensors;
using SpanAttention.Attention;
using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// The encoder-decoder with attention (docs/architecture.md): parameters in one flat <see cref="ParameterSet"/>
/// with PyTorch state_dict names, workspaces sized once for (maxBatch, maxSource, maxTarget), a teacher-forced
/// training forward with masked cross-entropy, and its full hand-written backward.
/// </summary>
/// <remarks>
/// <para>Names, in registration (= state_dict) order: <c>encoder.embedding.weight</c>; <c>encoder.rnn.weight_ih_l0</c>,
/// ... (nn.GRU/LSTM/RNN names); <c>bridge.weight</c>, <c>bridge.bias</c> (bidirectional only);
/// <c>decoder.embedding.weight</c>; <c>decoder.attention.*</c> (see <see cref="AttentionLayer.RegisterParameters"/>;
/// not for <see cref="DecoderStyle.None"/>); <c>decoder.cell.weight_ih</c>, <c>weight_hh</c>, <c>bias_ih</c>,
/// <c>bias_hh</c>; <c>decoder.combine.weight</c> (Luong W_c, no bias); <c>decoder.out.weight</c>, <c>decoder.out.bias</c>.</para>
/// <para>Decoder step t (h_t the state after step t, h_0 from the encoder, y_t the fed token, c_t the context):
/// Bahdanau: c_t = attn(h_{t-1}); h_t = cell([emb(y_t); c_t], h_{t-1}); logits = out([h_t; c_t]).
/// Luong: h_t = cell([emb(y_t); h̃_{t-1}], h_{t-1}) (h̃_0 = 0); c_t = attn(h_t); h̃_t = tanh(W_c [c_t; h_t]); logits = out(h̃_t).
/// None: c = h_0 for every t; h_t = cell([emb(y_t); c], h_{t-1}); logits = out([h_t; c]).</para>
/// <para>Decoder-side buffers are step-major (T, B, ·): step t's rows are contiguous, as the cell and attention want.
/// An instance is not thread-safe (it owns the workspaces); <see cref="CreateReplica"/> makes another instance
/// sharing the parameter values, for another thread.</para>
/// </remarks>
public sealed partial class Seq2SeqModel
{
    private readonly IEncoderStack _encoder;
    private readonly IDecoderCell _cell;
    private readonly AttentionLayer? _attention;
    private readonly Embedding _sourceEmbedding;
    private readonly Embedding _targetEmbedding;
    private readonly Linear? _bridge;
    private readonly Linear? _combine;
    private readonly Linear _out;
    private readonly bool _lstm;

    // Sizes: E, H, Denc (keys/values), Dc (context), I (cell input), O (output-layer input), V (target vocabulary), Ls (encoder states L·D).
    private readonly int _e, _h, _denc, _dc, _i, _o, _v, _states;

    // Workspaces (sized by EnsureCapacity).
    private int _maxBatch, _maxSource, _maxTarget;
    private float[] _srcEmb = [];     // (B, S, E)
    private float[] _encOut = [];     // (B, S, Denc)
    private float[] _encH = [];       // (Ls, B, H)
    private float[] _encC = [];       // (Ls, B, H) LSTM
    private float[] _bridgeIn = [];   // (B, 2H)
    private float[] _fixed = [];      // (B, H) None: the fixed context
    private float[] _hs = [];         // (T+1, B, H) decoder states, [0] = h_0
    private float[] _cs = [];         // (T+1, B, H) LSTM cell states
    private float[] _tgtEmb = [];     // (T, B, E)
    private float[] _x = [];          // (T, B, I) cell inputs
    private float[] _cache = [];      // (T, B, CacheSize)
    private float[] _context = [];    // (T, B, Dc)
    private float[] _weights = [];    // (T, B, S) alignments
    private float[] _comb = [];       // (T, B, Dc + H) Luong [c; h]
    private float[] _outIn = [];      // (T, B, O) output-layer inputs ([h; c] or h̃)
    private float[] _logits = [];     // (T, B, V)
    private float[] _probs = [];      // (T, B, V)
    private int[] _fed = [];          // (T, B) fed tokens
    private int[] _targets = [];      // (T, B) expected tokens
    // Dropout (allocated only when Config.Dropout > 0): masks hold 0 or 1/(1-p).
    private float[] _srcMask = [];    // (B, S, E)
    private float[] _tgtMask = [];    // (T, B, E)
    private float[] _outMask = [];    // (T, B, O)
    private float[] _tilde = [];      // (T, B, H) Luong: h̃_t before dropout (the tanh backward needs it)
    // Backward scratch.
    private float[] _dLogits = [];    // (T, B, V)
    private float[] _dOutIn = [];     // (T, B, O)
    private float[] _dEncOut = [];    // (B, S, Denc)
    private float[] _dSrcEmb = [];    // (B, S, E)
    private float[] _dEncH = [];      // (Ls, B, H)
    private float[] _dBridgeIn = [];  // (B, 2H)
    private float[] _dH = [];         // (B, H) gradient of the current state
    private float[] _dHPrev = [];     // (B, H) gradient of the previous state (accumulated by the cell and the query)
    private float[] _dC = [];         // (B, H)
    private float[] _dCPrev = [];     // (B, H)
    private float[] _dX = [];         // (B, I)
    private float[] _dEmb = [];       // (B, E)
    private float[] _dContext = [];   // (B, Dc)
    private float[] _dComb = [];      // (B, Dc + H)
    private float[] _dPre = [];       // (B, H) gradient before a tanh
    private float[] _dTilde = [];     // (B, H) Luong: gradient of h̃_{t} from step t+1's input
    private float[] _dFixed = [];     // (B, H)
    private float[] _dGates = [];     // (T, B, G·H) the decoder cell's gate gradients, for one weight-gradient GEMM after BPTT
    private float[] _dGatesHh = [];   // (T, B, G·H) their hidden-side twins (GRU)
    private float[] _dProjQuery = []; // (T, B, A) d(W_q q) per step, for one dW_q GEMM after BPTT
    private float[] _inputTable = []; // (V, G·H) decoder.embedding · W_ih[:, :E]ᵀ: the cell's input projection of every token
    private float[] _dInputTable = [];// (V, G·H) its gradient, summed over the (t, b) rows that fed each token
    private float[] _tableRows = [];  // (B, G·H) one step's looked-up rows
    private float[] _dTableEmb = [];  // (V, E) dInputTable · W_ih[:, :E]
    private float[] _srcTable = [];   // (D, V_src, G·H) encoder.embedding · W_ih_l0ᵀ per direction
    private float[] _srcProj = [];    // (D, B·S, G·H) encoder layer 0's input projection, looked up
    private float[] _dSrcProj = [];   // (D, B·S, G·H) its gradient
    private bool _sourceTableInEncode;// the training forward asks Encode to use the source table
    private bool _sourceTablePass;    // the last teacher-forced pass used the source table
    private int _tableColumns;        // E while the current teacher-forced pass uses the table, else 0
    private bool _tableInStep;        // the training forward is running with the table: DecoderStep looks rows up

    private int _batch, _source, _steps, _count;
    private bool _rowPacked;   // a B = 1 Forward packed the cell's weights (PrepareSingleRowSteps), still valid for its Backward
    private bool _hasForward;
    private bool _dropping;           // inside a training Forward with dropout: Encode and DecoderStep drop
    private bool _forwardDropped;     // the last Forward dropped: Backward applies the masks
    private Seq2SeqBatch? _lastBatch;

    /// <summary>Builds a model with freshly initialised parameters (PyTorch's default initialisations, seeded).</summary>
    /// <param name="config">The architecture (validated).</param>
    /// <param name="maxBatch">Largest B.</param>
    /// <param name="maxSource">Largest S.</param>
    /// <param name="maxTarget">Largest T (training target length or decoding length).</param>
    /// <param name="seed">Initialisation seed.</param>
    public Seq2SeqModel(Seq2SeqConfig config, int maxBatch, int maxSource, int maxTarget, int seed = 0)
        : this(config, null, maxBatch, maxSource, maxTarget)
    {
        var random = new Random(seed);
        _sourceEmbedding.Initialize(Parameters, random);
        _encoder.Initialize(Parameters, random);
        _bridge?.Initialize(Parameters, random);
        _targetEmbedding.Initialize(Parameters, random);
        _attention?.InitializeParameters(Parameters, random);
        _cell.Initialize(Parameters, random);
        _combine?.Initialize(Parameters, random);
        _out.Initialize(Parameters, random);
    }

    /// <summary>
    /// Builds a model without initialising its parameters: over <paramref name="shared"/> (a replica) or over new
    /// zeroed parameters that the caller fills (a model file's loader).
    /// </summary>
    internal Seq2SeqModel(Seq2SeqConfig config, ParameterSet? shared, int maxBatch, int maxSource, int maxTarget)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        _e = config.EmbeddingSize;
        _h = config.HiddenSize;
        _denc = config.EncoderOutputSize;
        _v = config.TargetVocabSize;
        _lstm = RecurrentFactory.HasCellState(config.Cell);
        _states = config.EncoderLayers * (config.Bidirectional ? 2 : 1);
        _dc = config.Decoder == DecoderStyle.None ? _h : _denc;
        _i = _e + (config.Decoder == DecoderStyle.Luong ? _h : _dc);
        _o = config.Decoder == DecoderStyle.Luong ? _h : _h + _dc;

        var layout = new ParameterLayout();
        _sourceEmbedding = new Embedding(layout, "encoder.embedding", config.SourceVocabSize, _e, config.PaddingId);
        _encoder = RecurrentFactory.Encoder(config.Cell, layout, "encoder.rnn.", _e, _h, config.EncoderLayers, config.Bidirectional, maxBatch, maxSource);
        _bridge = config.Bidirectional ? new Linear(layout, "bridge", 2 * _h, _h) : null;
        _targetEmbedding = new Embedding(layout, "decoder.embedding", _v, _e, config.PaddingId);
        if (config.Decoder != DecoderStyle.None)
        {
            _attention = new AttentionLayer(config.Scorer, _h, _denc, _denc, config.EffectiveAttentionSize, maxBatch, maxSource);
            _attention.RegisterParameters(layout, "decoder.attention.");
        }
        _cell = RecurrentFactory.Cell(config.Cell, layout, "decoder.cell.", _i, _h, maxBatch);
        _combine = config.Decoder == DecoderStyle.Luong ? new Linear(layout, "decoder.combine", _dc + _h, _h, bias: false) : null;
        _out = new Linear(layout, "decoder.out", _o, _v);
        if (shared is not null)
        {
            if (shared.Layout.Count != layout.Count || shared.Layout.Slots.Count != layout.Slots.Count)
            {
                throw new ArgumentException("The shared parameters do not match this configuration's layout.", nameof(shared));
            }
            Parameters = shared;
        }
        else
        {
            Parameters = new ParameterSet(layout);
        }
        EnsureCapacity(maxBatch, maxSource, maxTarget);
    }

    /// <summary>The architecture.</summary>
    public Seq2SeqConfig Config { get; }

    /// <summary>Every parameter value and gradient, in one flat buffer each, with named slots.</summary>
    public ParameterSet Parameters { get; }

    /// <summary>The layout (names, shapes, offsets) of <see cref="Parameters"/>.</summary>
    public ParameterLayout Layout => Parameters.Layout;

    /// <summary>Largest B the workspaces hold.</summary>
    public int MaxBatch => _maxBatch;

    /// <summary>Largest S the workspaces hold.</summary>
    public int MaxSource => _maxSource;

    /// <summary>Largest T the workspaces hold.</summary>
    public int MaxTarget => _maxTarget;

    /// <summary>
    /// Training mode (PyTorch's <c>model.train()</c> / <c>model.eval()</c>): when true and <see cref="Seq2SeqConfig.Dropout"/>
    /// is above 0, <see cref="Forward"/> drops out the embeddings and the decoder output. Decoding never drops.
    /// Default false (eval); <see cref="SpanAttention.Training.Seq2SeqTrainer"/> sets it for each of its steps.
    /// </summary>
    public bool Training { get; set; }

    /// <summary>Dropout masks: the seed of the hash (see <see cref="Dropout"/>). The trainer sets its own seed.</summary>
    internal ulong DropoutSeed { get; set; }

    /// <summary>Dropout masks: the step of the hash; a new step gives new masks. The trainer sets its step number.</summary>
    internal long DropoutStep { get; set; }

    /// <summary>
    /// Dropout masks: the index of this batch's row 0 in the whole batch, so that a half batch run on another thread
    /// draws the masks the whole batch would have. Default 0.
    /// </summary>
    internal int DropoutRowOffset { get; set; }

    /// <summary>Counted (non-padding) target tokens of the last <see cref="Forward"/>.</summary>
    public int LastTokenCount => _count;

    /// <summary>
    /// Another model instance with its own workspaces that shares this one's <see cref="Parameters"/> (values
    /// and gradients arrays). For inference on another thread (reads only the values).
    /// </summary>
    /// <returns>The replica.</returns>
    public Seq2SeqModel CreateReplica() => new(Config, Parameters, _maxBatch, _maxSource, _maxTarget);

    /// <summary>Grows the workspaces (never shrinks). Allocates only when growing; call outside the hot loop.</summary>
    /// <param name="maxBatch">Largest B.</param>
    /// <param name="maxSource">Largest S.</param>
    /// <param name="maxTarget">Largest T.</param>
    public void EnsureCapacity(int maxBatch, int maxSource, int maxTarget)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSource, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTarget, 1);
        if (maxBatch <= _maxBatch && maxSource <= _maxSource && maxTarget <= _maxTarget)
        {
            return;
        }
        if (maxBatch > _maxBatch && _maxBatch > 0)
        {
            throw new InvalidOperationException($"The batch capacity is fixed at construction ({_maxBatch}); got {maxBatch}. Build the model with a larger maxBatch.");
        }
        int b = _maxBatch = Math.Max(maxBatch, _maxBatch);
        int s = _maxSource = Math.Max(maxSource, _maxSource);
        int t = _maxTarget = Math.Max(maxTarget, _maxTarget);
        _encoder.EnsureCapacity(b, s);
        _attention?.EnsureCapacity(b, s, 1);
        int h = _h;
        _srcEmb = new float[b * s * _e];
        _encOut = new float[b * s * _denc];
        _encH = new float[_states * b * h];
        _encC = _lstm ? new float[_states * b * h] : [];
        _bridgeIn = new float[b * 2 * h];
        _fixed = new float[b * h];
        _hs = new float[(t + 1) * b * h];
        _cs = _lstm ? new float[(t + 1) * b * h] : [];
        _tgtEmb = new float[t * b * _e];
        _x = new float[t * b * _i];
        _cache = new float[t * b * _cell.CacheSize];
        _context = new float[t * b * _dc];
        _weights = new float[t * b * s];
        _comb = new float[t * b * (_dc + h)];
        _outIn = new float[t * b * _o];
        _logits = new float[t * b * _v];
        _probs = new float[t * b * _v];
        _fed = new int[t * b];
        _targets = new int[t * b];
        _dLogits = new float[t * b * _v];
        _dOutIn = new float[t * b * _o];
        _dEncOut = new float[b * s * _denc];
        _dSrcEmb = new float[b * s * _e];
        _dEncH = new float[_states * b * h];
        _dBridgeIn = new float[b * 2 * h];
        _dH = new float[b * h];
        _dHPrev = new float[b * h];
        _dC = new float[b * h];
        _dCPrev = new float[b * h];
        _dX = new float[b * _i];
        _dEmb = new float[b * _e];
        _dContext = new float[b * _dc];
        _dComb = new float[b * (_dc + h)];
        _dPre = new float[b * h];
        _dTilde = new float[b * h];
        _dFixed = new float[b * h];
        _dGates = new float[t * b * _cell.GateWidth];
        _dGatesHh = new float[t * b * _cell.GateWidth];
        bool additive = _attention is not null && Config.Scorer == AttentionScorer.Additive;
        // The additive scorer's tanh layer (T, B, S, A) is not kept for backward: AdditiveScores recomputes it there
        // in the same pass that uses it, which measured about 10 % faster per training step at B = 32, H = 256 than
        // writing 33.5 MB in the forward and reading it back (docs/performance.md).
        _dProjQuery = additive ? new float[t * b * _attention!.AttentionDim] : [];
        int gw = _cell.GateWidth, vMax = Math.Max(_v, Config.SourceVocabSize);
        _inputTable = new float[_v * gw];
        _dInputTable = new float[vMax * gw];
        _tableRows = new float[b * gw];
        _dTableEmb = new float[vMax * _e];
        int srcGw = _encoder.GateWidth, dirs = _encoder.Directions;
        _srcTable = new float[dirs * Config.SourceVocabSize * srcGw];
        _srcProj = new float[dirs * b * s * srcGw];
        _dSrcProj = new float[dirs * b * s * srcGw];
        if (Config.Dropout > 0f)
        {
            _srcMask = new float[b * s * _e];
            _tgtMask = new float[t * b * _e];
            _outMask = new float[t * b * _o];
            _tilde = Config.Decoder == DecoderStyle.Luong ? new float[t * b * h] : [];
        }
        _hasForward = false;
        _encodedWith = null;                                                                                      // new buffers: Encode again
    }

    // ------------------------------------------------------------------------------------------------
    // Training forward and backward.
    // ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Teacher-forced forward over a padded batch and the masked cross-entropy (mean over non-padding target tokens).
    /// </summary>
    /// <param name="batch">The batch (B ≤ MaxBatch, S ≤ MaxSource, T ≤ MaxTarget).</param>
    /// <param name="teacherForcingRatio">Probability that a step t ≥ 1 is fed the reference token; otherwise the
    /// model's own greedy prediction of step t-1 is fed (the same choice for the whole batch at that step).
    /// Backward treats a fed prediction as a constant.</param>
    /// <param name="random">Source of the teacher-forcing draws (needed only when the ratio is below 1).</param>
    /// <returns>The mean loss over counted tokens (0 if none).</returns>
    public float Forward(Seq2SeqBatch batch, float teacherForcingRatio = 1f, SplitMix64? random = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (teacherForcingRatio < 1f && random is null)
        {
            throw new ArgumentNullException(nameof(random), "A teacher-forcing ratio below 1 needs a random source.");
        }
        int bsz = batch.BatchSize, steps = batch.TargetLength;
        CheckShape(bsz, batch.SourceLength, steps);
        bool dropping = Training && Config.Dropout > 0f;
        _dropping = dropping;
        _dropSteps = steps;
        // Small vocabularies (and no embedding dropout, see UseInputTable): encoder layer 0's and the decoder cell's input
        // projections of the embeddings take one of V values per token, so compute the V rows once instead of B·S / T·B.
        _sourceTablePass = UseSourceTable(bsz, batch.SourceLength);
        _tableColumns = UseInputTable(bsz, steps) ? _e : 0;
        try
        {
            _sourceTableInEncode = _sourceTablePass;
            Encode(batch.SourceIds, batch.SourceLengths, bsz, batch.SourceLength);
            _sourceTableInEncode = false;
            int[] input = batch.TargetInput, output = batch.TargetOutput;
            if (_tableColumns > 0)
            {
                int gw = _cell.GateWidth;
                Gemm.Multiply(_v, gw, _e, _targetEmbedding.Weight.Of(Parameters.Values), _e, Transpose.No,
                    _cell.WeightIhSlot.Of(Parameters.Values), _i, Transpose.Yes, _inputTable.AsSpan(0, _v * gw), gw, false); // table = E_tgt W_ih[:, :E]ᵀ (V, G·H)
            }
            if (bsz > 1)
            {
                _cell.PrepareForwardSteps(Parameters, _tableColumns);   // the cell's weights, packed once for all T steps' GEMMs
            }
            else
            {
                _cell.PrepareSingleRowSteps(Parameters, _tableColumns); // B = 1: packed once for all T steps' GEMVs
                _rowPacked = true;
            }
            _tableInStep = _tableColumns > 0;
            for (int t = 0; t < steps; t++)
            {
                bool teacher = t == 0 || teacherForcingRatio >= 1f || random!.NextDouble() < teacherForcingRatio;
                Span<int> fed = _fed.AsSpan(t * bsz, bsz);
                for (int b = 0; b < bsz; b++)
                {
                    _targets[t * bsz + b] = output[b * steps + t];
                    fed[b] = teacher ? input[b * steps + t]
                        : TensorPrimitives.IndexOfMax(new ReadOnlySpan<float>(_logits, ((t - 1) * bsz + b) * _v, _v));
                }
                DecoderStep(t, bsz, fed);
            }
        }
        finally
        {
            _dropping = false;
            _sourceTableInEncode = false;
            if (bsz > 1 || !_rowPacked)
            {
                _cell.EndSteps();   // decoding later reads the (possibly updated) weights directly
            }
            // B = 1: the single-row packed copies stay valid for this batch's Backward (the same parameter values:
            // it saves packing them again); Backward ends them, and so does the next Encode.
            _tableInStep = false;
        }
        _forwardDropped = dropping;
        int rows = steps * bsz;
        float loss = CrossEntropy.Forward(_logits.AsSpan(0, rows * _v), _targets.AsSpan(0, rows), _v, Config.PaddingId, _probs.AsSpan(0, rows * _v), out _count);
        _steps = steps;
        _hasForward = true;
        _lastBatch = batch;
        return loss;
    }

    /// <summary>Counts the counted target tokens whose arg-max prediction (of the last <see cref="Forward"/>) is right.</summary>
    /// <returns>The number of correct non-padding tokens.</returns>
    public int CountCorrect()
    {
        RequireForward();
        int rows = _steps * _batch;
        return CrossEntropy.CountCorrect(_logits.AsSpan(0, rows * _v), _targets.AsSpan(0, rows), _v, Config.PaddingId);
    }

    /// <summary>
    /// Backward of the last <see cref="Forward"/> (d mean loss = 1). Accumulates into <see cref="ParameterSet.Gradients"/>
    /// (zero them once per step before).
    /// </summary>
    public void Backward()
    {
        RequireForward();
        Seq2SeqFaults faults = Faults;                                     // Seq2SeqFaults.None outside tests
        Seq2SeqBatch batch = _lastBatch!;
        int bsz = _batch, steps = _steps, h = _h, e = _e, rows = steps * bsz;
        ParameterSet p = Parameters;
        ReadOnlySpan<float> values = p.Values;
        Span<float> grads = p.Gradients;
        int bh = bsz * h;
        int cacheSize = _cell.CacheSize;
        ReadOnlySpan<int> srcLengths = batch.SourceLengths;
        int encLen = bsz * _source * _denc;
        ReadOnlySpan<float> encOut = _encOut.AsSpan(0, encLen);

        // 5. Loss and output layer over all T·B rows at once: dLogits = (p - onehot)/count; dOutIn = dLogits W_out.
        Span<float> dLogits = _dLogits.AsSpan(0, rows * _v);
        dLogits.Clear();
        CrossEntropy.Backward(1f, _probs.AsSpan(0, rows * _v), _targets.AsSpan(0, rows), _v, Config.PaddingId, _count, dLogits);
        Span<float> dOutIn = _dOutIn.AsSpan(0, rows * _o);
        dOutIn.Clear();
        _out.Backward(dLogits, _outIn.AsSpan(0, rows * _o), rows, values, grads, dOutIn);
        bool dropped = _forwardDropped && !faults.SkipDropoutBackward;
        if (dropped && Config.Decoder != DecoderStyle.Luong)
        {
            Dropout.Apply(dOutIn, _outMask.AsSpan(0, rows * _o));            // o = drop(o'): do' = do ⊙ mask (Luong: below, with dTilde)
        }

        Span<float> dEncOut = _dEncOut.AsSpan(0, encLen);
        dEncOut.Clear();
        Span<float> dHPrev = _dHPrev.AsSpan(0, bh);   // gradient of h_{t-1}, filled by step t's backward
        Span<float> dH = _dH.AsSpan(0, bh);           // gradient of h_t
        Span<float> dCPrev = _lstm ? _dCPrev.AsSpan(0, bh) : default;
        Span<float> dC = _lstm ? _dC.AsSpan(0, bh) : default;
        Span<float> dTilde = _dTilde.AsSpan(0, bh);
        Span<float> dFixed = _dFixed.AsSpan(0, bh);
        Span<float> dX = _dX.AsSpan(0, bsz * _i);
        Span<float> dEmb = _dEmb.AsSpan(0, bsz * e);
        Span<float> dContext = _dContext.AsSpan(0, bsz * _dc);
        dHPrev.Clear();
        dTilde.Clear();
        dFixed.Clear();
        if (_lstm)
        {
            dCPrev.Clear();
        }
        Span<float> dTargetEmbedding = _targetEmbedding.Weight.Of(grads);
        Span<float> dQueryBahdanau = faults.DropQueryGradient ? _dPre.AsSpan(0, bh) : dHPrev;

        // 4. Decoder steps in reverse (BPTT). The cell stores each step's gate gradients (dGates (T, B, G·H)) and
        //    its weight gradients are formed after the loop with one GEMM over all T·B rows.
        int gw = _cell.GateWidth;
        Span<float> dGatesAll = _dGates.AsSpan(0, rows * gw);
        Span<float> dGatesHhAll = _dGatesHh.AsSpan(0, rows * gw);
        if (bsz > 1)
        {
            _cell.PrepareBackwardSteps(p, _tableColumns);
        }
        else if (!_rowPacked)
        {
            _cell.PrepareSingleRowSteps(p, _tableColumns);
        }
        // else: the forward's single-row copies are still valid (same parameters); its W·x and this Wᵀ·x share them
        try
        {
            for (int t = steps - 1; t >= 0; t--)
            {
                Span<float> dGatesStep = dGatesAll.Slice(t * bsz * gw, bsz * gw);
                Span<float> dGatesHhStep = dGatesHhAll.Slice(t * bsz * gw, bsz * gw);
                // what flowed back into h_t (and c_t) from step t+1 becomes this step's upstream gradient
                dHPrev.CopyTo(dH);
                dHPrev.Clear();
                if (_lstm)
                {
                    dCPrev.CopyTo(dC);
                    dCPrev.Clear();
                }
                ReadOnlySpan<float> hPrev = _hs.AsSpan(t * bh, bh);          // h_{t-1}
                ReadOnlySpan<float> hCur = _hs.AsSpan((t + 1) * bh, bh);     // h_t
                ReadOnlySpan<float> cPrev = _lstm ? _cs.AsSpan(t * bh, bh) : default;
                ReadOnlySpan<float> x = _x.AsSpan(t * bsz * _i, bsz * _i);
                ReadOnlySpan<float> cache = _cache.AsSpan(t * bsz * cacheSize, bsz * cacheSize);
                ReadOnlySpan<float> dOut = dOutIn.Slice(t * bsz * _o, bsz * _o);
                ReadOnlySpan<float> weights = _attention is null ? default : _weights.AsSpan(t * bsz * _source, bsz * _source);
                dX.Clear();
                switch (Config.Decoder)
                {
                    case DecoderStyle.Bahdanau:
                        // logits = out([h_t; c_t]): split dOut into dh_t and dc_t
                        for (int b = 0; b < bsz; b++)
                        {
                            ReadOnlySpan<float> row = dOut.Slice(b * _o, _o);
                            TensorPrimitives.Add(dH.Slice(b * h, h), row.Slice(0, h), dH.Slice(b * h, h));
                            row.Slice(h, _dc).CopyTo(dContext.Slice(b * _dc, _dc));
                        }
                        // h_t = cell([emb(y_t); c_t], h_{t-1})
                        _cell.Backward(p, bsz, dH, dC, x, hPrev, cPrev, cache, dX, dHPrev, dCPrev, dGatesStep, dGatesHhStep, _tableColumns);
                        SplitInputGradient(bsz, dX, dEmb, dContext, accumulate: true);
                        // c_t = attn(query = h_{t-1})
                        _attention!.Backward(dContext, default, values, hPrev, encOut, encOut, srcLengths, weights, grads, dQueryBahdanau, dEncOut, dEncOut,
                            hiddenCache: default, ProjectedQueryGradient(t, bsz));   // additive: the tanh layer is recomputed
                        break;
                    case DecoderStyle.Luong:
                    {
                        // logits = out(h̃_t), and h̃_t also fed step t+1: dh̃ = dOut + dTilde
                        Span<float> dPre = _dPre.AsSpan(0, bh);
                        ReadOnlySpan<float> tilde = (dropped ? _tilde : _outIn).AsSpan(t * bsz * _o, bh);
                        TensorPrimitives.Add(dOut, dTilde, dPre);
                        if (dropped)
                        {
                            Dropout.Apply(dPre, _outMask.AsSpan(t * bh, bh));           // fed and read: drop(h̃_t), so dh̃ = (dOut + dTilde) ⊙ mask
                        }
                        // h̃ = tanh(pre): dpre = dh̃ (1 - h̃²)
                        for (int k = 0; k < bh; k++)
                        {
                            dPre[k] *= 1f - tilde[k] * tilde[k];
                        }
                        // pre = W_c [c_t; h_t]
                        Span<float> dComb = _dComb.AsSpan(0, bsz * (_dc + h));
                        dComb.Clear();
                        _combine!.Backward(dPre, _comb.AsSpan(t * bsz * (_dc + h), bsz * (_dc + h)), bsz, values, grads, dComb);
                        for (int b = 0; b < bsz; b++)
                        {
                            ReadOnlySpan<float> row = dComb.Slice(b * (_dc + h), _dc + h);
                            row.Slice(0, _dc).CopyTo(dContext.Slice(b * _dc, _dc));
                            TensorPrimitives.Add(dH.Slice(b * h, h), row.Slice(_dc, h), dH.Slice(b * h, h));
                        }
                        // c_t = attn(query = h_t)
                        _attention!.Backward(dContext, default, values, hCur, encOut, encOut, srcLengths, weights, grads, faults.DropQueryGradient ? _dPre.AsSpan(0, bh) : dH, dEncOut, dEncOut,
                            hiddenCache: default, ProjectedQueryGradient(t, bsz));   // additive: the tanh layer is recomputed
                        // h_t = cell([emb(y_t); h̃_{t-1}], h_{t-1})
                        _cell.Backward(p, bsz, dH, dC, x, hPrev, cPrev, cache, dX, dHPrev, dCPrev, dGatesStep, dGatesHhStep, _tableColumns);
                        SplitInputGradient(bsz, dX, dEmb, dTilde, accumulate: false); // h̃_{-1} = 0: its gradient at t = 0 is dropped
                        break;
                    }
                    default: // None
                        for (int b = 0; b < bsz; b++)
                        {
                            ReadOnlySpan<float> row = dOut.Slice(b * _o, _o);
                            TensorPrimitives.Add(dH.Slice(b * h, h), row.Slice(0, h), dH.Slice(b * h, h));
                            TensorPrimitives.Add(dFixed.Slice(b * h, h), row.Slice(h, h), dFixed.Slice(b * h, h));
                        }
                        _cell.Backward(p, bsz, dH, dC, x, hPrev, cPrev, cache, dX, dHPrev, dCPrev, dGatesStep, dGatesHhStep, _tableColumns);
                        SplitInputGradient(bsz, dX, dEmb, dFixed, accumulate: true);
                        break;
                }
                if (_tableColumns == 0)   // else: the input table's backward below
                {
                    if (dropped)
                    {
                        Dropout.Apply(dEmb, _tgtMask.AsSpan(t * bsz * e, bsz * e));          // emb = drop(E[y_t])
                    }
                    Embedding.Backward(dEmb, _fed.AsSpan(t * bsz, bsz), _v, e, Config.PaddingId, dTargetEmbedding);
                }
            }
        }
        finally
        {
            _cell.EndSteps();
            _rowPacked = false;
        }
        // additive attention, pq = W_q q for all t: dW_q += dPQᵀ Q (queries h_{t-1} for Bahdanau, h_t for Luong).
        if (_dProjQuery.Length > 0)
        {
            int queryStart = Config.Decoder == DecoderStyle.Luong ? bh : 0;
            _attention!.AccumulateQueryWeightGradient(grads, rows, _dProjQuery.AsSpan(0, rows * _attention.AttentionDim), _hs.AsSpan(queryStart, rows * h));
        }
        // h_t = cell(x_t, h_{t-1}) for all t: dW_ih += dGatesᵀ X, dW_hh += dGatesHhᵀ H_prev (rows t·B + b; H_prev = h_0..h_{T-1}).
        _cell.AccumulateWeightGradients(p, rows, dGatesAll, dGatesHhAll, _x.AsSpan(0, rows * _i), _hs.AsSpan(0, rows * h), _tableColumns);
        if (_tableColumns > 0)
        {
            // the decoder cell's gates_in[t, b] = table[y_tb] (table = E_tgt W_ih[:, :E]ᵀ)
            TableBackward(rows, _fed.AsSpan(0, rows), dGatesAll, gw, _v, e, _targetEmbedding.Weight.Of(values),
                _cell.WeightIhSlot.Of(values), _i, _cell.WeightIhSlot.Of(grads), _targetEmbedding.Weight.Of(grads));
        }

        // 3. h_0: dHPrev now holds dh_0 (plus the fixed context's gradient for None).
        if (Config.Decoder == DecoderStyle.None)
        {
            TensorPrimitives.Add(dHPrev, dFixed, dHPrev);
        }
        _attention?.PrepareKeysBackward(values, encOut, grads, dEncOut);
        Span<float> dEncH = _dEncH.AsSpan(0, _states * bh);
        dEncH.Clear();
        int last = _states - (Config.Bidirectional ? 2 : 1);
        if (_bridge is not null)
        {
            // h_0 = tanh(bridge([h_f; h_b]))
            Span<float> dPre = _dPre.AsSpan(0, bh);
            ReadOnlySpan<float> h0 = _hs.AsSpan(0, bh);
            for (int k = 0; k < bh; k++)
            {
                dPre[k] = dHPrev[k] * (1f - h0[k] * h0[k]);
            }
            Span<float> dBridgeIn = _dBridgeIn.AsSpan(0, 2 * bh);
            dBridgeIn.Clear();
            _bridge.Backward(dPre, _bridgeIn.AsSpan(0, 2 * bh), bsz, values, grads, dBridgeIn);
            for (int b = 0; b < bsz; b++)
            {
                dBridgeIn.Slice(b * 2 * h, h).CopyTo(dEncH.Slice(last * bh + b * h, h));
                dBridgeIn.Slice(b * 2 * h + h, h).CopyTo(dEncH.Slice((last + 1) * bh + b * h, h));
            }
        }
        else
        {
            dHPrev.CopyTo(dEncH.Slice(last * bh, bh));
        }

        // 2. Encoder BPTT, 1. source embedding.
        Span<float> dSrcEmb = _dSrcEmb.AsSpan(0, bsz * _source * e);
        dSrcEmb.Clear();
        int srcRows = bsz * _source, srcGw = _encoder.GateWidth;
        Span<float> dSrcProj = _sourceTablePass ? _dSrcProj.AsSpan(0, _encoder.Directions * srcRows * srcGw) : default;
        _encoder.Backward(p, _srcEmb.AsSpan(0, srcRows * e), dEncOut, dEncH, dSrcEmb, dSrcProj);
        if (_sourceTablePass)
        {
            // layer 0's gates_in = table_d[x_bs]: its gradient goes to W_ih_l0 and the source embedding through the table
            for (int d = 0; d < _encoder.Directions; d++)
            {
                ParameterSlot weightIh = _encoder.FirstLayerWeightIh(d);
                TableBackward(srcRows, batch.SourceIds, dSrcProj.Slice(d * srcRows * srcGw, srcRows * srcGw), srcGw, Config.SourceVocabSize, e,
                    _sourceEmbedding.Weight.Of(values), weightIh.Of(values), e, weightIh.Of(grads), _sourceEmbedding.Weight.Of(grads));
            }
        }
        else
        {
            if (dropped)
            {
                Dropout.Apply(dSrcEmb, _srcMask.AsSpan(0, bsz * _source * e));          // srcEmb = drop(E[x])
            }
            Embedding.Backward(dSrcEmb, batch.SourceIds, Config.SourceVocabSize, e, Config.PaddingId, _sourceEmbedding.Weight.Of(grads));
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Building blocks shared by training and decoding.
    // ------------------------------------------------------------------------------------------------

    /// <summary>Encoder forward, decoder initial state, attention key preparation. Sets the current (B, S).</summary>
    internal void Encode(ReadOnlySpan<int> sourceIds, ReadOnlySpan<int> sourceLengths, int bsz, int source)
    {
        CheckShape(bsz, source, 1);
        _encodedWith = null;                                                                                      // the prepared path's buffers are stale now
        if (_rowPacked)
        {
            _cell.EndSteps();                                                                                     // a batch-1 Forward's packed cell weights too
            _rowPacked = false;
        }
        _batch = bsz;
        _source = source;
        _hasForward = false;
        int h = _h, bh = bsz * h;
        ParameterSet p = Parameters;
        ReadOnlySpan<float> values = p.Values;
        Span<float> srcEmb = _srcEmb.AsSpan(0, bsz * source * _e);
        Embedding.Forward(sourceIds, _sourceEmbedding.Weight.Of(values), Config.SourceVocabSize, _e, srcEmb);     // (B, S, E)
        if (_dropping)
        {
            Span<float> mask = _srcMask.AsSpan(0, srcEmb.Length);                                               // index ((row0 + b)·S + s)·E + e
            Dropout.FillMask(Dropout.Key(DropoutSeed, DropoutStep, Dropout.SourceEmbedding), (long)DropoutRowOffset * source * _e, Config.Dropout, mask);
            Dropout.Apply(srcEmb, mask);                                                                         // srcEmb = drop(E[x])
        }
        Span<float> encOut = _encOut.AsSpan(0, bsz * source * _denc);
        ReadOnlySpan<float> srcProjection = _sourceTableInEncode ? LookUpSourceProjection(sourceIds, bsz * source) : default; // (D, B·S, G·H)
        _encoder.Forward(p, bsz, source, srcEmb, sourceLengths, encOut, _encH.AsSpan(0, _states * bh),
            _lstm ? _encC.AsSpan(0, _states * bh) : default, srcProjection);                                     // (B, S, Denc), (Ls, B, H)
        Span<float> h0 = _hs.AsSpan(0, bh);
        int last = _states - (Config.Bidirectional ? 2 : 1);
        if (_bridge is not null)
        {
            Span<float> bridgeIn = _bridgeIn.AsSpan(0, 2 * bh);                                                  // (B, 2H) [h_f; h_b]
            for (int b = 0; b < bsz; b++)
            {
                _encH.AsSpan(last * bh + b * h, h).CopyTo(bridgeIn.Slice(b * 2 * h, h));
                _encH.AsSpan((last + 1) * bh + b * h, h).CopyTo(bridgeIn.Slice(b * 2 * h + h, h));
            }
            _bridge.Forward(bridgeIn, bsz, values, h0);
            TensorPrimitives.Tanh(h0, h0);                                                                       // h_0 = tanh(W [h_f; h_b] + b)
        }
        else
        {
            _encH.AsSpan(last * bh, bh).CopyTo(h0);                                                              // h_0 = last layer's final state
        }
        if (_lstm)
        {
            _cs.AsSpan(0, bh).Clear();                                                                            // c_0 = 0
        }
        if (Config.Decoder == DecoderStyle.None)
        {
            h0.CopyTo(_fixed.AsSpan(0, bh));
        }
        _attention?.PrepareKeys(values, encOut, bsz, source);
        _lengthsView = sourceLengths.Length == bsz ? CopyLengths(sourceLengths) : _lengthsView;
    }

    private int[] _lengthsBuffer = [];
    private int[] _lengthsView = [];

    private int[] CopyLengths(ReadOnlySpan<int> lengths)
    {
        if (_lengthsBuffer.Length < _maxBatch)
        {
            _lengthsBuffer = new int[_maxBatch];
        }
        lengths.CopyTo(_lengthsBuffer);
        return _lengthsBuffer;
    }

    /// <summary>One decoder step for the current batch: reads h_{t} slot t, writes slot t+1 and the step's logits (row t of (T, B, V)).</summary>
    internal void DecoderStep(int t, int bsz, ReadOnlySpan<int> fed)
    {
        if (_encodedWith is not null)
        {
            throw new InvalidOperationException("The last Encode used prepared inference weights: pass them to DecoderStep too (or Encode without them).");
        }
        int h = _h, bh = bsz * h, e = _e;
        ParameterSet p = Parameters;
        ReadOnlySpan<float> values = p.Values;
        ReadOnlySpan<int> lengths = _lengthsView.AsSpan(0, bsz);
        ReadOnlySpan<float> encOut = _encOut.AsSpan(0, bsz * _source * _denc);
        Span<float> emb = _tgtEmb.AsSpan(t * bsz * e, bsz * e);
        Embedding.Forward(fed, _targetEmbedding.Weight.Of(values), _v, e, emb);                        // (B, E)
        if (_dropping)
        {
            DropRows(Dropout.TargetEmbedding, t, bsz, e, _tgtMask.AsSpan(t * bsz * e, bsz * e), emb);      // emb = drop(E[y_t])
        }
        Span<float> x = _x.AsSpan(t * bsz * _i, bsz * _i);                                             // (B, I)
        ReadOnlySpan<float> hPrev = _hs.AsSpan(t * bh, bh);
        Span<float> hCur = _hs.AsSpan((t + 1) * bh, bh);
        ReadOnlySpan<float> cPrev = _lstm ? _cs.AsSpan(t * bh, bh) : default;
        Span<float> cCur = _lstm ? _cs.AsSpan((t + 1) * bh, bh) : default;
        Span<float> cache = _cache.AsSpan(t * bsz * _cell.CacheSize, bsz * _cell.CacheSize);
        Span<float> outIn = _outIn.AsSpan(t * bsz * _o, bsz * _o);                                      // (B, O)
        Span<float> weights = _attention is null ? default : _weights.AsSpan(t * bsz * _source, bsz * _source);
        int tableColumns = _tableInStep ? e : 0;
        Span<float> tableRows = default;
        if (_tableInStep)
        {
            int gw = _cell.GateWidth;
            tableRows = _tableRows.AsSpan(0, bsz * gw);
            for (int b = 0; b < bsz; b++)
            {
                _inputTable.AsSpan(fed[b] * gw, gw).CopyTo(tableRows.Slice(b * gw, gw));                   // W_ih[:, :E]·emb(y_b) by lookup
            }
        }
        switch (Config.Decoder)
        {
            case DecoderStyle.Bahdanau:
            {
                Span<float> context = _context.AsSpan(t * bsz * _dc, bsz * _dc);
                _attention!.Forward(values, hPrev, encOut, encOut, lengths, weights, context);          // (1) c_t = attn(h_{t-1})
                Concat(bsz, emb, e, context, _dc, x);                                                  // (2) x = [emb; c_t]
                _cell.Forward(p, bsz, x, hPrev, cPrev, hCur, cCur, cache, tableColumns, tableRows);                             // (3) h_t = cell(x, h_{t-1})
                Concat(bsz, hCur, h, context, _dc, outIn);                                             // (4) o = [h_t; c_t]
                if (_dropping)
                {
                    DropRows(Dropout.DecoderOutput, t, bsz, _o, _outMask.AsSpan(t * bsz * _o, bsz * _o), outIn); // (5) o = drop(o)
                }
                break;
            }
            case DecoderStyle.Luong:
            {
                int w = _dc + h;
                if (t == 0)
                {
                    Concat(bsz, emb, e, default, h, x);                                                // (1) x = [emb; h̃_{-1} = 0]
                }
                else
                {
                    Concat(bsz, emb, e, _outIn.AsSpan((t - 1) * bsz * _o, bh), h, x);                  // (1) x = [emb; h̃_{t-1}] (input feeding)
                }
                _cell.Forward(p, bsz, x, hPrev, cPrev, hCur, cCur, cache, tableColumns, tableRows);                             // (2) h_t = cell(x, h_{t-1})
                Span<float> context = _context.AsSpan(t * bsz * _dc, bsz * _dc);
                _attention!.Forward(values, hCur, encOut, encOut, lengths, weights, context);          // (3) c_t = attn(h_t)
                Span<float> comb = _comb.AsSpan(t * bsz * w, bsz * w);
                Concat(bsz, context, _dc, hCur, h, comb);                                              // (4) [c_t; h_t]
                Span<float> tilde = _dropping ? _tilde.AsSpan(t * bh, bh) : outIn;
                _combine!.Forward(comb, bsz, values, tilde);
                TensorPrimitives.Tanh(tilde, tilde);                                                   // (5) h̃_t = tanh(W_c [c_t; h_t])
                if (_dropping)
                {
                    tilde.CopyTo(outIn);
                    DropRows(Dropout.DecoderOutput, t, bsz, _o, _outMask.AsSpan(t * bh, bh), outIn);   // (5') drop(h̃_t): read by out and fed to step t+1
                }
                break;
            }
            default:
            {
                ReadOnlySpan<float> fixedContext = _fixed.AsSpan(0, bh);
                Concat(bsz, emb, e, fixedContext, h, x);                                               // (1) x = [emb; c]
                _cell.Forward(p, bsz, x, hPrev, cPrev, hCur, cCur, cache, tableColumns, tableRows);                             // (2) h_t = cell(x, h_{t-1})
                Concat(bsz, hCur, h, fixedContext, h, outIn);                                          // (3) o = [h_t; c]
                if (_dropping)
                {
                    DropRows(Dropout.DecoderOutput, t, bsz, _o, _outMask.AsSpan(t * bsz * _o, bsz * _o), outIn); // (4) o = drop(o)
                }
                break;
            }
        }
        _out.Forward(outIn, bsz, values, _logits.AsSpan(t * bsz * _v, bsz * _v));                     // (6) logits = W_out o + b
    }

    /// <summary>
    /// Whether a teacher-forced pass of (B, T) uses the input table: worth it when the V table rows cost at most half of
    /// the T·B rows they replace. Never with embedding dropout: the table holds the projection of the plain embedding rows.
    /// </summary>
    private bool UseInputTable(int bsz, int steps) => !Faults.DisableInputTables && !_dropping && 2L * _v <= (long)steps * bsz;

    /// <summary>The test seam (<see cref="Seq2SeqFaults"/>); <see cref="Seq2SeqFaults.None"/> outside tests.</summary>
    internal Seq2SeqFaults Faults { get; set; } = Seq2SeqFaults.None;

    /// <summary>Whether the last teacher-forced <see cref="Forward"/> used the input table.</summary>
    internal bool LastPassUsedInputTable => _tableColumns > 0;

    /// <summary>Whether a teacher-forced pass uses the source table for encoder layer 0 (same rule as <see cref="UseInputTable"/>).</summary>
    private bool UseSourceTable(int bsz, int source) => !Faults.DisableInputTables && !_dropping && 2L * Config.SourceVocabSize <= (long)bsz * source;

    /// <summary>Whether the last teacher-forced <see cref="Forward"/> used the source table.</summary>
    internal bool LastPassUsedSourceTable => _sourceTablePass;

    /// <summary>
    /// Encoder layer 0's input projection by lookup: table_d = E_src W_ih_l0_dᵀ (V_src, G·H) once per direction, then
    /// row r of direction d = table_d[ids[r]]. Returns (D, B·S, G·H).
    /// </summary>
    private ReadOnlySpan<float> LookUpSourceProjection(ReadOnlySpan<int> ids, int rows)
    {
        int gw = _encoder.GateWidth, vs = Config.SourceVocabSize, e = _e;
        ReadOnlySpan<float> values = Parameters.Values;
        Span<float> projection = _srcProj.AsSpan(0, _encoder.Directions * rows * gw);
        for (int d = 0; d < _encoder.Directions; d++)
        {
            Span<float> table = _srcTable.AsSpan(d * vs * gw, vs * gw);
            Gemm.Multiply(vs, gw, e, _sourceEmbedding.Weight.Of(values), e, Transpose.No,
                _encoder.FirstLayerWeightIh(d).Of(values), e, Transpose.Yes, table, gw, false);                 // table_d = E_src W_ih_l0ᵀ (V_src, G·H)
            Span<float> rowsOut = projection.Slice(d * rows * gw, rows * gw);
            for (int r = 0; r < rows; r++)
            {
                table.Slice(ids[r] * gw, gw).CopyTo(rowsOut.Slice(r * gw, gw));
            }
        }
        return projection;
    }

    /// <summary>
    /// Backward of a table lookup gates_in[r] = table[ids[r]] with table = Emb · W[:, :E]ᵀ (W row stride ld):
    /// dtable[v] = Σ_{ids[r] = v} dGates[r]; dW[:, :E] += dtableᵀ Emb; dEmb[v] += dtable[v] W[:, :E] for v ≠ padding
    /// (as <c>Embedding.Backward</c> skips it).
    /// </summary>
    private void TableBackward(int rows, ReadOnlySpan<int> ids, ReadOnlySpan<float> dGates, int gw, int v, int e,
        ReadOnlySpan<float> embedding, ReadOnlySpan<float> weight, int ld, Span<float> dWeight, Span<float> dEmbedding)
    {
        Span<float> dTable = _dInputTable.AsSpan(0, v * gw);
        dTable.Clear();
        for (int r = 0; r < rows; r++)
        {
            Span<float> row = dTable.Slice(ids[r] * gw, gw);
            TensorPrimitives.Add(row, dGates.Slice(r * gw, gw), row);                                            // dtable[id] += dGates[r]
        }
        Gemm.Multiply(gw, e, v, dTable, gw, Transpose.Yes, embedding, e, Transpose.No, dWeight, ld, true);          // dW[:, :E] += dtableᵀ Emb (G·H, E)
        Span<float> dEmb = _dTableEmb.AsSpan(0, v * e);
        Gemm.Multiply(v, e, gw, dTable, gw, Transpose.No, weight, ld, Transpose.No, dEmb, e, false);                // (V, E) = dtable W[:, :E]
        for (int k = 0; k < v; k++)
        {
            if (k != Config.PaddingId)
            {
                Span<float> dst = dEmbedding.Slice(k * e, e);
                TensorPrimitives.Add(dst, dEmb.Slice(k * e, e), dst);
            }
        }
    }

    /// <summary>Step t's slot of the stored d(W_q q): (B, A); empty when the scorer has no query projection.</summary>
    private Span<float> ProjectedQueryGradient(int t, int bsz)
    {
        if (_dProjQuery.Length == 0)
        {
            return default;
        }
        int n = bsz * _attention!.AttentionDim;
        return _dProjQuery.AsSpan(t * n, n);
    }

    private int _dropSteps;

    /// <summary>
    /// Dropout of one step's (B, W) rows: the mask element of (row b, step t, column j) has index
    /// ((row0 + b)·T + t)·W + j in the whole batch's (B, T, W) tensor, so it does not depend on how the batch is split.
    /// </summary>
    private void DropRows(int tensor, int t, int bsz, int width, Span<float> mask, Span<float> rows)
    {
        ulong key = Dropout.Key(DropoutSeed, DropoutStep, tensor);
        for (int b = 0; b < bsz; b++)
        {
            Dropout.FillMask(key, (((long)DropoutRowOffset + b) * _dropSteps + t) * width, Config.Dropout, mask.Slice(b * width, width));
        }
        Dropout.Apply(rows, mask);
    }

    /// <summary>Logits of step t: (B, V).</summary>
    internal ReadOnlySpan<float> StepLogits(int t, int bsz) => _logits.AsSpan(t * bsz * _v, bsz * _v);

    /// <summary>Alignment of step t: (B, S); empty for <see cref="DecoderStyle.None"/>.</summary>
    internal ReadOnlySpan<float> StepWeights(int t, int bsz) => _attention is null ? default : _weights.AsSpan(t * bsz * _source, bsz * _source);

    /// <summary>
    /// Beam search: after step t, reorders the rows of the state that step t+1 reads (h_t, c_t, h̃_t, the fixed
    /// context) so that new row k continues old row <paramref name="parents"/>[k].
    /// </summary>
    internal void ReorderState(int t, int bsz, ReadOnlySpan<int> parents, Span<float> scratch)
    {
        Reorder(_hs.AsSpan((t + 1) * bsz * _h, bsz * _h), _h, parents, scratch);
        if (_lstm)
        {
            Reorder(_cs.AsSpan((t + 1) * bsz * _h, bsz * _h), _h, parents, scratch);
        }
        if (Config.Decoder == DecoderStyle.Luong)
        {
            Reorder(_outIn.AsSpan(t * bsz * _o, bsz * _o), _o, parents, scratch);
        }
    }

    private static void Reorder(Span<float> rows, int width, ReadOnlySpan<int> parents, Span<float> scratch)
    {
        Span<float> copy = scratch.Slice(0, rows.Length);
        rows.CopyTo(copy);
        for (int k = 0; k < parents.Length; k++)
        {
            copy.Slice(parents[k] * width, width).CopyTo(rows.Slice(k * width, width));
        }
    }

    internal int Vocabulary => _v;

    internal int StateWidth => Math.Max(_h, _o);

    private static void Concat(int rows, ReadOnlySpan<float> a, int wa, ReadOnlySpan<float> b, int wb, Span<float> dst)
    {
        int w = wa + wb;
        for (int r = 0; r < rows; r++)
        {
            a.Slice(r * wa, wa).CopyTo(dst.Slice(r * w, wa));
            if (b.IsEmpty)
            {
                dst.Slice(r * w + wa, wb).Clear();
            }
            else
            {
                b.Slice(r * wb, wb).CopyTo(dst.Slice(r * w + wa, wb));
            }
        }
    }

    /// <summary>dX (B, E + W) = [dEmb; dRest]: copies the embedding part, adds (or copies) the rest.</summary>
    private void SplitInputGradient(int bsz, ReadOnlySpan<float> dX, Span<float> dEmb, Span<float> dRest, bool accumulate)
    {
        int e = _e, w = _i - e;
        for (int b = 0; b < bsz; b++)
        {
            ReadOnlySpan<float> row = dX.Slice(b * _i, _i);
            row.Slice(0, e).CopyTo(dEmb.Slice(b * e, e));
            Span<float> rest = dRest.Slice(b * w, w);
            if (accumulate)
            {
                TensorPrimitives.Add(rest, row.Slice(e, w), rest);
            }
            else
            {
                row.Slice(e, w).CopyTo(rest);
            }
        }
    }

    private void CheckShape(int bsz, int source, int steps)
    {
        if (bsz > _maxBatch || source > _maxSource || steps > _maxTarget)
        {
            throw new ArgumentException($"Batch shape (B={bsz}, S={source}, T={steps}) exceeds the workspaces (B={_maxBatch}, S={_maxSource}, T={_maxTarget}); call EnsureCapacity first.");
        }
    }

    private void RequireForward()
    {
        if (!_hasForward)
        {
            throw new InvalidOperationException("Backward/CountCorrect need a training Forward first (decoding replaces its caches).");
        }
    }
}
