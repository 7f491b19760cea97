using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

public class GemmTests
{
    private static void CheckAgainstNaive(int m, int n, int k, Transpose ta, Transpose tb, bool accumulate, int pad, int seed)
    {
        int aRows = ta == Transpose.Yes ? k : m, aCols = ta == Transpose.Yes ? m : k;
        int bRows = tb == Transpose.Yes ? n : k, bCols = tb == Transpose.Yes ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        float[] a = Numerics.Random(aRows * lda, seed);
        float[] b = Numerics.Random(bRows * ldb, seed + 1);
        float[] expected = Numerics.Random(m * ldc, seed + 2);
        float[] actual = (float[])expected.Clone();
        Naive.Gemm(m, n, k, a, lda, ta, b, ldb, tb, expected, ldc, accumulate);
        Gemm.Multiply(m, n, k, a, lda, ta, b, ldb, tb, actual, ldc, accumulate);
        // Summation order differs: |error| <= k·eps·Σ|a||b| ~ k·1.2e-7·k/3 for uniform [-1, 1].
        Numerics.AssertClose(expected, actual, rtol: 1e-4f, atol: 2e-6f * (k + 1), $"m={m} n={n} k={k} {ta}/{tb} acc={accumulate} pad={pad}");
    }

    public static TheoryData<int, int> Transposes()
    {
        var data = new TheoryData<int, int>();
        for (int ta = 0; ta < 2; ta++)
        {
            for (int tb = 0; tb < 2; tb++)
            {
                data.Add(ta, tb);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Transposes))]
    public void Multiply_AllSmallShapes_MatchNaiveTwin(int ta, int tb)
    {
        int[] ks = [0, 1, 2, 3, 7, 16, 17, 33];
        for (int m = 0; m <= 25; m++)
        {
            for (int n = 0; n <= 40; n++)
            {
                foreach (int k in ks)
                {
                    CheckAgainstNaive(m, n, k, (Transpose)ta, (Transpose)tb, accumulate: (m + n + k) % 2 == 0, pad: (m + k) % 3, seed: m * 1000 + n * 10 + k);
                }
            }
        }
    }

    [Theory]
    [InlineData(97, 131, 257)]
    [InlineData(64, 768, 256)]
    [InlineData(300, 70, 509)]
    [InlineData(1, 1021, 67)]
    public void Multiply_LargerShapes_MatchNaiveTwin(int m, int n, int k)
    {
        for (int ta = 0; ta < 2; ta++)
        {
            for (int tb = 0; tb < 2; tb++)
            {
                CheckAgainstNaive(m, n, k, (Transpose)ta, (Transpose)tb, accumulate: ta == tb, pad: 1, seed: m + n + k);
            }
        }
    }

    [Fact]
    public void Multiply_ShortSpans_ThrowNamingTheArgument()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(2, 3, 4, new float[7], 4, Transpose.No, new float[12], 3, Transpose.No, new float[6], 3, false));
        Assert.Contains("a:", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(2, 3, 4, new float[8], 4, Transpose.No, new float[11], 3, Transpose.No, new float[6], 3, false));
        Assert.Contains("b:", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(2, 3, 4, new float[8], 4, Transpose.No, new float[12], 3, Transpose.No, new float[5], 3, false));
        Assert.Contains("c:", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(-1, 3, 4, new float[8], 4, Transpose.No, new float[12], 3, Transpose.No, new float[6], 3, false));
    }
}
