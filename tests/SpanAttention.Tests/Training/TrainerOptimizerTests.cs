using SpanAttention.Attention;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Seq2Seq;
using SpanAttention.Tests.Support;
using SpanAttention.Training;
using Xunit;
using Xunit.Sdk;

namespace SpanAttention.Tests.Training;

/// <summary>The trainer's choice of optimizer: SGD with momentum next to Adam, its update and its checkpoints.</summary>
public sealed class TrainerOptimizerTests
{
    private static readonly Seq2SeqConfig Config = new()
    {
        SourceVocabSize = 12, TargetVocabSize = 12, EmbeddingSize = 8, HiddenSize = 16, AttentionSize = 8,
        Scorer = AttentionScorer.Additive,
    };

    private static List<Seq2SeqBatch> Batches(int count, ulong seed)
    {
        var (src, tgt) = Seq2SeqTestData.Reverse(count, 2, 7, 9, 3, seed);
        return Seq2SeqBatch.Bucketed(src, tgt, 8, Config.PaddingId, Config.BosId, Config.EosId);
    }

    [Fact]
    public void Constructor_Sgd_BuildsSgdWithTheOptions()
    {
        var trainer = new Seq2SeqTrainer(new Seq2SeqModel(Config, 8, 8, 9),
            new Seq2SeqTrainerOptions { Optimizer = OptimizerKind.Sgd, LearningRate = 0.1f, Momentum = 0.8f, Nesterov = true, WeightDecay = 1e-3f });
        var sgd = Assert.IsType<Sgd>(trainer.Optimizer);
        Assert.Equal((0.1f, 0.8f, 0f, 1e-3f, true), (sgd.LearningRate, sgd.Momentum, sgd.Dampening, sgd.WeightDecay, sgd.Nesterov));
        Assert.IsType<Adam>(new Seq2SeqTrainer(new Seq2SeqModel(Config, 8, 8, 9), new Seq2SeqTrainerOptions()).Optimizer);
        Assert.Throws<ArgumentException>(() => new Seq2SeqTrainer(new Seq2SeqModel(Config, 8, 8, 9),
            new Seq2SeqTrainerOptions { Optimizer = OptimizerKind.Sgd, Momentum = 0f, Nesterov = true }));
    }

    /// <summary>
    /// Three trainer steps with SGD (momentum 0.9, Nesterov, weight decay, clipping off) against the same forward and
    /// backward followed by torch.optim.SGD's update written out here in double:
    /// d = g + wd·p; b = d (first step) or m·b + (1-damp)·d; d = d + m·b (Nesterov); p = p - lr·d.
    /// </summary>
    [Theory]
    [InlineData(false, 0f)]
    [InlineData(true, 0f)]
    [InlineData(false, 0.3f)]
    public void TrainStep_Sgd_MatchesTorchSgdFormula(bool nesterov, float dampening)
    {
        const float lr = 0.05f, momentum = 0.9f, wd = 0.01f;
        List<Seq2SeqBatch> batches = Batches(24, 4);
        var trainer = new Seq2SeqTrainer(new Seq2SeqModel(Config, 8, 8, 9, seed: 3), new Seq2SeqTrainerOptions
        {
            Optimizer = OptimizerKind.Sgd, LearningRate = lr, Momentum = momentum, Dampening = dampening, Nesterov = nesterov,
            WeightDecay = wd, ClipNorm = 0f,
        });
        var reference = new Seq2SeqModel(Config, 8, 8, 9, seed: 3);
        int n = reference.Layout.Count;
        var p = new double[n];
        var buf = new double[n];
        for (int i = 0; i < n; i++)
        {
            p[i] = reference.Parameters.Values[i];
        }
        for (int step = 0; step < 3; step++)
        {
            Seq2SeqBatch batch = batches[step % batches.Count];
            trainer.TrainStep(batch);
            for (int i = 0; i < n; i++)
            {
                reference.Parameters.Values[i] = (float)p[i];
            }
            reference.Parameters.ZeroGradients();
            reference.Forward(batch);
            reference.Backward();
            for (int i = 0; i < n; i++)
            {
                double d = reference.Parameters.Gradients[i] + wd * p[i];
                buf[i] = step == 0 ? d : momentum * buf[i] + (1 - dampening) * d;
                d = nesterov ? d + momentum * buf[i] : buf[i];
                p[i] -= lr * d;
            }
            for (int i = 0; i < n; i++)
            {
                double a = trainer.Model.Parameters.Values[i];
                if (!(Math.Abs(a - p[i]) <= 1e-6 + 1e-5 * Math.Abs(p[i])))
                {
                    throw new XunitException($"step {step + 1}, parameter {i}: trainer {a:R}, formula {p[i]:R}");
                }
            }
        }
        Assert.Equal(3, trainer.Optimizer.StepCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Checkpoint_SgdResumedRun_LossSequenceIdentical(bool nesterov)
    {
        List<Seq2SeqBatch> batches = Batches(48, 9);
        var options = new Seq2SeqTrainerOptions
        {
            Optimizer = OptimizerKind.Sgd, LearningRate = 0.1f, Momentum = 0.9f, Nesterov = nesterov, TeacherForcingRatio = 0.7f, Seed = 21,
            Schedule = new StepDecaySchedule(0.1f, 1, 0.5f),
        };
        var (straight, _, resumed) = CheckpointResume.Run(Config, batches, options, 1, 2,
            afterLoad: (path, saved, loaded) =>
            {
                using (SafeTensorsReader reader = SafeTensorsReader.Open(path))
                {
                    Assert.Equal("sgd", reader.Metadata["spanattention.trainer.optimizer"]);
                    Assert.True(reader.Contains("optimizer.momentum_buffer.decoder.out.weight"));
                    Assert.Equal(saved.Model.Layout["decoder.out.weight"].Shape.Select(d => (long)d), reader["optimizer.momentum_buffer.decoder.out.weight"].Shape);
                }
                Assert.Equal(saved.Optimizer.StepCount, loaded.Optimizer.StepCount);
                Assert.Equal(((Sgd)saved.Optimizer).MomentumBuffer, ((Sgd)loaded.Optimizer).MomentumBuffer);
            },
            afterResume: (path, saved, _) =>
            {
                // an SGD checkpoint still loads as a model file
                Assert.Equal(saved.Model.Parameters.Values, Seq2SeqModelFile.Load(path, 8, 8, 9).Model.Parameters.Values);
                // and does not resume an Adam trainer
                var adam = new Seq2SeqTrainer(new Seq2SeqModel(Config, 8, 8, 9), new Seq2SeqTrainerOptions());
                var e = Assert.Throws<ModelFileException>(() => adam.LoadCheckpoint(path));
                Assert.Contains("optimizer is 'sgd'", e.Message, StringComparison.Ordinal);
            });
        Assert.Equal(straight.Model.Parameters.Values, resumed.Model.Parameters.Values);
    }

    [Fact]
    public void TrainStep_SgdSteadyState_AllocatesNothing()
    {
        var trainer = new Seq2SeqTrainer(new Seq2SeqModel(Config, 8, 8, 9),
            new Seq2SeqTrainerOptions { Optimizer = OptimizerKind.Sgd, LearningRate = 0.1f, Nesterov = true });
        List<Seq2SeqBatch> batches = Batches(16, 3);
        int step = 0; // cycles through the batches, whose shapes differ: warm up on each of them
        Assert.Equal(0, Allocations.AfterWarmUp(() => trainer.TrainStep(batches[step++ % batches.Count]), warmUpCalls: 3));
    }
}
