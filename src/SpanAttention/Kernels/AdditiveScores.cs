using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SpanAttention.Kernels;

/// <summary>
/// The additive (Bahdanau) attention score of one query against n projected keys, s_j = v · tanh(q + K_j), in one
/// pass per key with a fast rational tanh (decoding only).
/// </summary>
/// <remarks>
/// <para>tanh(x) ≈ x·P(x²)/Q(x²) with P of degree 6 and Q of degree 3 in x² (the odd 13/6 minimax fit used by Eigen
/// and MLAS), x clamped to ±7.9053111 where float tanh rounds to ±1. Odd in x, so small arguments keep their
/// relative accuracy. Measured against double-precision tanh: |error| ≤ 1e-6 everywhere (about 3e-7 typical; see
/// AdditiveScoresTests), against ≤ 1 ulp-ish for TensorPrimitives.Tanh. The training path (AttentionLayer) keeps
/// the exact tanh, and its cached activations for backward; this kernel computes no gradient.</para>
/// <para>Width cascade Vector512 / Vector256 / scalar, each with the same rational function; the A-remainder is
/// scalar.</para>
/// </remarks>
public static class AdditiveScores
{
    // tanh(x) ≈ x (α1 + α3 x² + … + α13 x¹²) / (β0 + β2 x² + β4 x⁴ + β6 x⁶)
    private const float Clamp = 7.90531110763549805f;
    private const float A1 = 4.89352455891786e-03f, A3 = 6.37261928875436e-04f, A5 = 1.48572235717979e-05f,
        A7 = 5.12229709037114e-08f, A9 = -8.60467152213735e-11f, A11 = 2.00018790482477e-13f, A13 = -2.76076847742355e-16f;
    private const float B0 = 4.89352518554385e-03f, B2 = 2.26843463243900e-03f, B4 = 1.18534705686654e-04f, B6 = 1.19825839466702e-06f;

    /// <summary>s_j = Σ_a v_a tanh(q_a + K_ja) for j &lt; n.</summary>
    /// <param name="q">q: (A), the projected query W_q q.</param>
    /// <param name="keys">K: (n, A) row-major, the projected keys W_k k_j + b.</param>
    /// <param name="n">Number of keys.</param>
    /// <param name="v">v: (A).</param>
    /// <param name="scores">s: (n). Overwritten.</param>
    /// <remarks>Effectively computes s_j = v · tanh(q + K_j) with <see cref="Tanh(float)"/>; n·A tanh, one pass over K.</remarks>
    public static void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, int n, ReadOnlySpan<float> v, Span<float> scores)
    {
        int a = q.Length;
        Guard.NonNegative(n, nameof(n));
        Guard.SameLength(v.Length, a, nameof(v));
        Guard.Length(keys.Length, n * a, nameof(keys));
        Guard.Length(scores.Length, n, nameof(scores));
        ref float rq = ref MemoryMarshal.GetReference(q);
        ref float rv = ref MemoryMarshal.GetReference(v);
        for (int j = 0; j < n; j++)
        {
            ref float rk = ref Unsafe.Add(ref MemoryMarshal.GetReference(keys), j * a);
            int i = 0;
            float s = 0f;
            if (Isa.Vector512)
            {
                Vector512<float> acc = Vector512<float>.Zero;
                for (; i + 16 <= a; i += 16)
                {
                    Vector512<float> x = Vector512.LoadUnsafe(ref rq, (nuint)i) + Vector512.LoadUnsafe(ref rk, (nuint)i);
                    acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref rv, (nuint)i), Tanh(x), acc);
                }
                s = Vector512.Sum(acc);
            }
            else if (Isa.Vector256)
            {
                Vector256<float> acc = Vector256<float>.Zero;
                for (; i + 8 <= a; i += 8)
                {
                    Vector256<float> x = Vector256.LoadUnsafe(ref rq, (nuint)i) + Vector256.LoadUnsafe(ref rk, (nuint)i);
                    acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref rv, (nuint)i), Tanh(x), acc);
                }
                s = Vector256.Sum(acc);
            }
            for (; i < a; i++)
            {
                s += Unsafe.Add(ref rv, i) * Tanh(Unsafe.Add(ref rq, i) + Unsafe.Add(ref rk, i));   // remainder (or scalar path)
            }
            scores[j] = s;
        }
    }

    /// <summary>The fast rational tanh, scalar (the same function as the vector paths).</summary>
    /// <param name="x">Argument.</param>
    /// <returns>tanh(x) within 1e-6.</returns>
    public static float Tanh(float x)
    {
        x = Math.Clamp(x, -Clamp, Clamp);
        float x2 = x * x;
        float p = MathF.FusedMultiplyAdd(x2, A13, A11);
        p = MathF.FusedMultiplyAdd(p, x2, A9);
        p = MathF.FusedMultiplyAdd(p, x2, A7);
        p = MathF.FusedMultiplyAdd(p, x2, A5);
        p = MathF.FusedMultiplyAdd(p, x2, A3);
        p = MathF.FusedMultiplyAdd(p, x2, A1);
        float d = MathF.FusedMultiplyAdd(x2, B6, B4);
        d = MathF.FusedMultiplyAdd(d, x2, B2);
        d = MathF.FusedMultiplyAdd(d, x2, B0);
        return x * p / d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Tanh(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(-Clamp)), Vector256.Create(Clamp));
        Vector256<float> x2 = x * x;
        Vector256<float> p = Vector256.FusedMultiplyAdd(x2, Vector256.Create(A13), Vector256.Create(A11));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(A9));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(A7));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(A5));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(A3));
        p = Vector256.FusedMultiplyAdd(p, x2, Vector256.Create(A1));
        Vector256<float> d = Vector256.FusedMultiplyAdd(x2, Vector256.Create(B6), Vector256.Create(B4));
        d = Vector256.FusedMultiplyAdd(d, x2, Vector256.Create(B2));
        d = Vector256.FusedMultiplyAdd(d, x2, Vector256.Create(B0));
        return x * p / d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Tanh(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(-Clamp)), Vector512.Create(Clamp));
        Vector512<float> x2 = x * x;
        Vector512<float> p = Vector512.FusedMultiplyAdd(x2, Vector512.Create(A13), Vector512.Create(A11));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(A9));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(A7));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(A5));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(A3));
        p = Vector512.FusedMultiplyAdd(p, x2, Vector512.Create(A1));
        Vector512<float> d = Vector512.FusedMultiplyAdd(x2, Vector512.Create(B6), Vector512.Create(B4));
        d = Vector512.FusedMultiplyAdd(d, x2, Vector512.Create(B2));
        d = Vector512.FusedMultiplyAdd(d, x2, Vector512.Create(B0));
        return x * p / d;
    }
}
