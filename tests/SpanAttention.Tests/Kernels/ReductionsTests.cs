using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

public class ReductionsTests
{
    public static TheoryData<int> Sizes => Numerics.SizeData();

    [Theory]
    [MemberData(nameof(Sizes))]
    public void SumDotSquaredNorm_AnySize_MatchNaiveTwins(int n)
    {
        // Inputs sit between canaries: a reduction that reads past either end picks up 13579.25 and fails.
        CanaryBuffer x = Canary.From(Numerics.Random(n, seed: n));
        CanaryBuffer y = Canary.From(Numerics.Random(n, seed: 50 + n));
        // Different summation orders: error bound ~ n·eps·Σ|terms|.
        float tol = 4 * (n + 1) * 1.2e-7f;
        Assert.Equal(Naive.Sum(x), Reductions.Sum(x), tol * (n + 1));
        Assert.Equal(Naive.Dot(x, y), Reductions.Dot(x, y), tol * (n + 1));
        Assert.Equal(Naive.SquaredNorm(x), Reductions.SquaredNorm(x), tol * (n + 1));
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void MaxArgMaxLogSumExp_AnyNonEmptySize_MatchNaive(int n)
    {
        if (n == 0)
        {
            return;
        }
        CanaryBuffer x = Canary.From(Numerics.Random(n, seed: 900 + n, scale: 30f));
        int expectedIndex = 0;
        for (int i = 1; i < n; i++)
        {
            if (x[i] > x[expectedIndex])
            {
                expectedIndex = i;
            }
        }
        Assert.Equal(expectedIndex, Reductions.ArgMax(x));
        Assert.Equal(x[expectedIndex], Reductions.Max(x));
        CanaryBuffer scratch = Canary.Zeros(n);
        Assert.Equal(Naive.LogSumExp(x), Reductions.LogSumExp(x, scratch), 4);
        Canary.AssertIntact($"n={n}", ("x", x), ("scratch", scratch));
    }

    [Fact]
    public void LogSumExp_HugeLogits_StaysFinite()
    {
        float[] x = [1e30f, 1e30f, -1e30f];
        Assert.Equal(1e30f, Reductions.LogSumExp(x, new float[3]));
    }

    [Fact]
    public void EmptyInput_ThrowsForReductionsWithoutIdentity()
    {
        Assert.Throws<ArgumentException>(() => Reductions.Max(ReadOnlySpan<float>.Empty));
        Assert.Throws<ArgumentException>(() => Reductions.ArgMax(ReadOnlySpan<float>.Empty));
        Assert.Equal(0f, Reductions.Sum(ReadOnlySpan<float>.Empty));
    }
}
