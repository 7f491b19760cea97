using SpanAttention.Cli.Images;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Cli;

/// <summary>
/// A captioning model file as the commands use it: the <see cref="CaptionModel"/>, the task it was trained on (when
/// <c>train</c> wrote it) and its images read from PNG or JPEG files at the size the file records. Every problem is one
/// <see cref="CliException"/>.
/// </summary>
internal sealed class CaptionBundle
{
    private CaptionBundle(string path, CaptionModel model, TaskSpec? task)
    {
        Path = path;
        Model = model;
        Task = task;
    }

    /// <summary>The file it came from.</summary>
    public string Path { get; }

    /// <summary>The model with its vocabulary.</summary>
    public CaptionModel Model { get; }

    /// <summary>The training task recorded in the file, or null.</summary>
    public TaskSpec? Task { get; }

    /// <summary>What the model reads from an image file.</summary>
    public ImageShape Shape => Model.Preprocessing is ImagePreprocessing p
        ? new ImageShape(p.Channels, p.Height, p.Width)
        : throw new CliException($"model '{Path}' reads precomputed feature grids, not images.");

    /// <summary>
    /// Whether <paramref name="path"/> holds a captioning model (an image or feature-grid encoder), from its header alone;
    /// false for anything else, including files that are not model files (the text commands then report what is wrong).
    /// </summary>
    public static bool IsCaptioning(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }
        try
        {
            using SafeTensorsReader reader = SafeTensorsReader.Open(path);
            return reader.Metadata.TryGetValue(Seq2SeqModelFile.ConfigKey, out string? json)
                && Seq2SeqConfig.FromJson(json).Encoder is EncoderKind.Image or EncoderKind.Features;
        }
        catch (Exception e) when (e is ModelFileException or IOException or UnauthorizedAccessException or FormatException or ArgumentException or System.Text.Json.JsonException)
        {
            return false;
        }
    }

    /// <summary>Loads and checks a captioning model file.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="maxBatch">Largest batch the model will decode (beam width or greedy batch).</param>
    public static CaptionBundle Load(string path, int maxBatch = CaptionModel.DefaultMaxBatch)
    {
        FileChecks.RequireReadableFile(path, "model file");
        CaptionModel model;
        try
        {
            model = CaptionModel.Load(path, Math.Max(1, maxBatch));
        }
        catch (ModelFileException e)
        {
            throw new CliException($"'{path}' is not a valid captioning model file: {e.Message}", e);
        }
        return new CaptionBundle(path, model, TaskSpec.FromMetadata(model.Metadata));
    }

    /// <summary>Reads every image file (all of them before anything is decoded), resized to the model's size.</summary>
    /// <exception cref="ImageInputException">A file is missing, not a PNG or JPEG, corrupt, too large or of the wrong channels; the message names it.</exception>
    public float[][] ReadImages(IReadOnlyList<string> paths)
    {
        ImageShape shape = Shape;
        var images = new float[paths.Count][];
        for (int i = 0; i < images.Length; i++)
        {
            images[i] = ImageFiles.Load(paths[i], shape);
        }
        return images;
    }

    /// <summary>"3 x 48 x 48 (RGB)": what the model reads.</summary>
    public string DescribeShape()
    {
        ImageShape s = Shape;
        return $"{s.Channels} x {s.Height} x {s.Width} ({(s.Channels == 3 ? "RGB" : s.Channels == 1 ? "grey" : $"{s.Channels} channels")})";
    }
}
