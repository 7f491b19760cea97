using System.Numerics.Tensors;

namespace SpanAttention.Kernels;

/// <summary>
/// Matrix-vector products: y = W·x (a batch-1 recurrent step) and y = Wᵀ·x (its backward),
/// over row-major W with an explicit leading dimension.
/// </summary>
public static partial class Gemv
{
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
        // Interim implementation; replaced by the packed, register-blocked kernel.
        for (int i = 0; i < rows; i++)
        {
            float dot = TensorPrimitives.Dot(w.Slice(i * ldw, cols), x.Slice(0, cols));
            y[i] = accumulate ? y[i] + dot : dot;
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
    /// <remarks>Effectively computes y[j] (+)= Σ_i W[i, j] x[i].</remarks>
    public static void MultiplyTransposed(ReadOnlySpan<float> w, int rows, int cols, int ldw, ReadOnlySpan<float> x, Span<float> y, bool accumulate)
    {
        CheckArguments(w, rows, cols, ldw, x, rows, y, cols);
        Span<float> yv = y.Slice(0, cols);
        if (!accumulate)
        {
            yv.Clear();
        }
        for (int i = 0; i < rows; i++)
        {
            TensorPrimitives.MultiplyAdd(w.Slice(i * ldw, cols), x[i], yv, yv);
        }
    }

    /// <summary>Validates the shapes of a GEMV call; shared with the naive twin.</summary>
    internal static void CheckArguments(ReadOnlySpan<float> w, int rows, int cols, int ldw, ReadOnlySpan<float> x, int xLength, Span<float> y, int yLength)
    {
        Guard.Matrix(w.Length, rows, cols, ldw, nameof(w));
        Guard.Length(x.Length, xLength, nameof(x));
        Guard.Length(y.Length, yLength, nameof(y));
    }
}
