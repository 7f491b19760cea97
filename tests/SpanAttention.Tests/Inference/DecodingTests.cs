using SpanAttention.Inference;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Seq2Seq;
using SpanAttention.Training;
using Xunit;
using static SpanAttention.Tests.Seq2Seq.Seq2SeqTestData;

namespace SpanAttention.Tests.Inference;

/// <summary>Greedy and beam decoding.</summary>
public sealed class DecodingTests
{
    [Fact]
    public void Beam_WidthOne_EqualsGreedy_AndNBestSorted()
    {
        Seq2SeqConfig config = Small();
        var model = new Seq2SeqModel(config, 8, 8, 12, seed: 4);
        var trainer = new Seq2SeqTrainer(model, new Seq2SeqTrainerOptions { LearningRate = 1e-2f });
        trainer.Train(Batches(config, 64, 1), 3);
        int[] source = [3, 5, 7, 4];
        Hypothesis greedy = Decoding.Greedy(model, [source], 12)[0];
        Hypothesis beam1 = Decoding.Beam(model, source, 1, 12, lengthPenalty: 0f)[0];
        Assert.Equal(greedy.Tokens, beam1.Tokens);
        Assert.Equal(greedy.Score, beam1.Score, 4);
        Assert.Equal(greedy.Alignment, beam1.Alignment);
        Hypothesis[] nBest = Decoding.Beam(model, source, 5, 12, lengthPenalty: 1f, nBest: 4);
        Assert.Equal(4, nBest.Length);
        for (int i = 1; i < nBest.Length; i++)
        {
            Assert.True(nBest[i - 1].NormalizedScore >= nBest[i].NormalizedScore);
        }
        foreach (Hypothesis h in nBest)
        {
            Assert.Equal(h.Tokens.Length * source.Length, h.Alignment.Length);
            for (int t = 0; t < h.Tokens.Length; t++)
            {
                Assert.Equal(1f, h.Alignment.AsSpan(t * source.Length, source.Length).ToArray().Sum(), 4);
            }
            Assert.DoesNotContain(config.EosId, h.Tokens);
        }
        Assert.True(nBest[0].Score >= greedy.Score - 1e-4f || nBest[0].NormalizedScore >= greedy.Score / (greedy.Tokens.Length + 1) - 1e-4f);
    }

    [Fact]
    public void Greedy_MaxLength_RespectedWithoutHiddenCap()
    {
        var model = new Seq2SeqModel(Small(DecoderStyle.None), 2, 4, 4, seed: 1);
        Hypothesis[] h = Decoding.Greedy(model, [[3, 4], [5]], 300);
        Assert.All(h, x => Assert.True(x.Tokens.Length <= 300 && (x.Finished || x.Tokens.Length == 300)));
        Assert.Empty(h[0].Alignment);
        Assert.True(model.MaxTarget >= 300);
    }
}
