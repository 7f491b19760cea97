using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

/// <summary>The packed GEMV over bf16 and int8 weights against its naive twins and against the fp32 GEMV.</summary>
public class NarrowGemvTests
{
    public static TheoryData<int> Sizes => Numerics.SizeData();

    /// <summary>(rows, cols) for size n: square, rows not a multiple of 4, odd tails both ways, one row, one column.</summary>
    private static IEnumerable<(int Rows, int Cols)> Shapes(int n)
    {
        if (n <= 131)
        {
            return [(n, n), (n, 37), (37, n), (3 * n, n + 1), (1, n), (n, 1)];
        }
        return [(n, 37), (37, n), (5, n), (n, 3)];
    }

    /// <summary>W's bf16 codes, row-major (rows, cols).</summary>
    private static ushort[] BFloat16Codes(float[] w, int rows, int cols, int ldw)
    {
        var codes = new ushort[rows * cols];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
            {
                codes[i * cols + j] = Quantization.ToBFloat16(w[i * ldw + j]);
            }
        }
        return codes;
    }

    /// <summary>W's int8 codes, row-major (rows, cols), and the row scales.</summary>
    private static (sbyte[] Codes, float[] Scales) Int8Codes(float[] w, int rows, int cols, int ldw)
    {
        var codes = new sbyte[rows * cols];
        var scales = new float[rows];
        for (int i = 0; i < rows; i++)
        {
            scales[i] = Quantization.Int8Scale(w.AsSpan(i * ldw, cols), "w");
            for (int j = 0; j < cols; j++)
            {
                codes[i * cols + j] = Quantization.ToInt8(w[i * ldw + j], scales[i]);
            }
        }
        return (codes, scales);
    }

    /// <summary>
    /// The quantisation error bound of y_i against the fp32 product on the unquantised W: Σ_j |W_ij − Q(W_ij)| |x_j| is at most
    /// 2⁻⁸ Σ_j |W_ij| |x_j| (bf16) or (s_i / 2) Σ_j |x_j| (int8); plus the fp32 summation slack the fp32 tests allow.
    /// </summary>
    private static float Bound(PackedElement element, float[] w, int i, int cols, int ldw, float[] x, float scale)
    {
        float sum = 0f;
        for (int j = 0; j < cols; j++)
        {
            sum += element == PackedElement.BFloat16 ? MathF.Abs(w[i * ldw + j] * x[j]) * MathF.ScaleB(1f, -8) : 0.5f * scale * MathF.Abs(x[j]);
        }
        return sum * (1 + 1e-4f) + 1e-5f * (cols + 1);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void MultiplyBFloat16_AnyShape_MatchesNaiveTwinAndFp32WithinBound(int n) => CheckShapes(n, PackedElement.BFloat16);

    [Theory]
    [MemberData(nameof(Sizes))]
    public void MultiplyInt8_AnyShape_MatchesNaiveTwinAndFp32WithinBound(int n) => CheckShapes(n, PackedElement.Int8);

    private static void CheckShapes(int n, PackedElement element)
    {
        foreach ((int rows, int cols) in Shapes(n))
        {
            int ldw = cols + 2;
            float[] w = Numerics.Random(rows * ldw, seed: rows * 47 + cols);
            float[] x = Numerics.Random(cols, seed: 53 + cols);
            var packed = new PackedGemvMatrix(rows, cols, element);
            packed.Pack(w, rows, cols, ldw);
            (sbyte[] q, float[] scales) = element == PackedElement.Int8 ? Int8Codes(w, rows, cols, ldw) : ([], []);
            ushort[] b = element == PackedElement.BFloat16 ? BFloat16Codes(w, rows, cols, ldw) : [];
            foreach (bool accumulate in new[] { false, true })
            {
                string what = $"{element} {rows}x{cols} acc={accumulate}";
                float[] start = Numerics.Random(rows, seed: 59 + rows);
                float[] twin = (float[])start.Clone();
                CanaryBuffer actual = Canary.From(start);
                if (element == PackedElement.BFloat16)
                {
                    Naive.GemvBFloat16(b, rows, cols, x, twin, accumulate);
                }
                else
                {
                    Naive.GemvInt8(q, scales, rows, cols, x, twin, accumulate);
                }
                Gemv.Multiply(packed, x, actual, accumulate);
                Numerics.AssertClose(twin, actual, rtol: 1e-4f, atol: 1e-5f * (cols + 1), what);
                actual.AssertIntact(what);

                float[] fp32 = (float[])start.Clone();
                Naive.Gemv(w, rows, cols, ldw, x, fp32, accumulate);
                for (int i = 0; i < rows; i++)
                {
                    float bound = Bound(element, w, i, cols, ldw, x, element == PackedElement.Int8 ? scales[i] : 0f);
                    Assert.True(MathF.Abs(actual[i] - fp32[i]) <= bound, $"{what}: y[{i}] = {actual[i]:R}, fp32 {fp32[i]:R}, bound {bound:R}");
                }
            }
        }
    }

    [Fact]
    public void MultiplyNarrow_SmallIntegers_GiveExactResult()
    {
        // Small integers are exact in bf16; each row's largest |w| is 127, so every int8 scale is 1 and int8 is exact too.
        float[] w =
        [
            127, 0, 0, 1, -3,
            0, 127, 0, 2, 5,
            0, 0, -127, 3, 7,
            1, 1, 1, 127, 9,
            2, -1, 4, 8, -127,
        ];
        float[] x = [1, 2, 3, 4, 5];
        float[] expected = [116, 287, -334, 559, -591];
        foreach (PackedElement element in new[] { PackedElement.BFloat16, PackedElement.Int8 })
        {
            var packed = new PackedGemvMatrix(5, 5, element);
            packed.Pack(w, 5, 5, 5);
            var y = new float[5];
            Gemv.Multiply(packed, x, y, accumulate: false);
            Assert.Equal(expected, y);
        }
    }

    [Fact]
    public void MultiplyNarrow_EmptyShapes_FollowTheFp32Rules()
    {
        foreach (PackedElement element in new[] { PackedElement.BFloat16, PackedElement.Int8 })
        {
            float[] y = [3f, 4f];
            Gemv.Multiply(new PackedGemvMatrix(2, 0, element), [], y, accumulate: true);
            Assert.Equal([3f, 4f], y);
            Gemv.Multiply(new PackedGemvMatrix(2, 0, element), [], y, accumulate: false);
            Assert.Equal([0f, 0f], y);
            Gemv.Multiply(new PackedGemvMatrix(0, 3, element), [1f, 2f, 3f], [], accumulate: false);
        }
    }

    [Fact]
    public void MultiplyTransposed_NarrowMatrix_ThrowsNamingW()
    {
        foreach (PackedElement element in new[] { PackedElement.BFloat16, PackedElement.Int8 })
        {
            var packed = new PackedGemvMatrix(3, 4, element);
            var e = Assert.Throws<ArgumentException>(() => Gemv.MultiplyTransposed(packed, new float[3], new float[4], accumulate: false));
            Assert.Equal("w", e.ParamName);
        }
    }

    [Theory]
    [InlineData(3, 5)]
    [InlineData(97, 131)]
    [InlineData(192, 64)]
    public void NarrowKernels_AfterWarmUp_AllocateZeroBytes(int rows, int cols)
    {
        float[] w = Numerics.Random(rows * (cols + 1), seed: 1);
        float[] x = Numerics.Random(cols, seed: 2);
        float[] y = new float[rows];
        foreach (PackedElement element in new[] { PackedElement.BFloat16, PackedElement.Int8 })
        {
            var packed = new PackedGemvMatrix(rows, cols, element);
            Assert.Equal(0, Allocations.AfterWarmUp(() => packed.Pack(w, rows, cols, cols + 1)));
            Assert.Equal(0, Allocations.AfterWarmUp(() => Gemv.Multiply(packed, x, y, accumulate: false)));
            Assert.Equal(0, Allocations.AfterWarmUp(() => Gemv.Multiply(packed, x, y, accumulate: true)));
        }
    }
}
