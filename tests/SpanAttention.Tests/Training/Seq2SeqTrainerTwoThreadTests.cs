using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Seq2Seq;
using SpanAttention.Training;
using Xunit;

namespace SpanAttention.Tests.Training;

/// <summary>The trainer with two threads: determinism and the dedicated second thread.</summary>
public sealed class Seq2SeqTrainerTwoThreadTests
{
    [Fact]
    public void TrainTwoThreads_SameSeed_DeterministicAndCloseToOneThread()
    {
        var config = new Seq2SeqConfig { SourceVocabSize = 12, TargetVocabSize = 12, EmbeddingSize = 8, HiddenSize = 16, AttentionSize = 8 };
        var (src, tgt) = Seq2SeqTestData.Reverse(64, 2, 7, 9, 3, 5);
        var batches = Seq2SeqBatch.Bucketed(src, tgt, 16, config.PaddingId, config.BosId, config.EosId);
        List<float> Run(int threads)
        {
            var losses = new List<float>();
            var trainer = new Seq2SeqTrainer(new Seq2SeqModel(config, 16, 8, 9, seed: 2), new Seq2SeqTrainerOptions { Threads = threads, TeacherForcingRatio = 0.8f, Seed = 3 });
            trainer.Train(batches, 2, onStep: s => losses.Add(s.Loss));
            return losses;
        }
        List<float> a = Run(2), b = Run(2), one = Run(1);
        Assert.Equal(a, b);
        // the first step starts from identical parameters: same loss up to float summation order
        Assert.Equal(one[0], a[0], 4);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.True(Math.Abs(a[i] - one[i]) <= 2e-2 * Math.Abs(one[i]), $"step {i}: {a[i]} vs {one[i]}");
        }
    }

    [Fact]
    public void TrainTwoThreads_SecondHalfRunsOnOneDedicatedThread()
    {
        // Not the thread pool: a pool thread injected mid-training would allocate its kernel packing buffers in a
        // steady-state step. Every step's second half runs on the same thread, which is neither the caller nor a pool thread.
        var config = new Seq2SeqConfig { SourceVocabSize = 12, TargetVocabSize = 12, EmbeddingSize = 8, HiddenSize = 16, AttentionSize = 8 };
        var (src, tgt) = Seq2SeqTestData.Reverse(64, 2, 7, 9, 3, 5);
        var batches = Seq2SeqBatch.Bucketed(src, tgt, 16, config.PaddingId, config.BosId, config.EosId);
        var trainer = new Seq2SeqTrainer(new Seq2SeqModel(config, 16, 8, 9, seed: 2), new Seq2SeqTrainerOptions { Threads = 2, Seed = 3 });
        var ids = new HashSet<int>();
        trainer.Train(batches, 3, onStep: _ => ids.Add(trainer.SecondThreadId));
        int id = Assert.Single(ids);
        Assert.NotEqual(Environment.CurrentManagedThreadId, id);
        Assert.False(trainer.SecondThreadIsPoolThread);
    }
}
