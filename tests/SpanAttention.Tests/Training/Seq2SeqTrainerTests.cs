using SpanAttention.IO;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Seq2Seq;
using SpanAttention.Tests.Support;
using SpanAttention.Training;
using Xunit;
using static SpanAttention.Tests.Seq2Seq.Seq2SeqTestData;

namespace SpanAttention.Tests.Training;

/// <summary>The trainer on one thread: checkpoints, the non-finite guard, steady-state allocation.</summary>
public sealed class Seq2SeqTrainerTests
{
    [Fact]
    public void Checkpoint_ResumedRun_LossSequenceIdentical()
    {
        Seq2SeqConfig config = Small();
        List<Seq2SeqBatch> batches = Batches(config, 48, 9);
        var options = new Seq2SeqTrainerOptions { LearningRate = 5e-3f, TeacherForcingRatio = 0.7f, Seed = 21, Schedule = new StepDecaySchedule(5e-3f, 1, 0.5f) };
        var (straight, _, resumed) = CheckpointResume.Run(config, batches, options, 1, 2,
            afterLoad: (_, saved, loaded) => Assert.Equal(saved.Step, loaded.Step),
            afterResume: (path, saved, loaded) =>
            {
                // a plain model file is not a checkpoint
                Seq2SeqModelFile.Save(path, saved.Model);
                Assert.Throws<ModelFileException>(() => loaded.LoadCheckpoint(path));
            });
        Assert.Equal(straight.Model.Parameters.Values, resumed.Model.Parameters.Values);
    }

    [Fact]
    public void TrainStep_NonFiniteParameters_ThrowsNamingTheStep()
    {
        Seq2SeqConfig config = Small();
        var trainer = new Seq2SeqTrainer(new Seq2SeqModel(config, 8, 8, 9), new Seq2SeqTrainerOptions());
        List<Seq2SeqBatch> batches = Batches(config, 8, 3);
        trainer.TrainStep(batches[0]);
        trainer.Model.Parameters.Values[trainer.Model.Layout["decoder.out.bias"].Offset] = float.NaN;
        var e = Assert.Throws<NonFiniteGradientException>(() => trainer.TrainStep(batches[0]));
        Assert.Contains("step 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TrainStep_SteadyState_AllocatesNothing()
    {
        foreach (DecoderStyle style in new[] { DecoderStyle.Bahdanau, DecoderStyle.Luong, DecoderStyle.None })
        {
            Seq2SeqConfig config = Small(style) with { Cell = style == DecoderStyle.Luong ? RecurrentKind.Lstm : RecurrentKind.Gru };
            var trainer = new Seq2SeqTrainer(new Seq2SeqModel(config, 8, 8, 9), new Seq2SeqTrainerOptions { TeacherForcingRatio = 0.5f });
            List<Seq2SeqBatch> batches = Batches(config, 16, 3);
            int step = 0; // cycles through the batches, whose shapes differ: warm up on each of them
            Assert.Equal(0, Allocations.AfterWarmUp(() => trainer.TrainStep(batches[step++ % batches.Count]), warmUpCalls: 3));
        }
    }
}
