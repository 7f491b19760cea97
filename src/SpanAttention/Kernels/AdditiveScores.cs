using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SpanAttention.Kernels;

/// <summary>
/// The additive (Bahdanau) attention score of one query against n projected keys, s_j = v · tanh(q + K_j), in one
/// pass per key with a fast rational tanh, and its backward, which recomputes the tanh layer instead of keeping it.
/// </summary>
/// <remarks>
/// <para>tanh(x) ≈ x·P(x²)/Q(x²) with P of degree 6 and Q of degree 3 in x² (the odd 13/6 minimax fit used by Eigen
/// and MLAS), x clamped to ±7.9053111 where float tanh rounds to ±1. Odd in x, so small arguments keep their
/// relative accuracy. Measured against double-precision tanh: |error| ≤ 1e-6 everywhere (about 3e-7 typical; see
/// AdditiveScoresTests), against ≤ 1 ulp-ish for TensorPrimitives.Tanh. Training (AttentionLayer) and decoding use
/// the same function, so a trained model decodes with the tanh it was trained with; the PyTorch goldens (exact tanh)
/// still agree to 1e-4. The backward uses 1 − h², the derivative of tanh, for the recomputed h.</para>
/// <para>Width cascade Vector512 / Vector256 / scalar, each with the same rational function; the A-remainder is
/// scalar.</para>
/// </remarks>
internal static class AdditiveScores
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

    /// <summary>h_j = tanh(q + K_j) for j &lt; n, with the same tanh as <see cref="Forward"/>.</summary>
    /// <param name="q">q: (A), the projected query.</param>
    /// <param name="keys">K: (n, A) row-major, the projected keys.</param>
    /// <param name="n">Number of keys.</param>
    /// <param name="hidden">h: (n, A). Overwritten.</param>
    public static void Hidden(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, int n, Span<float> hidden)
    {
        int a = q.Length;
        Guard.NonNegative(n, nameof(n));
        Guard.Length(keys.Length, n * a, nameof(keys));
        Guard.Length(hidden.Length, n * a, nameof(hidden));
        ref float rq = ref MemoryMarshal.GetReference(q);
        for (int j = 0; j < n; j++)
        {
            ref float rk = ref Unsafe.Add(ref MemoryMarshal.GetReference(keys), j * a);
            ref float rh = ref Unsafe.Add(ref MemoryMarshal.GetReference(hidden), j * a);
            int i = 0;
            if (Isa.Vector512)
            {
                for (; i + 16 <= a; i += 16)
                {
                    Tanh(Vector512.LoadUnsafe(ref rq, (nuint)i) + Vector512.LoadUnsafe(ref rk, (nuint)i)).StoreUnsafe(ref rh, (nuint)i);
                }
            }
            if (Isa.Vector256)
            {
                for (; i + 8 <= a; i += 8)
                {
                    Tanh(Vector256.LoadUnsafe(ref rq, (nuint)i) + Vector256.LoadUnsafe(ref rk, (nuint)i)).StoreUnsafe(ref rh, (nuint)i);
                }
            }
            for (; i < a; i++)
            {
                Unsafe.Add(ref rh, i) = Tanh(Unsafe.Add(ref rq, i) + Unsafe.Add(ref rk, i));
            }
        }
    }

    /// <summary>
    /// The backward of <see cref="Forward"/>, recomputing h_j = tanh(q + K_j) instead of reading it back:
    /// dv += Σ_j ds_j h_j ; dq += Σ_j ds_j v ⊙ (1 − h_j²) ; dK_j += ds_j v ⊙ (1 − h_j²). Accumulates into all three.
    /// </summary>
    /// <param name="q">q: (A), the projected query of the forward.</param>
    /// <param name="keys">K: (n, A), the projected keys of the forward.</param>
    /// <param name="n">Number of keys.</param>
    /// <param name="v">v: (A).</param>
    /// <param name="dScores">ds: (n), the gradient of the scores. A key with ds_j = 0 (masked) is skipped.</param>
    /// <param name="dv">dv: (A). Accumulated.</param>
    /// <param name="dq">dq: (A). Accumulated.</param>
    /// <param name="dKeys">dK: (n, A). Accumulated.</param>
    /// <remarks>
    /// Loops 16 (or 8) columns at a time on the outside and keys on the inside, so q, v and the dv, dq sums of a
    /// column chunk stay in registers while the keys stream by: per key and chunk one load of K_j, one tanh, and a
    /// load and store of dK_j. Recomputing the tanh costs about what reading a kept (T, B, S, A) layer back from
    /// memory would, without writing it in the forward (33.5 MB per step at B = 32, S = T = 32, A = 256).
    /// </remarks>
    public static void Backward(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, int n, ReadOnlySpan<float> v, ReadOnlySpan<float> dScores,
        Span<float> dv, Span<float> dq, Span<float> dKeys)
    {
        int a = q.Length;
        Guard.NonNegative(n, nameof(n));
        Guard.Length(keys.Length, n * a, nameof(keys));
        Guard.SameLength(v.Length, a, nameof(v));
        Guard.Length(dScores.Length, n, nameof(dScores));
        Guard.SameLength(dv.Length, a, nameof(dv));
        Guard.SameLength(dq.Length, a, nameof(dq));
        Guard.Length(dKeys.Length, n * a, nameof(dKeys));
        ref float rq = ref MemoryMarshal.GetReference(q);
        ref float rv = ref MemoryMarshal.GetReference(v);
        ref float rk = ref MemoryMarshal.GetReference(keys);
        ref float rdk = ref MemoryMarshal.GetReference(dKeys);
        ref float rds = ref MemoryMarshal.GetReference(dScores);
        int i = 0;
        if (Isa.Vector512)
        {
            for (; i + 16 <= a; i += 16)
            {
                Vector512<float> qi = Vector512.LoadUnsafe(ref rq, (nuint)i), vi = Vector512.LoadUnsafe(ref rv, (nuint)i);
                Vector512<float> dvSum = Vector512<float>.Zero, dqSum = Vector512<float>.Zero;
                for (int j = 0; j < n; j++)
                {
                    float dsj = Unsafe.Add(ref rds, j);
                    if (dsj == 0f)
                    {
                        continue;   // masked (or saturated) key: nothing flows back
                    }
                    nuint at = (nuint)(j * a + i);
                    Vector512<float> h = Tanh(qi + Vector512.LoadUnsafe(ref rk, at));     // (2) h_j recomputed
                    Vector512<float> ds = Vector512.Create(dsj);
                    dvSum = Vector512.FusedMultiplyAdd(ds, h, dvSum);                     // (3) dv += ds_j h_j
                    Vector512<float> g = ds * vi * (Vector512<float>.One - h * h);        // (2) dpre_j = ds_j v ⊙ (1 − h_j²)
                    dqSum += g;
                    (Vector512.LoadUnsafe(ref rdk, at) + g).StoreUnsafe(ref rdk, at);
                }
                Span<float> dvi = dv.Slice(i, 16), dqi = dq.Slice(i, 16);
                (Vector512.Create<float>(dvi) + dvSum).CopyTo(dvi);
                (Vector512.Create<float>(dqi) + dqSum).CopyTo(dqi);
            }
        }
        if (Isa.Vector256)
        {
            for (; i + 8 <= a; i += 8)
            {
                Vector256<float> qi = Vector256.LoadUnsafe(ref rq, (nuint)i), vi = Vector256.LoadUnsafe(ref rv, (nuint)i);
                Vector256<float> dvSum = Vector256<float>.Zero, dqSum = Vector256<float>.Zero;
                for (int j = 0; j < n; j++)
                {
                    float dsj = Unsafe.Add(ref rds, j);
                    if (dsj == 0f)
                    {
                        continue;
                    }
                    nuint at = (nuint)(j * a + i);
                    Vector256<float> h = Tanh(qi + Vector256.LoadUnsafe(ref rk, at));
                    Vector256<float> ds = Vector256.Create(dsj);
                    dvSum = Vector256.FusedMultiplyAdd(ds, h, dvSum);
                    Vector256<float> g = ds * vi * (Vector256<float>.One - h * h);
                    dqSum += g;
                    (Vector256.LoadUnsafe(ref rdk, at) + g).StoreUnsafe(ref rdk, at);
                }
                Span<float> dvi = dv.Slice(i, 8), dqi = dq.Slice(i, 8);
                (Vector256.Create<float>(dvi) + dvSum).CopyTo(dvi);
                (Vector256.Create<float>(dqi) + dqSum).CopyTo(dqi);
            }
        }
        for (; i < a; i++)
        {
            float qi = Unsafe.Add(ref rq, i), vi = Unsafe.Add(ref rv, i), dvSum = 0f, dqSum = 0f;
            for (int j = 0; j < n; j++)
            {
                float dsj = Unsafe.Add(ref rds, j);
                if (dsj == 0f)
                {
                    continue;
                }
                float h = Tanh(qi + Unsafe.Add(ref rk, j * a + i));
                dvSum += dsj * h;
                float g = dsj * vi * (1f - h * h);
                dqSum += g;
                Unsafe.Add(ref rdk, j * a + i) += g;
            }
            dv[i] += dvSum;
            dq[i] += dqSum;
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
