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
/// ... (nn.GRU/LSTM/RNN names); <c>bridge.weight</c>, <c>bridge.bias</c> (bidirectional only) — or, for a Transformer
/// encoder, <c>encoder.embedding.weight</c>, <c>encoder.layers.{i}.*</c>, <c>bridge.weight</c>, <c>bridge.bias</c>
/// (see <see cref="TransformerEncoder"/>);
/// <c>decoder.embedding.weight</c>; <c>decoder.attention.*</c> (see <see cref="AttentionLayer.RegisterParameters"/>;
/// not for <see cref="DecoderStyle.None"/>); <c>decoder.f_beta.weight</c>, <c>decoder.f_beta.bias</c> (the
/// <see cref="Seq2SeqConfig.ContextGate"/> only); <c>decoder.cell.weight_ih</c>, <c>weight_hh</c>, <c>bias_ih</c>,
/// <c>bias_hh</c>; <c>decoder.combine.weight</c> (Luong W_c, no bias); <c>decoder.out.weight</c>, <c>decoder.out.bias</c>.</para>
/// <para>Decoder step t (h_t the state after step t, h_0 from the encoder, y_t the fed token, c_t the context):
/// Bahdanau: c_t = attn(h_{t-1}); h_t = cell([emb(y_t); c_t], h_{t-1}); logits = out([h_t; c_t]) (with the context gate,
/// β_t c_t with β_t = σ(f_β(h_{t-1})) in place of c_t in both).
/// Luong: h_t = cell([emb(y_t); h̃_{t-1}], h_{t-1}) (h̃_0 = 0); c_t = attn(h_t); h̃_t = tanh(W_c [c_t; h_t]); logits = out(h̃_t).
/// None: c = h_0 for every t; h_t = cell([emb(y_t); c], h_{t-1}); logits = out([h_t; c]).</para>
/// <para>Decoder-side buffers are step-major (T, B, ·): step t's rows are contiguous, as the cell and attention want.
/// An instance is not thread-safe (it owns the workspaces); <see cref="CreateReplica"/> makes another instance
/// sharing the parameter values, for another thread.</para>
/// </remarks>
public sealed partial class Seq2SeqModel
{
    private readonly IEncoder _encoder;
    private readonly Func<ParameterLayout, IEncoder>? _createEncoder; // a caller's own encoder (null: the configuration's)
    private readonly EncoderMemory _memory;
    private readonly IDecoderCell _cell;
    private readonly AttentionLayer? _attention;
    private readonly ContextGate? _gate;
    private readonly Embedding _targetEmbedding;
    private readonly Linear? _combine;
    private readonly Linear _out;
    private readonly bool _lstm;

    // Sizes: E, H, Denc (keys/values), Dc (context), I (cell input), O (output-layer input), V (target vocabulary).
    private readonly int _e, _h, _denc, _dc, _i, _o, _v;

    // Workspaces (sized by EnsureCapacity): the memory above, the decoder's plan, the input table.
    private readonly RecurrentDecoder _decoder;
    private readonly DecoderWorkspace _work;
    private int _maxBatch, _maxSource, _maxTarget;
    private float[] _inputTable = []; // (V, G·H) decoder.embedding · W_ih[:, :E]ᵀ: the cell's input projection of every token
    private float[] _dInputTable = [];// (V, G·H) its gradient, summed over the (t, b) rows that fed each token
    private float[] _dTableEmb = [];  // (V, E) dInputTable · W_ih[:, :E]

    private int _batch, _source, _steps, _count;
    private bool _rowPacked;          // a B = 1 Forward packed the cell's weights (PrepareSingleRowSteps), still valid for its Backward
    private bool _hasForward;
    private DecoderPass _forwardPass; // how the last training Forward ran (table, dropout): its Backward runs the same way
    private Seq2SeqBatch? _lastBatch;

    /// <summary>Builds a model with freshly initialised parameters (PyTorch's default initialisations, seeded).</summary>
    /// <param name="config">The architecture (validated).</param>
    /// <param name="maxBatch">Largest B.</param>
    /// <param name="maxSource">Largest S.</param>
    /// <param name="maxTarget">Largest T (training target length or decoding length).</param>
    /// <param name="seed">Initialisation seed.</param>
    public Seq2SeqModel(Seq2SeqConfig config, int maxBatch, int maxSource, int maxTarget, int seed = 0)
        : this(config, (ParameterSet?)null, maxBatch, maxSource, maxTarget)
    {
        Initialize(seed);
    }

    /// <summary>
    /// Builds a model around your own encoder (see <see cref="IEncoder"/>), with freshly initialised parameters: the
    /// encoder's (its <see cref="IEncoder.Initialize"/>) and the decoder's (PyTorch's defaults, seeded).
    /// </summary>
    /// <param name="config">The decoder's architecture and the memory's description: <see cref="Seq2SeqConfig.EncoderOutputSize"/>
    /// must equal the encoder's <see cref="IEncoder.Size"/>, and <see cref="Seq2SeqConfig.Encoder"/> says which source it
    /// reads (<see cref="EncoderKind.Features"/>: a feature grid; otherwise token ids).</param>
    /// <param name="createEncoder">Called once per model instance (replicas too) with the layout to register the encoder's
    /// parameters in, before the decoder's; returns the encoder, sized for (maxBatch, maxSource).</param>
    /// <param name="maxBatch">Largest B.</param>
    /// <param name="maxSource">Largest S.</param>
    /// <param name="maxTarget">Largest T.</param>
    /// <param name="seed">Initialisation seed.</param>
    /// <remarks>Such a model saves with <see cref="IO.Seq2SeqModelFile.Save(string, Seq2SeqModel, string?, string?, IReadOnlyDictionary{string, string}?)"/>
    /// and loads into a model built the same way with <see cref="IO.ModelFile.Load"/>.</remarks>
    public Seq2SeqModel(Seq2SeqConfig config, Func<ParameterLayout, IEncoder> createEncoder, int maxBatch, int maxSource, int maxTarget, int seed = 0)
        : this(config, null, maxBatch, maxSource, maxTarget, createEncoder ?? throw new ArgumentNullException(nameof(createEncoder)))
    {
        Initialize(seed);
    }

    private void Initialize(int seed)
    {
        var random = new Random(seed);
        _encoder.Initialize(Parameters, random);
        _targetEmbedding.Initialize(Parameters, random);
        _attention?.InitializeParameters(Parameters, random);
        _gate?.Initialize(Parameters, random);
        _cell.Initialize(Parameters, random);
        _combine?.Initialize(Parameters, random);
        _out.Initialize(Parameters, random);
    }

    /// <summary>
    /// Builds a model without initialising its parameters: over <paramref name="shared"/> (a replica) or over new
    /// zeroed parameters that the caller fills (a model file's loader).
    /// </summary>
    internal Seq2SeqModel(Seq2SeqConfig config, ParameterSet? shared, int maxBatch, int maxSource, int maxTarget, Func<ParameterLayout, IEncoder>? createEncoder = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (config.Decoder == DecoderStyle.Transformer)
        {
            throw new ArgumentException("Seq2SeqConfig: Decoder Transformer is the full Transformer encoder-decoder, not a recurrent-decoder Seq2SeqModel (train it with a TrainingSession, load it with TranslationModel.Load).", nameof(config));
        }
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
        _createEncoder = createEncoder;
        _encoder = createEncoder is not null ? createEncoder(layout) ?? throw new ArgumentException("createEncoder returned null.", nameof(createEncoder))
            : config.Encoder switch
            {
                EncoderKind.Transformer => new TransformerEncoder(config, layout, maxBatch, maxSource),
                EncoderKind.Features => new FeatureGridEncoder(config, layout, maxBatch),
                EncoderKind.Image => new ImageEncoder(config, layout, maxBatch),
                _ => new RecurrentEncoder(config, layout, maxBatch, maxSource),
            };
        if (_encoder.Size != _denc)
        {
            throw new ArgumentException($"The encoder's memory states are {_encoder.Size} wide; the configuration's EncoderOutputSize is {_denc}.", nameof(createEncoder));
        }
        _memory = new EncoderMemory(_denc, _h, maxBatch, maxSource);
        _targetEmbedding = new Embedding(layout, "decoder.embedding", _v, _e, config.PaddingId);
        if (config.Decoder != DecoderStyle.None)
        {
            _attention = new AttentionLayer(config.Scorer, _h, _denc, _denc, config.EffectiveAttentionSize, maxBatch, maxSource);
            _attention.RegisterParameters(layout, "decoder.attention.");
        }
        _gate = config.ContextGate ? new ContextGate(layout, "decoder.f_beta", _h) : null;
        _cell = RecurrentFactory.Cell(config.Cell, layout, "decoder.cell.", _i, _h, maxBatch);
        _combine = config.Decoder == DecoderStyle.Luong ? new Linear(layout, "decoder.combine", _dc + _h, _h, bias: false) : null;
        _out = new Linear(layout, "decoder.out", _o, _v);
        _decoder = config.Decoder switch
        {
            DecoderStyle.Bahdanau => new BahdanauDecoder(_cell, _attention!, _gate, _e, _h, _dc),
            DecoderStyle.Luong => new LuongDecoder(_cell, _attention!, _combine!, _e, _h, _dc),
            _ => new FixedContextDecoder(_cell, _e, _h),
        };
        bool additive = _attention is not null && config.Scorer == AttentionScorer.Additive;
        _work = new DecoderWorkspace(_e, _h, _dc, _i, _o, _v, _cell.CacheSize, _cell.GateWidth, additive ? _attention!.AttentionDim : 0,
            _lstm, config.Decoder == DecoderStyle.Luong, config.Dropout > 0f, _gate is not null, config.AttentionRegularization > 0f,
            maxBatch, maxSource, maxTarget);
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

    /// <summary>The encoder behind the seam (what made the memory of the last pass).</summary>
    internal IEncoder Encoder => _encoder;

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
    public Seq2SeqModel CreateReplica() => new(Config, Parameters, _maxBatch, _maxSource, _maxTarget, _createEncoder);

    /// <summary>
    /// Another model instance with its own workspaces and its own gradient buffer over this one's parameter values
    /// (not a copy): the trainer's second thread, whose backward must not accumulate into this model's gradients.
    /// </summary>
    internal Seq2SeqModel CreateGradientReplica() =>
        new(Config, new ParameterSet(Parameters.Layout, Parameters.Values), _maxBatch, _maxSource, _maxTarget, _createEncoder);

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
        _work.EnsureCapacity(b, s, t);
        int gw = _cell.GateWidth;
        _inputTable = new float[_v * gw];
        _dInputTable = new float[_v * gw];
        _dTableEmb = new float[_v * _e];
        _hasForward = false;
        _encodedWith = null;                                                                                      // new buffers: Encode again
    }
}
