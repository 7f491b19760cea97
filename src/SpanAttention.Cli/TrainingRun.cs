using System.Globalization;
using SpanAttention.Cli.Rendering;
using SpanAttention.Data;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;
using SpanAttention.Training;

namespace SpanAttention.Cli;

/// <summary>
/// <c>train</c> and <c>demo</c> around the library's <see cref="TrainingSession"/>: the messages before training,
/// the live progress line, the early-stop messages, and the library's errors as one-line CLI errors.
/// </summary>
internal static class TrainingRun
{
    /// <summary>
    /// The architecture as the training header shows it: cell and layers (or the Transformer encoder's layers, heads and
    /// feed-forward size, and the decoder's cell), sizes, decoder and scorer, vocabularies; a
    /// decoder without attention shows no scorer (it has none, whatever <see cref="Seq2SeqConfig.Scorer"/> holds).
    /// </summary>
    /// <summary>The optimisation as the training header's second line shows it: optimizer, learning-rate schedule (with the rate of the first and the last epoch), batch, clipping, epochs.</summary>
    internal static string DescribeSchedule(TrainingOptions o)
    {
        var c = CultureInfo.InvariantCulture;
        string optimizer = o.Optimizer == OptimizerKind.Sgd ? string.Create(c, $"SGD (momentum {o.Momentum})") : "Adam";
        string rate = o.LearningRateDecay == 1f
            ? string.Create(c, $"lr {o.LearningRate:0.#####} constant")
            : string.Create(c, $"lr {o.LearningRate:0.#####} x {o.LearningRateDecay} per epoch (epoch 1 {o.LearningRate:0.#####}, epoch {Math.Max(2, o.Epochs)} {o.LearningRate * Math.Pow(o.LearningRateDecay, Math.Max(2, o.Epochs) - 1):0.######})");
        return string.Create(c, $"schedule: {optimizer}, {rate}, batch {o.BatchSize}, clip {o.ClipNorm}, up to {o.Epochs} epochs{(o.Patience > 0 ? $" (patience {o.Patience})" : "")}");
    }

    /// <summary>
    /// The architecture as the training header shows it (see <see cref="DescribeSchedule"/> for the optimisation).
    /// </summary>
    internal static string Describe(Seq2SeqConfig c)
    {
        if (c.Decoder == DecoderStyle.Transformer)
        {
            return c.Describe();
        }
        string decoder = c.Decoder == DecoderStyle.None ? "None (no attention)" : $"{c.Decoder}/{c.Scorer}";
        string encoder = c.Encoder == EncoderKind.Image
            ? string.Create(CultureInfo.InvariantCulture, $"CNN conv {string.Join("-", c.ConvChannels)} grid {c.GridHeight}x{c.GridWidth} + {c.Cell} decoder")
            : c.Encoder == EncoderKind.Transformer
            ? string.Create(CultureInfo.InvariantCulture,
                $"Transformer x{c.EncoderLayers} heads={c.Heads} F={c.EffectiveFeedForwardSize}{(c.Activation == Transformer.FeedForwardActivation.Gelu ? " gelu" : "")} + {c.Cell} decoder")
            : string.Create(CultureInfo.InvariantCulture, $"{c.Cell} x{c.EncoderLayers}{(c.Bidirectional ? " bi" : "")}");
        return string.Create(CultureInfo.InvariantCulture,
            $"{encoder} E={c.EmbeddingSize} H={c.HiddenSize} {decoder} V={c.SourceVocabSize}->{c.TargetVocabSize}{(c.Dropout > 0f ? $" dropout={c.Dropout}" : "")}{(c.ContextGate ? " gate" : "")}{(c.AttentionRegularization > 0f ? $" attention-reg={c.AttentionRegularization}" : "")}");
    }

    public static TrainingResult Run(CliContext context, Dataset data, TaskSpec? task, TrainingOptions options, CancellationToken cancellationToken, TrainingLog? log = null,
        CaptionDataset? images = null)
    {
        var culture = CultureInfo.InvariantCulture;
        if (data.Train.Count == 0)
        {
            throw new CliException($"dataset {data.Name} has no training pairs.");
        }
        if (data.Validation.Count == 0)
        {
            throw new CliException($"dataset {data.Name} has no validation pairs (it needs at least a few sentences more).");
        }
        if (task is not null)
        {
            options = options with { ModelMetadata = new Dictionary<string, string>(StringComparer.Ordinal) { [Seq2SeqModelFile.TaskKey] = task.ToJson() } };
        }
        if (options.ResumeFrom is string resume)
        {
            FileChecks.RequireReadableFile(resume, "checkpoint");
        }

        TrainingSession session;
        try
        {
            session = images is null ? new TrainingSession(data, options) : new TrainingSession(images, options);
        }
        catch (ModelFileException e)
        {
            throw new CliException($"cannot resume from '{options.ResumeFrom}': {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        if (options.ResumeFrom is not null)
        {
            context.Error.WriteLine($"resuming {options.ResumeFrom} at epoch {session.EpochsDone + 1}");
        }
        context.Error.WriteLine(string.Create(culture,
            $"{data.Name}: {data.Train.Count:N0} training / {session.HeldOut.Count:N0} held-out pairs, vocabularies {session.Source.Count} -> {session.Target.Count}; model {Describe(session.Config)}, {session.ParameterCount:N0} parameters"));

        context.Error.WriteLine(DescribeSchedule(options));

        IProgress<TrainingProgress> reporter = new ProgressReporter(context.Error, context.ErrorIsTerminal);
        if (log is not null)
        {
            reporter = new TrainingLog.Writer(reporter, log, session);
        }
        TrainingResult result;
        try
        {
            result = session.Run(reporter, cancellationToken);
        }
        catch (NonFiniteGradientException e)
        {
            throw new CliException($"training stopped: {e.Message}" + (options.BestModelPath is null ? "" : $" The best model so far is in '{options.BestModelPath}'."));
        }
        catch (OperationCanceledException)
        {
            throw new CliException("training interrupted" + (session.BestEpoch > 0 && options.BestModelPath is not null ? $"; the best model so far (epoch {session.BestEpoch}) is in '{options.BestModelPath}'." : "."), 130);
        }
        switch (result.Stop)
        {
            case TrainingStop.TargetReached:
                context.Error.WriteLine(string.Create(culture, $"held-out exact match {result.History[^1].ExactMatch:P1} reached the target; stopping."));
                break;
            case TrainingStop.NoImprovement:
                context.Error.WriteLine($"no improvement for {options.Patience} epochs; stopping early (best: epoch {result.BestEpoch}).");
                break;
        }
        return result;
    }
}
