using System.Diagnostics;
using System.Globalization;
using SpanAttention.Cli.Rendering;
using SpanAttention.Data;
using SpanAttention.Evaluation;
using SpanAttention.Inference;
using SpanAttention.IO;
using SpanAttention.Kernels;
using SpanAttention.Seq2Seq;
using SpanAttention.Training;

namespace SpanAttention.Cli;

/// <summary>The settings of one training run (<c>train</c> and <c>demo</c>).</summary>
internal sealed record TrainSettings
{
    /// <summary>The architecture; the vocabulary sizes are filled in from the data.</summary>
    public required Seq2SeqConfig Config { get; init; }

    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Epochs (the last one, counting epochs of a resumed run).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Adam or SGD with momentum.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>SGD momentum.</summary>
    public float Momentum { get; init; } = 0.9f;

    /// <summary>Learning rate.</summary>
    public float LearningRate { get; init; } = 3e-3f;

    /// <summary>Per-epoch multiplicative decay of the learning rate (1: constant).</summary>
    public float LearningRateDecay { get; init; } = 1f;

    /// <summary>Global-norm clipping (0: off).</summary>
    public float Clip { get; init; } = 5f;

    /// <summary>Teacher-forcing ratio.</summary>
    public float TeacherForcing { get; init; } = 1f;

    /// <summary>Seed of the initialisation and the batch order.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Training threads (1 or 2: each batch split in two halves trained concurrently), or 0 for one thread with the kernels' default threading.</summary>
    public int Threads { get; init; }

    /// <summary>Stop after this many epochs without a better held-out exact match (0: never).</summary>
    public int Patience { get; init; }

    /// <summary>Stop as soon as the held-out exact match reaches this (above 1: never).</summary>
    public double StopAt { get; init; } = 2;

    /// <summary>Held-out sentences checked after each epoch (0: all of the validation split).</summary>
    public int ValidationLimit { get; init; }

    /// <summary>Best model file (saved atomically whenever the held-out exact match improves), or null.</summary>
    public string? Output { get; init; }

    /// <summary>Training checkpoint written after every epoch, or null.</summary>
    public string? Checkpoint { get; init; }

    /// <summary>Checkpoint to resume from, or null.</summary>
    public string? Resume { get; init; }
}

/// <summary>What a training run produced.</summary>
/// <param name="Model">The model with the best held-out parameters restored.</param>
/// <param name="Source">Source vocabulary.</param>
/// <param name="Target">Target vocabulary.</param>
/// <param name="BestAccuracy">Best held-out exact match.</param>
/// <param name="BestTokenAccuracy">Held-out token accuracy of the best epoch.</param>
/// <param name="BestEpoch">Its epoch (1-based).</param>
/// <param name="EpochsRun">Epochs run in this invocation.</param>
/// <param name="Elapsed">Wall time of the training loop.</param>
internal sealed record TrainResult(Seq2SeqModel Model, Vocabulary Source, Vocabulary Target, double BestAccuracy, double BestTokenAccuracy, int BestEpoch, int EpochsRun, TimeSpan Elapsed);

/// <summary>
/// The training loop of <c>train</c> and <c>demo</c>: vocabularies from the training split, length-bucketed
/// batches, <see cref="Seq2SeqTrainer"/> epochs with the live progress line, greedy exact match on the
/// validation split after every epoch, the best parameters kept (and saved), early stopping, checkpoints, resume.
/// </summary>
internal static class TrainingRun
{
    public static TrainResult Run(CliContext context, Dataset data, TaskSpec? task, TrainSettings settings, CancellationToken cancellationToken)
    {
        if (data.Train.Count == 0)
        {
            throw new CliException($"dataset {data.Name} has no training pairs.");
        }
        if (data.Validation.Count == 0)
        {
            throw new CliException($"dataset {data.Name} has no validation pairs (it needs at least a few sentences more).");
        }
        int previousThreads = KernelThreads.Count;
        if (settings.Threads != 0)
        {
            // Two threads: the trainer splits each batch in two halves (data parallel); the kernels stay on one thread each.
            KernelThreads.Count = 1;
        }
        try
        {
            return RunCore(context, data, task, settings, cancellationToken);
        }
        finally
        {
            KernelThreads.Count = previousThreads;
        }
    }

    private static TrainResult RunCore(CliContext context, Dataset data, TaskSpec? task, TrainSettings settings, CancellationToken cancellationToken)
    {
        var culture = CultureInfo.InvariantCulture;
        Vocabulary source = data.BuildSourceVocabulary();
        Vocabulary target = data.BuildTargetVocabulary();
        Seq2SeqConfig config = settings.Config with
        {
            SourceVocabSize = source.Count,
            TargetVocabSize = target.Count,
            PaddingId = Vocabulary.PadId,
            BosId = Vocabulary.SosId,
            EosId = Vocabulary.EosId,
        };
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }

        (List<int[]> trainSources, List<int[]> trainTargets) = Encode(data.Train, source, target);
        IReadOnlyList<SentencePair> heldOut = settings.ValidationLimit > 0 && data.Validation.Count > settings.ValidationLimit
            ? data.Validation.Take(settings.ValidationLimit).ToList()
            : data.Validation;
        (List<int[]> validSources, List<int[]> validTargets) = Encode(heldOut, source, target);
        int maxSource = Longest(trainSources, validSources);
        int maxTarget = Longest(trainTargets, validTargets) + 1;
        int decodeLength = maxTarget + 10;

        List<Seq2SeqBatch> batches = Seq2SeqBatch.Bucketed(trainSources, trainTargets, settings.BatchSize, Vocabulary.PadId, Vocabulary.SosId, Vocabulary.EosId);
        var model = new Seq2SeqModel(config, settings.BatchSize, maxSource, Math.Max(maxTarget, decodeLength), settings.Seed);
        ILearningRateSchedule schedule = settings.LearningRateDecay == 1f
            ? new ConstantSchedule(settings.LearningRate)
            : new ExponentialDecaySchedule(settings.LearningRate, settings.LearningRateDecay);
        var trainer = new Seq2SeqTrainer(model, new Seq2SeqTrainerOptions
        {
            Optimizer = settings.Optimizer,
            Momentum = settings.Momentum,
            LearningRate = settings.LearningRate,
            Schedule = schedule,
            ClipNorm = settings.Clip,
            TeacherForcingRatio = settings.TeacherForcing,
            Seed = (ulong)settings.Seed,
            Threads = settings.Threads == 2 ? 2 : 1,
        });
        string sourceJson = source.ToJson(), targetJson = target.ToJson();
        if (settings.Resume is string resume)
        {
            Resume(trainer, resume, sourceJson, targetJson);
            context.Error.WriteLine($"resuming {resume} at epoch {trainer.Epoch + 1}");
        }

        long parameters = model.Layout.Count;
        context.Error.WriteLine(string.Create(culture,
            $"{data.Name}: {data.Train.Count:N0} training / {heldOut.Count:N0} held-out pairs, vocabularies {source.Count} -> {target.Count}; model {config.Describe()}, {parameters:N0} parameters"));

        var reporter = new ProgressReporter(context.Error, context.ErrorIsTerminal);
        var clock = Stopwatch.StartNew();
        int steps = batches.Count;
        double best = -1, bestTokens = -1;
        int bestEpoch = 0, sinceBest = 0, epochsRun = 0;
        float[] bestValues = (float[])model.Parameters.Values.Clone();
        double? heldOutAccuracy = null;
        long tokensDone = 0;
        TimeSpan trainingTime = TimeSpan.Zero;

        while (trainer.Epoch < settings.Epochs)
        {
            int epoch = trainer.Epoch + 1;
            int step = 0;
            double lossSum = 0;
            long epochTokens = 0;
            TimeSpan epochStart = clock.Elapsed;
            TrainingEpoch summary;
            try
            {
                summary = trainer.TrainEpoch(batches, s =>
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    step++;
                    lossSum += (double)s.Loss * s.Tokens;
                    epochTokens += s.Tokens;
                    TimeSpan elapsed = clock.Elapsed;
                    double seconds = (trainingTime + (elapsed - epochStart)).TotalSeconds;
                    reporter.Update(new TrainingProgress(epoch, settings.Epochs, step, steps, lossSum / Math.Max(1, epochTokens), heldOutAccuracy,
                        seconds > 0 ? (tokensDone + epochTokens) / seconds : 0, elapsed));
                });
            }
            catch (NonFiniteGradientException e)
            {
                throw new CliException($"training stopped: {e.Message}" + (settings.Output is null ? "" : $" The best model so far is in '{settings.Output}'."));
            }
            catch (OperationCanceledException)
            {
                throw new CliException("training interrupted" + (bestEpoch > 0 && settings.Output is not null ? $"; the best model so far (epoch {bestEpoch}) is in '{settings.Output}'." : "."), 130);
            }
            trainingTime += clock.Elapsed - epochStart;
            tokensDone += epochTokens;
            epochsRun++;

            (double accuracy, double tokenAccuracy) = Score(model, validSources, validTargets, decodeLength);
            heldOutAccuracy = accuracy;
            reporter.EpochDone(new TrainingProgress(epoch, settings.Epochs, steps, steps, summary.MeanLoss, accuracy,
                trainingTime.TotalSeconds > 0 ? tokensDone / trainingTime.TotalSeconds : 0, clock.Elapsed));

            // Better: a higher exact match, or the same with a higher token accuracy (long sequences sit at 0 % exact match for a while).
            if (accuracy > best || (accuracy == best && tokenAccuracy > bestTokens))
            {
                best = accuracy;
                bestTokens = tokenAccuracy;
                bestEpoch = epoch;
                sinceBest = 0;
                model.Parameters.Values.CopyTo(bestValues, 0);
                if (settings.Output is string output)
                {
                    ModelBundle.Save(output, model, source, target, task);
                }
            }
            else
            {
                sinceBest++;
            }
            if (settings.Checkpoint is string checkpoint)
            {
                trainer.SaveCheckpoint(checkpoint, sourceJson, targetJson);
            }
            if (accuracy >= settings.StopAt)
            {
                context.Error.WriteLine(string.Create(culture, $"held-out exact match {accuracy:P1} reached the target; stopping."));
                break;
            }
            if (settings.Patience > 0 && sinceBest >= settings.Patience)
            {
                context.Error.WriteLine($"no improvement for {settings.Patience} epochs; stopping early (best: epoch {bestEpoch}).");
                break;
            }
        }
        bestValues.CopyTo(model.Parameters.Values, 0);
        return new TrainResult(model, source, target, Math.Max(0, best), Math.Max(0, bestTokens), bestEpoch, epochsRun, clock.Elapsed);
    }

    /// <summary>Restores a checkpoint after checking that it belongs to this configuration and these vocabularies.</summary>
    private static void Resume(Seq2SeqTrainer trainer, string path, string sourceJson, string targetJson)
    {
        FileChecks.RequireReadableFile(path, "checkpoint");
        try
        {
            using (SafeTensorsReader reader = SafeTensorsReader.Open(path))
            {
                reader.Metadata.TryGetValue(Seq2SeqModelFile.SourceVocabKey, out string? src);
                reader.Metadata.TryGetValue(Seq2SeqModelFile.TargetVocabKey, out string? tgt);
                if (src != sourceJson || tgt != targetJson)
                {
                    throw new CliException($"checkpoint '{path}' was trained with other vocabularies than this data gives; resume it with the same --task/--data and --seed.");
                }
            }
            trainer.LoadCheckpoint(path);
        }
        catch (ModelFileException e)
        {
            throw new CliException($"cannot resume from '{path}': {e.Message}", e);
        }
    }

    /// <summary>Sources (tokens + &lt;eos&gt;) and targets (tokens, no specials) as ids.</summary>
    public static (List<int[]> Sources, List<int[]> Targets) Encode(IReadOnlyList<SentencePair> pairs, Vocabulary source, Vocabulary target, ICollection<string>? unknown = null)
    {
        var sources = new List<int[]>(pairs.Count);
        var targets = new List<int[]>(pairs.Count);
        foreach (SentencePair pair in pairs)
        {
            sources.Add(PairEncoder.EncodeSource(pair.Source, source, appendEos: true, unknown));
            targets.Add(target.Encode(Tokenizer.Tokenize(pair.Target, target.Tokenization), unknown));
        }
        return (sources, targets);
    }

    /// <summary>Greedy exact match of a model on encoded pairs.</summary>
    public static double ExactMatch(Seq2SeqModel model, List<int[]> sources, List<int[]> targets, int maxLength) =>
        Score(model, sources, targets, maxLength).ExactMatch;

    /// <summary>Greedy exact match and token accuracy (position by position, over reference tokens) on encoded pairs.</summary>
    public static (double ExactMatch, double TokenAccuracy) Score(Seq2SeqModel model, List<int[]> sources, List<int[]> targets, int maxLength)
    {
        if (sources.Count == 0)
        {
            return (0, 0);
        }
        Hypothesis[] hypotheses = Decoding.Greedy(model, sources, maxLength);
        int correct = 0;
        long tokens = 0, right = 0;
        for (int i = 0; i < hypotheses.Length; i++)
        {
            int[] h = hypotheses[i].Tokens, r = targets[i];
            correct += h.AsSpan().SequenceEqual(r) ? 1 : 0;
            for (int k = 0; k < Math.Min(h.Length, r.Length); k++)
            {
                right += h[k] == r[k] ? 1 : 0;
            }
            tokens += r.Length;
        }
        return ((double)correct / sources.Count, tokens == 0 ? 0 : (double)right / tokens);
    }

    private static int Longest(List<int[]> a, List<int[]> b)
    {
        int n = 1;
        foreach (int[] x in a)
        {
            n = Math.Max(n, x.Length);
        }
        foreach (int[] x in b)
        {
            n = Math.Max(n, x.Length);
        }
        return n;
    }
}
