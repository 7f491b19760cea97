using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace SpanAttention.Kernels;

/// <summary>
/// Activation functions and their backward passes. Forward overwrites its output; backward accumulates
/// into the input gradient and is written in terms of the forward output y, which is what the layers cache.
/// </summary>
public static class Activations
{
    /// <summary>y = σ(x) = 1 / (1 + exp(-x)), element-wise.</summary>
    /// <param name="x">Input: (n).</param>
    /// <param name="y">Output: (n). Overwritten. May be the same span as <paramref name="x"/>.</param>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y)
    {
        Guard.SameLength(y.Length, x.Length, nameof(y));
        if (!x.IsEmpty) // TensorPrimitives.Sigmoid rejects empty spans
        {
            TensorPrimitives.Sigmoid(x, y);
        }
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
