namespace SpanAttention.Attention;

/// <summary>How a query is scored against each key (q: (Dq), k_j: (Dk)).</summary>
/// <remarks>See docs/derivations/attention.md for each scorer's forward and backward.</remarks>
public enum AttentionScorer
{
    /// <summary>Dot product (Luong "dot"): s_j = q · k_j. No parameters when Dq = Dk; otherwise the keys are first
    /// projected to Dq by a learned W [Dq, Dk] (<c>key_proj.weight</c>), s_j = q · (W k_j).</summary>
    Dot = 0,

    /// <summary>Scaled dot product (Vaswani et al.): s_j = q · k_j / sqrt(Dk). No parameters when Dq = Dk; otherwise, as
    /// <see cref="Dot"/>, s_j = q · (W k_j) / sqrt(Dq).</summary>
    ScaledDot = 1,

    /// <summary>Bilinear (Luong "general"): s_j = q · (W k_j), W: [Dq, Dk].</summary>
    General = 2,

    /// <summary>Additive (Bahdanau "concat"): s_j = v · tanh(W_q q + W_k k_j + b), W_q: [A, Dq], W_k: [A, Dk], b: [A], v: [1, A].</summary>
    Additive = 3,
}
