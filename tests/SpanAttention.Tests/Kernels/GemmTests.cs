using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

/// <summary>
/// The packed GEMM against its naive twin on small shapes that run every edge tile of every micro-kernel
/// (8x32 with SPANATTENTION_FORCE_VECTOR512=1, 6x16 on AVX2, 4x4 without SIMD), every transpose
/// combination, both accumulate modes, padded leading dimensions, k across a KC slice; plus the two-thread
/// split and the packed-B path on small shapes. Kept small: CI runs this class four times, once with
/// software-emulated Vector512. Large shapes live in SpanAttention.Tests.LargeKernels.
/// </summary>
public class GemmTests
{
    /// <summary>At least the widest micro-kernel's tile (8 x 32, and 12 rows from the former 12 x 32 kernel): sweeping m to 2·12+1 and n to 2·32+1 covers every kernel's edges.</summary>
    private const int MaxMR = 12, MaxNR = 32;

    /// <summary>Random operands for one call, with leading dimensions padded by <paramref name="pad"/>.</summary>
    internal sealed class Operands
    {
        public Operands(int m, int n, int k, Transpose ta, Transpose tb, int pad, int seed)
        {
            int aRows = ta == Transpose.Yes ? k : m, aCols = ta == Transpose.Yes ? m : k;
            int bRows = tb == Transpose.Yes ? n : k, bCols = tb == Transpose.Yes ? k : n;
            (M, N, K, TA, TB) = (m, n, k, ta, tb);
            Lda = aCols + pad;
            Ldb = bCols + pad;
            Ldc = n + pad;
            A = Numerics.Random(aRows * Lda, seed);
            B = Numerics.Random(bRows * Ldb, seed + 1);
            C = Numerics.Random(m * Ldc, seed + 2);
        }

        public int M { get; }
        public int N { get; }
        public int K { get; }
        public Transpose TA { get; }
        public Transpose TB { get; }
        public int Lda { get; }
        public int Ldb { get; }
        public int Ldc { get; }
        public float[] A { get; }
        public float[] B { get; }
        public float[] C { get; }

        /// <summary>A copy of C; when overwriting, its (m, n) view is NaN (the kernel must never read it), the padding is kept.</summary>
        public float[] InitialC(bool accumulate)
        {
            float[] c = (float[])C.Clone();
            if (!accumulate)
            {
                for (int i = 0; i < M; i++)
                {
                    c.AsSpan(i * Ldc, N).Fill(float.NaN);
                }
            }
            return c;
        }

        public float[] Naive(bool accumulate)
        {
            float[] c = InitialC(accumulate);
            SpanAttention.Kernels.Naive.Gemm(M, N, K, A, Lda, TA, B, Ldb, TB, c, Ldc, accumulate);
            return c;
        }

        public float[] Fast(bool accumulate, int threads, out bool split)
        {
            float[] c = InitialC(accumulate);
            split = Gemm.Multiply(M, N, K, A, Lda, TA, B, Ldb, TB, c, Ldc, accumulate, threads);
            return c;
        }

        public float[] Packed(bool accumulate, int threads, out bool split)
        {
            var packed = new PackedMatrix(K, N);
            packed.Pack(B, Ldb, TB);
            float[] c = InitialC(accumulate);
            split = Gemm.Multiply(M, A, Lda, TA, packed, c, Ldc, accumulate, threads);
            return c;
        }

        public string Describe(bool accumulate) => $"m={M} n={N} k={K} {TA}/{TB} acc={accumulate} ldc={Ldc}";
    }

    /// <summary>
    /// The fast and naive sums differ only in order: |error| &lt;= k·eps·Σ|a·b|, and Σ|a·b| ~ k/4 for
    /// uniform [-1, 1] entries, so an absolute tolerance growing with k plus a relative one.
    /// </summary>
    internal static void AssertMatchesNaive(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, int k, string what) =>
        Numerics.AssertClose(expected, actual, rtol: 1e-4f, atol: 2e-6f * (k + 1), what);

    private static void CheckAgainstNaive(int m, int n, int k, Transpose ta, Transpose tb, bool accumulate, int pad, int seed)
    {
        var x = new Operands(m, n, k, ta, tb, pad, seed);
        float[] expected = x.Naive(accumulate);
        CanaryBuffer actual = Canary.From(x.InitialC(accumulate));
        Gemm.Multiply(m, n, k, x.A, x.Lda, ta, x.B, x.Ldb, tb, actual, x.Ldc, accumulate);
        AssertMatchesNaive(expected, actual, k, x.Describe(accumulate));
        actual.AssertIntact(x.Describe(accumulate));
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
        // Every m in 0..2·MR+1 and n in 0..2·NR+1 of the widest kernel: full tiles, edge rows, edge columns
        // and corners of every kernel; k = 0 (clear or keep C), 1, small primes.
        int[] ks = [0, 1, 2, 5, 13];
        for (int m = 0; m <= 2 * MaxMR + 1; m++)
        {
            for (int n = 0; n <= 2 * MaxNR + 1; n++)
            {
                foreach (int k in ks)
                {
                    int seed = m * 10_000 + n * 100 + k;
                    CheckAgainstNaive(m, n, k, (Transpose)ta, (Transpose)tb, accumulate: (m + n + k) % 2 == 0, pad: (m + k) % 3, seed);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Transposes))]
    public void Multiply_BothAccumulateModes_MatchNaiveTwin(int ta, int tb)
    {
        // The sweep above alternates accumulate; here every shape runs both ways.
        int[] sizes = [1, 3, 4, 6, 7, 11, 12, 13, 16, 17, 25, 31, 32, 33, 65];
        foreach (int m in new[] { 1, 4, 5, 6, 7, 12, 13, 25 })
        {
            foreach (int n in sizes)
            {
                foreach (bool accumulate in new[] { false, true })
                {
                    CheckAgainstNaive(m, n, 7, (Transpose)ta, (Transpose)tb, accumulate, pad: 2, seed: m * 100 + n);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Transposes))]
    public void Multiply_KAcrossSlices_MatchNaiveTwin(int ta, int tb)
    {
        // KC is 192 (8x32) or 256 (6x16, 4x4): these k cross one or two slice boundaries, so the
        // first-slice-overwrites / later-slices-add logic runs, with edge tiles in both directions.
        int[] ks = [191, 193, 257, 521];
        int[] ms = [1, 6, 13];
        int[] ns = [5, 16, 33];
        foreach (int k in ks)
        {
            foreach (int m in ms)
            {
                foreach (int n in ns)
                {
                    CheckAgainstNaive(m, n, k, (Transpose)ta, (Transpose)tb, accumulate: (m + n) % 2 == 1, pad: 3, seed: k + m + n);
                }
            }
        }
    }

    [Theory]
    [InlineData(97, 131, 57)]
    [InlineData(40, 70, 33)]
    [InlineData(1, 1021, 17)]
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

    /// <summary>Runs the two-thread path, retrying while another test holds the worker.</summary>
    internal static float[] TwoThreads(Operands x, bool accumulate, bool packed)
    {
        for (int attempt = 0; ; attempt++)
        {
            float[] c = packed ? x.Packed(accumulate, 2, out bool split) : x.Fast(accumulate, 2, out split);
            if (split)
            {
                return c;
            }
            Assert.True(attempt < 1000, $"the worker never became free ({x.Describe(accumulate)})");
            Thread.Sleep(1);
        }
    }

    [Theory]
    [MemberData(nameof(Transposes))]
    public void Multiply_TwoThreadsOnEdgeShapes_BitIdenticalToOneThread(int ta, int tb)
    {
        // Small shapes forced onto two threads: column splits (n >= m) and row splits (m > n), halves that
        // end in edge tiles, k across a slice.
        (int M, int N, int K)[] shapes = [(3, 65, 9), (13, 33, 200), (25, 70, 17), (70, 5, 31), (29, 3, 300), (40, 40, 7)];
        foreach ((int m, int n, int k) in shapes)
        {
            foreach (bool accumulate in new[] { false, true })
            {
                var x = new Operands(m, n, k, (Transpose)ta, (Transpose)tb, pad: 1, seed: m * n + k);
                float[] one = x.Fast(accumulate, 1, out bool split);
                Assert.False(split);
                float[] two = TwoThreads(x, accumulate, packed: false);
                Numerics.AssertEqual(one, two, x.Describe(accumulate) + " two threads");
                AssertMatchesNaive(x.Naive(accumulate), one, k, x.Describe(accumulate));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Transposes))]
    public void MultiplyPacked_EdgeShapes_BitIdenticalToUnpacked(int ta, int tb)
    {
        (int M, int N, int K)[] shapes = [(1, 1, 1), (7, 17, 5), (13, 65, 200), (12, 32, 193), (25, 33, 521), (5, 3, 0), (0, 4, 3), (3, 0, 2)];
        foreach ((int m, int n, int k) in shapes)
        {
            foreach (bool accumulate in new[] { false, true })
            {
                var x = new Operands(m, n, k, (Transpose)ta, (Transpose)tb, pad: 2, seed: m + n * k);
                float[] unpacked = x.Fast(accumulate, 1, out _);
                Numerics.AssertEqual(unpacked, x.Packed(accumulate, 1, out _), x.Describe(accumulate) + " packed");
                if (m * n > 0 && k > 0 && (m > Gemm.TileRows || n > Gemm.TileColumns))
                {
                    Numerics.AssertEqual(unpacked, TwoThreads(x, accumulate, packed: true), x.Describe(accumulate) + " packed, two threads");
                }
                AssertMatchesNaive(x.Naive(accumulate), unpacked, k, x.Describe(accumulate));
            }
        }
    }

    [Fact]
    public void PackedMatrix_Repacked_UsesTheNewValues()
    {
        // Weights change every optimizer step: packing new values into the same object must replace the old.
        var first = new Operands(9, 40, 23, Transpose.No, Transpose.Yes, pad: 1, seed: 1);
        var second = new Operands(9, 40, 23, Transpose.No, Transpose.Yes, pad: 1, seed: 2);
        var packed = new PackedMatrix(23, 40);
        packed.Pack(first.B, first.Ldb, Transpose.Yes);
        packed.Pack(second.B, second.Ldb, Transpose.Yes);
        float[] c = new float[first.C.Length];
        Gemm.Multiply(9, first.A, first.Lda, Transpose.No, packed, c, first.Ldc, accumulate: false);
        float[] expected = new float[c.Length];
        Gemm.Multiply(9, 40, 23, first.A, first.Lda, Transpose.No, second.B, second.Ldb, Transpose.Yes, expected, first.Ldc, accumulate: false);
        Numerics.AssertEqual(expected, c, "repacked");
    }

    [Fact]
    public void AssertMatchesNaive_OneTermMissing_Fails()
    {
        // Teeth: the tolerance is tight enough to catch a kernel that drops a single step of k (the
        // classic remainder bug), even at the largest k the tests use.
        var x = new Operands(7, 9, 521, Transpose.No, Transpose.No, pad: 0, seed: 3);
        float[] expected = x.Naive(accumulate: false);
        float[] wrong = x.InitialC(accumulate: false);
        Gemm.Multiply(7, 9, 520, x.A, x.Lda, Transpose.No, x.B, x.Ldb, Transpose.No, wrong, x.Ldc, accumulate: false);
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => AssertMatchesNaive(expected, wrong, 521, "k - 1 steps"));
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
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(2, 3, 4, new float[8], 3, Transpose.No, new float[12], 3, Transpose.No, new float[6], 3, false));
    }

    [Fact]
    public void MultiplyPacked_BadArguments_ThrowNamingTheArgument()
    {
        var packed = new PackedMatrix(4, 3);
        Assert.Throws<InvalidOperationException>(() => Gemm.Multiply(2, new float[8], 4, Transpose.No, packed, new float[6], 3, false));
        var ex = Assert.Throws<ArgumentException>(() => packed.Pack(new float[11], 3, Transpose.No));
        Assert.Contains("b:", ex.Message, StringComparison.Ordinal);
        packed.Pack(new float[12], 4, Transpose.Yes); // (n, k) = (3, 4) stored
        ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(2, new float[7], 4, Transpose.No, packed, new float[6], 3, false));
        Assert.Contains("a:", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(2, new float[8], 4, Transpose.No, packed, new float[5], 3, false));
        Assert.Contains("c:", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => Gemm.Multiply(2, new float[8], 4, Transpose.No, null!, new float[6], 3, false));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PackedMatrix(-1, 3));
    }

    [Fact]
    public void Multiply_KernelChoice_FollowsTheInstructionSet()
    {
        // CI runs this class under each ISA switch: prove each run exercises the kernel it is meant to.
        (int mr, int nr) = Isa.Vector512 ? (8, 32) : Isa.Vector256 ? (6, 16) : (4, 4);
        Assert.Equal(mr, Gemm.TileRows);
        Assert.Equal(nr, Gemm.TileColumns);
    }

    [Fact]
    public void KernelThreads_OutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelThreads.Count = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelThreads.Count = 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelThreads.ParallelThresholdFlops = -1);
        Assert.InRange(KernelThreads.Count, 1, KernelThreads.MaxCount);
    }
}
