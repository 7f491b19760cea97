using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SpanAttention.Kernels;

/// <summary>
/// Matrix-vector products: y = W·x (a batch-1 recurrent step) and y = Wᵀ·x (its backward),
/// over row-major W with an explicit leading dimension.
/// </summary>
/// <remarks>
/// A GEMV reads every weight exactly once and does one FMA with it, so it is bound by how fast W streams
/// in, never by arithmetic. The kernels therefore only try to (1) keep enough independent FMA chains in
/// flight that the loads are the limit, (2) load x (for W·x) or y (for Wᵀ·x) once per four rows instead of
/// once per row, and (3) leave the rest to the hardware prefetcher, which follows four row streams well.
/// Weights used at every decoder step can be packed once into <see cref="PackedGemvMatrix"/>, which turns
/// the four row streams into one contiguous, aligned, zero-padded stream with no remainder code.
/// See docs/kernels.md (GEMV section).
/// </remarks>
public static partial class Gemv
{
    /// <summary>Rows handled together: four accumulators share each load of x.</summary>
    internal const int RowBlock = 4;

    /// <summary>y = W·x, or y += W·x when <paramref name="accumulate"/> is true.</summary>
    /// <param name="w">W: (rows, cols) row-major with leading dimension <paramref name="ldw"/>.</param>
    /// <param name="rows">Rows of W, length of y.</param>
    /// <param name="cols">Columns of W, length of x.</param>
    /// <param name="ldw">Leading dimension of W.</param>
    /// <param name="x">x: (cols).</param>
    /// <param name="y">y: (rows); must not overlap x or W.</param>
    /// <param name="accumulate">Add to y instead of overwriting it.</param>
    /// <remarks>Effectively computes y[i] (+)= Σ_j W[i, j] x[j].</remarks>
    public static void Multiply(ReadOnlySpan<float> w, int rows, int cols, int ldw, ReadOnlySpan<float> x, Span<float> y, bool accumulate)
    {
        CheckArguments(w, rows, cols, ldw, x, cols, y, rows);
        if (rows == 0)
        {
            return;
        }
        if (cols == 0)
        {
            if (!accumulate)
            {
                y.Slice(0, rows).Clear();   // an empty sum is 0
            }
            return;
        }
        ref float rw = ref MemoryMarshal.GetReference(w);
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        nuint stride = (nuint)ldw;
        int i = 0;
        for (; i <= rows - RowBlock; i += RowBlock)
        {
            ref float w0 = ref Unsafe.Add(ref rw, (nuint)i * stride);
            Dot4(ref w0, stride, ref rx, cols, out float s0, out float s1, out float s2, out float s3);
            Store(ref Unsafe.Add(ref ry, i), s0, accumulate);
            Store(ref Unsafe.Add(ref ry, i + 1), s1, accumulate);
            Store(ref Unsafe.Add(ref ry, i + 2), s2, accumulate);
            Store(ref Unsafe.Add(ref ry, i + 3), s3, accumulate);
        }
        for (; i < rows; i++)
        {
            float s = Dot1(ref Unsafe.Add(ref rw, (nuint)i * stride), ref rx, cols);
            Store(ref Unsafe.Add(ref ry, i), s, accumulate);
        }
    }

    /// <summary>y = Wᵀ·x, or y += Wᵀ·x when <paramref name="accumulate"/> is true.</summary>
    /// <param name="w">W: (rows, cols) row-major with leading dimension <paramref name="ldw"/>.</param>
    /// <param name="rows">Rows of W, length of x.</param>
    /// <param name="cols">Columns of W, length of y.</param>
    /// <param name="ldw">Leading dimension of W.</param>
    /// <param name="x">x: (rows).</param>
    /// <param name="y">y: (cols); must not overlap x or W.</param>
    /// <param name="accumulate">Add to y instead of overwriting it.</param>
    /// <remarks>
    /// Effectively computes y[j] (+)= Σ_i W[i, j] x[i], as y += Σ_i x_i W[i, :]: four rows per pass over y,
    /// so y is loaded and stored once per four rows and W is still read row by row, contiguously.
    /// </remarks>
    public static void MultiplyTransposed(ReadOnlySpan<float> w, int rows, int cols, int ldw, ReadOnlySpan<float> x, Span<float> y, bool accumulate)
    {
        CheckArguments(w, rows, cols, ldw, x, rows, y, cols);
        if (cols == 0)
        {
            return;
        }
        if (!accumulate)
        {
            y.Slice(0, cols).Clear();
        }
        ref float rw = ref MemoryMarshal.GetReference(w);
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        nuint stride = (nuint)ldw;
        int i = 0;
        for (; i <= rows - RowBlock; i += RowBlock)
        {
            Axpy4(ref Unsafe.Add(ref rw, (nuint)i * stride), stride, ref Unsafe.Add(ref rx, i), ref ry, cols);
        }
        for (; i < rows; i++)
        {
            Axpy1(ref Unsafe.Add(ref rw, (nuint)i * stride), Unsafe.Add(ref rx, i), ref ry, cols);
        }
    }

    /// <summary>Validates the shapes of a GEMV call; shared with the naive twin.</summary>
    internal static void CheckArguments(ReadOnlySpan<float> w, int rows, int cols, int ldw, ReadOnlySpan<float> x, int xLength, Span<float> y, int yLength)
    {
        Guard.Matrix(w.Length, rows, cols, ldw, nameof(w));
        Guard.Length(x.Length, xLength, nameof(x));
        Guard.Length(y.Length, yLength, nameof(y));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(ref float y, float sum, bool accumulate) => y = accumulate ? y + sum : sum;

    /// <summary>
    /// The W·x micro-kernel: the dot products of four rows w0, w0+ld, w0+2ld, w0+3ld with x over cols.
    /// Two column chunks per step give eight independent FMA chains (enough to hide the FMA latency on
    /// two pipes); x is loaded once per chunk for all four rows.
    /// </summary>
    private static void Dot4(ref float w0, nuint ld, ref float x, int cols, out float s0, out float s1, out float s2, out float s3)
    {
        ref float w1 = ref Unsafe.Add(ref w0, ld);
        ref float w2 = ref Unsafe.Add(ref w1, ld);
        ref float w3 = ref Unsafe.Add(ref w2, ld);
        s0 = 0f;
        s1 = 0f;
        s2 = 0f;
        s3 = 0f;
        nuint j = 0;
        nuint n = (nuint)cols;
        if (Isa.Vector512 && n >= (nuint)Vector512<float>.Count)
        {
            const int W = 16; // Vector512<float>.Count
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
            for (; j + 2 * W <= n; j += 2 * W)
            {
                Vector512<float> xa = Vector512.LoadUnsafe(ref x, j);
                Vector512<float> xb = Vector512.LoadUnsafe(ref x, j + W);
                a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w0, j), xa, a0);
                b0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w0, j + W), xb, b0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w1, j), xa, a1);
                b1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w1, j + W), xb, b1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w2, j), xa, a2);
                b2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w2, j + W), xb, b2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w3, j), xa, a3);
                b3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w3, j + W), xb, b3);
            }
            if (j + W <= n)
            {
                Vector512<float> xa = Vector512.LoadUnsafe(ref x, j);
                a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w0, j), xa, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w1, j), xa, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w2, j), xa, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w3, j), xa, a3);
                j += W;
            }
            s0 = Vector512.Sum(a0 + b0);
            s1 = Vector512.Sum(a1 + b1);
            s2 = Vector512.Sum(a2 + b2);
            s3 = Vector512.Sum(a3 + b3);
        }
        if (Isa.Vector256 && j + (nuint)Vector256<float>.Count <= n)
        {
            const int W = 8; // Vector256<float>.Count
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
            for (; j + 2 * W <= n; j += 2 * W)
            {
                Vector256<float> xa = Vector256.LoadUnsafe(ref x, j);
                Vector256<float> xb = Vector256.LoadUnsafe(ref x, j + W);
                a0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w0, j), xa, a0);
                b0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w0, j + W), xb, b0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w1, j), xa, a1);
                b1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w1, j + W), xb, b1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w2, j), xa, a2);
                b2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w2, j + W), xb, b2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w3, j), xa, a3);
                b3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w3, j + W), xb, b3);
            }
            if (j + W <= n)
            {
                Vector256<float> xa = Vector256.LoadUnsafe(ref x, j);
                a0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w0, j), xa, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w1, j), xa, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w2, j), xa, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w3, j), xa, a3);
                j += W;
            }
            s0 += Vector256.Sum(a0 + b0);
            s1 += Vector256.Sum(a1 + b1);
            s2 += Vector256.Sum(a2 + b2);
            s3 += Vector256.Sum(a3 + b3);
        }
        for (; j < n; j++)
        {
            float xj = Unsafe.Add(ref x, j);
            s0 += Unsafe.Add(ref w0, j) * xj;
            s1 += Unsafe.Add(ref w1, j) * xj;
            s2 += Unsafe.Add(ref w2, j) * xj;
            s3 += Unsafe.Add(ref w3, j) * xj;
        }
    }

    /// <summary>One row's dot product with x, for the rows left over after the blocks of four.</summary>
    private static float Dot1(ref float w0, ref float x, int cols)
    {
        float s = 0f;
        nuint j = 0;
        nuint n = (nuint)cols;
        if (Isa.Vector512 && n >= (nuint)Vector512<float>.Count)
        {
            const int W = 16;
            Vector512<float> a = default, b = default;
            for (; j + 2 * W <= n; j += 2 * W)
            {
                a = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w0, j), Vector512.LoadUnsafe(ref x, j), a);
                b = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w0, j + W), Vector512.LoadUnsafe(ref x, j + W), b);
            }
            if (j + W <= n)
            {
                a = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w0, j), Vector512.LoadUnsafe(ref x, j), a);
                j += W;
            }
            s = Vector512.Sum(a + b);
        }
        if (Isa.Vector256 && j + (nuint)Vector256<float>.Count <= n)
        {
            const int W = 8;
            Vector256<float> a = default, b = default;
            for (; j + 2 * W <= n; j += 2 * W)
            {
                a = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w0, j), Vector256.LoadUnsafe(ref x, j), a);
                b = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w0, j + W), Vector256.LoadUnsafe(ref x, j + W), b);
            }
            if (j + W <= n)
            {
                a = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w0, j), Vector256.LoadUnsafe(ref x, j), a);
                j += W;
            }
            s += Vector256.Sum(a + b);
        }
        for (; j < n; j++)
        {
            s += Unsafe.Add(ref w0, j) * Unsafe.Add(ref x, j);
        }
        return s;
    }

    /// <summary>
    /// The Wᵀ·x micro-kernel: y[0..cols) += x0·w0 + x1·w1 + x2·w2 + x3·w3 for four consecutive rows,
    /// so each chunk of y is loaded and stored once for four rows.
    /// </summary>
    private static void Axpy4(ref float w0, nuint ld, ref float x, ref float y, int cols)
    {
        ref float w1 = ref Unsafe.Add(ref w0, ld);
        ref float w2 = ref Unsafe.Add(ref w1, ld);
        ref float w3 = ref Unsafe.Add(ref w2, ld);
        float x0 = x, x1 = Unsafe.Add(ref x, 1), x2 = Unsafe.Add(ref x, 2), x3 = Unsafe.Add(ref x, 3);
        nuint j = 0;
        nuint n = (nuint)cols;
        if (Isa.Vector512)
        {
            const int W = 16;
            Vector512<float> v0 = Vector512.Create(x0), v1 = Vector512.Create(x1), v2 = Vector512.Create(x2), v3 = Vector512.Create(x3);
            for (; j + W <= n; j += W)
            {
                Vector512<float> yj = Vector512.LoadUnsafe(ref y, j);
                yj = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w0, j), v0, yj);
                yj = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w1, j), v1, yj);
                yj = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w2, j), v2, yj);
                yj = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w3, j), v3, yj);
                yj.StoreUnsafe(ref y, j);
            }
        }
        if (Isa.Vector256)
        {
            const int W = 8;
            Vector256<float> v0 = Vector256.Create(x0), v1 = Vector256.Create(x1), v2 = Vector256.Create(x2), v3 = Vector256.Create(x3);
            for (; j + W <= n; j += W)
            {
                Vector256<float> yj = Vector256.LoadUnsafe(ref y, j);
                yj = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w0, j), v0, yj);
                yj = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w1, j), v1, yj);
                yj = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w2, j), v2, yj);
                yj = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w3, j), v3, yj);
                yj.StoreUnsafe(ref y, j);
            }
        }
        for (; j < n; j++)
        {
            Unsafe.Add(ref y, j) += Unsafe.Add(ref w0, j) * x0 + Unsafe.Add(ref w1, j) * x1
                + Unsafe.Add(ref w2, j) * x2 + Unsafe.Add(ref w3, j) * x3;
        }
    }

    /// <summary>y[0..cols) += x0·w0 for one row left over after the blocks of four.</summary>
    private static void Axpy1(ref float w0, float x0, ref float y, int cols)
    {
        nuint j = 0;
        nuint n = (nuint)cols;
        if (Isa.Vector512)
        {
            const int W = 16;
            Vector512<float> v0 = Vector512.Create(x0);
            for (; j + W <= n; j += W)
            {
                Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w0, j), v0, Vector512.LoadUnsafe(ref y, j)).StoreUnsafe(ref y, j);
            }
        }
        if (Isa.Vector256)
        {
            const int W = 8;
            Vector256<float> v0 = Vector256.Create(x0);
            for (; j + W <= n; j += W)
            {
                Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w0, j), v0, Vector256.LoadUnsafe(ref y, j)).StoreUnsafe(ref y, j);
            }
        }
        for (; j < n; j++)
        {
            Unsafe.Add(ref y, j) += Unsafe.Add(ref w0, j) * x0;
        }
    }
}
