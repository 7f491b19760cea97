using System.Numerics.Tensors;
using SpanAttention.Kernels;
using SpanAttention.Parameters;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Attention.Scorers;

/// <summary>
/// Additive (Bahdanau "concat"): s_j = v · tanh(W_q q + W_k k_j + b), W_q: [A, Dq], W_k: [A, Dk], b: [A], v: [1, A].
/// </summary>
/// <remarks>
/// <para>Passes (docs/derivations/attention.md): (0) P = K W_kᵀ + b once per source batch; (1) pq = W_q q per
/// query row; (2) h_j = tanh(pq + P_j); (3) s_j = v · h_j. Training may keep h (B, S, A) per step so that the
/// backward does not recompute (1) and (2).</para>
/// <para>PyTorch: <c>{prefix}W_q.weight</c> [A, Dq] (<c>nn.Linear(Dq, A, bias=False)</c>), <c>{prefix}W_k.weight</c> [A, Dk]
/// and <c>{prefix}W_k.bias</c> [A] (<c>nn.Linear(Dk, A)</c>), <c>{prefix}v.weight</c> [1, A] (<c>nn.Linear(A, 1, bias=False)</c>).</para>
/// </remarks>
internal sealed class AdditiveScorer : IAttentionScorer
{
    private readonly int _queryDim;
    private readonly int _keyDim;
    private readonly int _attentionDim;
    private readonly float[] _dHidden;          // (A): ds_j v of one key

    private ParameterSlot? _queryWeight;        // W_q [A, Dq]
    private ParameterSlot? _keyWeight;          // W_k [A, Dk]
    private ParameterSlot? _keyBias;            // b [A]
    private ParameterSlot? _scoreWeight;        // v [1, A]

    /// <summary>Creates the scorer; A ≥ 1.</summary>
    public AdditiveScorer(int queryDim, int keyDim, int attentionDim)
    {
        if (attentionDim <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(attentionDim), $"{nameof(attentionDim)}: must be positive, got {attentionDim}.");
        }
        _queryDim = queryDim;
        _keyDim = keyDim;
        _attentionDim = attentionDim;
        _dHidden = new float[attentionDim];
    }

    /// <summary>W_q [A, Dq].</summary>
    public ParameterSlot? QueryWeight => _queryWeight;

    /// <summary>W_k [A, Dk].</summary>
    public ParameterSlot? KeyWeight => _keyWeight;

    /// <summary>b [A] (PyTorch: the bias of the key Linear).</summary>
    public ParameterSlot? KeyBias => _keyBias;

    /// <summary>v [1, A].</summary>
    public ParameterSlot? ScoreWeight => _scoreWeight;

    /// <inheritdoc/>
    public AttentionScorer Kind => AttentionScorer.Additive;

    /// <inheritdoc/>
    public int ProjectedWidth => _attentionDim;

    /// <inheritdoc/>
    public bool ProjectsKeys => true;

    /// <inheritdoc/>
    public int QueryProjectionWidth => _attentionDim;

    /// <inheritdoc/>
    public bool Bilinear => false;

    /// <inheritdoc/>
    public float Scale => 1f;

    /// <inheritdoc/>
    public void RegisterParameters(ParameterLayout layout, string prefix)
    {
        _queryWeight = layout.Add(prefix + "W_q.weight", _attentionDim, _queryDim);
        _keyWeight = layout.Add(prefix + "W_k.weight", _attentionDim, _keyDim);
        _keyBias = layout.Add(prefix + "W_k.bias", _attentionDim);
        _scoreWeight = layout.Add(prefix + "v.weight", 1, _attentionDim);
    }

    /// <inheritdoc/>
    /// <remarks>fan_in is Dq for W_q, Dk for W_k and its bias, A for v.</remarks>
    public void InitializeParameters(ParameterSet parameters, Random random)
    {
        parameters.InitializeUniform(AttentionLayer.Registered(_queryWeight), 1f / MathF.Sqrt(_queryDim), random);
        parameters.InitializeUniform(AttentionLayer.Registered(_keyWeight), 1f / MathF.Sqrt(_keyDim), random);
        parameters.InitializeUniform(AttentionLayer.Registered(_keyBias), 1f / MathF.Sqrt(_keyDim), random);
        parameters.InitializeUniform(AttentionLayer.Registered(_scoreWeight), 1f / MathF.Sqrt(_attentionDim), random);
    }

    /// <inheritdoc/>
    public void ProjectKeys(ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, Span<float> projected)
    {
        int p = _attentionDim;
        ReadOnlySpan<float> wk = AttentionLayer.Registered(_keyWeight).Of(parameters);         // (A, Dk)
        Span<float> pk = projected.Slice(0, rows * p);
        Gemm.Multiply(rows, p, _keyDim, keys, _keyDim, Transpose.No,
            wk, _keyDim, Transpose.Yes, pk, p, accumulate: false);                                // (0) P = K W_kᵀ (B·S, A)
        AddBias(AttentionLayer.Registered(_keyBias).Of(parameters), rows, pk);                   //     P_r += b
    }

    /// <inheritdoc/>
    public void ProjectKeysBackward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, ReadOnlySpan<float> dProjected,
        Span<float> gradients, Span<float> dKeys)
    {
        // (0) P = K W_kᵀ + b
        int p = _attentionDim, dk = _keyDim;
        ReadOnlySpan<float> wk = AttentionLayer.Registered(_keyWeight).Of(parameters);         // (A, Dk)
        Span<float> dWk = _keyWeight!.Of(gradients);
        Span<float> db = _keyBias!.Of(gradients);
        Gemm.Multiply(p, dk, rows, dProjected, p, Transpose.Yes, keys, dk, Transpose.No, dWk, dk, accumulate: true);    // dW_k += dPᵀ K
        for (int r = 0; r < rows; r++)
        {
            TensorPrimitives.Add(db, dProjected.Slice(r * p, p), db);                                                  // db += Σ_r dP_r
        }
        Gemm.Multiply(rows, dk, p, dProjected, p, Transpose.No, wk, dk, Transpose.No, dKeys, dk, accumulate: true);     // dK += dP W_k
    }

    /// <inheritdoc/>
    /// <remarks>
    /// One row (a batch-1 step) is a matrix-vector product, pq = W_q q, read straight from W_q (A, Dq): a one-row
    /// GEMM would pack all of W_qᵀ for a single row at every step.
    /// </remarks>
    public void ProjectQueries(ReadOnlySpan<float> parameters, ReadOnlySpan<float> queries, int rows, Span<float> projectedQueries)
    {
        int a = _attentionDim, dq = _queryDim;
        ReadOnlySpan<float> wq = AttentionLayer.Registered(_queryWeight).Of(parameters);       // (A, Dq)
        Span<float> pq = projectedQueries.Slice(0, rows * a);
        if (rows == 1)
        {
            Gemv.Multiply(wq, a, dq, dq, queries.Slice(0, dq), pq, accumulate: false);            // (1) pq = W_q q   (A)
            return;
        }
        Gemm.Multiply(rows, a, dq, queries, dq, Transpose.No, wq, dq, Transpose.Yes, pq, a, accumulate: false); // (1) (rows, A) = Q W_qᵀ
    }

    /// <inheritdoc/>
    public void Scores(ReadOnlySpan<float> parameters, ReadOnlySpan<float> query, ReadOnlySpan<float> projectedQuery, ReadOnlySpan<float> projectedKeys,
        int n, Span<float> scores, Span<float> hidden)
    {
        int p = _attentionDim;
        ReadOnlySpan<float> v = AttentionLayer.Registered(_scoreWeight).Of(parameters);        // (A)
        ReadOnlySpan<float> pk = projectedKeys.Slice(0, n * p);
        if (hidden.IsEmpty)
        {
            AdditiveScores.Forward(projectedQuery, pk, n, v, scores.Slice(0, n));                  // (2)+(3) s_j = v · tanh(pq + P_j), fused
            return;
        }
        Span<float> h = hidden.Slice(0, n * p);
        AdditiveScores.Hidden(projectedQuery, pk, n, h);                                           // (2) h_j = tanh(pq + P_j)   (n, A), kept
        Gemv.Multiply(h, n, p, p, v, scores.Slice(0, n), accumulate: false);                      // (3) s_j = v · h_j
    }

    /// <inheritdoc/>
    public void ScoresBackward(ReadOnlySpan<float> parameters, Span<float> dScores, ReadOnlySpan<float> query, ReadOnlySpan<float> projectedQuery,
        ReadOnlySpan<float> projectedKeys, int n, ReadOnlySpan<float> hidden, Span<float> gradients, Span<float> dQuery,
        Span<float> dProjectedQuery, Span<float> dProjectedKeys)
    {
        int p = _attentionDim;
        ReadOnlySpan<float> v = AttentionLayer.Registered(_scoreWeight).Of(parameters);
        Span<float> dScoreWeight = _scoreWeight!.Of(gradients);
        Span<float> ds = dScores.Slice(0, n);
        Span<float> dpk = dProjectedKeys.Slice(0, n * p);
        if (hidden.IsEmpty)
        {
            // (3), (2) in one pass, h_j recomputed: dv += Σ_j ds_j h_j ; dpk_j += ds_j v ⊙ (1 - h_j²) ; dpq += Σ_j the same
            AdditiveScores.Backward(projectedQuery, projectedKeys.Slice(0, n * p), n, v, ds, dScoreWeight, dProjectedQuery, dpk);
            return;
        }
        ReadOnlySpan<float> h = hidden.Slice(0, n * p);
        // (3) s_j = v · h_j  ->  dv += Σ_j ds_j h_j ;  dh_j = ds_j v
        Gemv.MultiplyTransposed(h, n, p, p, ds, dScoreWeight, accumulate: true);
        // (2) h_j = tanh(pq + pk_j)  ->  dpk_j += dh_j ⊙ (1 - h_j²) ;  dpq += Σ_j dh_j ⊙ (1 - h_j²)
        Span<float> dh = _dHidden;
        for (int j = 0; j < n; j++)
        {
            if (ds[j] == 0f)
            {
                continue; // masked (or saturated) position: nothing flows back
            }
            TensorPrimitives.Multiply(v, ds[j], dh);
            ReadOnlySpan<float> hj = h.Slice(j * p, p);
            Activations.TanhBackward(hj, dh, dpk.Slice(j * p, p));
            Activations.TanhBackward(hj, dh, dProjectedQuery);
        }
    }

    /// <inheritdoc/>
    public void QueriesBackward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> queries, int rows, ReadOnlySpan<float> dProjectedQueries,
        Span<float> gradients, Span<float> dQueries, bool accumulateQueryWeight)
    {
        // (1) pq = W_q q  ->  dW_q += dpqᵀ Q ; dQ += dpq W_q, for every step and row at once
        int p = _attentionDim, dq = _queryDim;
        ReadOnlySpan<float> wq = AttentionLayer.Registered(_queryWeight).Of(parameters);
        if (accumulateQueryWeight)
        {
            AccumulateQueryWeightGradient(gradients, rows, dProjectedQueries, queries);
        }
        if (rows == 1)
        {
            Gemv.MultiplyTransposed(wq, p, dq, dq, dProjectedQueries.Slice(0, p), dQueries.Slice(0, dq), accumulate: true);   // (Dq) += W_qᵀ dpq: batch 1, no packing
        }
        else
        {
            Gemm.Multiply(rows, dq, p, dProjectedQueries, p, Transpose.No, wq, dq, Transpose.No, dQueries, dq, accumulate: true);
        }
    }

    /// <summary>dW_q += dPQᵀ Q over <paramref name="rows"/> query rows: dPQ (rows, A), Q (rows, Dq).</summary>
    public void AccumulateQueryWeightGradient(Span<float> gradients, int rows, ReadOnlySpan<float> dProjectedQueries, ReadOnlySpan<float> queries) =>
        Gemm.Multiply(_attentionDim, _queryDim, rows, dProjectedQueries, _attentionDim, Transpose.Yes, queries, _queryDim, Transpose.No,
            _queryWeight!.Of(gradients), _queryDim, accumulate: true);

    /// <inheritdoc/>
    public void ProjectKeysPrepared(InferenceWeights weights, ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, Span<float> projected)
    {
        int p = _attentionDim;
        Span<float> pk = projected.Slice(0, rows * p);
        Gemm.Multiply(rows, keys, _keyDim, Transpose.No, weights.KeyWeightT!, pk, p, accumulate: false);          // (0) P = K W_kᵀ (packed)
        AddBias(AttentionLayer.Registered(_keyBias).Of(parameters), rows, pk);                                   //     P_r += b
    }

    /// <inheritdoc/>
    public void ScoresPrepared(InferenceWeights weights, ReadOnlySpan<float> parameters, ReadOnlySpan<float> query, ReadOnlySpan<float> projectedKeys,
        int n, Span<float> projectedQuery, Span<float> scores)
    {
        Gemv.Multiply(weights.QueryWeight!, query, projectedQuery, accumulate: false);                             // (1) pq = W_q q (packed)
        Scores(parameters, query, projectedQuery, projectedKeys, n, scores, default);                               // (2)+(3)
    }

    private static void AddBias(ReadOnlySpan<float> bias, int rows, Span<float> projected)
    {
        int p = bias.Length;
        for (int r = 0; r < rows; r++)
        {
            Span<float> row = projected.Slice(r * p, p);
            TensorPrimitives.Add(row, bias, row);
        }
    }
}
