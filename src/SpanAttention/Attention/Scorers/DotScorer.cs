using System.Numerics.Tensors;
using SpanAttention.Kernels;
using SpanAttention.Parameters;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Attention.Scorers;

/// <summary>Dot product (Luong "dot"): s_j = q · k_j. No parameters; needs Dq = Dk; the keys are used as they are (P = K).</summary>
internal class DotScorer : IAttentionScorer
{
    /// <summary>Creates the scorer; Dot needs Dq = Dk.</summary>
    public DotScorer(int queryDim, int keyDim)
    {
        if (queryDim != keyDim)
        {
            throw new ArgumentException($"{Kind} attention needs queryDim = keyDim, got {queryDim} and {keyDim}.", nameof(keyDim));
        }
        KeyDim = keyDim;
    }

    /// <inheritdoc/>
    public virtual AttentionScorer Kind => AttentionScorer.Dot;

    /// <summary>Dk = Dq.</summary>
    protected int KeyDim { get; }

    /// <inheritdoc/>
    public int ProjectedWidth => KeyDim;

    /// <inheritdoc/>
    public bool ProjectsKeys => false;

    /// <inheritdoc/>
    public int QueryProjectionWidth => 0;

    /// <inheritdoc/>
    public bool Bilinear => true;

    /// <inheritdoc/>
    public virtual float Scale => 1f;

    /// <inheritdoc/>
    public void RegisterParameters(ParameterLayout layout, string prefix)
    {
    }

    /// <inheritdoc/>
    public void InitializeParameters(ParameterSet parameters, Random random)
    {
    }

    /// <inheritdoc/>
    public void ProjectKeys(ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, Span<float> projected)
    {
    }

    /// <inheritdoc/>
    public void ProjectKeysBackward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, ReadOnlySpan<float> dProjected,
        Span<float> gradients, Span<float> dKeys)
    {
        // P = K: the layer accumulated dP into dK itself
    }

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
    public void ProjectKeysPrepared(InferenceWeights weights, ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, Span<float> projected)
    {
    }

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
