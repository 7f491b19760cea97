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
    /// <remarks>
    /// Effectively computes C[i, j] (+)= Σ_p op(A)[i, p] · op(B)[p, j]. With k = 0 it clears C (or leaves it,
    /// when accumulating). Calls of at least <see cref="KernelThreads.ParallelThresholdFlops"/> (2·m·n·k) run
    /// on <see cref="KernelThreads.Count"/> threads; the result is bit-identical for any thread count.
    /// Allocation-free after the calling thread's first call of a given size. Thread-safe.
    /// </remarks>
    public static void Multiply(
        int m, int n, int k,
        ReadOnlySpan<float> a, int lda, Transpose transposeA,
        ReadOnlySpan<float> b, int ldb, Transpose transposeB,
        Span<float> c, int ldc, bool accumulate)
    {
        // The overload below validates the arguments.
        Multiply(m, n, k, a, lda, transposeA, b, ldb, transposeB, c, ldc, accumulate, KernelThreads.For(2L * m * n * k));
    }

    /// <summary>
    /// C = op(A)·B, or C += op(A)·B, with B packed once into a <see cref="PackedMatrix"/> (typically a weight
    /// used as Wᵀ, packed after each optimizer step and reused for every batch).
    /// </summary>
    /// <param name="m">Rows of op(A) and of C.</param>
    /// <param name="a">A: (m, k) row-major with leading dimension <paramref name="lda"/>, or (k, m) when transposed; k = <paramref name="b"/>.K.</param>
    /// <param name="lda">Leading dimension (row stride) of A as stored.</param>
    /// <param name="transposeA">Whether op(A) = Aᵀ.</param>
    /// <param name="b">The packed operand op(B): (k, n) with k = <see cref="PackedMatrix.K"/>, n = <see cref="PackedMatrix.N"/>.</param>
    /// <param name="c">C: (m, n) row-major with leading dimension <paramref name="ldc"/>; must not overlap A.</param>
    /// <param name="ldc">Leading dimension of C.</param>
    /// <param name="accumulate">Add to C instead of overwriting it.</param>
    /// <remarks>
    /// Effectively computes C[i, j] (+)= Σ_p op(A)[i, p] · op(B)[p, j], bit-identical to the unpacked
    /// <see cref="Multiply(int, int, int, ReadOnlySpan{float}, int, Transpose, ReadOnlySpan{float}, int, Transpose, Span{float}, int, bool)"/>
    /// with the B that was packed, but without packing B on every call.
    /// </remarks>
    public static void Multiply(int m, ReadOnlySpan<float> a, int lda, Transpose transposeA, PackedMatrix b, Span<float> c, int ldc, bool accumulate)
    {
        ArgumentNullException.ThrowIfNull(b);
        Multiply(m, a, lda, transposeA, b, c, ldc, accumulate, KernelThreads.For(2L * m * b.N * b.K));
    }

    /// <summary>The unpacked GEMM on an explicit number of threads (tests force 1 or 2). Returns whether the call was split.</summary>
    internal static unsafe bool Multiply(
        int m, int n, int k,
        ReadOnlySpan<float> a, int lda, Transpose transposeA,
        ReadOnlySpan<float> b, int ldb, Transpose transposeB,
        Span<float> c, int ldc, bool accumulate, int threads)
    {
        CheckArguments(m, n, k, a, lda, transposeA, b, ldb, transposeB, c, ldc);
        if (m == 0 || n == 0)
        {
            return false;
        }
        if (k == 0)
        {
            ClearUnlessAccumulating(m, n, c, ldc, accumulate);
            return false;
        }
        fixed (float* pa = a, pb = b, pc = c)
        {
            var job = new GemmJob
            {
                M = m, N = n, K = k,
                A = pa, Lda = lda, TransposeA = transposeA,
                B = pb, Ldb = ldb, TransposeB = transposeB,
                C = pc, Ldc = ldc, Accumulate = accumulate,
            };
            return Execute(&job, threads);
        }
    }

    /// <summary>The packed-B GEMM on an explicit number of threads. Returns whether the call was split.</summary>
    internal static unsafe bool Multiply(int m, ReadOnlySpan<float> a, int lda, Transpose transposeA, PackedMatrix b, Span<float> c, int ldc, bool accumulate, int threads)
    {
        ArgumentNullException.ThrowIfNull(b);
        int n = b.N, k = b.K;
        Guard.NonNegative(m, nameof(m));
        if (transposeA == Transpose.Yes)
        {
            Guard.Matrix(a.Length, k, m, lda, nameof(a));
        }
        else
        {
            Guard.Matrix(a.Length, m, k, lda, nameof(a));
        }
        Guard.Matrix(c.Length, m, n, ldc, nameof(c));
        if (m == 0 || n == 0)
        {
            return false;
        }
        if (k == 0)
        {
            ClearUnlessAccumulating(m, n, c, ldc, accumulate);
            return false;
        }
        b.CheckLayout();
        fixed (float* pa = a, pc = c)
        {
            var job = new GemmJob
            {
                M = m, N = n, K = k,
                A = pa, Lda = lda, TransposeA = transposeA,
                PackedB = b.Data, PackedStride = b.PaddedN,
                C = pc, Ldc = ldc, Accumulate = accumulate,
            };
            bool split = Execute(&job, threads);
            GC.KeepAlive(b); // its pinned storage is used through a raw pointer until here
            return split;
        }
    }

    private static void ClearUnlessAccumulating(int m, int n, Span<float> c, int ldc, bool accumulate)
    {
        if (!accumulate)
        {
            for (int i = 0; i < m; i++)
            {
                c.Slice(i * ldc, n).Clear();
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
