using System.Diagnostics.CodeAnalysis;
using System.Numerics.Tensors;

namespace SpanAttention.Kernels;

/// <summary>
/// Reductions the rest of the engine needs: sums, dot products, squared norms (gradient clipping),
/// the maximum and its index (greedy decoding) and a stable log-sum-exp (cross-entropy).
/// </summary>
public static class Reductions
{
    /// <summary>Σ x_i.</summary>
    /// <param name="x">Input: (n).</param>
    /// <returns>The sum; 0 for an empty span.</returns>
    public static float Sum(ReadOnlySpan<float> x) => TensorPrimitives.Sum(x);

    /// <summary>Σ x_i y_i.</summary>
    /// <param name="x">First input: (n).</param>
    /// <param name="y">Second input: (n).</param>
    /// <returns>The dot product; 0 for empty spans.</returns>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        Guard.SameLength(y.Length, x.Length, nameof(y));
        return TensorPrimitives.Dot(x, y);
    }

    /// <summary>Σ x_i², the squared L2 norm (gradient clipping sums these over every parameter).</summary>
    /// <param name="x">Input: (n).</param>
    /// <returns>The squared norm; 0 for an empty span.</returns>
    public static float SquaredNorm(ReadOnlySpan<float> x) => TensorPrimitives.SumOfSquares(x);

    /// <summary>The largest element.</summary>
    /// <param name="x">Input: (n), n ≥ 1.</param>
    /// <returns>max_i x_i.</returns>
    public static float Max(ReadOnlySpan<float> x)
    {
        CheckNotEmpty(x, nameof(x));
        return TensorPrimitives.Max(x);
    }

    /// <summary>The index of the largest element (the first one on ties).</summary>
    /// <param name="x">Input: (n), n ≥ 1.</param>
    /// <returns>argmax_i x_i.</returns>
    public static int ArgMax(ReadOnlySpan<float> x)
    {
        CheckNotEmpty(x, nameof(x));
        return TensorPrimitives.IndexOfMax(x);
    }

    /// <summary>log Σ exp(x_i), computed stably as max + log Σ exp(x_i - max).</summary>
    /// <param name="x">Input: (n), n ≥ 1.</param>
    /// <param name="scratch">Scratch: at least (n). Overwritten.</param>
    /// <returns>The log-sum-exp.</returns>
    public static float LogSumExp(ReadOnlySpan<float> x, Span<float> scratch)
    {
        CheckNotEmpty(x, nameof(x));
        Guard.Length(scratch.Length, x.Length, nameof(scratch));
        Span<float> e = scratch.Slice(0, x.Length);
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, e);
        TensorPrimitives.Exp(e, e);
        return max + MathF.Log(TensorPrimitives.Sum(e));
    }

    internal static void CheckNotEmpty(ReadOnlySpan<float> x, string name)
    {
        if (x.IsEmpty)
        {
            ThrowEmpty(name);
        }
    }

    [DoesNotReturn]
    private static void ThrowEmpty(string name) =>
        throw new ArgumentException($"{name}: must not be empty.", name);
}
