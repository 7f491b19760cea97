namespace SpanAttention.Kernels;

/// <summary>Whether a GEMM operand is used as stored or transposed.</summary>
public enum Transpose
{
    /// <summary>Use the operand as stored: op(X) = X.</summary>
    No = 0,

    /// <summary>Use the transpose of the stored operand: op(X) = Xᵀ.</summary>
    Yes = 1,
}
