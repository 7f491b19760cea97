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

    /// <summary>
    /// The two-thread step equals, bit for bit, the serial recipe it stands for: two models each with its own copy
    /// of the values, the halves' forward/backward from the same RNG state, g = (n1/n) g1 + (n2/n) g2 as two
    /// TensorPrimitives passes, the global norm, clipping (which clips here), Adam.
    /// </summary>
    [Fact]
    public void TrainStepTwoThreads_EqualsSerialHalvesCombinedThenAdamBitForBit()
    {
        var config = new Seq2SeqConfig { SourceVocabSize = 12, TargetVocabSize = 12, EmbeddingSize = 8, HiddenSize = 16, AttentionSize = 8 };
        var (src, tgt) = Seq2SeqTestData.Reverse(48, 2, 7, 9, 3, 5);
        var batches = Seq2SeqBatch.Bucketed(src, tgt, 15, config.PaddingId, config.BosId, config.EosId);
        var trainer = new Seq2SeqTrainer(new Seq2SeqModel(config, 16, 8, 9, seed: 2),
            new Seq2SeqTrainerOptions { Threads = 2, TeacherForcingRatio = 0.8f, Seed = 3, ClipNorm = 0.2f });
        var first = new Seq2SeqModel(config, 16, 8, 9, seed: 2);
        var second = new Seq2SeqModel(config, 16, 8, 9, seed: 7);
        var adam = new Adam(first.Layout.Count);
        var random = new SplitMix64(3);
        var copy = new SplitMix64(0);
        first.Training = second.Training = true;
        for (int step = 0; step < 2 * batches.Count; step++)
        {
            Seq2SeqBatch batch = batches[step % batches.Count];
            TrainingStep actual = trainer.TrainStep(batch);

            int b1 = (batch.BatchSize + 1) / 2;
            Array.Copy(first.Parameters.Values, second.Parameters.Values, first.Parameters.Values.Length);
            copy.State = random.State;
            first.Parameters.ZeroGradients();
            second.Parameters.ZeroGradients();
            float loss1 = first.Forward(batch.Rows(0, b1), 0.8f, random);
            first.Backward();
            float loss2 = second.Forward(batch.Rows(b1, batch.BatchSize - b1), 0.8f, copy);
            second.Backward();
            int n1 = first.LastTokenCount, n2 = second.LastTokenCount, n = n1 + n2;
            float[] g = first.Parameters.Gradients;
            System.Numerics.Tensors.TensorPrimitives.Multiply(g, (float)n1 / n, g);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(second.Parameters.Gradients, (float)n2 / n, g, g);
            float norm = GradientClipping.ClipByGlobalNorm(g, 0.2f);
            adam.Step(first.Parameters.Values, g);

            Assert.Equal((float)(((double)loss1 * n1 + (double)loss2 * n2) / n), actual.Loss);
            Assert.Equal(norm, actual.GradientNorm);
            Assert.True(norm > 0.2f, $"step {step}: the norm {norm} should be clipped");
            Assert.Equal(first.Parameters.Values, trainer.Model.Parameters.Values);
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
