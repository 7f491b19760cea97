using SpanAttention.Parameters;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Attention.Scorers;

/// <summary>
/// Bilinear (Luong "general"): s_j = q · (W k_j), W: [Dq, Dk]. The keys are projected once per source batch,
/// P = K Wᵀ (B·S, Dq), so every step is a dot product s_j = q · P_j.
/// </summary>
/// <remarks>PyTorch: <c>{prefix}W.weight</c> [Dq, Dk] is <c>nn.Linear(Dk, Dq, bias=False)</c> applied to the keys.</remarks>
internal sealed class GeneralScorer : IAttentionScorer
{
    private readonly int _queryDim;
    private readonly KeyProjection _projection; // P = K Wᵀ, W [Dq, Dk]

    /// <summary>Creates the scorer.</summary>
    public GeneralScorer(int queryDim, int keyDim)
    {
        _queryDim = queryDim;
        _projection = new KeyProjection(queryDim, keyDim);
    }

    /// <summary>W [Dq, Dk]; null before <see cref="RegisterParameters"/>.</summary>
    public ParameterSlot? Weight => _projection.Weight;

    /// <inheritdoc/>
    public AttentionScorer Kind => AttentionScorer.General;

    /// <inheritdoc/>
    public int ProjectedWidth => _queryDim;

    /// <inheritdoc/>
    public bool ProjectsKeys => true;

    /// <inheritdoc/>
    public int QueryProjectionWidth => 0;

    /// <inheritdoc/>
    public bool Bilinear => true;

    /// <inheritdoc/>
    public float Scale => 1f;

    /// <inheritdoc/>
    public void RegisterParameters(ParameterLayout layout, string prefix) => _projection.RegisterParameters(layout, prefix + "W.weight");

    /// <inheritdoc/>
    /// <remarks>fan_in = Dk.</remarks>
    public void InitializeParameters(ParameterSet parameters, Random random) => _projection.InitializeParameters(parameters, random);

    /// <inheritdoc/>
    public void ProjectKeys(ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, Span<float> projected) =>
        _projection.Forward(parameters, keys, rows, projected);                                  // P = K Wᵀ (B·S, Dq)

    /// <inheritdoc/>
    public void ProjectKeysBackward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, ReadOnlySpan<float> dProjected,
        Span<float> gradients, Span<float> dKeys) =>
        _projection.Backward(parameters, keys, rows, dProjected, gradients, dKeys);              // dW += dPᵀ K ; dK += dP W

    /// <inheritdoc/>
    public void ProjectQueries(ReadOnlySpan<float> parameters, ReadOnlySpan<float> queries, int rows, Span<float> projectedQueries)
    {
    }

    /// <inheritdoc/>
    public void Scores(ReadOnlySpan<float> parameters, ReadOnlySpan<float> query, ReadOnlySpan<float> projectedQuery, ReadOnlySpan<float> projectedKeys,
        int n, Span<float> scores, Span<float> hidden) => DotScorer.BilinearScores(projectedKeys, n, query, 1f, scores);   // s_j = P_j · q

    /// <inheritdoc/>
    public void ScoresBackward(ReadOnlySpan<float> parameters, Span<float> dScores, ReadOnlySpan<float> query, ReadOnlySpan<float> projectedQuery,
        ReadOnlySpan<float> projectedKeys, int n, ReadOnlySpan<float> hidden, Span<float> gradients, Span<float> dQuery,
        Span<float> dProjectedQuery, Span<float> dProjectedKeys) =>
        DotScorer.BilinearScoresBackward(dScores, query, projectedKeys, n, 1f, dQuery, dProjectedKeys);              // dq += Pᵀ ds ; dP_j += ds_j q

    /// <inheritdoc/>
    public void QueriesBackward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> queries, int rows, ReadOnlySpan<float> dProjectedQueries,
        Span<float> gradients, Span<float> dQueries, bool accumulateQueryWeight)
    {
    }

    /// <inheritdoc/>
    public void ProjectKeysPrepared(InferenceWeights weights, ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, Span<float> projected) =>
        _projection.ForwardPrepared(weights, keys, rows, projected);                             // P = K Wᵀ

    /// <inheritdoc/>
    public void ScoresPrepared(InferenceWeights weights, ReadOnlySpan<float> parameters, ReadOnlySpan<float> query, ReadOnlySpan<float> projectedKeys,
        int n, Span<float> projectedQuery, Span<float> scores) => DotScorer.BilinearScores(projectedKeys, n, query, 1f, scores);
}
