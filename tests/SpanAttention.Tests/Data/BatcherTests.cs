using SpanAttention.Data;
using Xunit;

namespace SpanAttention.Tests.Data;

public class BatcherTests
{
    private static (EncodedPair[] Pairs, Vocabulary Source, Vocabulary Target) Encoded(int count = 103)
    {
        Dataset d = Reverse.Create(new ReverseOptions { Count = count, MinLength = 2, MaxLength = 9, Seed = 4, ValidationFraction = 0, TestFraction = 0 });
        Vocabulary src = d.BuildSourceVocabulary();
        Vocabulary tgt = d.BuildTargetVocabulary();
        return (PairEncoder.Encode(d.Train, src, tgt), src, tgt);
    }

    [Fact]
    public void Encode_Pair_SourceEndsWithEosTargetShiftedBySos()
    {
        Vocabulary v = Vocabulary.FromTokens(["a", "b"], Tokenization.Word);
        EncodedPair p = PairEncoder.Encode([new SentencePair("a b", "b a x")], v, v)[0];
        Assert.Equal([4, 5, Vocabulary.EosId], p.Source);
        Assert.Equal([Vocabulary.SosId, 5, 4, Vocabulary.UnkId], p.TargetInput);
        Assert.Equal([5, 4, Vocabulary.UnkId, Vocabulary.EosId], p.TargetOutput);
        Assert.Equal([4, 5], PairEncoder.EncodeSource("a b", v, appendEos: false));
        var unknown = new HashSet<string>();
        PairEncoder.Encode([new SentencePair("a q", "z")], v, v, unknownTokens: unknown);
        Assert.Equal(["q", "z"], unknown.Order());
    }

    [Fact]
    public void Epoch_AnySeed_EveryPairExactlyOnceWithZeroPaddingAndRightLengths()
    {
        (EncodedPair[] pairs, _, _) = Encoded();
        var batcher = new Batcher(pairs, batchSize: 8, seed: 11);
        foreach (IReadOnlyList<Batch> batches in new[] { batcher.Epoch(0), batcher.Epoch(1), batcher.Sequential() })
        {
            Assert.Equal(batcher.BatchCount, batches.Count);
            int[] seen = new int[pairs.Length];
            foreach (Batch b in batches)
            {
                Assert.InRange(b.Size, 1, 8);
                Assert.Equal(b.SourceLengths.Max(), b.SourceLength);
                Assert.Equal(b.TargetLengths.Max(), b.TargetLength);
                for (int r = 0; r < b.Size; r++)
                {
                    EncodedPair p = pairs[b.PairIndices[r]];
                    seen[b.PairIndices[r]]++;
                    Assert.Equal(p.Source.Length, b.SourceLengths[r]);
                    Assert.Equal(p.TargetInput.Length, b.TargetLengths[r]);
                    Assert.Equal(p.Source, b.Source.AsSpan(r * b.SourceLength, p.Source.Length).ToArray());
                    Assert.All(b.Source.AsSpan(r * b.SourceLength + p.Source.Length, b.SourceLength - p.Source.Length).ToArray(), x => Assert.Equal(0, x));
                    Assert.Equal(p.TargetInput, b.TargetInput.AsSpan(r * b.TargetLength, p.TargetInput.Length).ToArray());
                    Assert.Equal(p.TargetOutput, b.TargetOutput.AsSpan(r * b.TargetLength, p.TargetOutput.Length).ToArray());
                    Assert.All(b.TargetInput.AsSpan(r * b.TargetLength + p.TargetInput.Length, b.TargetLength - p.TargetInput.Length).ToArray(), x => Assert.Equal(0, x));
                    Assert.All(b.TargetOutput.AsSpan(r * b.TargetLength + p.TargetOutput.Length, b.TargetLength - p.TargetOutput.Length).ToArray(), x => Assert.Equal(0, x));
                }
                Assert.Equal(b.TargetLengths.Sum(), b.TargetTokenCount);
            }
            Assert.All(seen, n => Assert.Equal(1, n));
        }
    }

    [Fact]
    public void Epoch_Bucketing_WastesLittleSourcePadding()
    {
        (EncodedPair[] pairs, _, _) = Encoded(400);
        var batcher = new Batcher(pairs, batchSize: 16, seed: 1);
        int padded = 0;
        int real = 0;
        foreach (Batch b in batcher.Epoch(0))
        {
            padded += b.Size * b.SourceLength;
            real += b.SourceLengths.Sum();
        }
        // Lengths 3..10 over 400 pairs: sorted runs of 16 mostly share one length.
        Assert.True(padded - real < 0.05 * real, $"padding {padded - real} of {real}");
    }

    [Fact]
    public void Epoch_SameSeedAndEpoch_SameBatches_OtherEpoch_Different()
    {
        (EncodedPair[] pairs, _, _) = Encoded();
        var a = new Batcher(pairs, 8, 5);
        var b = new Batcher(pairs, 8, 5);
        Assert.Equal(a.Epoch(3).Select(x => x.PairIndices), b.Epoch(3).Select(x => x.PairIndices));
        Assert.NotEqual(a.Epoch(3).Select(x => x.PairIndices), a.Epoch(4).Select(x => x.PairIndices));
    }
}
