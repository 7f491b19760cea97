using SpanAttention.Parameters;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Attention.Scorers;

/// <summary>
/// One scoring function s_j = score(q, k_j) with its backward: the part of attention that differs between
/// scorers. <see cref="AttentionLayer"/> keeps the rest (masking, softmax, context and their backward) and
/// calls a scorer once per source batch (keys) and once per query row (scores).
/// </summary>
/// <remarks>
/// <para>Every scorer scores a query against <em>projected keys</em> P (B, S, P): P = K for Dot and ScaledDot,
/// P = K Wᵀ for General, P = K W_kᵀ + b for Additive. The projection depends only on the source batch, so it
/// runs once (<see cref="ProjectKeys"/>); the layer accumulates dP over every decoder step and hands it back
/// once (<see cref="ProjectKeysBackward"/>).</para>
/// <para>A scorer may also project each query row first (Additive: pq = W_q q, width
/// <see cref="QueryProjectionWidth"/>); the layer holds those rows and their gradient for all T·B query rows
/// so that the query-side weight gradient is one GEMM (<see cref="QueriesBackward"/>).</para>
/// <para>Backward methods accumulate into gradients, dQuery and dProjectedKeys (STYLE.md).</para>
/// </remarks>
internal interface IAttentionScorer
{
    /// <summary>Which scorer this is.</summary>
    AttentionScorer Kind { get; }

    /// <summary>P, the width of the projected keys (Dk when the keys are used as they are).</summary>
    int ProjectedWidth { get; }

    /// <summary>False when P = K (nothing to project, and dK receives dP directly).</summary>
    bool ProjectsKeys { get; }

    /// <summary>Width of one projected query row (0: the query is used as it is).</summary>
    int QueryProjectionWidth { get; }

    /// <summary>
    /// True when s_j = <see cref="Scale"/> · (q · P_j): then the T steps of one source row are one GEMM
    /// S = α Q Pᵀ, which the layer runs itself, and the row backward is dq += α Pᵀ ds, dP += α ds qᵀ.
    /// </summary>
    bool Bilinear { get; }

    /// <summary>α of a bilinear scorer (1/sqrt(Dk) for ScaledDot, else 1).</summary>
    float Scale { get; }

    /// <summary>Registers the scorer's parameters under <paramref name="prefix"/> (PyTorch state_dict names).</summary>
    void RegisterParameters(ParameterLayout layout, string prefix);

    /// <summary>PyTorch's default nn.Linear initialisation of every registered tensor.</summary>
    void InitializeParameters(ParameterSet parameters, Random random);

    /// <summary>P = project(K) for <paramref name="rows"/> = B·S key rows: keys (rows, Dk) -> projected (rows, P). Overwrites.</summary>
    void ProjectKeys(ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, Span<float> projected);

    /// <summary>Backward of <see cref="ProjectKeys"/>: dP (rows, P) -> parameter gradients and dK (rows, Dk), accumulated.</summary>
    void ProjectKeysBackward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, ReadOnlySpan<float> dProjected,
        Span<float> gradients, Span<float> dKeys);

    /// <summary>Projects <paramref name="rows"/> query rows (rows, Dq) into (rows, <see cref="QueryProjectionWidth"/>). Overwrites; nothing when the width is 0.</summary>
    void ProjectQueries(ReadOnlySpan<float> parameters, ReadOnlySpan<float> queries, int rows, Span<float> projectedQueries);

    /// <summary>Scores of one query row against its n valid keys.</summary>
    /// <param name="parameters">All parameter values.</param>
    /// <param name="query">q: (Dq).</param>
    /// <param name="projectedQuery">This row of <see cref="ProjectQueries"/>: (<see cref="QueryProjectionWidth"/>), or empty.</param>
    /// <param name="projectedKeys">P of the row's source: (n, P).</param>
    /// <param name="n">Valid keys.</param>
    /// <param name="scores">s: (n). Overwritten.</param>
    /// <param name="hidden">Empty, or (n, A): the additive scorer keeps tanh(pq + P_j) here for its backward.</param>
    void Scores(ReadOnlySpan<float> parameters, ReadOnlySpan<float> query, ReadOnlySpan<float> projectedQuery, ReadOnlySpan<float> projectedKeys,
        int n, Span<float> scores, Span<float> hidden);

    /// <summary>Backward of <see cref="Scores"/> for one query row, given ds (n); may overwrite ds.</summary>
    /// <param name="parameters">All parameter values.</param>
    /// <param name="dScores">ds: (n), upstream gradient of the scores; used as scratch.</param>
    /// <param name="query">q: (Dq).</param>
    /// <param name="projectedQuery">As given to <see cref="Scores"/>.</param>
    /// <param name="projectedKeys">(n, P).</param>
    /// <param name="n">Valid keys.</param>
    /// <param name="hidden">Empty (recompute) or the hidden layer kept by <see cref="Scores"/>.</param>
    /// <param name="gradients">All parameter gradients. Accumulated (the parameters used per row).</param>
    /// <param name="dQuery">dq: (Dq). Accumulated (scorers without a query projection).</param>
    /// <param name="dProjectedQuery">d(projected query): (<see cref="QueryProjectionWidth"/>). Accumulated.</param>
    /// <param name="dProjectedKeys">dP: (n, P). Accumulated.</param>
    void ScoresBackward(ReadOnlySpan<float> parameters, Span<float> dScores, ReadOnlySpan<float> query, ReadOnlySpan<float> projectedQuery,
        ReadOnlySpan<float> projectedKeys, int n, ReadOnlySpan<float> hidden, Span<float> gradients, Span<float> dQuery,
        Span<float> dProjectedQuery, Span<float> dProjectedKeys);

    /// <summary>Backward of <see cref="ProjectQueries"/>: d(projected queries) (rows, width) -> dQueries (rows, Dq), and the query weight's gradient when asked.</summary>
    void QueriesBackward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> queries, int rows, ReadOnlySpan<float> dProjectedQueries,
        Span<float> gradients, Span<float> dQueries, bool accumulateQueryWeight);

    /// <summary>
    /// The prepared (packed-weight) decoding path: projects B·S key rows with <paramref name="weights"/>' packed
    /// matrices; the same numbers as <see cref="ProjectKeys"/>. Nothing when <see cref="ProjectsKeys"/> is false.
    /// </summary>
    void ProjectKeysPrepared(InferenceWeights weights, ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, Span<float> projected);

    /// <summary>The prepared decoding path: scores of one query row, as <see cref="ProjectQueries"/> then <see cref="Scores"/>.</summary>
    /// <param name="weights">Packed weights of the model.</param>
    /// <param name="parameters">All parameter values.</param>
    /// <param name="query">q: (Dq).</param>
    /// <param name="projectedKeys">(n, P), from <see cref="ProjectKeysPrepared"/> (or the keys when P = K).</param>
    /// <param name="n">Valid keys.</param>
    /// <param name="projectedQuery">Scratch of <see cref="QueryProjectionWidth"/> floats.</param>
    /// <param name="scores">s: (n). Overwritten.</param>
    void ScoresPrepared(InferenceWeights weights, ReadOnlySpan<float> parameters, ReadOnlySpan<float> query, ReadOnlySpan<float> projectedKeys,
        int n, Span<float> projectedQuery, Span<float> scores);
}

/// <summary>The one place that maps an <see cref="AttentionScorer"/> to its implementation.</summary>
internal static class AttentionScorers
{
    /// <summary>Creates the scorer for the given sizes.</summary>
    /// <param name="scorer">Which scorer.</param>
    /// <param name="queryDim">Dq.</param>
    /// <param name="keyDim">Dk.</param>
    /// <param name="attentionDim">A (Additive only).</param>
    public static IAttentionScorer Create(AttentionScorer scorer, int queryDim, int keyDim, int attentionDim) => scorer switch
    {
        AttentionScorer.Dot => new DotScorer(queryDim, keyDim),
        AttentionScorer.ScaledDot => new ScaledDotScorer(queryDim, keyDim),
        AttentionScorer.General => new GeneralScorer(queryDim, keyDim),
        AttentionScorer.Additive => new AdditiveScorer(queryDim, keyDim, attentionDim),
        _ => throw new ArgumentOutOfRangeException(nameof(scorer), $"{nameof(scorer)}: unknown scorer {(int)scorer}."),
    };
}
