using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SpanAttention.Kernels;

/// <summary>
/// The feed-forward activations of the Transformer: ReLU and the exact (erf) GELU, PyTorch's
/// <c>F.gelu(x)</c> with <c>approximate='none'</c>. Each formula is written once per width in a small
/// operator struct and run by <see cref="Elementwise"/> (Vector512, Vector256, scalar remainder).
/// </summary>
public static partial class Activations
{
    /// <summary>y = max(x, 0), element-wise.</summary>
    /// <param name="x">Input: (n).</param>
    /// <param name="y">Output: (n). Overwritten. May be the same span as <paramref name="x"/>.</param>
    internal static void Relu(ReadOnlySpan<float> x, Span<float> y) => Elementwise.Apply<ReluOperator>(x, y);

    /// <summary>dx += dy ⊙ [y &gt; 0], where y = max(x, 0) (the subgradient 0 at x = 0, as PyTorch).</summary>
    /// <param name="y">Forward output (or input; the sign test is the same): (n).</param>
    /// <param name="dy">Upstream gradient: (n).</param>
    /// <param name="dx">Gradient of the input: (n). Accumulated.</param>
    internal static void ReluBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx) =>
        Elementwise.Apply<ReluBackwardOperator>(y, dy, dx, dx);

    /// <summary>y = GELU(x) = x · Φ(x) = x · ½ (1 + erf(x / √2)), element-wise.</summary>
    /// <param name="x">Input: (n).</param>
    /// <param name="y">Output: (n). Overwritten. May be the same span as <paramref name="x"/>.</param>
    /// <remarks>
    /// Φ is computed from erfc on |x| so that neither tail cancels: with z = |x| / √2, Φ(x) = 1 - ½ erfc(z) for
    /// x ≥ 0 and ½ erfc(z) for x &lt; 0. erfc(z) = t · exp(-z² + P(t)), t = 1 / (1 + z/2), is the Chebyshev fit of
    /// Numerical Recipes (erfcc, fractional error below 1.2e-7 for every z ≥ 0); the vector paths take the exp
    /// from the softmax (<see cref="Softmax"/>), the scalar remainder from <see cref="MathF.Exp"/>.
    /// </remarks>
    internal static void Gelu(ReadOnlySpan<float> x, Span<float> y) => Elementwise.Apply<GeluOperator>(x, y);

    /// <summary>dx += dy ⊙ GELU'(x), GELU'(x) = Φ(x) + x · φ(x), φ(x) = exp(-x²/2) / √(2π).</summary>
    /// <param name="x">Forward input (GELU's derivative needs x, not y): (n).</param>
    /// <param name="dy">Upstream gradient: (n).</param>
    /// <param name="dx">Gradient of the input: (n). Accumulated. May be the same span as <paramref name="x"/> only if x is no longer needed.</param>
    internal static void GeluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx) =>
        Elementwise.Apply<GeluBackwardOperator>(x, dy, dx, dx);

    // erfc(z) = t·exp(-z² - 1.26551223 + t·(1.00002368 + t·(0.37409196 + ...))), t = 1/(1 + z/2)
    private const float E0 = -1.26551223f, E1 = 1.00002368f, E2 = 0.37409196f, E3 = 0.09678418f, E4 = -0.18628806f;
    private const float E5 = 0.27886807f, E6 = -1.13520398f, E7 = 1.48851587f, E8 = -0.82215223f, E9 = 0.17087277f;
    private const float InvSqrt2 = 0.70710678118654752f;
    private const float InvSqrt2Pi = 0.39894228040143268f;

    /// <summary>The exponent -z² + P(t) of the erfc fit (≤ 0 up to rounding).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ErfcExponent(float z, float t) =>
        -z * z + (E0 + t * (E1 + t * (E2 + t * (E3 + t * (E4 + t * (E5 + t * (E6 + t * (E7 + t * (E8 + t * E9)))))))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ErfcExponent(Vector256<float> z, Vector256<float> t)
    {
        Vector256<float> p = Vector256.FusedMultiplyAdd(t, Vector256.Create(E9), Vector256.Create(E8));
        p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(E7));
        p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(E6));
        p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(E5));
        p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(E4));
        p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(E3));
        p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(E2));
        p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(E1));
        p = Vector256.FusedMultiplyAdd(t, p, Vector256.Create(E0));
        return Vector256.Min(Vector256.FusedMultiplyAdd(-z, z, p), Vector256<float>.Zero);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ErfcExponent(Vector512<float> z, Vector512<float> t)
    {
        Vector512<float> p = Vector512.FusedMultiplyAdd(t, Vector512.Create(E9), Vector512.Create(E8));
        p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(E7));
        p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(E6));
        p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(E5));
        p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(E4));
        p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(E3));
        p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(E2));
        p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(E1));
        p = Vector512.FusedMultiplyAdd(t, p, Vector512.Create(E0));
        return Vector512.Min(Vector512.FusedMultiplyAdd(-z, z, p), Vector512<float>.Zero);
    }

    /// <summary>Φ(x), the standard normal CDF, through erfc(|x|/√2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float NormalCdf(float x)
    {
        float z = MathF.Abs(x) * InvSqrt2;
        float t = 1f / (1f + 0.5f * z);
        float halfErfc = 0.5f * t * MathF.Exp(MathF.Min(ErfcExponent(z, t), 0f));
        return x < 0f ? halfErfc : 1f - halfErfc;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> NormalCdf(Vector256<float> x)
    {
        Vector256<float> z = Vector256.Abs(x) * Vector256.Create(InvSqrt2);
        Vector256<float> t = Vector256<float>.One / Vector256.FusedMultiplyAdd(z, Vector256.Create(0.5f), Vector256<float>.One);
        Vector256<float> halfErfc = Vector256.Create(0.5f) * t * Softmax.ExpNonPositive(ErfcExponent(z, t));
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), halfErfc, Vector256<float>.One - halfErfc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> NormalCdf(Vector512<float> x)
    {
        Vector512<float> z = Vector512.Abs(x) * Vector512.Create(InvSqrt2);
        Vector512<float> t = Vector512<float>.One / Vector512.FusedMultiplyAdd(z, Vector512.Create(0.5f), Vector512<float>.One);
        Vector512<float> halfErfc = Vector512.Create(0.5f) * t * Softmax.ExpNonPositive(ErfcExponent(z, t));
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), halfErfc, Vector512<float>.One - halfErfc);
    }

    /// <summary>x -> max(x, 0).</summary>
    private readonly struct ReluOperator : IUnaryOperator
    {
        public static float Invoke(float x) => x > 0f ? x : 0f;

        public static Vector256<float> Invoke(Vector256<float> x) => Vector256.Max(x, Vector256<float>.Zero);

        public static Vector512<float> Invoke(Vector512<float> x) => Vector512.Max(x, Vector512<float>.Zero);
    }

    /// <summary>(y, dy, dx) -> dx + (y &gt; 0 ? dy : 0).</summary>
    private readonly struct ReluBackwardOperator : ITernaryOperator
    {
        public static float Invoke(float y, float dy, float dx) => y > 0f ? dx + dy : dx;

        public static Vector256<float> Invoke(Vector256<float> y, Vector256<float> dy, Vector256<float> dx) =>
            dx + (dy & Vector256.GreaterThan(y, Vector256<float>.Zero));

        public static Vector512<float> Invoke(Vector512<float> y, Vector512<float> dy, Vector512<float> dx) =>
            dx + (dy & Vector512.GreaterThan(y, Vector512<float>.Zero));
    }

    /// <summary>x -> x·Φ(x).</summary>
    private readonly struct GeluOperator : IUnaryOperator
    {
        public static float Invoke(float x) => x * NormalCdf(x);

        public static Vector256<float> Invoke(Vector256<float> x) => x * NormalCdf(x);

        public static Vector512<float> Invoke(Vector512<float> x) => x * NormalCdf(x);
    }

    /// <summary>(x, dy, dx) -> dx + dy·(Φ(x) + x·φ(x)).</summary>
    private readonly struct GeluBackwardOperator : ITernaryOperator
    {
        public static float Invoke(float x, float dy, float dx) =>
            dx + dy * (NormalCdf(x) + x * InvSqrt2Pi * MathF.Exp(-0.5f * x * x));

        public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> dy, Vector256<float> dx)
        {
            Vector256<float> density = Vector256.Create(InvSqrt2Pi) * Softmax.ExpNonPositive(Vector256.Create(-0.5f) * x * x);
            return Vector256.FusedMultiplyAdd(dy, Vector256.FusedMultiplyAdd(x, density, NormalCdf(x)), dx);
        }

        public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> dy, Vector512<float> dx)
        {
            Vector512<float> density = Vector512.Create(InvSqrt2Pi) * Softmax.ExpNonPositive(Vector512.Create(-0.5f) * x * x);
            return Vector512.FusedMultiplyAdd(dy, Vector512.FusedMultiplyAdd(x, density, NormalCdf(x)), dx);
        }
    }
}
