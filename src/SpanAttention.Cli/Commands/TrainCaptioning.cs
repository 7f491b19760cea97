using System.Globalization;
using SpanAttention.Cli.Images;
using SpanAttention.Cli.Rendering;
using SpanAttention.Data;
using SpanAttention.Data.Captioning;
using SpanAttention.Seq2Seq;
using SpanAttention.Training;

namespace SpanAttention.Cli.Commands;

/// <summary>
/// <c>train --task shapes|digits</c>: an image encoder (conv blocks, a pooled grid) and the attention decoder trained
/// on a built-in captioning task through the same <see cref="TrainingRun"/> as the text tasks; the held-out score is the
/// exact caption match, and the best model is saved with its configuration (image size and normalisation included).
/// </summary>
internal static class TrainCaptioning
{
    /// <summary>The encoder defaults per task: conv channels per block and the grid (L = gh·gw memory positions).</summary>
    internal static (int[] Conv, int GridHeight, int GridWidth) Defaults(string task) => task == CaptionDataset.DigitsName
        ? ([16, 32, 64], 1, 14)                                                             // 24 x 112 -> 3 x 14: two positions per digit
        : ([16, 32, 64], 6, 6);                                                             // 48 x 48 -> 6 x 6: four positions per object cell

    /// <summary>Parses <c>--conv-channels</c> (e.g. <c>16,32,64</c>).</summary>
    internal static int[] ParseChannels(string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        var channels = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out channels[i]) || channels[i] < 1 || channels[i] > 1024)
            {
                throw new UsageException($"--conv-channels must be a comma-separated list of 1 to 8 channel counts in 1..1024 (e.g. 16,32,64), got '{text}'.");
            }
        }
        if (channels.Length is < 1 or > 8)
        {
            throw new UsageException($"--conv-channels must be a comma-separated list of 1 to 8 channel counts in 1..1024 (e.g. 16,32,64), got '{text}'.");
        }
        return channels;
    }

    /// <summary>Parses <c>--grid</c> (e.g. <c>6x6</c>).</summary>
    internal static (int Height, int Width) ParseGrid(string text)
    {
        string[] parts = text.Split('x');
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int h)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int w) && h is >= 1 and <= 64 && w is >= 1 and <= 64)
        {
            return (h, w);
        }
        throw new UsageException($"--grid must be ROWSxCOLUMNS with each in 1..64 (e.g. 6x6), got '{text}'.");
    }

    /// <summary>Parses <c>--image-size</c> (e.g. <c>3x48x48</c>).</summary>
    internal static ImageShape ParseImageSize(string text)
    {
        string[] parts = text.Split('x');
        if (parts.Length == 3 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int c) && c is 1 or 3
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int h) && h is >= 8 and <= 1024
            && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int w) && w is >= 8 and <= 1024)
        {
            return new ImageShape(c, h, w);
        }
        throw new UsageException($"--image-size must be CHANNELSxROWSxCOLUMNS with channels 1 or 3 and rows and columns in 8..1024 (e.g. 3x48x48), got '{text}'.");
    }

    /// <summary>The most image floats a user dataset may hold in memory (2 GiB of pixels).</summary>
    internal const long MaxPixelFloats = 1L << 29;

    /// <summary>
    /// <c>train --images FILE.tsv</c>: the user's captioned images, resized to one size, shuffled by the seed and split
    /// 80/10/10 into training, validation (the held-out score) and test.
    /// </summary>
    public static int ExecuteOnImages(CliContext context, string tsvPath, string? imageSize, string? convChannels, string? grid, TrainingOptions settings,
        string? logPath, CancellationToken cancellationToken)
    {
        ImageShape shape = imageSize is null ? new ImageShape(3, 48, 48) : ParseImageSize(imageSize);
        FileChecks.RequireReadableFile(tsvPath, "image TSV");
        var spec = new TaskSpec(null, tsvPath, "word", settings.Seed, 0, 0, 0) { DataSha256 = TaskSpec.Sha256(tsvPath) };
        return Train(context, Path.GetFileName(tsvPath), () => LoadImages(tsvPath, shape, settings.Seed), spec, convChannels, grid, settings, logPath, cancellationToken);
    }

    /// <summary>
    /// <c>train --features FILE</c>: precomputed feature grids with their captions (<see cref="FeatureGridFile"/>, e.g. a
    /// pretrained ResNet's last convolutional grid written by tools/pytorch/image_features.py), shuffled by the seed and
    /// split 80/10/10; the decoder attends over the h'·w' cells of D features, with no CNN of its own.
    /// </summary>
    public static int ExecuteOnFeatures(CliContext context, string featuresPath, TrainingOptions settings, string? logPath, CancellationToken cancellationToken)
    {
        FileChecks.RequireReadableFile(featuresPath, "features file");
        var spec = new TaskSpec(null, featuresPath, "word", settings.Seed, 0, 0, 0) { DataSha256 = TaskSpec.Sha256(featuresPath) };
        return Train(context, Path.GetFileName(featuresPath), () => LoadFeatures(featuresPath, settings.Seed), spec, null, null, settings, logPath, cancellationToken, features: true);
    }

    /// <summary>The file's grids, shuffled by <paramref name="seed"/> and split 80/10/10, as a dataset of (h'·w', D) "images" (D as channels).</summary>
    private static CaptionDataset LoadFeatures(string path, int seed)
    {
        FeatureGrids grids = FeatureGridFile.Load(path);
        if (grids.Count < 3)
        {
            throw new CliException($"features file '{path}': {grids.Count} feature grid(s); training needs at least 3 (split 80/10/10 into training, validation and test).");
        }
        var order = new ImageCaption[grids.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = new ImageCaption(grids.Grid(i).ToArray(), string.Join(' ', grids.Captions[i]));
        }
        return Split(Path.GetFileName(path), grids.FeatureSize, grids.GridHeight, grids.GridWidth, order, seed);
    }

    /// <summary>Shuffles by <paramref name="seed"/> and splits 80/10/10 (at least one validation and one test example).</summary>
    private static CaptionDataset Split(string name, int channels, int height, int width, ImageCaption[] order, int seed)
    {
        new Random(seed).Shuffle(order);
        int test = Math.Max(1, order.Length / 10), validation = Math.Max(1, order.Length / 10);
        int train = order.Length - test - validation;
        return new CaptionDataset(name, channels, height, width, order[..train], order[train..(train + validation)], order[(train + validation)..]);
    }

    /// <summary>The TSV's images at <paramref name="shape"/>, shuffled by <paramref name="seed"/> and split 80/10/10.</summary>
    private static CaptionDataset LoadImages(string tsvPath, ImageShape shape, int seed)
    {
        long lines = File.ReadLines(tsvPath).LongCount(l => l.Trim().Length > 0);
        if (lines * shape.Channels * shape.Height * shape.Width > MaxPixelFloats)
        {
            throw new CliException($"image TSV '{tsvPath}': {lines} images of {shape.Channels}x{shape.Height}x{shape.Width} need more than 2 GiB of pixels; use a smaller --image-size or fewer images.");
        }
        IReadOnlyList<CaptionedImage> loaded = ImageCaptionFile.Load(tsvPath, shape);
        if (loaded.Count < 3)
        {
            throw new CliException($"image TSV '{tsvPath}': {loaded.Count} captioned image(s); training needs at least 3 (split 80/10/10 into training, validation and test).");
        }
        var order = new ImageCaption[loaded.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = new ImageCaption(loaded[i].Pixels, string.Join(' ', loaded[i].Words));
        }
        return Split(Path.GetFileName(tsvPath), shape.Channels, shape.Height, shape.Width, order, seed);
    }

    public static int Execute(CliContext context, string task, int count, string? convChannels, string? grid, TrainingOptions settings,
        string? logPath, CancellationToken cancellationToken)
    {
        TrainCommand.CheckRange(count, 0, 1_000_000, "--count");
        var spec = new TaskSpec(task, null, "word", settings.Seed, count, 0, 0);
        return Train(context, task, () => CaptionDataset.BuiltIn(task, settings.Seed, count), spec, convChannels, grid, settings, logPath, cancellationToken);
    }

    /// <summary>
    /// Checks the options and the output paths, then loads the data (<paramref name="load"/>) and trains: a CNN encoder
    /// over images, or, with <paramref name="features"/>, a Features encoder over precomputed grids (the dataset's
    /// (Channels, Height, Width) read as D features on an h' x w' grid).
    /// </summary>
    private static int Train(CliContext context, string task, Func<CaptionDataset> load, TaskSpec spec, string? convChannels, string? grid, TrainingOptions settings,
        string? logPath, CancellationToken cancellationToken, bool features = false)
    {
        var culture = CultureInfo.InvariantCulture;
        Seq2SeqConfig c = settings.Config;
        if (c.Encoder != EncoderKind.Recurrent || c.Bidirectional || c.EncoderLayers != 1)
        {
            throw new UsageException(features
                ? "--encoder, --layers and --bidirectional do not apply to --features: the decoder attends over the file's feature grids directly."
                : $"--encoder, --layers and --bidirectional do not apply to {(spec.Task is null ? "--images" : $"--task {task}")}: its encoder is a CNN (--conv-channels, --grid).");
        }
        TrainCommand.CheckRange(c.EmbeddingSize, 1, 4096, "--embedding-size");
        TrainCommand.CheckRange(c.HiddenSize, 1, 4096, "--hidden-size");
        TrainCommand.CheckRange(settings.BatchSize, 1, 4096, "--batch-size");
        TrainCommand.CheckRange(settings.Epochs, 1, 100_000, "--epochs");
        TrainCommand.CheckRange(settings.LearningRate, 1e-9, 10, "--lr");
        TrainCommand.CheckRange(settings.LearningRateDecay, 1e-3, 1, "--lr-decay");
        TrainCommand.CheckRange(settings.ClipNorm, 0, 1e9, "--clip");
        TrainCommand.CheckRange(settings.TeacherForcingRatio, 0, 1, "--teacher-forcing");
        TrainCommand.CheckRange(settings.Patience, 0, 100_000, "--patience");
        TrainCommand.CheckBelowOne(c.Dropout, "--dropout");
        TrainCommand.CheckBelowOne(settings.Momentum, "--momentum");
        settings = settings with { Threads = CommonOptions.ResolveThreads(context, settings.Threads, Environment.ProcessorCount) };
        (int[] conv, int gh, int gw) = Defaults(task);
        if (convChannels is not null)
        {
            conv = ParseChannels(convChannels);
        }
        if (grid is not null)
        {
            (gh, gw) = ParseGrid(grid);
        }

        string output = settings.BestModelPath!;
        TrainingLog? log = logPath is null ? null : TrainingLog.For(logPath, $"training on {task}");
        if (Directory.Exists(output))
        {
            throw new CliException($"cannot write model file '{output}': it is a folder.");
        }
        string? resume = settings.ResumeFrom;
        bool resumesOwnCheckpoint = resume is not null && settings.CheckpointPath is not null
            && FileChecks.RealPath(resume) == FileChecks.RealPath(settings.CheckpointPath);
        FileChecks.CheckOutputs(
            [(resumesOwnCheckpoint ? null : resume, "checkpoint to resume"), (spec.Data, features ? "features file" : "image TSV")],
            [(output, "model file"), (settings.CheckpointPath, "checkpoint"), (log?.Path, "training log"), (log?.PlotPath, "training plot")]);

        CaptionDataset data = load();
        Seq2SeqConfig config = features ? c with { Encoder = EncoderKind.Features, FeatureSize = data.Channels } : c with
        {
            Encoder = EncoderKind.Image,
            ImageChannels = data.Channels,
            ImageHeight = data.Height,
            ImageWidth = data.Width,
            ConvChannels = conv,
            GridHeight = gh,
            GridWidth = gw,
            PixelMean = [.. Enumerable.Repeat(0.5f, data.Channels)],                        // pixels in [0, 1] -> [-1, 1]
            PixelStd = [.. Enumerable.Repeat(0.5f, data.Channels)],
        };
        try
        {
            (config with { TargetVocabSize = Math.Max(config.TargetVocabSize, 3) }).Validate();   // the vocabulary comes later, from the captions
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message.Replace("Seq2SeqConfig: ", "", StringComparison.Ordinal));
        }
        settings = settings with { Config = config };
        context.Error.WriteLine(features
            ? string.Create(culture, $"training on {task} (seed {settings.Seed}): {data.Height} x {data.Width} feature grids of {data.Channels} features (L = {data.Height * data.Width} positions)")
            : string.Create(culture, $"training on {task} (seed {settings.Seed}): {data.Channels} x {data.Height} x {data.Width} images, conv {string.Join("-", conv)}, grid {gh}x{gw}"));
        TrainingResult result = TrainingRun.Run(context, data.Captions, spec, settings, cancellationToken, log, data);
        if (result.BestEpoch == 0)
        {
            throw new CliException("no epoch was trained (the checkpoint had already reached --epochs).");
        }

        // The best model on the test split (shapes: the compositional one).
        List<int[]> targets = HeldOutEvaluation.Encode(data.Captions.Test, result.Source, result.Target).Targets;
        int maxLength = targets.Max(t => t.Length) + 10;
        result.Model.EnsureCapacity(result.Model.MaxBatch, features ? data.Height * data.Width : config.GridHeight * config.GridWidth, maxLength);
        (double exact, double tokens) = HeldOutEvaluation.Score(result.Model, [.. data.Test.Select(x => x.Pixels)], targets, maxLength);
        context.Out.WriteLine(string.Create(culture,
            $"best epoch {result.BestEpoch}: held-out exact match {result.BestExactMatch:P1} (token accuracy {result.BestTokenAccuracy:P1}); {data.TestName} exact match {exact:P1}, token accuracy {tokens:P1} ({data.Test.Count} images); {result.EpochsRun} epochs in {ProgressReporter.Duration(result.Elapsed)}"));
        context.Out.WriteLine($"saved {output}" + (settings.CheckpointPath is null ? "" : $" (checkpoint {settings.CheckpointPath})"));
        if (log is not null)
        {
            context.Out.WriteLine($"wrote {log.Path} and {log.PlotPath}");
        }
        return ExitCodes.Success;
    }
}
