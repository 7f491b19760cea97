using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

/// <summary>The bf16 and int8 encodings of <see cref="Quantization"/>, and the packed layouts that hold them.</summary>
public class QuantizationTests
{
    /// <summary>
    /// An independent bf16 oracle: the two bf16 neighbours of w (truncation and one ulp up, ∞ counted as 2¹²⁸ as IEEE
    /// overflow does), the nearer one in exact double arithmetic, the even one on a tie.
    /// </summary>
    private static ushort NearestEvenOracle(float w)
    {
        uint bits = BitConverter.SingleToUInt32Bits(w);
        uint lower = bits & 0xFFFF0000u, upper = lower + 0x10000u;
        double magnitude = Math.Abs((double)w);
        double down = Math.Abs((double)BitConverter.UInt32BitsToSingle(lower));
        float up = BitConverter.UInt32BitsToSingle(upper);
        double upMagnitude = float.IsInfinity(up) ? Math.Pow(2, 128) : Math.Abs((double)up);
        double dLower = magnitude - down, dUpper = upMagnitude - magnitude;
        bool takeUpper = dUpper < dLower || (dUpper == dLower && ((lower >> 16) & 1) == 1);
        return (ushort)((takeUpper ? upper : lower) >> 16);
    }

    [Fact]
    public void ToBFloat16_RandomFloatsOfEveryMagnitude_MatchNearestEvenOracle()
    {
        var rng = new Random(5);
        for (int n = 0; n < 50_000; n++)
        {
            uint bits = (uint)rng.NextInt64(0, 1L << 32);
            // the raw pattern, and the same top half with its low half at, just under and just over the tie
            foreach (uint low in new[] { bits & 0xFFFFu, 0x8000u, 0x7FFFu, 0x8001u })
            {
                float w = BitConverter.UInt32BitsToSingle((bits & 0xFFFF0000u) | low);
                if (float.IsNaN(w) || float.IsInfinity(w))
                {
                    continue;
                }
                Assert.True(NearestEvenOracle(w) == Quantization.ToBFloat16(w), $"{w:R} (0x{BitConverter.SingleToUInt32Bits(w):X8})");
            }
        }
    }

    [Theory]
    [InlineData(1f, 0x3F80)]
    [InlineData(1f + 1f / 256, 0x3F80)]              // tie between 1 and 1 + 2⁻⁷: the even one, 1
    [InlineData(1f + 3f / 256, 0x3F82)]              // tie between 1 + 2⁻⁷ (odd) and 1 + 2⁻⁶: up to the even one
    [InlineData(1f + 1f / 256 + 1f / 65536, 0x3F81)] // just past the tie: up
    [InlineData(-2.5f, 0xC020)]
    [InlineData(0f, 0x0000)]
    [InlineData(-0f, 0x8000)]
    [InlineData(float.PositiveInfinity, 0x7F80)]
    [InlineData(float.NegativeInfinity, 0xFF80)]
    [InlineData(float.MaxValue, 0x7F80)]             // past bf16's largest finite value by more than half an ulp: ∞
    [InlineData(1e-45f, 0x0000)]                     // the smallest subnormal rounds to 0
    public void ToBFloat16_EdgeCases_RoundToNearestEven(float w, int expected) =>
        Assert.Equal((ushort)expected, Quantization.ToBFloat16(w));

    [Fact]
    public void ToBFloat16_NaN_StaysNaN()
    {
        foreach (uint bits in new[] { 0x7FC00000u, 0x7F800001u, 0xFF800001u, 0x7FFFFFFFu })
        {
            Assert.True(float.IsNaN(Quantization.FromBFloat16(Quantization.ToBFloat16(BitConverter.UInt32BitsToSingle(bits)))), $"0x{bits:X8}");
        }
    }

    [Fact]
    public void BFloat16_EveryCode_RoundTripsExactly()
    {
        for (int code = 0; code <= ushort.MaxValue; code++)
        {
            float w = Quantization.FromBFloat16((ushort)code);
            if (!float.IsNaN(w))
            {
                Assert.Equal((ushort)code, Quantization.ToBFloat16(w));
            }
        }
    }

    [Fact]
    public void ToBFloat16_NormalFloats_RelativeErrorAtMostTwoToMinusEight()
    {
        float[] w = Numerics.Random(20_000, seed: 9, scale: 3f);
        foreach (float v in w)
        {
            if (v == 0f)
            {
                continue;
            }
            float back = Quantization.FromBFloat16(Quantization.ToBFloat16(v));
            Assert.True(MathF.Abs(back - v) <= MathF.ScaleB(MathF.Abs(v), -8), $"{v:R} -> {back:R}");
        }
    }

    [Fact]
    public void Int8_RandomRows_ScaleIsMaxOver127AndErrorAtMostHalfAScale()
    {
        for (int seed = 0; seed < 50; seed++)
        {
            float[] row = Numerics.Random(37, seed, scale: 0.1f + seed);
            float max = row.Max(MathF.Abs);
            float scale = Quantization.Int8Scale(row, "row");
            Assert.Equal(max / 127f, scale);
            foreach (float w in row)
            {
                sbyte q = Quantization.ToInt8(w, scale);
                Assert.InRange(q, -127, 127);
                Assert.True(MathF.Abs(q * scale - w) <= scale * 0.5f * (1 + 1e-5f), $"seed {seed}: {w:R} -> {q} x {scale:R}");
                if (MathF.Abs(w) == max)
                {
                    Assert.Equal(w > 0 ? 127 : -127, q);
                }
            }
        }
    }

    [Theory]
    [InlineData(2.5f, 2)]      // ties to even
    [InlineData(3.5f, 4)]
    [InlineData(-2.5f, -2)]
    [InlineData(-0.49f, 0)]
    [InlineData(127f, 127)]
    [InlineData(-127f, -127)]
    [InlineData(126.6f, 127)]
    public void ToInt8_ScaleOne_RoundsToNearestEven(float w, int expected) => Assert.Equal((sbyte)expected, Quantization.ToInt8(w, 1f));

    [Fact]
    public void Int8_ZeroRow_HasScaleZeroAndCodesZero()
    {
        float[] row = new float[9];
        Assert.Equal(0f, Quantization.Int8Scale(row, "row"));
        Assert.Equal(0f, Quantization.Int8Scale([], "row"));
        Assert.Equal(0, Quantization.ToInt8(0f, 0f));
    }

    [Fact]
    public void Int8Scale_NonFiniteWeight_ThrowsNamingTheArgumentAndColumn()
    {
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            var e = Assert.Throws<ArgumentException>(() => Quantization.Int8Scale([1f, 2f, bad], "w"));
            Assert.Equal("w", e.ParamName);
            Assert.Contains("column 2", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 17)]
    [InlineData(4, 16)]
    [InlineData(9, 33)]
    [InlineData(13, 70)]
    public void PackNarrow_AnyShape_StoresEachWeightQuantisedInPlace(int rows, int cols)
    {
        int ldw = cols + 3;
        float[] w = Numerics.Random(rows * ldw, seed: rows + 100 * cols);
        var bf16 = new PackedGemvMatrix(rows, cols, PackedElement.BFloat16);
        var int8 = new PackedGemvMatrix(rows, cols, PackedElement.Int8);
        bf16.Pack(w, rows, cols, ldw);
        int8.Pack(w, rows, cols, ldw);
        for (int i = 0; i < rows; i++)
        {
            float scale = Quantization.Int8Scale(w.AsSpan(i * ldw, cols), "w");
            Assert.Equal(scale, int8.Scales[i]);
            for (int j = 0; j < cols; j++)
            {
                float v = w[i * ldw + j];
                Assert.Equal(Quantization.FromBFloat16(Quantization.ToBFloat16(v)), bf16.Stored(i, j));
                Assert.Equal(scale * Quantization.ToInt8(v, scale), int8.Stored(i, j));
            }
        }
        for (int i = rows; i < int8.Groups * 4; i++)
        {
            Assert.Equal(0f, int8.Scales[i]);   // padding rows
        }
    }

    [Fact]
    public void PackInt8_NonFiniteWeight_ThrowsNamingW()
    {
        var packed = new PackedGemvMatrix(2, 3, PackedElement.Int8);
        var e = Assert.Throws<ArgumentException>(() => packed.Pack([1, 2, 3, 4, float.NaN, 6], 2, 3, 3));
        Assert.Equal("w", e.ParamName);
    }
}
