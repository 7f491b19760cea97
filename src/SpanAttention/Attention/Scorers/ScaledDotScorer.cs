namespace SpanAttention.Attention.Scorers;

/// <summary>
/// Scaled dot product (Vaswani et al.): s_j = q · k_j / sqrt(Dk). The dot scorer with α = 1/sqrt(Dq), the width of
/// the vectors dotted (Dq = Dk, or the projected keys' width when a key projection maps Dk-wide keys to Dq): forward
/// and backward are <see cref="DotScorer.BilinearScores"/> and its backward.
/// </summary>
internal sealed class ScaledDotScorer : DotScorer
{
    private readonly float _scale;

    /// <summary>Creates the scorer; a key projection is added when <paramref name="queryDim"/> ≠ <paramref name="keyDim"/>.</summary>
    public ScaledDotScorer(int queryDim, int keyDim)
        : base(queryDim, keyDim) => _scale = 1f / MathF.Sqrt(queryDim);

    /// <inheritdoc/>
    public override AttentionScorer Kind => AttentionScorer.ScaledDot;

    /// <inheritdoc/>
    public override float Scale => _scale;
}
