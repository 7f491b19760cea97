using System.Diagnostics.CodeAnalysis;
using System.Numerics.Tensors;
using SpanAttention.Attention.Scorers;
using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Attention;

/// <summary>
/// Attention over a batch of source sequences: a scorer (<see cref="AttentionScorer"/>), a masked stable
/// softmax and a weighted sum of the values, with its backward pass written by hand.
/// </summary>
/// <remarks>
/// <para>Shapes (docs/shapes.md): B batch, S source steps (the padded length of this source batch), T decoder
/// steps, Dq query size, Dk key size, Dv value size, A attention size (additive only). Keys are (B, S, Dk),
/// values (B, S, Dv), both row-major; row b's source has <c>lengths[b]</c> valid leading positions, or the
/// valid positions are given by an explicit (B, S) bool mask. Queries of one decoder step are (B, Dq);
/// queries of T steps are (T, B, Dq), the order a decoder produces them in.</para>
/// <para>Life of a source batch: <see cref="PrepareKeys"/> once (projects the keys for General and Additive:
/// that work does not depend on the decoder step), then <see cref="Forward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{int}, Span{float}, Span{float})"/>
/// at every decoder step (or <see cref="ForwardSteps(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{int}, Span{float}, Span{float})"/>
/// for all steps at once when the queries are known in advance, e.g. Luong attention under teacher forcing).
/// Backprop calls <see cref="Backward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{int}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, Span{float})"/> / <see cref="BackwardSteps"/> for the steps (in any order; General
/// and Additive accumulate the gradient of the projected keys internally), then <see cref="PrepareKeysBackward"/>
/// once, which turns it into the key and key-projection gradients with one GEMM each.
/// The parameter values must not change between <see cref="PrepareKeys"/> and <see cref="PrepareKeysBackward"/>.</para>
/// <para>Parameters live in a flat buffer (<see cref="ParameterSet.Values"/>) through named slots registered
/// by <see cref="RegisterParameters"/>; Backward accumulates into the matching <see cref="ParameterSet.Gradients"/>.
/// PyTorch mapping, with prefix "attention.": General: <c>attention.W.weight</c> [Dq, Dk] is
/// <c>nn.Linear(Dk, Dq, bias=False)</c> applied to the keys. Additive: <c>attention.W_q.weight</c> [A, Dq]
/// (<c>nn.Linear(Dq, A, bias=False)</c>), <c>attention.W_k.weight</c> [A, Dk] and <c>attention.W_k.bias</c> [A]
/// (<c>nn.Linear(Dk, A)</c>), <c>attention.v.weight</c> [1, A] (<c>nn.Linear(A, 1, bias=False)</c>).</para>
/// <para>Workspaces are sized once for (maxBatch, maxSource, maxSteps); a larger shape throws until
/// <see cref="EnsureCapacity"/> grows them. After that, every call is allocation-free. An instance is not
/// thread-safe (its workspaces are shared by its calls); use one per thread.</para>
/// </remarks>
internal sealed partial class AttentionLayer
{
    private readonly IAttentionScorer _scorer;  // the scoring function and its backward (Attention/Scorers/)
    private readonly int _projectedWidth;       // P: width of the keys the scores are dotted with (Dk, Dq or A)

    private float[] _projectedKeys = [];        // (maxBatch, maxSource, P): the scorer's projection of K; unused when P = K
    private float[] _dProjectedKeys = [];       // (maxBatch, maxSource, P): accumulated over decoder steps
    private float[] _projectedQueries = [];     // (maxSteps * maxBatch, Q): the scorer's projection of each query row (Additive: W_q q)
    private float[] _dProjectedQueries = [];    // (maxSteps * maxBatch, Q)
    private float[] _dScores = [];              // (maxSteps, maxSource): dWeights, then dScores, of one row

    private bool _registered;                   // RegisterParameters has run
    private bool _dProjectedKeysDirty;          // a Backward has accumulated into _dProjectedKeys since it was last cleared
    private int _batch = -1;                    // shape of the prepared source batch; -1 before PrepareKeys
    private int _source = -1;

    /// <summary>Creates a layer and sizes its workspaces.</summary>
    /// <param name="scorer">The scoring function.</param>
    /// <param name="queryDim">Dq, the query size.</param>
    /// <param name="keyDim">Dk, the key size (Dot and ScaledDot with Dk ≠ Dq learn a key projection W [Dq, Dk]).</param>
    /// <param name="valueDim">Dv, the value size (the context size).</param>
    /// <param name="attentionDim">A, the hidden size of the additive scorer; ignored (may be 0) otherwise.</param>
    /// <param name="maxBatch">Largest B.</param>
    /// <param name="maxSource">Largest S.</param>
    /// <param name="maxSteps">Largest T passed to <see cref="ForwardSteps(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{int}, Span{float}, Span{float})"/> (1 if only single steps are used).</param>
    public AttentionLayer(AttentionScorer scorer, int queryDim, int keyDim, int valueDim, int attentionDim, int maxBatch, int maxSource, int maxSteps = 1)
    {
        Positive(queryDim, nameof(queryDim));
        Positive(keyDim, nameof(keyDim));
        Positive(valueDim, nameof(valueDim));
        _scorer = AttentionScorers.Create(scorer, queryDim, keyDim, attentionDim);
        Scorer = scorer;
        QueryDim = queryDim;
        KeyDim = keyDim;
        ValueDim = valueDim;
        AttentionDim = _scorer.QueryProjectionWidth;
        _projectedWidth = _scorer.ProjectedWidth;
        EnsureCapacity(maxBatch, maxSource, maxSteps);
    }

    /// <summary>The scoring function.</summary>
    public AttentionScorer Scorer { get; }

    /// <summary>Dq, the query size.</summary>
    public int QueryDim { get; }

    /// <summary>Dk, the key size.</summary>
    public int KeyDim { get; }

    /// <summary>Dv, the value (and context) size.</summary>
    public int ValueDim { get; }

    /// <summary>A, the additive scorer's hidden size; 0 for the other scorers.</summary>
    public int AttentionDim { get; }

    /// <summary>Largest batch the workspaces hold.</summary>
    public int MaxBatch { get; private set; }

    /// <summary>Largest source length the workspaces hold.</summary>
    public int MaxSource { get; private set; }

    /// <summary>Largest number of decoder steps one <c>ForwardSteps</c> call may take.</summary>
    public int MaxSteps { get; private set; }

    /// <summary>The General scorer's W [Dq, Dk]; null for other scorers or before <see cref="RegisterParameters"/>.</summary>
    public ParameterSlot? Weight => (_scorer as GeneralScorer)?.Weight;

    /// <summary>The key projection W [Dq, Dk] of Dot or ScaledDot when Dk ≠ Dq; null otherwise or before <see cref="RegisterParameters"/>.</summary>
    public ParameterSlot? KeyProjectionWeight => (_scorer as DotScorer)?.KeyProjectionWeight;

    /// <summary>The Additive scorer's W_q [A, Dq].</summary>
    public ParameterSlot? QueryWeight => Additive?.QueryWeight;

    /// <summary>The Additive scorer's W_k [A, Dk].</summary>
    public ParameterSlot? KeyWeight => Additive?.KeyWeight;

    /// <summary>The Additive scorer's b [A] (PyTorch: the bias of the key Linear).</summary>
    public ParameterSlot? KeyBias => Additive?.KeyBias;

    /// <summary>The Additive scorer's v [1, A].</summary>
    public ParameterSlot? ScoreWeight => Additive?.ScoreWeight;

    /// <summary>The scoring strategy (also called by the prepared decoding path).</summary>
    internal IAttentionScorer ScorerImplementation => _scorer;

    private AdditiveScorer? Additive => _scorer as AdditiveScorer;

    /// <summary>Grows the workspaces to hold at least the given shape (never shrinks). Call outside the hot loop.</summary>
    /// <param name="maxBatch">Largest B, ≥ 1.</param>
    /// <param name="maxSource">Largest S, ≥ 1.</param>
    /// <param name="maxSteps">Largest T, ≥ 1.</param>
    /// <remarks>Growing discards a prepared source batch: call <see cref="PrepareKeys"/> again.</remarks>
    public void EnsureCapacity(int maxBatch, int maxSource, int maxSteps)
    {
        Positive(maxBatch, nameof(maxBatch));
        Positive(maxSource, nameof(maxSource));
        Positive(maxSteps, nameof(maxSteps));
        if (maxBatch <= MaxBatch && maxSource <= MaxSource && maxSteps <= MaxSteps)
        {
            return;
        }
        MaxBatch = Math.Max(maxBatch, MaxBatch);
        MaxSource = Math.Max(maxSource, MaxSource);
        MaxSteps = Math.Max(maxSteps, MaxSteps);
        int p = _projectedWidth;
        int a = _scorer.QueryProjectionWidth;
        bool projects = _scorer.ProjectsKeys;
        _projectedKeys = projects ? new float[checked(MaxBatch * MaxSource * p)] : [];
        _dProjectedKeys = projects ? new float[checked(MaxBatch * MaxSource * p)] : [];
        _projectedQueries = new float[checked(MaxSteps * MaxBatch * a)];
        _dProjectedQueries = new float[checked(MaxSteps * MaxBatch * a)];
        _dScores = new float[checked(MaxSteps * MaxSource)];
        _batch = -1;
        _source = -1;
        _dProjectedKeysDirty = false;
    }

    /// <summary>Registers this scorer's parameters (none for Dot and ScaledDot with Dq = Dk) in a model's layout.</summary>
    /// <param name="layout">The model's parameter layout, still open for registration.</param>
    /// <param name="prefix">Name prefix including its separator, e.g. <c>"attention."</c> or <c>"decoder.attention."</c>.</param>
    /// <remarks>
    /// General: <c>{prefix}W.weight</c> [Dq, Dk]. Dot and ScaledDot with Dk ≠ Dq: <c>{prefix}key_proj.weight</c> [Dq, Dk]
    /// (<c>nn.Linear(Dk, Dq, bias=False)</c> applied to the keys). Additive: <c>{prefix}W_q.weight</c> [A, Dq],
    /// <c>{prefix}W_k.weight</c> [A, Dk], <c>{prefix}W_k.bias</c> [A], <c>{prefix}v.weight</c> [1, A]:
    /// the state_dict names of a PyTorch module holding <c>W = nn.Linear(Dk, Dq, bias=False)</c>, or
    /// <c>W_q = nn.Linear(Dq, A, bias=False)</c>, <c>W_k = nn.Linear(Dk, A)</c>, <c>v = nn.Linear(A, 1, bias=False)</c>.
    /// </remarks>
    public void RegisterParameters(ParameterLayout layout, string prefix)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(prefix);
        if (_registered)
        {
            throw new InvalidOperationException("The attention parameters are already registered.");
        }
        _scorer.RegisterParameters(layout, prefix);
        _registered = true;
    }

    /// <summary>PyTorch's default <c>nn.Linear</c> initialisation: every tensor ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).</summary>
    /// <param name="parameters">The model's parameters (laid out with this layer registered).</param>
    /// <param name="random">The random source, seeded by the caller.</param>
    /// <remarks>fan_in is Dk for W, Dq for W_q, Dk for W_k and its bias, A for v.</remarks>
    public void InitializeParameters(ParameterSet parameters, Random random)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(random);
        _scorer.InitializeParameters(parameters, random);
    }

    // ------------------------------------------------------------------------------------------------
    // Per source batch: key projection and its backward.
    // ------------------------------------------------------------------------------------------------

    /// <summary>Starts a source batch: projects the keys once for every decoder step that follows.</summary>
    /// <param name="parameters">All parameter values (flat buffer).</param>
    /// <param name="keys">K: (B, S, Dk).</param>
    /// <param name="batch">B, 1..MaxBatch.</param>
    /// <param name="source">S, 1..MaxSource (the padded length of this batch).</param>
    /// <remarks>
    /// General: P = K Wᵀ (B·S, Dq), so that s_j = q · P_j. Additive: P = K W_kᵀ + b (B·S, A).
    /// Dot and ScaledDot: nothing to compute (P = K), or P = K Wᵀ (B·S, Dq) when Dk ≠ Dq. Drops any key gradient accumulated by Backward calls that
    /// were not followed by <see cref="PrepareKeysBackward"/>.
    /// </remarks>
    public void PrepareKeys(ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int batch, int source)
    {
        if ((uint)(batch - 1) >= (uint)MaxBatch || (uint)(source - 1) >= (uint)MaxSource)
        {
            ThrowCapacity(batch, source, 1);
        }
        int rows = batch * source;
        Guard.SameLength(keys.Length, rows * KeyDim, nameof(keys));
        int p = _projectedWidth;
        if (_dProjectedKeysDirty)
        {
            // a Backward without its PrepareKeysBackward: drop what it accumulated (normally PrepareKeysBackward clears)
            _dProjectedKeys.AsSpan(0, _batch * _source * p).Clear();
            _dProjectedKeysDirty = false;
        }
        _batch = batch;
        _source = source;
        _scorer.ProjectKeys(parameters, keys, rows, _projectedKeys);                     // P = project(K) (B·S, P)
    }

    /// <summary>Ends backprop of a source batch: turns the key-side gradient accumulated by every Backward call into dKeys and the key-projection gradients.</summary>
    /// <param name="parameters">All parameter values (unchanged since <see cref="PrepareKeys"/>).</param>
    /// <param name="keys">K: (B, S, Dk), as given to <see cref="PrepareKeys"/>.</param>
    /// <param name="gradients">All parameter gradients (flat buffer). Accumulated.</param>
    /// <param name="dKeys">dK: (B, S, Dk). Accumulated.</param>
    /// <remarks>
    /// With dP the accumulated gradient of the projected keys (B·S, P): Dot/ScaledDot: nothing left to do (or, with a key projection, as General). General:
    /// dW += dPᵀ K, dK += dP W. Additive: dW_k += dPᵀ K, db += Σ_rows dP, dK += dP W_k. The accumulator is
    /// cleared afterwards, so a second call adds nothing.
    /// </remarks>
    public void PrepareKeysBackward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, Span<float> gradients, Span<float> dKeys)
    {
        CheckPrepared();
        int rows = _batch * _source;
        int p = _projectedWidth;
        Guard.SameLength(keys.Length, rows * KeyDim, nameof(keys));
        Guard.SameLength(dKeys.Length, rows * KeyDim, nameof(dKeys));
        if (!_dProjectedKeysDirty)
        {
            return; // no Backward since the last call: nothing to add
        }
        Span<float> dP = _dProjectedKeys.AsSpan(0, rows * p);
        _scorer.ProjectKeysBackward(parameters, keys, rows, dP, gradients, dKeys);
        dP.Clear();
        _dProjectedKeysDirty = false;
    }

    // ------------------------------------------------------------------------------------------------
    // Forward: one decoder step (B queries) or T steps at once.
    // ------------------------------------------------------------------------------------------------

    /// <summary>One decoder step: weights and context for B queries, each against its own source row, masked by lengths.</summary>
    /// <param name="parameters">All parameter values.</param>
    /// <param name="query">Q: (B, Dq).</param>
    /// <param name="keys">K: (B, S, Dk), as given to <see cref="PrepareKeys"/>.</param>
    /// <param name="values">V: (B, S, Dv).</param>
    /// <param name="lengths">Empty (every position valid) or (B): valid prefix length of each source row, 0..S.</param>
    /// <param name="weights">a: (B, S), the alignment. Overwritten; padding gets exactly 0.</param>
    /// <param name="context">c: (B, Dv) = Σ_j a_j v_j. Overwritten; 0 for a row with no valid position.</param>
    /// <remarks>Effectively computes a_b = softmax over valid j of score(q_b, k_bj), c_b = Σ_j a_bj v_bj.</remarks>
    public void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> query, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        ReadOnlySpan<int> lengths, Span<float> weights, Span<float> context) =>
        ForwardCore(parameters, query, 1, keys, values, lengths, default, weights, context, default);

    /// <summary>
    /// One decoder step that also keeps the additive scorer's tanh layer, so that the matching
    /// <see cref="Backward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{int}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, Span{float}, ReadOnlySpan{float}, Span{float})"/>
    /// reads it instead of recomputing W_q q and tanh (training: B·S·A floats per step).
    /// </summary>
    /// <param name="parameters">All parameter values.</param>
    /// <param name="query">Q: (B, Dq).</param>
    /// <param name="keys">K: (B, S, Dk), as given to <see cref="PrepareKeys"/>.</param>
    /// <param name="values">V: (B, S, Dv).</param>
    /// <param name="lengths">Empty or (B): valid prefix length of each source row.</param>
    /// <param name="weights">a: (B, S). Overwritten.</param>
    /// <param name="context">c: (B, Dv). Overwritten.</param>
    /// <param name="hiddenCache">Additive only: (B, S, A) receives h_bj = tanh(W_q q_b + W_k k_bj + b) for the valid j
    /// (the rest is not written). Empty for the other scorers.</param>
    public void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> query, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        ReadOnlySpan<int> lengths, Span<float> weights, Span<float> context, Span<float> hiddenCache)
    {
        CheckHiddenCache(hiddenCache.Length);
        ForwardCore(parameters, query, 1, keys, values, lengths, default, weights, context, hiddenCache);
    }

    /// <summary>One decoder step, masked by an explicit (B, S) mask.</summary>
    /// <param name="parameters">All parameter values.</param>
    /// <param name="query">Q: (B, Dq).</param>
    /// <param name="keys">K: (B, S, Dk), as given to <see cref="PrepareKeys"/>.</param>
    /// <param name="values">V: (B, S, Dv).</param>
    /// <param name="mask">(B, S): true where a position may get weight.</param>
    /// <param name="weights">a: (B, S). Overwritten; masked positions get exactly 0.</param>
    /// <param name="context">c: (B, Dv). Overwritten; 0 for a fully masked row.</param>
    public void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> query, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        ReadOnlySpan<bool> mask, Span<float> weights, Span<float> context)
    {
        CheckMask(mask);
        ForwardCore(parameters, query, 1, keys, values, default, mask, weights, context, default);
    }

    /// <summary>T decoder steps at once (queries known in advance), masked by lengths. Dot, ScaledDot and General compute each row's scores as one GEMM.</summary>
    /// <param name="parameters">All parameter values.</param>
    /// <param name="queries">Q: (T, B, Dq).</param>
    /// <param name="steps">T, 1..MaxSteps.</param>
    /// <param name="keys">K: (B, S, Dk), as given to <see cref="PrepareKeys"/>.</param>
    /// <param name="values">V: (B, S, Dv).</param>
    /// <param name="lengths">Empty or (B): valid prefix length of each source row.</param>
    /// <param name="weights">a: (T, B, S). Overwritten.</param>
    /// <param name="context">c: (T, B, Dv). Overwritten.</param>
    public void ForwardSteps(ReadOnlySpan<float> parameters, ReadOnlySpan<float> queries, int steps, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        ReadOnlySpan<int> lengths, Span<float> weights, Span<float> context) =>
        ForwardCore(parameters, queries, steps, keys, values, lengths, default, weights, context, default);

    /// <summary>T decoder steps at once, masked by an explicit (B, S) mask shared by every step.</summary>
    /// <param name="parameters">All parameter values.</param>
    /// <param name="queries">Q: (T, B, Dq).</param>
    /// <param name="steps">T, 1..MaxSteps.</param>
    /// <param name="keys">K: (B, S, Dk).</param>
    /// <param name="values">V: (B, S, Dv).</param>
    /// <param name="mask">(B, S): true where a position may get weight.</param>
    /// <param name="weights">a: (T, B, S). Overwritten.</param>
    /// <param name="context">c: (T, B, Dv). Overwritten.</param>
    public void ForwardSteps(ReadOnlySpan<float> parameters, ReadOnlySpan<float> queries, int steps, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        ReadOnlySpan<bool> mask, Span<float> weights, Span<float> context)
    {
        CheckMask(mask);
        ForwardCore(parameters, queries, steps, keys, values, default, mask, weights, context, default);
    }

    private void ForwardCore(ReadOnlySpan<float> parameters, ReadOnlySpan<float> queries, int steps, ReadOnlySpan<float> keys, ReadOnlySpan<float> values,
        ReadOnlySpan<int> lengths, ReadOnlySpan<bool> mask, Span<float> weights, Span<float> context, Span<float> hiddenCache)
    {
        CheckStep(queries, steps, keys, values, lengths);
        int batch = _batch, source = _source, dq = QueryDim, dv = ValueDim, p = _projectedWidth;
        Guard.SameLength(weights.Length, steps * batch * source, nameof(weights));
        Guard.SameLength(context.Length, steps * batch * dv, nameof(context));
        ReadOnlySpan<float> projected = _scorer.ProjectsKeys ? _projectedKeys : keys;   // P: (B, S, P)
        float scale = _scorer.Scale;

        if (steps == 1 || !_scorer.Bilinear)
        {
            // one query row at a time: scores from the scorer, then the masked softmax and the context
            int qw = _scorer.QueryProjectionWidth;
            _scorer.ProjectQueries(parameters, queries, steps * batch, _projectedQueries);   // e.g. pq = W_q q for every step and row
            for (int t = 0; t < steps; t++)
            {
                for (int b = 0; b < batch; b++)
                {
                    int n = lengths.IsEmpty ? source : lengths[b];                          // keys that can get weight
                    int row = t * batch + b;
                    Span<float> a = weights.Slice(row * source, source);
                    _scorer.Scores(parameters, queries.Slice(row * dq, dq), _projectedQueries.AsSpan(row * qw, qw),
                        projected.Slice(b * source * p, n * p), n, a,
                        hiddenCache.IsEmpty ? hiddenCache : hiddenCache.Slice(b * source * p, n * p));   // (1) s_j = score(q, k_j)
                    MaskedSoftmax(a, n, mask.IsEmpty ? mask : mask.Slice(b * source, source));          // (2) a = softmax(s)
                    Gemv.MultiplyTransposed(values.Slice(b * source * dv, n * dv), n, dv, dv,
                        a.Slice(0, n), context.Slice(row * dv, dv), accumulate: false);                  // (3) c = Σ_j a_j v_j
                }
            }
            return;
        }

        // T steps of a bilinear scorer (s_j = α q · P_j): per source row b, the (T, S) score block is one GEMM,
        // and so is the (T, Dv) context block.
        for (int b = 0; b < batch; b++)
        {
            int n = lengths.IsEmpty ? source : lengths[b];
            Span<float> a = weights.Slice(b * source);                                     // (T, S) view, row stride B·S
            Gemm.Multiply(steps, n, p, queries.Slice(b * dq), batch * dq, Transpose.No,
                projected.Slice(b * source * p, n * p), p, Transpose.Yes,
                a, batch * source, accumulate: false);                                     // (1) S_b = Q_b P_bᵀ   (T, n)
            for (int t = 0; t < steps; t++)
            {
                Span<float> at = a.Slice(t * batch * source, source);
                if (scale != 1f)
                {
                    TensorPrimitives.Multiply(at.Slice(0, n), scale, at.Slice(0, n));      //     S_b *= α
                }
                MaskedSoftmax(at, n, mask.IsEmpty ? mask : mask.Slice(b * source, source)); // (2) A_b = softmax rows
            }
            Gemm.Multiply(steps, dv, n, a, batch * source, Transpose.No,
                values.Slice(b * source * dv, n * dv), dv, Transpose.No,
                context.Slice(b * dv), batch * dv, accumulate: false);                     // (3) C_b = A_b V_b   (T, Dv)
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Backward: walks the forward's numbered passes in reverse.
    // ------------------------------------------------------------------------------------------------

    /// <summary>Backward of one decoder step (<see cref="Forward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{int}, Span{float}, Span{float})"/>).</summary>
    /// <param name="dContext">dc: (B, Dv), upstream gradient of the context.</param>
    /// <param name="dWeights">Empty, or da: (B, S), upstream gradient of the weights (e.g. a coverage or alignment loss).</param>
    /// <param name="parameters">All parameter values.</param>
    /// <param name="query">Q: (B, Dq), as given to forward.</param>
    /// <param name="keys">K: (B, S, Dk).</param>
    /// <param name="values">V: (B, S, Dv).</param>
    /// <param name="lengths">The lengths given to forward, or empty (always correct: masked positions have weight 0, hence 0 gradient; lengths only skip work).</param>
    /// <param name="weights">a: (B, S), forward's output.</param>
    /// <param name="gradients">All parameter gradients. Accumulated (W_q, v; the key-side ones in <see cref="PrepareKeysBackward"/>).</param>
    /// <param name="dQuery">dQ: (B, Dq). Accumulated.</param>
    /// <param name="dKeys">dK: (B, S, Dk). Accumulated (Dot, ScaledDot); pass the same span to <see cref="PrepareKeysBackward"/>.</param>
    /// <param name="dValues">dV: (B, S, Dv). Accumulated.</param>
    /// <remarks>
    /// Dot and ScaledDot (Dq = Dk) add the keys' gradient to <paramref name="dKeys"/> here. General, Additive and projected Dot score
    /// against projected keys: their gradient is accumulated internally over all steps and reaches
    /// <paramref name="dKeys"/> (and W, or W_k and b) in <see cref="PrepareKeysBackward"/>, with one GEMM.
    /// Either way, dKeys is complete once <see cref="PrepareKeysBackward"/> has run.
    /// </remarks>
    public void Backward(ReadOnlySpan<float> dContext, ReadOnlySpan<float> dWeights, ReadOnlySpan<float> parameters,
        ReadOnlySpan<float> query, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, ReadOnlySpan<int> lengths, ReadOnlySpan<float> weights,
        Span<float> gradients, Span<float> dQuery, Span<float> dKeys, Span<float> dValues) =>
        BackwardCore(dContext, dWeights, parameters, query, 1, keys, values, lengths, weights, gradients, dQuery, dKeys, dValues, default, default);

    /// <summary>
    /// Backward of one decoder step run with a kept tanh layer (additive scorer), optionally leaving dW_q to
    /// <see cref="AccumulateQueryWeightGradient"/> (one GEMM over all steps instead of one per step).
    /// </summary>
    /// <param name="dContext">dc: (B, Dv).</param>
    /// <param name="dWeights">Empty, or da: (B, S).</param>
    /// <param name="parameters">All parameter values.</param>
    /// <param name="query">Q: (B, Dq), as given to forward.</param>
    /// <param name="keys">K: (B, S, Dk).</param>
    /// <param name="values">V: (B, S, Dv).</param>
    /// <param name="lengths">The lengths given to forward, or empty.</param>
    /// <param name="weights">a: (B, S), forward's output.</param>
    /// <param name="gradients">All parameter gradients. Accumulated.</param>
    /// <param name="dQuery">dQ: (B, Dq). Accumulated.</param>
    /// <param name="dKeys">dK: (B, S, Dk). Accumulated (see the other overload).</param>
    /// <param name="dValues">dV: (B, S, Dv). Accumulated.</param>
    /// <param name="hiddenCache">Additive: (B, S, A) as filled by the forward step, or empty to recompute it.</param>
    /// <param name="dProjectedQueryOut">Additive: (B, A) receives d(W_q q) (overwritten) and dW_q is not accumulated here;
    /// or empty to accumulate dW_q here.</param>
    public void Backward(ReadOnlySpan<float> dContext, ReadOnlySpan<float> dWeights, ReadOnlySpan<float> parameters,
        ReadOnlySpan<float> query, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, ReadOnlySpan<int> lengths, ReadOnlySpan<float> weights,
        Span<float> gradients, Span<float> dQuery, Span<float> dKeys, Span<float> dValues,
        ReadOnlySpan<float> hiddenCache, Span<float> dProjectedQueryOut)
    {
        CheckHiddenCache(hiddenCache.Length);
        if (!dProjectedQueryOut.IsEmpty)
        {
            if (Additive is null)
            {
                throw new ArgumentException("Only the additive scorer has a projected query.", nameof(dProjectedQueryOut));
            }
            Guard.SameLength(dProjectedQueryOut.Length, _batch * AttentionDim, nameof(dProjectedQueryOut));
        }
        BackwardCore(dContext, dWeights, parameters, query, 1, keys, values, lengths, weights, gradients, dQuery, dKeys, dValues, hiddenCache, dProjectedQueryOut);
    }

    /// <summary>dW_q += dPQᵀ Q over N stored query rows (the deferred part of the additive backward).</summary>
    /// <param name="gradients">All parameter gradients. Accumulated.</param>
    /// <param name="rows">N, e.g. T·B.</param>
    /// <param name="dProjectedQueries">(N, A) as stored by the Backward overload with <c>dProjectedQueryOut</c>.</param>
    /// <param name="queries">(N, Dq) the queries of those rows, in the same order.</param>
    public void AccumulateQueryWeightGradient(Span<float> gradients, int rows, ReadOnlySpan<float> dProjectedQueries, ReadOnlySpan<float> queries)
    {
        AdditiveScorer additive = Additive ?? throw new InvalidOperationException("Only the additive scorer has a query weight.");
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 0);
        int a = AttentionDim, dq = QueryDim;
        Guard.Length(dProjectedQueries.Length, rows * a, nameof(dProjectedQueries));
        Guard.Length(queries.Length, rows * dq, nameof(queries));
        additive.AccumulateQueryWeightGradient(gradients, rows, dProjectedQueries, queries); // dW_q += dPQᵀ Q
    }

    /// <summary>Backward of T decoder steps (<see cref="ForwardSteps(ReadOnlySpan{float}, ReadOnlySpan{float}, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{int}, Span{float}, Span{float})"/>).</summary>
    /// <param name="dContext">dc: (T, B, Dv).</param>
    /// <param name="dWeights">Empty, or da: (T, B, S).</param>
    /// <param name="parameters">All parameter values.</param>
    /// <param name="queries">Q: (T, B, Dq).</param>
    /// <param name="steps">T.</param>
    /// <param name="keys">K: (B, S, Dk).</param>
    /// <param name="values">V: (B, S, Dv).</param>
    /// <param name="lengths">The lengths given to forward, or empty.</param>
    /// <param name="weights">a: (T, B, S), forward's output.</param>
    /// <param name="gradients">All parameter gradients. Accumulated.</param>
    /// <param name="dQueries">dQ: (T, B, Dq). Accumulated.</param>
    /// <param name="dKeys">dK: (B, S, Dk). Accumulated, completed by <see cref="PrepareKeysBackward"/> (see <see cref="Backward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{int}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, Span{float})"/>).</param>
    /// <param name="dValues">dV: (B, S, Dv). Accumulated.</param>
    public void BackwardSteps(ReadOnlySpan<float> dContext, ReadOnlySpan<float> dWeights, ReadOnlySpan<float> parameters,
        ReadOnlySpan<float> queries, int steps, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, ReadOnlySpan<int> lengths, ReadOnlySpan<float> weights,
        Span<float> gradients, Span<float> dQueries, Span<float> dKeys, Span<float> dValues) =>
        BackwardCore(dContext, dWeights, parameters, queries, steps, keys, values, lengths, weights, gradients, dQueries, dKeys, dValues, default, default);

    private void BackwardCore(ReadOnlySpan<float> dContext, ReadOnlySpan<float> dWeights, ReadOnlySpan<float> parameters,
        ReadOnlySpan<float> queries, int steps, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, ReadOnlySpan<int> lengths, ReadOnlySpan<float> weights,
        Span<float> gradients, Span<float> dQueries, Span<float> dKeys, Span<float> dValues, ReadOnlySpan<float> hiddenCache, Span<float> dProjectedQueryOut)
    {
        CheckStep(queries, steps, keys, values, lengths);
        int batch = _batch, source = _source, dq = QueryDim, dv = ValueDim, p = _projectedWidth;
        Guard.SameLength(dContext.Length, steps * batch * dv, nameof(dContext));
        if (!dWeights.IsEmpty)
        {
            Guard.SameLength(dWeights.Length, steps * batch * source, nameof(dWeights));
        }
        Guard.SameLength(weights.Length, steps * batch * source, nameof(weights));
        Guard.SameLength(dQueries.Length, steps * batch * dq, nameof(dQueries));
        Guard.SameLength(dKeys.Length, batch * source * KeyDim, nameof(dKeys));
        Guard.SameLength(dValues.Length, batch * source * dv, nameof(dValues));
        bool direct = !_scorer.ProjectsKeys;
        ReadOnlySpan<float> projected = direct ? keys : _projectedKeys;
        Span<float> dProjected = direct ? dKeys : _dProjectedKeys;            // P = K: dP is dK itself
        _dProjectedKeysDirty |= !direct;
        float scale = _scorer.Scale;

        if (steps == 1 || !_scorer.Bilinear)
        {
            // one query row at a time, the forward's passes in reverse: context and softmax here, scores in the scorer
            int qw = _scorer.QueryProjectionWidth;
            bool kept = !hiddenCache.IsEmpty;                               // the forward kept the scorer's hidden layer: no recomputation
            if (!kept)
            {
                _scorer.ProjectQueries(parameters, queries, steps * batch, _projectedQueries);   // recompute: cheaper to redo than to keep per step
            }
            Span<float> dpqAll = dProjectedQueryOut.IsEmpty ? _dProjectedQueries.AsSpan(0, steps * batch * qw) : dProjectedQueryOut;
            dpqAll.Clear();
            for (int t = 0; t < steps; t++)
            {
                for (int b = 0; b < batch; b++)
                {
                    int n = lengths.IsEmpty ? source : lengths[b];
                    int row = t * batch + b;
                    Span<float> ds = _dScores.AsSpan(0, n);
                    ScoresBackward(dContext.Slice(row * dv, dv), dWeights.IsEmpty ? dWeights : dWeights.Slice(row * source, n),
                        values.Slice(b * source * dv, n * dv), weights.Slice(row * source, n), n, dValues.Slice(b * source * dv, n * dv), ds); // (3), (2)
                    _scorer.ScoresBackward(parameters, ds, queries.Slice(row * dq, dq), _projectedQueries.AsSpan(row * qw, qw),
                        projected.Slice(b * source * p, n * p), n, kept ? hiddenCache.Slice(b * source * p, n * p) : default,
                        gradients, dQueries.Slice(row * dq, dq), dpqAll.Slice(row * qw, qw), dProjected.Slice(b * source * p, n * p)); // (1)
                }
            }
            if (qw > 0)
            {
                _scorer.QueriesBackward(parameters, queries, steps * batch, dpqAll, gradients, dQueries,
                    accumulateQueryWeight: dProjectedQueryOut.IsEmpty);   // the query projection, every step and row at once
            }
            return;
        }

        for (int b = 0; b < batch; b++)
        {
            int n = lengths.IsEmpty ? source : lengths[b];
            if (n == 0)
            {
                continue; // no valid position: zero weights, zero context, zero gradient
            }
            ReadOnlySpan<float> a = weights.Slice(b * source);                             // (T, S) view, row stride B·S
            ReadOnlySpan<float> dc = dContext.Slice(b * dv);                               // (T, Dv) view, row stride B·Dv
            ReadOnlySpan<float> vb = values.Slice(b * source * dv, n * dv);                // (n, Dv)
            Span<float> ds = _dScores.AsSpan(0, steps * n);                                // (T, n)
            // (3) C_b = A_b V_b  ->  dA_b = dC_b V_bᵀ ;  dV_b += A_bᵀ dC_b
            Gemm.Multiply(steps, n, dv, dc, batch * dv, Transpose.No, vb, dv, Transpose.Yes, ds, n, accumulate: false);
            Gemm.Multiply(n, dv, steps, a, batch * source, Transpose.Yes, dc, batch * dv, Transpose.No,
                dValues.Slice(b * source * dv, n * dv), dv, accumulate: true);
            // (2) A_b = softmax rows  ->  dS_t = a_t ⊙ (dA_t - a_t · dA_t)
            for (int t = 0; t < steps; t++)
            {
                Span<float> dst = ds.Slice(t * n, n);
                int row = t * batch + b;
                if (!dWeights.IsEmpty)
                {
                    TensorPrimitives.Add(dst, dWeights.Slice(row * source, n), dst);
                }
                SoftmaxBackwardInPlace(weights.Slice(row * source, n), dst);
                if (scale != 1f)
                {
                    TensorPrimitives.Multiply(dst, scale, dst);                           //     S_b = α Q_b P_bᵀ
                }
            }
            // (1) S_b = Q_b P_bᵀ  ->  dQ_b += dS_b P_b ;  dP_b += dS_bᵀ Q_b
            ReadOnlySpan<float> pb = projected.Slice(b * source * p, n * p);
            Gemm.Multiply(steps, p, n, ds, n, Transpose.No, pb, p, Transpose.No, dQueries.Slice(b * dq), batch * dq, accumulate: true);
            Gemm.Multiply(n, p, steps, ds, n, Transpose.Yes, queries.Slice(b * dq), batch * dq, Transpose.No,
                dProjected.Slice(b * source * p, n * p), p, accumulate: true);
        }
    }
}
