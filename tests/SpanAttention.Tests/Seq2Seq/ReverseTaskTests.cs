using System.Diagnostics;
using SpanAttention.Inference;
using SpanAttention.Seq2Seq;
using SpanAttention.Training;
using Xunit;
using Xunit.Abstractions;

namespace SpanAttention.Tests.Seq2Seq;

/// <summary>End-to-end acceptance: learn to reverse random token sequences (issue 5).</summary>
public sealed class ReverseTaskTests(ITestOutputHelper output)
{
    private const int Symbols = 20;   // tokens 3..22; 0 pad, 1 BOS, 2 EOS

    internal static double Train(Seq2SeqConfig config, int trainCount, int minLen, int maxLen, int epochs, float lr, int batchSize,
        int testCount, ITestOutputHelper? log, out TimeSpan elapsed, float gamma, out double tokenAccuracy, int symbols = Symbols)
    {
        var (src, tgt) = Seq2SeqTestData.Reverse(trainCount, minLen, maxLen, symbols, 3, seed: 1);
        var (testSrc, testTgt) = Seq2SeqTestData.Reverse(testCount, minLen, maxLen, symbols, 3, seed: 2);
        var batches = Seq2SeqBatch.Bucketed(src, tgt, batchSize, config.PaddingId, config.BosId, config.EosId);
        var model = new Seq2SeqModel(config, batchSize, maxLen, maxLen + 1, seed: 3);
        var trainer = new Seq2SeqTrainer(model, new Seq2SeqTrainerOptions
        {
            LearningRate = lr,
            ClipNorm = 5f,
            Schedule = new ExponentialDecaySchedule(lr, gamma),
            Seed = 4,
        });
        var watch = Stopwatch.StartNew();
        trainer.Train(batches, epochs, e => log?.WriteLine($"epoch {e.Epoch} loss {e.MeanLoss:F4} acc {e.TokenAccuracy:F4} lr {e.LearningRate}"));
        Hypothesis[] results = Decoding.Greedy(model, testSrc, maxLen + 2);
        elapsed = watch.Elapsed;
        int exact = 0;
        long hits = 0, total = 0;
        for (int i = 0; i < testCount; i++)
        {
            for (int j = 0; j < testTgt[i].Length; j++)
            {
                hits += j < results[i].Tokens.Length && results[i].Tokens[j] == testTgt[i][j] ? 1 : 0;
                total++;
            }
            if (results[i].Finished && results[i].Tokens.AsSpan().SequenceEqual(testTgt[i]))
            {
                exact++;
            }
        }
        tokenAccuracy = (double)hits / total;
        return (double)exact / testCount;
    }

    private static Seq2SeqConfig Config(DecoderStyle style) => new()
    {
        SourceVocabSize = 3 + Symbols,
        TargetVocabSize = 3 + Symbols,
        EmbeddingSize = 32,
        HiddenSize = 64,
        Decoder = style,
        Scorer = SpanAttention.Attention.AttentionScorer.Additive,
        AttentionSize = 32,
    };

    [Fact]
    public void Train_ReverseLength5To20_GruAdditiveReaches99PercentExactMatch()
    {
        // Bidirectional GRU encoder (bridge to the decoder), additive attention; 20000 pairs, 4 epochs, lr 6e-3 × 0.5 per epoch.
        // Measured 2026-12-01 (Zen 5, load ≈ 15): 99.6 % exact match on 500 held-out pairs in 13.9 s with the 512-bit
        // kernels, 100.0 % with DOTNET_EnableAVX512=0. (Three epochs at × 0.4 gave 99.8 % on a Zen 3 AVX2 machine but only
        // 98.8 % here: vector width changes the rounding and so the trajectory; the fourth epoch gives the margin.)
        Seq2SeqConfig config = Config(DecoderStyle.Bahdanau) with { Bidirectional = true, HiddenSize = 48 };
        double exact = Train(config, 20000, 5, 20, 4, 6e-3f, 64, 500, output, out TimeSpan elapsed, 0.5f, out _);
        output.WriteLine($"bahdanau/additive exact match {exact:P2} in {elapsed.TotalSeconds:F1} s");
        Assert.True(exact >= 0.99, $"exact match {exact:P2}");
    }

    [Fact]
    public void Train_ReverseLength30To40_AttentionBeatsNoAttentionOnSameBudget()
    {
        // Same data, same budget (4000 pairs over 10 symbols, 2 epochs), same sizes: only the decoder style differs.
        Seq2SeqConfig baseConfig = Config(DecoderStyle.Bahdanau) with { Bidirectional = true, HiddenSize = 32, EmbeddingSize = 16, AttentionSize = 16 };
        double exactAttn = Train(baseConfig, 4000, 30, 40, 2, 1e-2f, 64, 200, null, out TimeSpan t1, 0.7f, out double tokAttn, 10);
        double exactNone = Train(baseConfig with { Decoder = DecoderStyle.None }, 4000, 30, 40, 2, 1e-2f, 64, 200, null, out TimeSpan t2, 0.7f, out double tokNone, 10);
        output.WriteLine($"lengths 30-40: attention exact {exactAttn:P2} token {tokAttn:P2} ({t1.TotalSeconds:F1} s); none exact {exactNone:P2} token {tokNone:P2} ({t2.TotalSeconds:F1} s)");
        Assert.True(tokAttn > tokNone + 0.05, $"attention token accuracy {tokAttn:P2} vs none {tokNone:P2}");
    }
}
