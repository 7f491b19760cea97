using System.Text.Json;
using SpanAttention.Data;
using SpanAttention.Inference;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Cli;

/// <summary>
/// A model file as the commands use it: the model, both vocabularies and (when it was written by
/// <c>train</c>/<c>demo</c>) the task it was trained on. Loading turns every problem (missing file, not a
/// safetensors file, not a SpanAttention model, no or mismatched vocabulary) into one <see cref="CliException"/>.
/// </summary>
internal sealed class ModelBundle
{
    /// <summary>Metadata key of the training task description (<see cref="TaskSpec.ToJson"/>).</summary>
    public const string TaskKey = "spanattention.task";

    private ModelBundle(string path, Seq2SeqModel model, Vocabulary source, Vocabulary target, TaskSpec? task)
    {
        Path = path;
        Model = model;
        Source = source;
        Target = target;
        Task = task;
    }

    /// <summary>The file it came from.</summary>
    public string Path { get; }

    /// <summary>The model.</summary>
    public Seq2SeqModel Model { get; }

    /// <summary>The source vocabulary.</summary>
    public Vocabulary Source { get; }

    /// <summary>The target vocabulary.</summary>
    public Vocabulary Target { get; }

    /// <summary>The training task recorded in the file, or null.</summary>
    public TaskSpec? Task { get; }

    /// <summary>Loads and checks a model file.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="maxBatch">Largest batch the model will decode (beam width or greedy batch).</param>
    public static ModelBundle Load(string path, int maxBatch = 64)
    {
        FileChecks.RequireReadableFile(path, "model file");
        Seq2SeqModel.Loaded loaded;
        try
        {
            loaded = Seq2SeqModel.Load(path, maxBatch: Math.Max(1, maxBatch), maxSource: 16, maxTarget: 16);
        }
        catch (ModelFileException e)
        {
            throw new CliException($"'{path}' is not a valid model file: {e.Message}", e);
        }
        if (loaded.SourceVocabJson is null || loaded.TargetVocabJson is null)
        {
            throw new CliException($"model file '{path}' has no vocabularies in its metadata (save it with spanattn train).");
        }
        Vocabulary source, target;
        try
        {
            source = Vocabulary.FromJson(loaded.SourceVocabJson);
            target = Vocabulary.FromJson(loaded.TargetVocabJson);
        }
        catch (FormatException e)
        {
            throw new CliException($"model file '{path}': bad vocabulary: {e.Message}", e);
        }
        Seq2SeqConfig config = loaded.Model.Config;
        if (source.Count != config.SourceVocabSize || target.Count != config.TargetVocabSize)
        {
            throw new CliException($"model file '{path}': the vocabularies ({source.Count} source, {target.Count} target tokens) do not match the model ({config.SourceVocabSize}, {config.TargetVocabSize}).");
        }
        if (config.PaddingId != Vocabulary.PadId || config.BosId != Vocabulary.SosId || config.EosId != Vocabulary.EosId)
        {
            throw new CliException($"model file '{path}': the model's special ids (pad {config.PaddingId}, bos {config.BosId}, eos {config.EosId}) do not match the vocabulary's.");
        }
        TaskSpec? task = null;
        if (loaded.Metadata.TryGetValue(TaskKey, out string? taskJson))
        {
            task = TaskSpec.FromJson(taskJson);
        }
        return new ModelBundle(path, loaded.Model, source, target, task);
    }

    /// <summary>Saves a model with its vocabularies and task atomically (<see cref="ModelFile.Save(string, Parameters.ParameterLayout, ReadOnlyMemory{float}, IReadOnlyDictionary{string, string}?, IReadOnlyList{SafeTensor}?)"/>).</summary>
    public static void Save(string path, Seq2SeqModel model, Vocabulary source, Vocabulary target, TaskSpec? task)
    {
        FileChecks.RequireOutputFolder(path, "model file");
        if (Directory.Exists(path))
        {
            throw new CliException($"cannot write model file '{path}': it is a folder.");
        }
        ModelFile.Save(path, model.Layout, model.Parameters.Values, Metadata(model.Config, source, target, task));
    }

    /// <summary>The metadata of a model file: configuration, vocabularies, task.</summary>
    public static Dictionary<string, string> Metadata(Seq2SeqConfig config, Vocabulary source, Vocabulary target, TaskSpec? task)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Seq2SeqModel.ConfigKey] = config.ToJson(),
            [Seq2SeqModel.SourceVocabKey] = source.ToJson(),
            [Seq2SeqModel.TargetVocabKey] = target.ToJson(),
        };
        if (task is not null)
        {
            metadata[TaskKey] = task.ToJson();
        }
        return metadata;
    }

    /// <summary>Source ids of a sentence (tokens + &lt;eos&gt;); unknown tokens go to <paramref name="unknown"/>.</summary>
    public int[] EncodeSource(string text, UnknownTokens unknown)
    {
        string[] tokens = SourceTokens(text);
        if (tokens.Length == 0)
        {
            throw new CliException("An input sentence has no tokens.");
        }
        var ids = new int[tokens.Length + 1];
        for (int i = 0; i < tokens.Length; i++)
        {
            if (!Source.TryGetId(tokens[i], out ids[i]))
            {
                ids[i] = Vocabulary.UnkId;
                unknown.Add(tokens[i]);
            }
        }
        ids[^1] = Vocabulary.EosId;
        return ids;
    }

    /// <summary>The source tokens of a sentence (as the heatmap columns show them, without &lt;eos&gt;).</summary>
    public string[] SourceTokens(string text) => Tokenizer.Tokenize(text, Source.Tokenization);

    /// <summary>Makes sure the workspaces fit the sources and the output length.</summary>
    public void Reserve(IReadOnlyList<int[]> sources, int maxLength)
    {
        int s = 1;
        foreach (int[] x in sources)
        {
            s = Math.Max(s, x.Length);
        }
        Model.EnsureCapacity(Model.MaxBatch, s, maxLength);
    }

    private InferenceWeights? _prepared;

    /// <summary>The decoding layout of the loaded parameters (prepared on first use; the bundle never changes them).</summary>
    public InferenceWeights Prepared => _prepared ??= Model.PrepareInference();

    /// <summary>Greedy decoding of many sources (prepared path for chunks of up to <see cref="Decoding.PreparedMaxBatch"/> rows).</summary>
    public Hypothesis[] Greedy(IReadOnlyList<int[]> sources, int maxLength)
    {
        Reserve(sources, maxLength);
        return Decoding.Greedy(Model, sources, maxLength, Prepared);
    }

    /// <summary>Beam search of one source.</summary>
    public Hypothesis[] Beam(int[] source, int beam, int maxLength, int nBest)
    {
        if (beam > Model.MaxBatch)
        {
            throw new UsageException($"--beam {beam} is larger than the model was loaded for ({Model.MaxBatch}).");
        }
        Reserve([source], maxLength);
        return Decoding.Beam(Model, source, beam, maxLength, 1f, nBest, Prepared);
    }

    /// <summary>The output tokens of a hypothesis.</summary>
    public string[] TargetTokens(Hypothesis h) => Target.Decode(h.Tokens);

    /// <summary>The text of a hypothesis.</summary>
    public string TargetText(Hypothesis h) => Target.DecodeText(h.Tokens);

    /// <summary>
    /// The heatmap inputs of a hypothesis: source tokens plus &lt;eos&gt; as columns, output tokens as rows,
    /// alignment (T, S); null for a model without attention.
    /// </summary>
    public (string[] Columns, string[] Rows, float[] Weights)? Heatmap(string[] sourceTokens, Hypothesis h)
    {
        if (h.Alignment.Length == 0 || h.Tokens.Length == 0)
        {
            return null;
        }
        string[] columns = [.. sourceTokens, Vocabulary.Eos];
        string[] rows = new string[h.Tokens.Length];
        for (int t = 0; t < rows.Length; t++)
        {
            rows[t] = Target[h.Tokens[t]];
        }
        if (columns.Length != h.SourceLength)
        {
            return null;
        }
        return (columns, rows, h.Alignment);
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
internal sealed record TaskSpec(string? Task, string? Data, string Tokens, int Seed, int Count, int MinLength, int MaxLength)
{
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
    });

    /// <summary>Parses <see cref="ToJson"/>; null when the text is not such a description.</summary>
    public static TaskSpec? FromJson(string json)
    {
        try
        {
            using JsonDocument d = JsonDocument.Parse(json);
            JsonElement r = d.RootElement;
            string? Str(string name) => r.TryGetProperty(name, out JsonElement e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            int Int(string name) => r.TryGetProperty(name, out JsonElement e) && e.ValueKind == JsonValueKind.Number ? e.GetInt32() : 0;
            return new TaskSpec(Str("task"), Str("data"), Str("tokens") ?? "word", Int("seed"), Int("count"), Int("min_length"), Int("max_length"));
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
