using System.Numerics.Tensors;

namespace SpanAttention.Kernels;

/// <summary>
/// General matrix-matrix product over row-major spans with explicit leading dimensions:
/// C = op(A)·op(B) or C += op(A)·op(B), where op(X) is X or Xᵀ.
/// </summary>
public static partial class Gemm
{
    /// <summary>
    /// C = op(A)·op(B), or C += op(A)·op(B) when <paramref name="accumulate"/> is true.
    /// </summary>
    /// <param name="m">Rows of op(A) and of C.</param>
    /// <param name="n">Columns of op(B) and of C.</param>
    /// <param name="k">Columns of op(A), rows of op(B).</param>
    /// <param name="a">A: (m, k) row-major with leading dimension <paramref name="lda"/>, or (k, m) when transposed.</param>
    /// <param name="lda">Leading dimension (row stride) of A as stored.</param>
    /// <param name="transposeA">Whether op(A) = Aᵀ.</param>
    /// <param name="b">B: (k, n) row-major, or (n, k) when transposed.</param>
    /// <param name="ldb">Leading dimension of B as stored.</param>
    /// <param name="transposeB">Whether op(B) = Bᵀ.</param>
    /// <param name="c">C: (m, n) row-major with leading dimension <paramref name="ldc"/>; must not overlap A or B.</param>
    /// <param name="ldc">Leading dimension of C.</param>
    /// <param name="accumulate">Add to C instead of overwriting it.</param>
    /// <remarks>Effectively computes C[i, j] (+)= Σ_p op(A)[i, p] · op(B)[p, j]. With k = 0 it clears C (or leaves it, when accumulating).</remarks>
    public static void Multiply(
        int m, int n, int k,
        ReadOnlySpan<float> a, int lda, Transpose transposeA,
        ReadOnlySpan<float> b, int ldb, Transpose transposeB,
        Span<float> c, int ldc, bool accumulate)
    {
        CheckArguments(m, n, k, a, lda, transposeA, b, ldb, transposeB, c, ldc);
        // Interim row-by-row implementation; replaced by the packed micro-kernel design.
        for (int i = 0; i < m; i++)
        {
            Span<float> cRow = c.Slice(i * ldc, n);
            if (!accumulate)
            {
                cRow.Clear();
            }
            for (int p = 0; p < k; p++)
            {
                float aip = transposeA == Transpose.Yes ? a[p * lda + i] : a[i * lda + p];
                if (transposeB == Transpose.No)
                {
                    TensorPrimitives.MultiplyAdd(b.Slice(p * ldb, n), aip, cRow, cRow);
                }
                else
                {
                    for (int j = 0; j < n; j++)
                    {
                        cRow[j] += aip * b[j * ldb + p];
                    }
                }
            }
        }
    }

    /// <summary>Validates the shapes of a GEMM call; shared with the naive twin.</summary>
    internal static void CheckArguments(
        int m, int n, int k,
        ReadOnlySpan<float> a, int lda, Transpose transposeA,
        ReadOnlySpan<float> b, int ldb, Transpose transposeB,
        Span<float> c, int ldc)
    {
        Guard.NonNegative(m, nameof(m));
        Guard.NonNegative(n, nameof(n));
        Guard.NonNegative(k, nameof(k));
        if (transposeA == Transpose.Yes)
        {
            Guard.Matrix(a.Length, k, m, lda, nameof(a));
        }
        else
        {
            Guard.Matrix(a.Length, m, k, lda, nameof(a));
        }
        if (transposeB == Transpose.Yes)
        {
            Guard.Matrix(b.Length, n, k, ldb, nameof(b));
        }
        else
        {
            Guard.Matrix(b.Length, k, n, ldb, nameof(b));
        }
        Guard.Matrix(c.Length, m, n, ldc, nameof(c));
    }
}
