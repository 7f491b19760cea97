using SpanAttention.Seq2Seq;
using Xunit;

namespace SpanAttention.Tests.Seq2Seq;

public sealed class Seq2SeqBatchTests
{
    [Fact]
    public void Bucketed_RandomLengths_CoversEveryPairOnceWithLittlePadding()
    {
        var (src, tgt) = Seq2SeqTestData.Reverse(200, 1, 30, 9, 3, 7);
        List<Seq2SeqBatch> batches = Seq2SeqBatch.Bucketed(src, tgt, 16, 0, 1, 2);
        Assert.Equal(200, batches.Sum(b => b.BatchSize));
        long padded = 0, real = 0;
        foreach (Seq2SeqBatch b in batches)
        {
            Assert.InRange(b.BatchSize, 1, 16);
            padded += (long)b.BatchSize * b.SourceLength;
            real += b.SourceLengths.Sum();
            for (int r = 0; r < b.BatchSize; r++)
            {
                int n = b.TargetLengths[r];
                Assert.Equal(1, b.TargetInput[r * b.TargetLength]);                  // BOS first
                Assert.Equal(2, b.TargetOutput[r * b.TargetLength + n - 1]);         // EOS last
                for (int t = n; t < b.TargetLength; t++)
                {
                    Assert.Equal(0, b.TargetOutput[r * b.TargetLength + t]);         // padding after
                }
            }
        }
        Assert.True(real >= 0.9 * padded, $"{real} real of {padded} padded source positions");
    }

    [Fact]
    public void Constructor_BadLengths_ThrowsNamingTheRow()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Seq2SeqBatch(2, 3, 2, new int[6], [3, 4], new int[4], new int[4], [1, 1]));
        Assert.Contains("sourceLengths[1]", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new Seq2SeqBatch(2, 3, 2, new int[5], [3, 3], new int[4], new int[4], [1, 1]));
    }

    [Fact]
    public void SplitMix64_SameState_SameSequence()
    {
        var a = new SplitMix64(42);
        a.NextUInt64();
        var b = new SplitMix64(a.State);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(a.NextUInt64(), b.NextUInt64());
        }
        Assert.InRange(new SplitMix64(1).NextDouble(), 0.0, 1.0);
    }
}
