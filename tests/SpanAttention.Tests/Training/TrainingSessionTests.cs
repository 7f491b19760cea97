using SpanAttention.Data;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Cli;
using SpanAttention.Training;
using Xunit;

namespace SpanAttention.Tests.Training;

/// <summary>The library's training loop: validation, best-model keeping, early stopping, progress, cancellation.</summary>
public class TrainingSessionTests
{
    /// <summary>Reverse, lengths 3-6, 300 pairs (240 train / 30 held out): an epoch is 8 batches of 32.</summary>
    internal static Dataset TinyReverse(int seed = 1) => Reverse.Create(new ReverseOptions { Count = 300, MinLength = 3, MaxLength = 6, Seed = seed });

    internal static TrainingOptions Tiny(int epochs, float lr = 0.01f, int seed = 1) => new()
    {
        Config = new Seq2SeqConfig { EmbeddingSize = 16, HiddenSize = 32 },
        BatchSize = 32,
        Epochs = epochs,
        LearningRate = lr,
        Seed = seed,
        Threads = 1,
    };

    /// <summary>Collects every report, synchronously (unlike <see cref="Progress{T}"/>, which posts).</summary>
    private sealed class Recorder : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = [];

        public Action<TrainingProgress>? OnReport { get; init; }

        public void Report(TrainingProgress value)
        {
            Reports.Add(value);
            OnReport?.Invoke(value);
        }
    }

    [Fact]
    public void Run_ThreeEpochs_ReportsEveryStepAndEpochAndKeepsTheBest()
    {
        using var folder = new TempFolder();
        string best = folder.File("best.safetensors");
        var session = new TrainingSession(TinyReverse(), Tiny(3) with { BestModelPath = best });
        var recorder = new Recorder();

        TrainingResult result = session.Run(recorder);

        int steps = session.StepsPerEpoch;
        Assert.Equal(8, steps);
        Assert.Equal(3 * (steps + 1), recorder.Reports.Count);
        TrainingProgress[] ends = [.. recorder.Reports.Where(r => r.Completed is not null)];
        Assert.Equal([1, 2, 3], ends.Select(r => r.Epoch));
        Assert.All(ends, r => Assert.Equal(steps, r.Step));
        Assert.Equal(result.History, ends.Select(r => r.Completed!));
        Assert.Equal(TrainingStop.EpochsDone, result.Stop);
        Assert.Equal(3, result.EpochsRun);
        Assert.Equal([1, 2, 3], result.History.Select(h => h.Epoch));
        Assert.Equal([8L, 16, 24], result.History.Select(h => h.Step));

        // The best epoch is the first with the highest (exact match, token accuracy), and its parameters are in the
        // result's model and in the best model file.
        EpochReport top = result.History.OrderByDescending(h => h.ExactMatch).ThenByDescending(h => h.TokenAccuracy).First();
        Assert.Equal(top.Epoch, result.BestEpoch);
        Assert.Equal(top.ExactMatch, result.BestExactMatch);
        Assert.Equal(top.TokenAccuracy, result.BestTokenAccuracy);
        Assert.True(result.History[0].IsBest);
        var saved = new float[session.Model.Layout.Count];
        ModelFile.Load(best, session.Model.Layout, saved);
        Assert.Equal(saved, result.Model.Parameters.Values);
        Assert.Equal((top.ExactMatch, top.TokenAccuracy), HeldOutEvaluation.Score(result.Model, Encode(session).Sources, Encode(session).Targets, MaxLength(session)));
    }

    [Fact]
    public void Run_HeldOutLoss_IsTheTeacherForcedLossOfTheHeldOutPairs()
    {
        TrainingSession session = new(TinyReverse(), Tiny(2, lr: 0.02f));

        TrainingResult result = session.Run();

        // Learning: the held-out loss falls, and starts near ln(V) (uniform guesses over 24 symbols give 3.2).
        Assert.InRange(result.History[0].HeldOutLoss, 1.0, 4.0);
        Assert.True(result.History[1].HeldOutLoss < result.History[0].HeldOutLoss);
        // Recomputed on the restored best parameters, from the held-out pairs alone, it is the recorded value.
        (List<int[]> sources, List<int[]> targets) = Encode(session);
        List<Seq2SeqBatch> batches = Seq2SeqBatch.Bucketed(sources, targets, 32, Vocabulary.PadId, Vocabulary.SosId, Vocabulary.EosId);
        Assert.Equal(result.History[result.BestEpoch - 1].HeldOutLoss, HeldOutEvaluation.TeacherForcedLoss(result.Model, batches), 12);
    }

    [Fact]
    public void Run_Patience_StopsAfterThatManyEpochsWithoutImprovement()
    {
        // lr 10 jumps around: the held-out score stops improving within a few epochs.
        TrainingSession session = new(TinyReverse(), Tiny(12, lr: 10f, seed: 3) with { Patience = 2 });

        TrainingResult result = session.Run();

        Assert.Equal(TrainingStop.NoImprovement, result.Stop);
        Assert.Equal(result.BestEpoch + 2, result.History[^1].Epoch);
        Assert.True(result.EpochsRun < 12);
    }

    [Fact]
    public void Run_StopAtExactMatch_StopsAtTheFirstEpochThatReachesIt()
    {
        TrainingSession session = new(TinyReverse(), Tiny(3) with { StopAtExactMatch = 0 });

        TrainingResult result = session.Run();

        Assert.Equal(TrainingStop.TargetReached, result.Stop);
        Assert.Equal(1, result.EpochsRun);
    }

    [Fact]
    public void Run_Cancelled_ThrowsAndKeepsTheBestEpochSoFar()
    {
        using var cancel = new CancellationTokenSource();
        TrainingSession session = new(TinyReverse(), Tiny(3));
        var recorder = new Recorder { OnReport = r => { if (r.Epoch == 2 && r.Step == 3) { cancel.Cancel(); } } };

        Assert.ThrowsAny<OperationCanceledException>(() => session.Run(recorder, cancel.Token));

        Assert.Equal(1, session.BestEpoch);
        Assert.Single(session.History);
        Assert.Equal(3, recorder.Reports.Count(r => r.Epoch == 2));
    }

    [Fact]
    public void Run_Twice_Refused()
    {
        TrainingSession session = new(TinyReverse(), Tiny(1));
        session.Run();

        Assert.Throws<InvalidOperationException>(() => session.Run());
    }

    [Fact]
    public void Constructor_NoValidationPairs_ArgumentException()
    {
        Dataset data = TinyReverse();
        var empty = new Dataset("empty", data.SourceTokenization, data.TargetTokenization, data.Train, [], []);

        ArgumentException e = Assert.Throws<ArgumentException>(() => new TrainingSession(empty, Tiny(1)));
        Assert.Contains("no validation pairs", e.Message, StringComparison.Ordinal);
    }

    private static (List<int[]> Sources, List<int[]> Targets) Encode(TrainingSession session) =>
        HeldOutEvaluation.Encode(session.HeldOut, session.Source, session.Target);

    private static int MaxLength(TrainingSession session) => Encode(session).Targets.Max(t => t.Length) + 11;

    /// <summary>
    /// A run interrupted after epoch k and resumed keeps the best model and the patience count of the uninterrupted
    /// run: k is the uninterrupted run's best epoch, so no resumed epoch improves on it; the resumed run must neither
    /// save one of them as the best model nor restart the patience count.
    /// </summary>
    [Fact]
    public void Resume_AfterTheBestEpoch_KeepsTheBestModelAndStopsAtTheSameEpoch()
    {
        using var folder = new TempFolder();
        TrainingOptions Options(string name, int epochs) => Tiny(epochs, lr: 0.08f, seed: 3) with
        {
            Patience = 2,
            BestModelPath = folder.File(name + ".safetensors"),
            CheckpointPath = folder.File(name + ".ckpt.safetensors"),
        };
        TrainingResult full = new TrainingSession(TinyReverse(3), Options("full", 12)).Run();
        int k = full.BestEpoch;
        Assert.True(k < full.EpochsRun, "the uninterrupted run must go on past its best epoch");

        new TrainingSession(TinyReverse(3), Options("part", k)).Run();
        var resumed = new TrainingSession(TinyReverse(3), Options("part", 12) with { ResumeFrom = folder.File("part.ckpt.safetensors") });
        TrainingResult rest = resumed.Run();

        Assert.Equal(TrainingStop.NoImprovement, full.Stop);
        Assert.Equal(full.Stop, rest.Stop);
        Assert.Equal(full.BestEpoch, rest.BestEpoch);
        Assert.Equal(full.BestExactMatch, rest.BestExactMatch);
        Assert.Equal(full.BestTokenAccuracy, rest.BestTokenAccuracy);
        Assert.Equal(full.EpochsRun, k + rest.EpochsRun);
        Assert.Equal(File.ReadAllBytes(folder.File("full.safetensors")), File.ReadAllBytes(folder.File("part.safetensors")));
        Assert.Equal(full.Model.Parameters.Values, rest.Model.Parameters.Values);
        Assert.Equal(
            full.History.Select(e => (e.Epoch, e.Step, e.TrainLoss, e.HeldOutLoss, e.ExactMatch, e.IsBest)),
            rest.History.Select(e => (e.Epoch, e.Step, e.TrainLoss, e.HeldOutLoss, e.ExactMatch, e.IsBest)));
    }

    [Fact]
    public void Run_ExplodingLoss_ReportedAsDivergenceInProgressAndResult()
    {
        var recorder = new Recorder();

        TrainingResult exploding = new TrainingSession(TinyReverse(), Tiny(3, lr: 1e6f)).Run(recorder);
        TrainingResult healthy = new TrainingSession(TinyReverse(), Tiny(3)).Run();

        Assert.True(exploding.Diverged);
        Assert.Contains("x the first step's", exploding.Divergence, StringComparison.Ordinal);
        Assert.StartsWith("epoch ", exploding.Divergence, StringComparison.Ordinal);
        TrainingProgress flagged = recorder.Reports.First(r => r.Divergence is not null);
        Assert.Equal(exploding.History[0], flagged.Completed); // the first epoch already diverges
        Assert.Equal(exploding.Divergence, flagged.Divergence);
        Assert.False(healthy.Diverged);
        Assert.Null(healthy.Divergence);
    }

    [Fact]
    public void Run_LossRisingForTheGivenEpochs_ReportedAsDivergence()
    {
        // Plain SGD far too fast at a constant rate: the loss climbs epoch after epoch without exploding past the factor.
        TrainingOptions rising = Tiny(6, lr: 3f) with { Optimizer = OptimizerKind.Sgd, Momentum = 0.9f, LearningRateDecay = 1f, ClipNorm = 0, DivergenceFactor = 0, DivergenceRisingEpochs = 2 };

        TrainingResult result = new TrainingSession(TinyReverse(), rising).Run();

        double[] losses = [.. result.History.Select(h => h.TrainLoss)];
        bool rose = Enumerable.Range(2, losses.Length - 2).Any(i => losses[i] > losses[i - 1] && losses[i - 1] > losses[i - 2]);
        Assert.Equal(rose, result.Diverged);
        Assert.True(rose, $"losses {string.Join(", ", losses)}: pick a setting whose loss rises twice in a row");
        Assert.Contains("rose for 2 epochs in a row", result.Divergence, StringComparison.Ordinal);
    }
}
