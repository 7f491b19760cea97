using SpanAttention.IO;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Cli;
using SpanAttention.Training;
using Xunit;
using static SpanAttention.Tests.Training.TrainingSessionTests;

namespace SpanAttention.Tests.Training;

/// <summary>Resuming from checkpoints that lack the session's state, or hold only part of it.</summary>
public class TrainingSessionResumeTests
{
    [Fact]
    public void Resume_CheckpointWithoutSessionState_ResumesWithNoBestEpoch()
    {
        using var folder = new TempFolder();
        string checkpoint = folder.File("run.ckpt.safetensors");
        var first = new TrainingSession(TinyReverse(), Tiny(2) with { CheckpointPath = checkpoint });
        first.Run();
        // The trainer's own checkpoint, as sessions wrote it before they stored their state.
        string old = folder.File("old.ckpt.safetensors");
        Seq2SeqTrainer trainer = Trainer(first);
        trainer.LoadCheckpoint(checkpoint);
        trainer.SaveCheckpoint(old, first.Source.ToJson(), first.Target.ToJson());

        var resumed = new TrainingSession(TinyReverse(), Tiny(3) with { ResumeFrom = old });
        Assert.Equal(2, resumed.EpochsDone);
        Assert.Equal(0, resumed.BestEpoch);
        Assert.Empty(resumed.History);
        TrainingResult result = resumed.Run();

        // The documented fallback: the best score starts over, so the first resumed epoch is the best.
        EpochReport only = Assert.Single(result.History);
        Assert.Equal(3, only.Epoch);
        Assert.True(only.IsBest);
        Assert.Equal(3, result.BestEpoch);
    }

    [Fact]
    public void Resume_SessionKeyMissing_ModelFileExceptionNamingIt()
    {
        using var folder = new TempFolder();
        string checkpoint = folder.File("run.ckpt.safetensors");
        var first = new TrainingSession(TinyReverse(), Tiny(1) with { CheckpointPath = checkpoint });
        first.Run();
        Seq2SeqTrainer trainer = Trainer(first);
        trainer.LoadCheckpoint(checkpoint);
        string broken = folder.File("broken.ckpt.safetensors");
        // The best parameters are there, the scores that go with them are not.
        trainer.SaveCheckpoint(broken, first.Source.ToJson(), first.Target.ToJson(),
            new Dictionary<string, string> { ["spanattention.session.best_epoch"] = "1" },
            SafeTensor.FromLayout(trainer.Model.Layout, trainer.Model.Parameters.Values, Seq2SeqTrainer.SessionTensorPrefix));

        var e = Assert.Throws<ModelFileException>(() => new TrainingSession(TinyReverse(), Tiny(3) with { ResumeFrom = broken }));
        Assert.Contains("spanattention.session.best_exact_match", e.Message, StringComparison.Ordinal);
        Assert.Contains("missing", e.Message, StringComparison.Ordinal);
    }

    /// <summary>A bare trainer with the session's architecture and optimizer (Adam), to read and rewrite its checkpoints.</summary>
    private static Seq2SeqTrainer Trainer(TrainingSession session) =>
        new(new Seq2SeqModel(session.Model.Config, 32, 8, 18, seed: 1), new Seq2SeqTrainerOptions { LearningRate = 0.01f });
}
