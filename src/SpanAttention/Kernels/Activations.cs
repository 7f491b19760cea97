using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SpanAttention.Kernels;

/// <summary>
/// Activation functions and their backward passes. Forward overwrites its output; backward accumulates
/// into the input gradient and is written in terms of the forward output y, which is what the layers cache.
/// </summary>
public static partial class Activations
{
    /// <summary>y = σ(x) = 1 / (1 + exp(-x)), element-wise.</summary>
    /// <param name="x">Input: (n).</param>
    /// <param name="y">Output: (n). Overwritten. May be the same span as <paramref name="x"/>.</param>
    /// <remarks>
    /// With e = exp(-|x|) in (0, 1], σ(x) = 1 / (1 + e) for x ≥ 0 and σ(x) = e / (1 + e) for x &lt; 0, so the
    /// exponential never overflows on either side. The vector paths use the softmax's exp for x ≤ 0
    /// (<see cref="Softmax"/>), which underflows to exactly 0 below about -87; a NaN input gives NaN.
    /// </remarks>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y)
    {
        Guard.SameLength(y.Length, x.Length, nameof(y));
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        nuint n = (nuint)x.Length;
        nuint j = 0;
        if (Isa.Vector512)
        {
            for (; j + 32 <= n; j += 32)
            {
                Vector512<float> y0 = Sigmoid(Vector512.LoadUnsafe(ref rx, j));
                Vector512<float> y1 = Sigmoid(Vector512.LoadUnsafe(ref rx, j + 16));
                y0.StoreUnsafe(ref ry, j);
                y1.StoreUnsafe(ref ry, j + 16);
            }
            if (j + 16 <= n)
            {
                Sigmoid(Vector512.LoadUnsafe(ref rx, j)).StoreUnsafe(ref ry, j);
                j += 16;
            }
        }
        if (Isa.Vector256)
        {
            for (; j + 16 <= n; j += 16)
            {
                Vector256<float> y0 = Sigmoid(Vector256.LoadUnsafe(ref rx, j));
                Vector256<float> y1 = Sigmoid(Vector256.LoadUnsafe(ref rx, j + 8));
                y0.StoreUnsafe(ref ry, j);
                y1.StoreUnsafe(ref ry, j + 8);
            }
            if (j + 8 <= n)
            {
                Sigmoid(Vector256.LoadUnsafe(ref rx, j)).StoreUnsafe(ref ry, j);
                j += 8;
            }
        }
        for (; j < n; j++)
        {
            Unsafe.Add(ref ry, j) = 1f / (1f + MathF.Exp(-Unsafe.Add(ref rx, j)));
        }
    }

    /// <summary>σ(x) lane-wise (512-bit): e = exp(-|x|), then 1 / (1 + e) or e / (1 + e) by the sign of x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Sigmoid(Vector512<float> x)
    {
        Vector512<float> e = Softmax.ExpNonPositive(-Vector512.Abs(x));                     // (0, 1]
        Vector512<float> r = Vector512<float>.One / (Vector512<float>.One + e);           // σ(|x|)
        Vector512<float> s = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), e * r, r);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), s, x);                 // NaN stays NaN
    }

    /// <summary>σ(x) lane-wise (256-bit); the same algorithm as the 512-bit form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Sigmoid(Vector256<float> x)
    {
        Vector256<float> e = Softmax.ExpNonPositive(-Vector256.Abs(x));
        Vector256<float> r = Vector256<float>.One / (Vector256<float>.One + e);
        Vector256<float> s = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), e * r, r);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), s, x);
    }

    /// <summary>y = tanh(x), element-wise.</summary>
    /// <param name="x">Input: (n).</param>
    /// <param name="y">Output: (n). Overwritten. May be the same span as <paramref name="x"/>.</param>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y)
    {
        Guard.SameLength(y.Length, x.Length, nameof(y));
        TensorPrimitives.Tanh(x, y);
    }

    /// <summary>dx += dy ⊙ y ⊙ (1 - y), where y = σ(x) (dσ/dx = σ(1 - σ)).</summary>
    /// <param name="y">Forward output σ(x): (n).</param>
    /// <param name="dy">Upstream gradient: (n).</param>
    /// <param name="dx">Gradient of the input: (n). Accumulated.</param>
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx) =>
        Elementwise.Apply<SigmoidBackwardOperator>(y, dy, dx, dx);

    /// <summary>dx += dy ⊙ (1 - y²), where y = tanh(x) (dtanh/dx = 1 - tanh²).</summary>
    /// <param name="y">Forward output tanh(x): (n).</param>
    /// <param name="dy">Upstream gradient: (n).</param>
    /// <param name="dx">Gradient of the input: (n). Accumulated.</param>
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx) =>
        Elementwise.Apply<TanhBackwardOperator>(y, dy, dx, dx);

    /// <summary>(y, dy, dx) -> dx + dy·y·(1 - y).</summary>
    private readonly struct SigmoidBackwardOperator : ITernaryOperator
    {
        public static float Invoke(float y, float dy, float dx) => dx + dy * y * (1f - y);

        public static Vector256<float> Invoke(Vector256<float> y, Vector256<float> dy, Vector256<float> dx) =>
            Vector256.FusedMultiplyAdd(dy * y, Vector256<float>.One - y, dx);

        public static Vector512<float> Invoke(Vector512<float> y, Vector512<float> dy, Vector512<float> dx) =>
            Vector512.FusedMultiplyAdd(dy * y, Vector512<float>.One - y, dx);
    }

    /// <summary>(y, dy, dx) -> dx + dy·(1 - y²).</summary>
    private readonly struct TanhBackwardOperator : ITernaryOperator
    {
        public static float Invoke(float y, float dy, float dx) => dx + dy * (1f - y * y);

        public static Vector256<float> Invoke(Vector256<float> y, Vector256<float> dy, Vector256<float> dx) =>
            Vector256.FusedMultiplyAdd(dy, Vector256<float>.One - y * y, dx);

        public static Vector512<float> Invoke(Vector512<float> y, Vector512<float> dy, Vector512<float> dx) =>
            Vector512.FusedMultiplyAdd(dy, Vector512<float>.One - y * y, dx);
    }
}
