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
    private readonly RecurrentEncoder _encoder;
    private readonly EncoderMemory _memory;
    private readonly IDecoderCell _cell;
    private readonly AttentionLayer? _attention;
    private readonly Embedding _targetEmbedding;
    private readonly Linear? _combine;
    private readonly Linear _out;
    private readonly bool _lstm;

    // Sizes: E, H, Denc (keys/values), Dc (context), I (cell input), O (output-layer input), V (target vocabulary).
    private readonly int _e, _h, _denc, _dc, _i, _o, _v;

    // Workspaces (sized by EnsureCapacity).
    private int _maxBatch, _maxSource, _maxTarget;
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
    private float[] _tgtMask = [];    // (T, B, E)
    private float[] _outMask = [];    // (T, B, O)
    private float[] _tilde = [];      // (T, B, H) Luong: h̃_t before dropout (the tanh backward needs it)
    // Backward scratch.
    private float[] _dLogits = [];    // (T, B, V)
    private float[] _dOutIn = [];     // (T, B, O)
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
        _encoder.Initialize(Parameters, random);
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
        _dc = config.Decoder == DecoderStyle.None ? _h : _denc;
        _i = _e + (config.Decoder == DecoderStyle.Luong ? _h : _dc);
        _o = config.Decoder == DecoderStyle.Luong ? _h : _h + _dc;

        var layout = new ParameterLayout();
        _encoder = new RecurrentEncoder(config, layout, maxBatch, maxSource);
        _memory = new EncoderMemory(_denc, _h, maxBatch, maxSource);
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
        _memory.EnsureCapacity(b, s);
        _attention?.EnsureCapacity(b, s, 1);
        int h = _h;
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
        int gw = _cell.GateWidth;
        _inputTable = new float[_v * gw];
        _dInputTable = new float[_v * gw];
        _tableRows = new float[b * gw];
        _dTableEmb = new float[_v * _e];
        if (Config.Dropout > 0f)
        {
            _tgtMask = new float[t * b * _e];
            _outMask = new float[t * b * _o];
            _tilde = Config.Decoder == DecoderStyle.Luong ? new float[t * b * h] : [];
        }
        _hasForward = false;
        _encodedWith = null;                                                                                      // new buffers: Encode again
    }
}
