using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SpanAttention.Kernels;

/// <summary>
/// Stable softmax over one row or over the rows of a matrix, with an optional mask, and its backward.
/// </summary>
/// <remarks>
/// Forward subtracts the row maximum before exponentiating, so any finite logits (up to ±3.4e38) give
/// finite weights in [0, 1] that sum to one. Masked positions get exactly 0; a row with no valid position
/// gives all zeros, never NaN. <see cref="TensorPrimitives"/>' own SoftMax does not subtract the maximum
/// and overflows to NaN for logits such as [1000, 1001]; it is never used here.
/// </remarks>
public static class Softmax
{
    /// <summary>weights = softmax(scores) over all positions.</summary>
    /// <param name="scores">Logits: (n).</param>
    /// <param name="weights">Probabilities: (n). Overwritten. May be the same span as <paramref name="scores"/>.</param>
    public static void Forward(ReadOnlySpan<float> scores, Span<float> weights) =>
        Forward(scores, scores.Length, weights);

    /// <summary>weights = softmax(scores) over the first <paramref name="validLength"/> positions; the rest get 0.</summary>
    /// <param name="scores">Logits: (n).</param>
    /// <param name="validLength">Number of leading valid positions (a sequence's true length), 0..n.</param>
    /// <param name="weights">Probabilities: (n). Overwritten. May be the same span as <paramref name="scores"/>.</param>
    public static void Forward(ReadOnlySpan<float> scores, int validLength, Span<float> weights)
    {
        Guard.SameLength(weights.Length, scores.Length, nameof(weights));
        if ((uint)validLength > (uint)scores.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(validLength), $"{nameof(validLength)}: must be in 0..{scores.Length}, got {validLength}.");
        }
        weights.Slice(validLength).Clear();
        if (validLength == 0)
        {
            return;
        }
        ReadOnlySpan<float> s = scores.Slice(0, validLength);
        Span<float> a = weights.Slice(0, validLength);
        float max = TensorPrimitives.Max(s);
        TensorPrimitives.Subtract(s, max, a);   // a_j = s_j - max <= 0
        TensorPrimitives.Exp(a, a);             // a_j in [0, 1], and 1 at the max
        float sum = TensorPrimitives.Sum(a);    // >= 1
        TensorPrimitives.Divide(a, sum, a);
    }

    /// <summary>weights = softmax(scores) over the positions where <paramref name="valid"/> is true; the rest get 0.</summary>
    /// <param name="scores">Logits: (n).</param>
    /// <param name="valid">Empty for no mask, else (n): true where the position may get weight.</param>
    /// <param name="weights">Probabilities: (n). Overwritten. May be the same span as <paramref name="scores"/>.</param>
    public static void Forward(ReadOnlySpan<float> scores, ReadOnlySpan<bool> valid, Span<float> weights)
    {
        CheckArguments(scores, valid, weights);
        if (valid.IsEmpty)
        {
            Forward(scores, scores.Length, weights);
            return;
        }
        int n = scores.Length;
        float max = float.NegativeInfinity;
        for (int j = 0; j < n; j++)
        {
            if (valid[j] && scores[j] > max)
            {
                max = scores[j];
            }
        }
        if (float.IsNegativeInfinity(max))
        {
            weights.Clear();   // no valid position: all zeros, never NaN
            return;
        }
        for (int j = 0; j < n; j++)
        {
            weights[j] = valid[j] ? scores[j] - max : 0f;
        }
        TensorPrimitives.Exp(weights, weights);
        for (int j = 0; j < n; j++)
        {
            if (!valid[j])
            {
                weights[j] = 0f;
            }
        }
        float sum = TensorPrimitives.Sum(weights);
        TensorPrimitives.Divide(weights, sum, weights);
    }

    /// <summary>Row-wise softmax of a (rows, cols) matrix, each row over its first validLengths[r] positions.</summary>
    /// <param name="scores">Logits: (rows, cols) row-major.</param>
    /// <param name="rows">Number of rows.</param>
    /// <param name="cols">Row length.</param>
    /// <param name="validLengths">Empty for no mask, else (rows): valid prefix length of each row.</param>
    /// <param name="weights">Probabilities: (rows, cols). Overwritten. May be the same span as <paramref name="scores"/>.</param>
    public static void ForwardRows(ReadOnlySpan<float> scores, int rows, int cols, ReadOnlySpan<int> validLengths, Span<float> weights)
    {
        Guard.Matrix(scores.Length, rows, cols, cols, nameof(scores));
        Guard.Matrix(weights.Length, rows, cols, cols, nameof(weights));
        if (!validLengths.IsEmpty)
        {
            Guard.SameLength(validLengths.Length, rows, nameof(validLengths));
        }
        for (int r = 0; r < rows; r++)
        {
            int length = validLengths.IsEmpty ? cols : validLengths[r];
            Forward(scores.Slice(r * cols, cols), length, weights.Slice(r * cols, cols));
        }
    }

    /// <summary>Softmax backward: dScores_j += weights_j (dWeights_j - Σ_i weights_i dWeights_i).</summary>
    /// <param name="weights">Forward output: (n).</param>
    /// <param name="dWeights">Upstream gradient: (n).</param>
    /// <param name="dScores">Gradient of the logits: (n). Accumulated.</param>
    /// <remarks>Masked positions have weight 0, so they receive exactly 0 gradient: no mask is needed here.</remarks>
    public static void Backward(ReadOnlySpan<float> weights, ReadOnlySpan<float> dWeights, Span<float> dScores)
    {
        CheckBackwardArguments(weights, dWeights, dScores);
        float dot = TensorPrimitives.Dot(weights, dWeights);
        ref float a = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(weights);
        ref float da = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dWeights);
        ref float ds = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(dScores);
        int n = weights.Length;
        int j = 0;
        if (Isa.Vector512)
        {
            Vector512<float> vdot = Vector512.Create(dot);
            for (; j <= n - Vector512<float>.Count; j += Vector512<float>.Count)
            {
                Vector512<float> aj = Vector512.LoadUnsafe(ref a, (nuint)j);
                Vector512<float> daj = Vector512.LoadUnsafe(ref da, (nuint)j);
                Vector512<float> dsj = Vector512.LoadUnsafe(ref ds, (nuint)j);
                Vector512.FusedMultiplyAdd(aj, daj - vdot, dsj).StoreUnsafe(ref ds, (nuint)j);
            }
        }
        if (Isa.Vector256)
        {
            Vector256<float> vdot = Vector256.Create(dot);
            for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                Vector256<float> aj = Vector256.LoadUnsafe(ref a, (nuint)j);
                Vector256<float> daj = Vector256.LoadUnsafe(ref da, (nuint)j);
                Vector256<float> dsj = Vector256.LoadUnsafe(ref ds, (nuint)j);
                Vector256.FusedMultiplyAdd(aj, daj - vdot, dsj).StoreUnsafe(ref ds, (nuint)j);
            }
        }
        for (; j < n; j++)
        {
            Unsafe.Add(ref ds, j) += Unsafe.Add(ref a, j) * (Unsafe.Add(ref da, j) - dot);
        }
    }

    /// <summary>Row-wise softmax backward of a (rows, cols) matrix.</summary>
    /// <param name="weights">Forward output: (rows, cols).</param>
    /// <param name="dWeights">Upstream gradient: (rows, cols).</param>
    /// <param name="rows">Number of rows.</param>
    /// <param name="cols">Row length.</param>
    /// <param name="dScores">Gradient of the logits: (rows, cols). Accumulated.</param>
    public static void BackwardRows(ReadOnlySpan<float> weights, ReadOnlySpan<float> dWeights, int rows, int cols, Span<float> dScores)
    {
        Guard.Matrix(weights.Length, rows, cols, cols, nameof(weights));
        Guard.Matrix(dWeights.Length, rows, cols, cols, nameof(dWeights));
        Guard.Matrix(dScores.Length, rows, cols, cols, nameof(dScores));
        for (int r = 0; r < rows; r++)
        {
            Backward(weights.Slice(r * cols, cols), dWeights.Slice(r * cols, cols), dScores.Slice(r * cols, cols));
        }
    }

    internal static void CheckArguments(ReadOnlySpan<float> scores, ReadOnlySpan<bool> valid, Span<float> weights)
    {
        Guard.SameLength(weights.Length, scores.Length, nameof(weights));
        if (!valid.IsEmpty)
        {
            Guard.SameLength(valid.Length, scores.Length, nameof(valid));
        }
    }

    internal static void CheckBackwardArguments(ReadOnlySpan<float> weights, ReadOnlySpan<float> dWeights, Span<float> dScores)
    {
        Guard.SameLength(dWeights.Length, weights.Length, nameof(dWeights));
        Guard.SameLength(dScores.Length, weights.Length, nameof(dScores));
    }
}
