using System.Numerics.Tensors;
using SpanAttention.Kernels;
using SpanAttention.Parameters;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Attention.Scorers;

/// <summary>
/// Dot product (Luong "dot"): s_j = q · k_j. No parameters when Dq = Dk (the keys are used as they are, P = K).
/// When the widths differ (a bidirectional encoder's 2H-wide keys against an H-wide query), the keys are first
/// mapped into the query's space by a learned <see cref="KeyProjection"/>, P = K Wᵀ with W: [Dq, Dk], and
/// s_j = q · P_j: the general score's form, kept under the dot scorer's name.
/// </summary>
/// <remarks>PyTorch: the projection is <c>{prefix}key_proj.weight</c> [Dq, Dk], <c>nn.Linear(Dk, Dq, bias=False)</c>
/// applied to the keys; it exists only when Dq ≠ Dk.</remarks>
internal class DotScorer : IAttentionScorer
{
    private readonly KeyProjection? _projection;    // null when Dq = Dk

    /// <summary>Creates the scorer; a key projection is added when <paramref name="queryDim"/> ≠ <paramref name="keyDim"/>.</summary>
    public DotScorer(int queryDim, int keyDim)
    {
        QueryDim = queryDim;
        _projection = queryDim != keyDim ? new KeyProjection(queryDim, keyDim) : null;
    }

    /// <inheritdoc/>
    public virtual AttentionScorer Kind => AttentionScorer.Dot;

    /// <summary>Dq, the width both sides of the dot product have (the keys' after projection).</summary>
    protected int QueryDim { get; }

    /// <summary>W [Dq, Dk] of the key projection; null when Dq = Dk or before <see cref="RegisterParameters"/>.</summary>
    public ParameterSlot? KeyProjectionWeight => _projection?.Weight;

    /// <inheritdoc/>
    public int ProjectedWidth => QueryDim;

    /// <inheritdoc/>
    public bool ProjectsKeys => _projection is not null;

    /// <inheritdoc/>
    public int QueryProjectionWidth => 0;

    /// <inheritdoc/>
    public bool Bilinear => true;

    /// <inheritdoc/>
    public virtual float Scale => 1f;

    /// <inheritdoc/>
    /// <remarks>Only the key projection, when there is one: <c>{prefix}key_proj.weight</c> [Dq, Dk].</remarks>
    public void RegisterParameters(ParameterLayout layout, string prefix) => _projection?.RegisterParameters(layout, prefix + "key_proj.weight");

    /// <inheritdoc/>
    public void InitializeParameters(ParameterSet parameters, Random random) => _projection?.InitializeParameters(parameters, random);

    /// <inheritdoc/>
    public void ProjectKeys(ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, Span<float> projected) =>
        _projection?.Forward(parameters, keys, rows, projected);                                 // P = K Wᵀ (B·S, Dq), or P = K

    /// <inheritdoc/>
    public void ProjectKeysBackward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, ReadOnlySpan<float> dProjected,
        Span<float> gradients, Span<float> dKeys) =>
        _projection?.Backward(parameters, keys, rows, dProjected, gradients, dKeys);             // dW += dPᵀ K ; dK += dP W (P = K: the layer accumulated dP into dK itself)

    /// <inheritdoc/>
    public void ProjectQueries(ReadOnlySpan<float> parameters, ReadOnlySpan<float> queries, int rows, Span<float> projectedQueries)
    {
    }

    /// <inheritdoc/>
    public void Scores(ReadOnlySpan<float> parameters, ReadOnlySpan<float> query, ReadOnlySpan<float> projectedQuery, ReadOnlySpan<float> projectedKeys,
        int n, Span<float> scores, Span<float> hidden) => BilinearScores(projectedKeys, n, query, Scale, scores);

    /// <inheritdoc/>
    public void ScoresBackward(ReadOnlySpan<float> parameters, Span<float> dScores, ReadOnlySpan<float> query, ReadOnlySpan<float> projectedQuery,
        ReadOnlySpan<float> projectedKeys, int n, ReadOnlySpan<float> hidden, Span<float> gradients, Span<float> dQuery,
        Span<float> dProjectedQuery, Span<float> dProjectedKeys) => BilinearScoresBackward(dScores, query, projectedKeys, n, Scale, dQuery, dProjectedKeys);

    /// <inheritdoc/>
    public void QueriesBackward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> queries, int rows, ReadOnlySpan<float> dProjectedQueries,
        Span<float> gradients, Span<float> dQueries, bool accumulateQueryWeight)
    {
    }

    /// <inheritdoc/>
    public void ProjectKeysPrepared(InferenceWeights weights, ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, Span<float> projected) =>
        _projection?.ForwardPrepared(weights, keys, rows, projected);                            // P = K Wᵀ, or nothing (P = K)

    /// <inheritdoc/>
    public void ScoresPrepared(InferenceWeights weights, ReadOnlySpan<float> parameters, ReadOnlySpan<float> query, ReadOnlySpan<float> projectedKeys,
        int n, Span<float> projectedQuery, Span<float> scores) => BilinearScores(projectedKeys, n, query, Scale, scores);

    /// <summary>s_j = α (P_j · q) for the n rows of P (n, P). Shared by Dot, ScaledDot and General.</summary>
    internal static void BilinearScores(ReadOnlySpan<float> projectedKeys, int n, ReadOnlySpan<float> query, float scale, Span<float> scores)
    {
        int p = query.Length;
        Gemv.Multiply(projectedKeys.Slice(0, n * p), n, p, p, query, scores.Slice(0, n), accumulate: false);   // s_j = P_j · q
        if (scale != 1f)
        {
            TensorPrimitives.Multiply(scores.Slice(0, n), scale, scores.Slice(0, n));                          //     s_j *= α
        }
    }

    /// <summary>Backward of <see cref="BilinearScores"/>: ds *= α (in place); dq += Pᵀ ds; dP_j += ds_j q.</summary>
    internal static void BilinearScoresBackward(Span<float> dScores, ReadOnlySpan<float> query, ReadOnlySpan<float> projectedKeys, int n, float scale,
        Span<float> dQuery, Span<float> dProjectedKeys)
    {
        int p = query.Length;
        Span<float> ds = dScores.Slice(0, n);
        if (scale != 1f)
        {
            TensorPrimitives.Multiply(ds, scale, ds);                                                          // s_j = α (q · P_j)
        }
        Gemv.MultiplyTransposed(projectedKeys.Slice(0, n * p), n, p, p, ds, dQuery, accumulate: true);        // dq += Pᵀ ds
        AttentionLayer.AddOuter(ds, query, dProjectedKeys.Slice(0, n * p));                                     // dP_j += ds_j q
    }
}
