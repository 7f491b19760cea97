using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SpanAttention.Kernels;

/// <summary>
/// Stable softmax over one row or over the rows of a matrix, with an optional mask, and its backward.
/// </summary>
/// <remarks>
/// <para>Forward subtracts the row maximum before exponentiating, so any finite logits (up to ±3.4e38) give
/// finite weights in [0, 1] that sum to one. Masked positions get exactly 0; a row with no valid position
/// gives all zeros, never NaN. <see cref="TensorPrimitives"/>' own SoftMax does not subtract the maximum
/// and overflows to NaN for logits such as [1000, 1001]; it is never used here.</para>
/// <para>Non-finite logits (over the valid positions; masked positions always get 0), as the limits of softmax:
/// -∞ gets weight 0; when k ≥ 1 logits are +∞, each of them gets 1/k and every other position 0 (so a score that
/// overflowed float still gives finite weights); a row of only -∞ gives all zeros, like a row with no valid
/// position; a NaN anywhere makes every valid weight NaN (the weights are undefined: the error is passed on,
/// not hidden). Finite rows never reach the code for these cases: it runs only when the maximum is not finite or
/// the sum of exponentials is NaN (docs/kernels.md).</para>
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
        float max = Max(s);                         // pass 1: max_j s_j
        if (!float.IsFinite(max))
        {
            NonFinite(s, default, a);               // +∞ (or NaN) among the logits, or all -∞: the input is still intact
            return;
        }
        float sum = ExpShiftedAndSum(s, max, a);    // pass 2: a_j = exp(s_j - max) in [0, 1], 1 at the max; sum >= 1
        if (float.IsNaN(sum))
        {
            a.Fill(float.NaN);                      // a NaN logit (exp passes NaN on): the weights are undefined
            return;
        }
        Scale(a, 1f / sum);                         // pass 3: a_j /= sum (as a_j · (1/sum): one extra rounding, far inside the n-ulp budget)
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
        // Pass 1: a_j = s_j where valid, -∞ where masked, and the max over valid j. exp(-∞ - max) is
        // exactly 0, so the unmasked passes 2 and 3 then give masked positions exactly 0.
        float max = MaskAndMax(scores, valid, weights);
        if (!float.IsFinite(max))
        {
            NonFinite(weights, valid, weights);   // no valid position (all zeros), only -∞, +∞ or NaN among the valid logits
            return;
        }
        float sum = ExpShiftedAndSum(weights, max, weights);
        if (float.IsNaN(sum))
        {
            FillValid(weights, valid, float.NaN);
            return;
        }
        Scale(weights, 1f / sum);
    }

    /// <summary>
    /// The rows the fast passes leave to this: a_j = 1/k where s_j = +∞ (k such j), else 0; a NaN among the valid
    /// s_j makes every valid a_j NaN; with neither, all zeros. Masked positions get 0.
    /// </summary>
    /// <param name="s">Logits: (n). Masked positions may hold anything (MaskAndMax writes -∞ there).</param>
    /// <param name="valid">Empty for no mask, else (n).</param>
    /// <param name="a">Weights: (n). Overwritten; may be the same span as <paramref name="s"/>.</param>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void NonFinite(ReadOnlySpan<float> s, ReadOnlySpan<bool> valid, Span<float> a)
    {
        int infinite = 0;
        bool nan = false;
        for (int j = 0; j < s.Length; j++)
        {
            if (valid.IsEmpty || valid[j])
            {
                infinite += float.IsPositiveInfinity(s[j]) ? 1 : 0;
                nan |= float.IsNaN(s[j]);
            }
        }
        if (nan)
        {
            FillValid(a, valid, float.NaN);             // masked positions get 0
            return;
        }
        float share = infinite > 0 ? 1f / infinite : 0f;
        for (int j = 0; j < s.Length; j++)
        {
            a[j] = (valid.IsEmpty || valid[j]) && float.IsPositiveInfinity(s[j]) ? share : 0f;
        }
    }

    /// <summary>a_j = value where valid_j (everywhere when <paramref name="valid"/> is empty).</summary>
    private static void FillValid(Span<float> a, ReadOnlySpan<bool> valid, float value)
    {
        for (int j = 0; j < a.Length; j++)
        {
            a[j] = valid.IsEmpty || valid[j] ? value : 0f;
        }
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
    /// <remarks>Masked positions have weight 0, so they receive exactly 0 gradient: no mask is needed here.
    /// Each element is one fused multiply-add, fma(weights_j, dWeights_j - dot, dScores_j), with dot =
    /// <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>, on every path, so the result does
    /// not depend on the vector width.</remarks>
    public static void Backward(ReadOnlySpan<float> weights, ReadOnlySpan<float> dWeights, Span<float> dScores)
    {
        CheckBackwardArguments(weights, dWeights, dScores);
        float dot = TensorPrimitives.Dot(weights, dWeights);
        ref float a = ref MemoryMarshal.GetReference(weights);
        ref float da = ref MemoryMarshal.GetReference(dWeights);
        ref float ds = ref MemoryMarshal.GetReference(dScores);
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
            // fused like the vector paths, so every element gets the same bits whichever path computes it
            Unsafe.Add(ref ds, j) = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, j), Unsafe.Add(ref da, j) - dot, Unsafe.Add(ref ds, j));
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

    /// <summary>a_j = valid_j ? s_j : -∞, returning max_j a_j (-∞ when nothing is valid).</summary>
    /// <remarks>The bools are read as bytes (any non-zero byte is true) and widened to lane masks.
    /// <paramref name="a"/> may be the same span as <paramref name="s"/>.</remarks>
    private static float MaskAndMax(ReadOnlySpan<float> s, ReadOnlySpan<bool> valid, Span<float> a)
    {
        ref float rs = ref MemoryMarshal.GetReference(s);
        ref byte rv = ref Unsafe.As<bool, byte>(ref MemoryMarshal.GetReference(valid));
        ref float ra = ref MemoryMarshal.GetReference(a);
        nuint n = (nuint)s.Length;
        nuint j = 0;
        float max = float.NegativeInfinity;
        if (Isa.Vector512 && n >= (nuint)Vector512<float>.Count)
        {
            Vector512<float> ninf = Vector512.Create(float.NegativeInfinity), vmax = ninf;
            for (; j + 16 <= n; j += 16)
            {
                Vector128<byte> b = Vector128.LoadUnsafe(ref rv, j);
                Vector128<ushort> lo = Vector128.WidenLower(b), hi = Vector128.WidenUpper(b);
                Vector512<uint> v = Vector512.Create(
                    Vector256.Create(Vector128.WidenLower(lo), Vector128.WidenUpper(lo)),
                    Vector256.Create(Vector128.WidenLower(hi), Vector128.WidenUpper(hi)));
                Vector512<float> aj = Vector512.ConditionalSelect(
                    Vector512.Equals(v, Vector512<uint>.Zero).AsSingle(), ninf, Vector512.LoadUnsafe(ref rs, j));
                aj.StoreUnsafe(ref ra, j);
                vmax = Vector512.MaxNative(vmax, aj);
            }
            max = HorizontalMax(vmax);
        }
        if (Isa.Vector256 && j + (nuint)Vector256<float>.Count <= n)
        {
            Vector256<float> ninf = Vector256.Create(float.NegativeInfinity), vmax = Vector256.Create(max);
            for (; j + 8 <= n; j += 8)
            {
                Vector128<byte> b = Vector128.CreateScalar(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref rv, j))).AsByte();
                Vector128<ushort> lo = Vector128.WidenLower(b);
                Vector256<uint> v = Vector256.Create(Vector128.WidenLower(lo), Vector128.WidenUpper(lo));
                Vector256<float> aj = Vector256.ConditionalSelect(
                    Vector256.Equals(v, Vector256<uint>.Zero).AsSingle(), ninf, Vector256.LoadUnsafe(ref rs, j));
                aj.StoreUnsafe(ref ra, j);
                vmax = Vector256.MaxNative(vmax, aj);
            }
            max = HorizontalMax(vmax);
        }
        for (; j < n; j++)
        {
            float aj = Unsafe.Add(ref rv, j) != 0 ? Unsafe.Add(ref rs, j) : float.NegativeInfinity;
            Unsafe.Add(ref ra, j) = aj;
            max = aj > max ? aj : max;
        }
        return max;
    }

    /// <summary>max_j s_j over a non-empty row (finite logits).</summary>
    private static float Max(ReadOnlySpan<float> s)
    {
        ref float rs = ref MemoryMarshal.GetReference(s);
        nuint n = (nuint)s.Length;
        nuint j = 0;
        float max = float.NegativeInfinity;
        if (Isa.Vector512 && n >= (nuint)Vector512<float>.Count)
        {
            Vector512<float> m0 = Vector512.Create(float.NegativeInfinity), m1 = m0;
            for (; j + 32 <= n; j += 32)
            {
                m0 = Vector512.MaxNative(m0, Vector512.LoadUnsafe(ref rs, j));
                m1 = Vector512.MaxNative(m1, Vector512.LoadUnsafe(ref rs, j + 16));
            }
            if (j + 16 <= n)
            {
                m0 = Vector512.MaxNative(m0, Vector512.LoadUnsafe(ref rs, j));
                j += 16;
            }
            max = HorizontalMax(Vector512.MaxNative(m0, m1));
        }
        if (Isa.Vector256 && j + (nuint)Vector256<float>.Count <= n)
        {
            Vector256<float> m0 = Vector256.Create(max), m1 = m0;
            for (; j + 16 <= n; j += 16)
            {
                m0 = Vector256.MaxNative(m0, Vector256.LoadUnsafe(ref rs, j));
                m1 = Vector256.MaxNative(m1, Vector256.LoadUnsafe(ref rs, j + 8));
            }
            if (j + 8 <= n)
            {
                m0 = Vector256.MaxNative(m0, Vector256.LoadUnsafe(ref rs, j));
                j += 8;
            }
            max = HorizontalMax(Vector256.MaxNative(m0, m1));
        }
        for (; j < n; j++)
        {
            float sj = Unsafe.Add(ref rs, j);
            max = sj > max ? sj : max;
        }
        return max;
    }

    private static float HorizontalMax(Vector512<float> v) => HorizontalMax(Vector256.MaxNative(v.GetLower(), v.GetUpper()));

    private static float HorizontalMax(Vector256<float> v)
    {
        Vector128<float> m = Vector128.MaxNative(v.GetLower(), v.GetUpper());
        float max = m.GetElement(0);
        for (int i = 1; i < Vector128<float>.Count; i++)
        {
            max = MathF.Max(max, m.GetElement(i));
        }
        return max;
    }

    /// <summary>a_j = exp(s_j - max) for every j, returning Σ_j a_j. s_j ≤ max, so every a_j is in [0, 1].</summary>
    /// <remarks>One fused pass: the exponentials are summed while they are still in registers.
    /// <paramref name="a"/> may be the same span as <paramref name="s"/>.</remarks>
    private static float ExpShiftedAndSum(ReadOnlySpan<float> s, float max, Span<float> a)
    {
        ref float rs = ref MemoryMarshal.GetReference(s);
        ref float ra = ref MemoryMarshal.GetReference(a);
        nuint n = (nuint)s.Length;
        nuint j = 0;
        float sum = 0f;
        if (Isa.Vector512 && n >= (nuint)Vector512<float>.Count)
        {
            Vector512<float> vmax = Vector512.Create(max);
            Vector512<float> sum0 = Vector512<float>.Zero, sum1 = Vector512<float>.Zero;
            for (; j + 32 <= n; j += 32)
            {
                Vector512<float> e0 = ExpNonPositive(Vector512.LoadUnsafe(ref rs, j) - vmax);
                Vector512<float> e1 = ExpNonPositive(Vector512.LoadUnsafe(ref rs, j + 16) - vmax);
                e0.StoreUnsafe(ref ra, j);
                e1.StoreUnsafe(ref ra, j + 16);
                sum0 += e0;
                sum1 += e1;
            }
            if (j + 16 <= n)
            {
                Vector512<float> e0 = ExpNonPositive(Vector512.LoadUnsafe(ref rs, j) - vmax);
                e0.StoreUnsafe(ref ra, j);
                sum0 += e0;
                j += 16;
            }
            sum = Vector512.Sum(sum0 + sum1);
        }
        if (Isa.Vector256 && j + (nuint)Vector256<float>.Count <= n)
        {
            Vector256<float> vmax = Vector256.Create(max);
            Vector256<float> sum0 = Vector256<float>.Zero, sum1 = Vector256<float>.Zero;
            for (; j + 16 <= n; j += 16)
            {
                Vector256<float> e0 = ExpNonPositive(Vector256.LoadUnsafe(ref rs, j) - vmax);
                Vector256<float> e1 = ExpNonPositive(Vector256.LoadUnsafe(ref rs, j + 8) - vmax);
                e0.StoreUnsafe(ref ra, j);
                e1.StoreUnsafe(ref ra, j + 8);
                sum0 += e0;
                sum1 += e1;
            }
            if (j + 8 <= n)
            {
                Vector256<float> e0 = ExpNonPositive(Vector256.LoadUnsafe(ref rs, j) - vmax);
                e0.StoreUnsafe(ref ra, j);
                sum0 += e0;
                j += 8;
            }
            sum += Vector256.Sum(sum0 + sum1);
        }
        for (; j < n; j++)
        {
            float e = MathF.Exp(Unsafe.Add(ref rs, j) - max);
            Unsafe.Add(ref ra, j) = e;
            sum += e;
        }
        return sum;
    }

    /// <summary>a_j *= scale.</summary>
    private static void Scale(Span<float> a, float scale)
    {
        ref float ra = ref MemoryMarshal.GetReference(a);
        nuint n = (nuint)a.Length;
        nuint j = 0;
        if (Isa.Vector512)
        {
            Vector512<float> v = Vector512.Create(scale);
            for (; j + 16 <= n; j += 16)
            {
                (Vector512.LoadUnsafe(ref ra, j) * v).StoreUnsafe(ref ra, j);
            }
        }
        if (Isa.Vector256)
        {
            Vector256<float> v = Vector256.Create(scale);
            for (; j + 8 <= n; j += 8)
            {
                (Vector256.LoadUnsafe(ref ra, j) * v).StoreUnsafe(ref ra, j);
            }
        }
        for (; j < n; j++)
        {
            Unsafe.Add(ref ra, j) *= scale;
        }
    }

    // exp(x) for x ≤ 0, as softmax needs it (x = s - max). Classic range reduction: x = k·ln2 + r with
    // k = round(x·log2(e)) and |r| ≤ ln2/2, e^r = 1 + r + r²·P(r) with the degree-5 minimax P of Cephes' expf,
    // and 2^k built directly in the exponent bits. ln2 is split in two (hi has few mantissa bits, so k·hi
    // is exact) to keep r accurate. Below -87.3 (where 2^k would leave the normal range) the result is
    // flushed to exactly 0; -∞ gives 0, 0 gives exactly 1, NaN gives NaN. Max error about 1 ulp (tested against double).
    private const float ExpCutoff = -87.3f;
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;
    private const float RoundMagic = 12582912f;   // 1.5·2^23: adding it rounds to an integer held in the low mantissa bits
    private const float P0 = 1.9875691500e-4f;
    private const float P1 = 1.3981999507e-3f;
    private const float P2 = 8.3334519073e-3f;
    private const float P3 = 4.1665795894e-2f;
    private const float P4 = 1.6666665459e-1f;
    private const float P5 = 5.0000001201e-1f;

    /// <summary>exp(x) lane-wise for x ≤ 0 (256-bit); see the constants above.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> ExpNonPositive(Vector256<float> x)
    {
        Vector256<float> underflow = Vector256.LessThan(x, Vector256.Create(ExpCutoff));
        x = Vector256.MaxNative(Vector256.Create(ExpCutoff), x);                      // x second: a NaN x stays NaN (x86 maxps returns its second operand on NaN)
        Vector256<float> t = Vector256.FusedMultiplyAdd(x, Vector256.Create(Log2E), Vector256.Create(RoundMagic));
        Vector256<float> k = t - Vector256.Create(RoundMagic);                        // round(x·log2 e)
        Vector256<float> r = Vector256.FusedMultiplyAdd(k, Vector256.Create(-Ln2Hi), x);
        r = Vector256.FusedMultiplyAdd(k, Vector256.Create(-Ln2Lo), r);             // x - k·ln2
        Vector256<float> p = Vector256.FusedMultiplyAdd(Vector256.Create(P0), r, Vector256.Create(P1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P5));
        Vector256<float> er = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256<float>.One);   // e^r
        Vector256<int> twoK = (t.AsInt32() - Vector256.Create(RoundMagic).AsInt32() + Vector256.Create(127)) << 23;   // 2^k
        return Vector256.AndNot(er * twoK.AsSingle(), underflow);
    }

    /// <summary>exp(x) lane-wise for x ≤ 0 (512-bit); the same algorithm as the 256-bit form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> ExpNonPositive(Vector512<float> x)
    {
        Vector512<float> underflow = Vector512.LessThan(x, Vector512.Create(ExpCutoff));
        x = Vector512.MaxNative(Vector512.Create(ExpCutoff), x);
        Vector512<float> t = Vector512.FusedMultiplyAdd(x, Vector512.Create(Log2E), Vector512.Create(RoundMagic));
        Vector512<float> k = t - Vector512.Create(RoundMagic);
        Vector512<float> r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-Ln2Hi), x);
        r = Vector512.FusedMultiplyAdd(k, Vector512.Create(-Ln2Lo), r);
        Vector512<float> p = Vector512.FusedMultiplyAdd(Vector512.Create(P0), r, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
        Vector512<float> er = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
        Vector512<int> twoK = (t.AsInt32() - Vector512.Create(RoundMagic).AsInt32() + Vector512.Create(127)) << 23;
        return Vector512.AndNot(er * twoK.AsSingle(), underflow);
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
