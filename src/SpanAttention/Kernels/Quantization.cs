using System.Runtime.CompilerServices;

namespace SpanAttention.Kernels;

/// <summary>
/// The two narrow weight encodings a <see cref="PackedGemvMatrix"/> can hold, element by element: bfloat16
/// (the top 16 bits of a float, rounded to nearest even) and symmetric int8 with one fp32 scale per row.
/// </summary>
/// <remarks>
/// <para>bfloat16 keeps float's sign and 8-bit exponent and 7 of its 23 mantissa bits, so it has float's range and
/// a unit roundoff of u = 2⁻⁸: |bf16(w) − w| ≤ 2⁻⁸ |w| for every finite w whose rounding does not overflow. Widening
/// back is exact: the 16 bits become the high half of a float whose low half is zero.</para>
/// <para>Int8, per row i: scale s_i = max_j |W[i, j]| / 127, q_ij = round(W[i, j] / s_i) ∈ [−127, 127] (ties to
/// even), W[i, j] ≈ s_i q_ij with |s_i q_ij − W[i, j]| ≤ s_i / 2. −128 is never used, so the code is symmetric. An
/// all-zero row gets s_i = 0 and q = 0.</para>
/// </remarks>
internal static class Quantization
{
    /// <summary>The largest int8 code; codes are in [−<see cref="Int8Max"/>, <see cref="Int8Max"/>].</summary>
    public const int Int8Max = 127;

    /// <summary>bf16(w): the float rounded to its top 16 bits, to nearest, ties to even. NaN stays a (quiet) NaN;
    /// a value within half an ulp of bf16's largest finite value or beyond rounds to ±∞, as IEEE rounding does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort ToBFloat16(float w)
    {
        uint bits = BitConverter.SingleToUInt32Bits(w);
        if (float.IsNaN(w))
        {
            return (ushort)((bits >> 16) | 0x0040);   // keep sign and payload's top bits, force quiet
        }
        uint roundingBias = 0x7FFFu + ((bits >> 16) & 1u);   // half an ulp, minus one unless the kept part is odd
        return (ushort)((bits + roundingBias) >> 16);
    }

    /// <summary>The float a bf16 value stands for (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FromBFloat16(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    /// <summary>s = max_j |row[j]| / 127: the per-row int8 scale (0 for an all-zero or empty row).</summary>
    /// <param name="row">One row of W: (cols); every value finite.</param>
    /// <param name="name">The argument to name when a value is not finite.</param>
    /// <exception cref="ArgumentException">The row holds NaN or ±∞ (no scale represents it).</exception>
    public static float Int8Scale(ReadOnlySpan<float> row, string name)
    {
        float max = 0f;
        for (int j = 0; j < row.Length; j++)
        {
            float a = MathF.Abs(row[j]);
            if (!float.IsFinite(a))
            {
                throw new ArgumentException($"{name}: int8 weights need finite values, found {row[j]} at column {j}.", name);
            }
            max = MathF.Max(max, a);
        }
        return max / Int8Max;
    }

    /// <summary>q = round(w / s) clamped to [−127, 127] (ties to even); 0 when s = 0.</summary>
    /// <param name="w">A weight of the row.</param>
    /// <param name="scale">The row's <see cref="Int8Scale"/>.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static sbyte ToInt8(float w, float scale)
    {
        if (scale == 0f)
        {
            return 0;
        }
        float q = MathF.Round(w / scale, MidpointRounding.ToEven);
        return (sbyte)Math.Clamp(q, -Int8Max, Int8Max);
    }
}
