using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

public class GemvTests
{
    public static TheoryData<int> Sizes => Numerics.SizeData();

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Multiply_SquareAndPaddedShapes_MatchNaiveTwin(int n)
    {
        foreach ((int rows, int cols) in new[] { (n, n), (n, 37), (3 * n, n + 1), (1, n) })
        {
            foreach (bool accumulate in new[] { false, true })
            {
                int ldw = cols + 3; // a view into a wider buffer
                float[] w = Numerics.Random(Math.Max(rows * ldw, 0), seed: rows * 31 + cols);
                float[] x = Numerics.Random(cols, seed: 7 + cols);
                float[] expected = Numerics.Random(rows, seed: 11 + rows);
                float[] actual = (float[])expected.Clone();
                Naive.Gemv(w, rows, cols, ldw, x, expected, accumulate);
                Gemv.Multiply(w, rows, cols, ldw, x, actual, accumulate);
                Numerics.AssertClose(expected, actual, rtol: 1e-4f, atol: 1e-5f * (cols + 1), $"{rows}x{cols} acc={accumulate}");

                float[] xt = Numerics.Random(rows, seed: 13 + rows);
                float[] expectedT = Numerics.Random(cols, seed: 17 + cols);
                float[] actualT = (float[])expectedT.Clone();
                Naive.GemvTransposed(w, rows, cols, ldw, xt, expectedT, accumulate);
                Gemv.MultiplyTransposed(w, rows, cols, ldw, xt, actualT, accumulate);
                Numerics.AssertClose(expectedT, actualT, rtol: 1e-4f, atol: 1e-5f * (rows + 1), $"T {rows}x{cols} acc={accumulate}");
            }
        }
    }

    [Fact]
    public void Multiply_ShortSpans_ThrowNamingTheArgument()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemv.Multiply(new float[11], 3, 4, 4, new float[4], new float[3], false));
        Assert.Contains("w", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Gemv.Multiply(new float[12], 3, 4, 4, new float[3], new float[3], false));
        Assert.Throws<ArgumentException>(() => Gemv.Multiply(new float[12], 3, 4, 4, new float[4], new float[2], false));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemv.Multiply(new float[12], 3, 4, 3, new float[4], new float[3], false));
    }
}
