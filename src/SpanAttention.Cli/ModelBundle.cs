using System.Text.Json;
using SpanAttention.Data;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Cli;

/// <summary>
/// A model file as the commands use it: the <see cref="TranslationModel"/> and (when it was written by
/// <c>train</c>/<c>demo</c>) the task it was trained on. Loading turns every problem (missing file, not a
/// safetensors file, not a SpanAttention model, no or mismatched vocabulary) into one <see cref="CliException"/>.
/// </summary>
internal sealed class ModelBundle
{
    private ModelBundle(string path, TranslationModel model, TaskSpec? task)
    {
        Path = path;
        Model = model;
        Task = task;
    }

    /// <summary>The file it came from.</summary>
    public string Path { get; }

    /// <summary>The model with its vocabularies.</summary>
    public TranslationModel Model { get; }

    /// <summary>The training task recorded in the file, or null.</summary>
    public TaskSpec? Task { get; }

    /// <summary>Loads and checks a model file.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="maxBatch">Largest batch the model will decode (beam width or greedy batch).</param>
    /// <param name="weights">How the decoding weights are stored.</param>
    public static ModelBundle Load(string path, int maxBatch = 64, InferenceWeightFormat weights = InferenceWeightFormat.Float32)
    {
        FileChecks.RequireReadableFile(path, "model file");
        if (CaptionBundle.IsCaptioning(path))
        {
            throw new CliException($"'{path}' is a captioning model (it reads images, not text): use 'spanattn caption {path} IMAGE...', or attend, eval and info.");
        }
        TranslationModel model;
        try
        {
            model = TranslationModel.Load(path, Math.Max(1, maxBatch), weights);
        }
        catch (ModelFileException e)
        {
            throw new CliException($"'{path}' is not a valid model file: {e.Message}", e);
        }
        return new ModelBundle(path, model, TaskSpec.FromMetadata(model.Metadata));
    }

    /// <summary>Saves a model with its vocabularies and task atomically (<see cref="Seq2SeqModelFile"/>).</summary>
    public static void Save(string path, Seq2SeqModel model, Vocabulary source, Vocabulary target, TaskSpec? task)
    {
        FileChecks.RequireOutputFolder(path, "model file");
        if (Directory.Exists(path))
        {
            throw new CliException($"cannot write model file '{path}': it is a folder.");
        }
        Dictionary<string, string>? metadata = task is null ? null : new(StringComparer.Ordinal) { [Seq2SeqModelFile.TaskKey] = task.ToJson() };
        Seq2SeqModelFile.Save(path, model, source, target, metadata);
    }

    /// <summary>
    /// Checks every input before anything is decoded: a line without tokens counts 0 (the caller decides); tokens missing from the
    /// source vocabulary (they will be fed as &lt;unk&gt;) go to <paramref name="unknown"/>.
    /// </summary>
    /// <returns>The number of tokens of each line (without &lt;eos&gt;).</returns>
    public int[] CheckInputs(IReadOnlyList<string> lines, UnknownTokens unknown)
    {
        var counts = new int[lines.Count];
        for (int i = 0; i < counts.Length; i++)
        {
            counts[i] = Tokenizer.Tokenize(lines[i], Model.SourceVocabulary.Tokenization).Length;
            foreach (string token in Model.FindUnknownTokens(lines[i]))
            {
                unknown.Add(token);
            }
        }
        return counts;
    }
}

/// <summary>Which data a model was trained on, so <c>eval</c> can rebuild the same held-out split.</summary>
/// <param name="Task">hi-en, dates, reverse, or null for a file.</param>
/// <param name="Data">The TSV file, or null.</param>
/// <param name="Tokens">word or char (files only).</param>
/// <param name="Seed">Generation and split seed.</param>
/// <param name="Count">Number of generated pairs (0: the dataset's default).</param>
/// <param name="MinLength">Reverse: shortest sequence (0: default).</param>
/// <param name="MaxLength">Reverse: longest sequence (0: default).</param>
/// <remarks>A TSV file is split 80/10/10 by source sentence with <see cref="Seed"/> (<see cref="TsvDataset.Load"/>); its
/// SHA-256 and the number of test pairs are recorded too, so <c>eval</c> rebuilds exactly the held-out pairs the model
/// never saw and refuses a file that changed since.</remarks>
internal sealed record TaskSpec(string? Task, string? Data, string Tokens, int Seed, int Count, int MinLength, int MaxLength)
{
    /// <summary>SHA-256 of the TSV file as it was trained on (lowercase hex), or null.</summary>
    public string? DataSha256 { get; init; }

    /// <summary>The number of test pairs the split of the TSV file held out, or 0 when not recorded.</summary>
    public int TestPairs { get; init; }

    /// <summary>The lowercase hex SHA-256 of a file's bytes.</summary>
    public static string Sha256(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    /// <summary>As JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["task"] = Task,
        ["data"] = Data,
        ["tokens"] = Tokens,
        ["seed"] = Seed,
        ["count"] = Count,
        ["min_length"] = MinLength,
        ["max_length"] = MaxLength,
        ["data_sha256"] = DataSha256,
        ["split"] = Data is null ? null : $"train/validation/test 80/10/10 by source sentence, seed {Seed}",
        ["test_pairs"] = Data is null ? null : TestPairs,
    });

    /// <summary>The task a model file's metadata records under <see cref="Seq2SeqModelFile.TaskKey"/>; null when none or unreadable.</summary>
    public static TaskSpec? FromMetadata(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(Seq2SeqModelFile.TaskKey, out string? json) ? FromJson(json) : null;

    /// <summary>Parses <see cref="ToJson"/>; null when the text is not such a description.</summary>
    public static TaskSpec? FromJson(string json)
    {
        try
        {
            using JsonDocument d = JsonDocument.Parse(json);
            JsonElement r = d.RootElement;
            string? Str(string name) => r.TryGetProperty(name, out JsonElement e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            int Int(string name) => r.TryGetProperty(name, out JsonElement e) && e.ValueKind == JsonValueKind.Number ? e.GetInt32() : 0;
            return new TaskSpec(Str("task"), Str("data"), Str("tokens") ?? "word", Int("seed"), Int("count"), Int("min_length"), Int("max_length"))
            {
                DataSha256 = Str("data_sha256"),
                TestPairs = Int("test_pairs"),
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>A short description, e.g. <c>reverse (lengths 30-40, seed 1)</c>.</summary>
    public string Describe() => Task is null
        ? $"{Data} ({Tokens} tokens)"
        : Task == Reverse.Name && MinLength > 0 ? $"{Task} (lengths {MinLength}-{MaxLength}, seed {Seed})" : $"{Task} (seed {Seed})";

    /// <summary>The rules for the options that describe a task (<c>--count</c>, <c>--min-length</c>, <c>--max-length</c>), one set for train and eval.</summary>
    /// <exception cref="UsageException">A value is out of range.</exception>
    public void CheckOptions()
    {
        Commands.TrainCommand.CheckRange(Count, 0, 10_000_000, "--count");
        if (Task == Reverse.Name)
        {
            int min = MinLength > 0 ? MinLength : new ReverseOptions().MinLength;
            int max = MaxLength > 0 ? MaxLength : new ReverseOptions().MaxLength;
            Commands.TrainCommand.CheckRange(MinLength, 0, 1000, "--min-length");
            Commands.TrainCommand.CheckRange(MaxLength, 0, 1000, "--max-length");
            Commands.TrainCommand.CheckRange(max, min, 1000, "--max-length");
        }
    }

    /// <summary>Builds the dataset. Throws <see cref="CliException"/> for bad settings; file problems surface as their own exceptions.</summary>
    public Dataset Build()
    {
        if (Data is not null)
        {
            FileChecks.RequireReadableFile(Data, "data file");
            if (!Tokenizer.TryParse(Tokens, out Tokenization mode))
            {
                throw new UsageException($"--tokens must be word or char, got '{Tokens}'.");
            }
            return TsvDataset.Load(Data, mode, validationFraction: 0.1, testFraction: 0.1, seed: Seed);
        }
        try
        {
            return Task switch
            {
                HindiEnglish.Name => HindiEnglish.Create(new HindiEnglishOptions { Seed = Seed, Count = Count > 0 ? Count : new HindiEnglishOptions().Count }),
                HindiEnglish.LongName or HindiEnglish.LongerName => HindiEnglish.CreateCompound(
                    new HindiEnglishOptions { Seed = Seed, Count = Count > 0 ? Count : HindiEnglishOptions.CompoundCount }, byLength: Task == HindiEnglish.LongerName),
                Dates.Name => Dates.Create(new DatesOptions { Seed = Seed, Count = Count > 0 ? Count : new DatesOptions().Count }),
                Reverse.Name => Reverse.Create(new ReverseOptions
                {
                    Seed = Seed,
                    Count = Count > 0 ? Count : new ReverseOptions().Count,
                    MinLength = MinLength > 0 ? MinLength : new ReverseOptions().MinLength,
                    MaxLength = MaxLength > 0 ? MaxLength : new ReverseOptions().MaxLength,
                }),
                _ => throw new UsageException($"unknown task '{Task}'; the built-in ones are {string.Join(", ", BuiltInDatasets.Names)}."),
            };
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"task {Task}: {e.Message}");
        }
    }
}
