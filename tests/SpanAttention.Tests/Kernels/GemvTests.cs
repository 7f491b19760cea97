using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

public class GemvTests
{
    public static TheoryData<int> Sizes => Numerics.SizeData();

    /// <summary>
    /// The (rows, cols) shapes tried for size n: square, rows not a multiple of 4, rows ≠ cols both ways,
    /// a single row and a single column. Large n keeps one dimension small so the suite stays fast
    /// (CI runs it again with software-emulated Vector512).
    /// </summary>
    private static IEnumerable<(int Rows, int Cols)> Shapes(int n)
    {
        if (n <= 131)
        {
            return [(n, n), (n, 37), (37, n), (3 * n, n + 1), (n + 1, 2 * n + 3), (1, n), (n, 1)];
        }
        return [(n, 37), (37, n), (5, n), (n, 3)];
    }

    // Summation order differs from the naive twin (vector lanes, then a horizontal sum): with |w|, |x| < 1
    // each partial sum is off by at most ~cols ulps of a value ≤ cols, hence atol ∝ cols.
    private static void AssertGemvClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, int k, string what) =>
        Numerics.AssertClose(expected, actual, rtol: 1e-4f, atol: 1e-5f * (k + 1), what);

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Multiply_AnyShape_MatchesNaiveTwin(int n)
    {
        foreach ((int rows, int cols) in Shapes(n))
        {
            foreach (bool accumulate in new[] { false, true })
            {
                foreach (int pad in new[] { 0, 3 }) // ldw = cols, and a view into a wider buffer
                {
                    int ldw = cols + pad;
                    float[] w = Numerics.Random(rows * ldw, seed: rows * 31 + cols);
                    float[] x = Numerics.Random(cols, seed: 7 + cols);
                    float[] expected = Numerics.Random(rows, seed: 11 + rows);
                    CanaryBuffer actual = Canary.From(expected);
                    Naive.Gemv(w, rows, cols, ldw, x, expected, accumulate);
                    Gemv.Multiply(w, rows, cols, ldw, x, actual, accumulate);
                    AssertGemvClose(expected, actual, cols, $"{rows}x{cols} ldw={ldw} acc={accumulate}");
                    actual.AssertIntact($"{rows}x{cols} ldw={ldw} acc={accumulate}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void MultiplyTransposed_AnyShape_MatchesNaiveTwin(int n)
    {
        foreach ((int rows, int cols) in Shapes(n))
        {
            foreach (bool accumulate in new[] { false, true })
            {
                foreach (int pad in new[] { 0, 5 })
                {
                    int ldw = cols + pad;
                    float[] w = Numerics.Random(rows * ldw, seed: rows * 37 + cols);
                    float[] x = Numerics.Random(rows, seed: 13 + rows);
                    float[] expected = Numerics.Random(cols, seed: 17 + cols);
                    CanaryBuffer actual = Canary.From(expected);
                    Naive.GemvTransposed(w, rows, cols, ldw, x, expected, accumulate);
                    Gemv.MultiplyTransposed(w, rows, cols, ldw, x, actual, accumulate);
                    AssertGemvClose(expected, actual, rows, $"T {rows}x{cols} ldw={ldw} acc={accumulate}");
                    actual.AssertIntact($"T {rows}x{cols} ldw={ldw} acc={accumulate}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void MultiplyPacked_AnyShape_MatchesNaiveTwin(int n)
    {
        foreach ((int rows, int cols) in Shapes(n))
        {
            int ldw = cols + 2;
            float[] w = Numerics.Random(rows * ldw, seed: rows * 41 + cols);
            float[] x = Numerics.Random(cols, seed: 19 + cols);
            var packed = new PackedGemvMatrix(rows, cols);
            packed.Pack(w, rows, cols, ldw);
            foreach (bool accumulate in new[] { false, true })
            {
                float[] expected = Numerics.Random(rows, seed: 23 + rows);
                CanaryBuffer actual = Canary.From(expected);
                Naive.Gemv(w, rows, cols, ldw, x, expected, accumulate);
                Gemv.Multiply(packed, x, actual, accumulate);
                AssertGemvClose(expected, actual, cols, $"packed {rows}x{cols} acc={accumulate}");
                actual.AssertIntact($"packed {rows}x{cols} acc={accumulate}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void MultiplyTransposedPacked_AnyShape_MatchesNaiveTwin(int n)
    {
        foreach ((int rows, int cols) in Shapes(n))
        {
            int ldw = cols + 3;
            float[] w = Numerics.Random(rows * ldw, seed: rows * 43 + cols);
            float[] x = Numerics.Random(rows, seed: 29 + rows);
            var packed = new PackedGemvMatrix(rows, cols);
            packed.Pack(w, rows, cols, ldw);
            foreach (bool accumulate in new[] { false, true })
            {
                float[] expected = Numerics.Random(cols, seed: 31 + cols);
                CanaryBuffer actual = Canary.From(expected);
                Naive.GemvTransposed(w, rows, cols, ldw, x, expected, accumulate);
                Gemv.MultiplyTransposed(packed, x, actual, accumulate);
                AssertGemvClose(expected, actual, rows, $"packed T {rows}x{cols} acc={accumulate}");
                actual.AssertIntact($"packed T {rows}x{cols} acc={accumulate}");
            }
        }
    }

    [Fact]
    public void Multiply_SmallExample_GivesExactResult()
    {
        // W (5, 3) with ldw 4 (the 4th column is padding), x = [1, 2, 3]: small integers, so every path is exact.
        float[] w =
        [
            1, 0, 0, 99,
            0, 1, 0, 99,
            0, 0, 1, 99,
            1, 1, 1, 99,
            2, -1, 4,
        ];
        float[] x = [1, 2, 3];
        float[] expected = [1, 2, 3, 6, 12];
        var y = new float[5];
        Gemv.Multiply(w, 5, 3, 4, x, y, accumulate: false);
        Assert.Equal(expected, y);

        var packed = new PackedGemvMatrix(5, 3);
        packed.Pack(w, 5, 3, 4);
        y.AsSpan().Fill(1f);
        Gemv.Multiply(packed, x, y, accumulate: true);
        Assert.Equal([2f, 3f, 4f, 7f, 13f], y);

        // Wᵀ·[1, 1, 1, 1, 1] = column sums.
        var yt = new float[3];
        Gemv.MultiplyTransposed(w, 5, 3, 4, [1, 1, 1, 1, 1], yt, accumulate: false);
        Assert.Equal([4f, 1f, 6f], yt);
        yt.AsSpan().Fill(1f);
        Gemv.MultiplyTransposed(packed, [1, 1, 1, 1, 1], yt, accumulate: true);
        Assert.Equal([5f, 2f, 7f], yt);
        Gemv.MultiplyTransposed(packed, [0, 0, 0, 0, 2], yt, accumulate: false);   // 2 × row 4 only
        Assert.Equal([4f, -2f, 8f], yt);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 9)]
    [InlineData(13, 33)]
    [InlineData(64, 70)]
    public void AllPaths_PaddingBetweenRowsAndPastOutputs_NeverReadOrWritten(int rows, int cols)
    {
        // The gap between rows is NaN: reading it would poison the sums. y and x are longer than needed, and
        // y's extra elements are a sentinel that must survive.
        int ldw = cols + 7;
        float[] w = Numerics.Random(rows * ldw, seed: rows + cols);
        for (int i = 0; i < rows; i++)
        {
            w.AsSpan(i * ldw + cols, 7).Fill(float.NaN);
        }
        float[] x = [.. Numerics.Random(Math.Max(rows, cols), seed: 3), float.NaN, float.NaN];
        var expected = new float[rows];
        Naive.Gemv(w, rows, cols, ldw, x.AsSpan(0, cols), expected, accumulate: false);
        var y = new float[rows + 3];
        y.AsSpan(rows).Fill(-42f);
        Gemv.Multiply(w, rows, cols, ldw, x.AsSpan(0, cols), y, accumulate: false);
        AssertGemvClose(expected, y.AsSpan(0, rows), cols, "plain");
        Assert.All(y[rows..], v => Assert.Equal(-42f, v));

        var packed = new PackedGemvMatrix(rows, cols);
        packed.Pack(w, rows, cols, ldw);
        y.AsSpan(0, rows).Clear();
        Gemv.Multiply(packed, x.AsSpan(0, cols), y, accumulate: false);
        AssertGemvClose(expected, y.AsSpan(0, rows), cols, "packed");
        Assert.All(y[rows..], v => Assert.Equal(-42f, v));

        var expectedT = new float[cols];
        Naive.GemvTransposed(w, rows, cols, ldw, x.AsSpan(0, rows), expectedT, accumulate: false);
        var yt = new float[cols + 3];
        yt.AsSpan(cols).Fill(-42f);
        Gemv.MultiplyTransposed(w, rows, cols, ldw, x.AsSpan(0, rows), yt, accumulate: false);
        AssertGemvClose(expectedT, yt.AsSpan(0, cols), rows, "transposed");
        Assert.All(yt[cols..], v => Assert.Equal(-42f, v));

        // The packed Wᵀ·x reads x only up to rows (x's NaN tail is past it) and y only up to cols.
        float[] xt = [.. x.AsSpan(0, rows), float.NaN, float.NaN, float.NaN];
        yt.AsSpan(0, cols).Clear();
        Gemv.MultiplyTransposed(packed, xt.AsSpan(0, rows), yt.AsSpan(0, cols), accumulate: false);
        AssertGemvClose(expectedT, yt.AsSpan(0, cols), rows, "packed transposed");
        Assert.All(yt[cols..], v => Assert.Equal(-42f, v));
    }

    [Fact]
    public void Multiply_EmptyInner_OverwritesWithZeroOrLeavesAccumulated()
    {
        float[] y = [5f, 6f];
        Gemv.Multiply([], 2, 0, 0, [], y, accumulate: true);
        Assert.Equal([5f, 6f], y);
        Gemv.Multiply([], 2, 0, 0, [], y, accumulate: false);
        Assert.Equal([0f, 0f], y);

        var packed = new PackedGemvMatrix(2, 0);
        packed.Pack([], 2, 0, 0);
        y = [5f, 6f];
        Gemv.Multiply(packed, [], y, accumulate: true);
        Assert.Equal([5f, 6f], y);
        Gemv.Multiply(packed, [], y, accumulate: false);
        Assert.Equal([0f, 0f], y);
        float[] y2 = [5f, 6f];
        Gemv.MultiplyTransposed(new PackedGemvMatrix(0, 2), [], y2, accumulate: true);
        Assert.Equal([5f, 6f], y2);
        Gemv.MultiplyTransposed(new PackedGemvMatrix(0, 2), [], y2, accumulate: false);
        Assert.Equal([0f, 0f], y2);

        float[] yt = [5f, 6f, 7f];
        Gemv.MultiplyTransposed([], 0, 3, 3, [], yt, accumulate: true);
        Assert.Equal([5f, 6f, 7f], yt);
        Gemv.MultiplyTransposed([], 0, 3, 3, [], yt, accumulate: false);
        Assert.Equal([0f, 0f, 0f], yt);
    }

    [Fact]
    public void Pack_NewWeightsIntoSameObject_ReplacesOldWeightsCompletely()
    {
        const int rows = 23, cols = 45; // a padding row and padding columns in the last group and tile
        float[] w1 = Numerics.Random(rows * cols, seed: 1, scale: 1000f);
        float[] w2 = Numerics.Random(rows * cols, seed: 2);
        float[] x = Numerics.Random(cols, seed: 3);
        var packed = new PackedGemvMatrix(rows, cols);
        packed.Pack(w1, rows, cols, cols);
        var y = new float[rows];
        Gemv.Multiply(packed, x, y, accumulate: false);

        packed.Pack(w2, rows, cols, cols);
        Gemv.Multiply(packed, x, y, accumulate: false);
        var expected = new float[rows];
        Naive.Gemv(w2, rows, cols, cols, x, expected, accumulate: false);
        AssertGemvClose(expected, y, cols, "re-packed");
    }

    [Fact]
    public void Pack_LayoutIsFourRowGroupsOfSixteenColumnTilesZeroPadded()
    {
        const int rows = 5, cols = 18;
        var w = new float[rows * cols];
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = i + 1; // W[r, c] = r·cols + c + 1, never 0
        }
        var packed = new PackedGemvMatrix(rows, cols);
        packed.Pack(w, rows, cols, cols);
        Assert.Equal(2, packed.Groups);
        Assert.Equal(2, packed.Tiles);
        float[] data = packed.Data.ToArray();
        Assert.Equal(2 * 2 * 64, data.Length);
        for (int g = 0; g < 2; g++)
        {
            for (int t = 0; t < 2; t++)
            {
                for (int r = 0; r < 4; r++)
                {
                    for (int l = 0; l < 16; l++)
                    {
                        int i = 4 * g + r, c = 16 * t + l;
                        float expected = i < rows && c < cols ? w[i * cols + c] : 0f;
                        Assert.Equal(expected, data[((g * 2 + t) * 4 + r) * 16 + l]);
                    }
                }
            }
        }
        unsafe
        {
            fixed (float* p = packed.Data)
            {
                Assert.Equal(0, (long)p % 64);
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
        Assert.Throws<ArgumentException>(() => Gemv.MultiplyTransposed(new float[12], 3, 4, 4, new float[2], new float[4], false));
        Assert.Throws<ArgumentException>(() => Gemv.MultiplyTransposed(new float[12], 3, 4, 4, new float[3], new float[3], false));
    }

    [Fact]
    public void Packed_WrongShapeOrShortSpans_ThrowNamingTheArgument()
    {
        var packed = new PackedGemvMatrix(3, 4);
        var ex = Assert.Throws<ArgumentException>(() => packed.Pack(new float[20], 4, 5, 5));
        Assert.Contains("3 x 4", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => packed.Pack(new float[11], 3, 4, 4));
        var exX = Assert.Throws<ArgumentException>(() => Gemv.Multiply(packed, new float[3], new float[3], false));
        Assert.Equal("x", exX.ParamName);
        var exY = Assert.Throws<ArgumentException>(() => Gemv.Multiply(packed, new float[4], new float[2], false));
        Assert.Equal("y", exY.ParamName);
        Assert.Throws<ArgumentNullException>(() => Gemv.Multiply(null!, new float[4], new float[3], false));
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => Gemv.MultiplyTransposed(packed, new float[2], new float[4], false)).ParamName);
        Assert.Equal("y", Assert.Throws<ArgumentException>(() => Gemv.MultiplyTransposed(packed, new float[3], new float[3], false)).ParamName);
        Assert.Throws<ArgumentNullException>(() => Gemv.MultiplyTransposed(null!, new float[3], new float[4], false));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PackedGemvMatrix(-1, 4));
    }
}
