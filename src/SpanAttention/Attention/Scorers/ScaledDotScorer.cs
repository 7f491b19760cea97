using SpanAttention.Parameters;

namespace SpanAttention.Attention.Scorers;

/// <summary>
/// Scaled dot product (Vaswani et al.): s_j = q · k_j / sqrt(Dk). No parameters; needs Dq = Dk. The dot scorer
/// with α = 1/sqrt(Dk): forward and backward are <see cref="DotScorer.BilinearScores"/> and its backward.
/// </summary>
internal sealed class ScaledDotScorer : DotScorer
{
    private readonly float _scale;

    /// <summary>Creates the scorer; needs Dq = Dk.</summary>
    public ScaledDotScorer(int queryDim, int keyDim)
        : base(queryDim, keyDim) => _scale = 1f / MathF.Sqrt(keyDim);

    /// <inheritdoc/>
    public override AttentionScorer Kind => AttentionScorer.ScaledDot;

    /// <inheritdoc/>
    public override float Scale => _scale;
}
