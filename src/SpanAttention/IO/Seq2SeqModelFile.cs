using SpanAttention.Data;
using SpanAttention.Seq2Seq;

namespace SpanAttention.IO;

/// <summary>
/// The model file of a <see cref="Seq2SeqModel"/>: one safetensors file with every parameter under its PyTorch
/// state_dict name (<see cref="ModelFile"/>), and in <c>__metadata__</c> the configuration, both vocabularies and
/// whatever else the writer adds (the CLI records its training task under <see cref="TaskKey"/>).
/// </summary>
/// <remarks>
/// The model knows nothing of files: this class builds it from the configuration in the metadata, checks every
/// tensor's presence, dtype and shape, and checks the vocabularies against the configuration. A training checkpoint
/// (<see cref="Training.Seq2SeqTrainer.SaveCheckpoint(string, string?, string?)"/>) is such a file plus optimizer tensors, so it loads too.
/// </remarks>
public static class Seq2SeqModelFile
{
    /// <summary>Metadata key of the configuration JSON (<see cref="Seq2SeqConfig.ToJson"/>).</summary>
    public const string ConfigKey = "spanattention.config";

    /// <summary>Metadata key of the source vocabulary JSON (<see cref="Vocabulary.ToJson"/>).</summary>
    public const string SourceVocabKey = "spanattention.source_vocab";

    /// <summary>Metadata key of the target vocabulary JSON.</summary>
    public const string TargetVocabKey = "spanattention.target_vocab";

    /// <summary>
    /// Metadata key of the architecture marker: absent for a <see cref="Seq2SeqModel"/> (recurrent decoder, the files
    /// that predate the marker), <see cref="TransformerArchitecture"/> for a full Transformer encoder-decoder.
    /// </summary>
    internal const string ArchitectureKey = "spanattention.architecture";

    /// <summary>The <see cref="ArchitectureKey"/> value of a Transformer encoder-decoder file (TransformerSeq2SeqModelFile).</summary>
    internal const string TransformerArchitecture = "transformer-seq2seq";

    /// <summary>Metadata key of a description of the training data, as JSON text (written by <c>spanattn train</c>;
    /// opaque to the library).</summary>
    public const string TaskKey = "spanattention.task";

    // Tensor prefixes of the optimizer state and best-so-far parameters a training checkpoint adds (Seq2SeqTrainer.SaveCheckpoint).
    private static readonly string[] CheckpointPrefixes =
        ["", "optimizer.exp_avg.", "optimizer.exp_avg_sq.", "optimizer.momentum_buffer.", Training.Seq2SeqTrainer.SessionTensorPrefix];

    /// <summary>Saves a model with its vocabularies, atomically.</summary>
    /// <param name="path">Destination; replaced only once the new file is complete on disk.</param>
    /// <param name="model">The model.</param>
    /// <param name="source">The source vocabulary (its size must be the configuration's).</param>
    /// <param name="target">The target vocabulary.</param>
    /// <param name="metadata">Further metadata entries (e.g. <see cref="TaskKey"/>), or null; the keys this class
    /// writes itself are not allowed.</param>
    /// <exception cref="ArgumentException">A vocabulary does not fit the model, or a reserved key is in <paramref name="metadata"/>.</exception>
    public static void Save(string path, Seq2SeqModel model, Vocabulary source, Vocabulary target, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        if (CheckVocabularies(model.Config, source, target) is string problem)
        {
            throw new ArgumentException(problem, nameof(source));
        }
        Save(path, model, source.ToJson(), target.ToJson(), metadata);
    }

    /// <summary>
    /// Saves a model, atomically, with vocabularies given as opaque JSON text (or none: such a file loads as a model
    /// but not as a <see cref="TranslationModel"/>).
    /// </summary>
    /// <param name="path">Destination.</param>
    /// <param name="model">The model.</param>
    /// <param name="sourceVocabJson">Source vocabulary JSON text, or null.</param>
    /// <param name="targetVocabJson">Target vocabulary JSON text, or null.</param>
    /// <param name="metadata">Further metadata entries, or null.</param>
    /// <exception cref="ArgumentException">A reserved key is in <paramref name="metadata"/>.</exception>
    public static void Save(string path, Seq2SeqModel model, string? sourceVocabJson = null, string? targetVocabJson = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ModelFile.Save(path, model.Layout, model.Parameters.Values, BuildMetadata(model.Config, sourceVocabJson, targetVocabJson, metadata));
    }

    /// <summary>
    /// Loads a model file written by <see cref="Save(string, Seq2SeqModel, string?, string?, IReadOnlyDictionary{string, string}?)"/>
    /// (or by the PyTorch reference with the same names): reads the configuration from the metadata, builds the
    /// model, validates every tensor's presence, dtype and shape, and reads the values.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="maxBatch">Largest B of the model's workspaces (fixed for its lifetime).</param>
    /// <param name="maxSource">Initial largest S (the workspaces grow on demand).</param>
    /// <param name="maxTarget">Initial largest T.</param>
    /// <returns>The model, the vocabulary texts and the whole metadata map.</returns>
    /// <exception cref="ModelFileException">Malformed file, missing or invalid configuration, missing, extra or mis-shaped tensors.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <remarks>
    /// The file is hostile until checked: the header is validated against the file's length
    /// (<see cref="SafeTensorsReader"/>), the configuration against its limits (<see cref="Seq2SeqConfig.Validate"/>),
    /// and every tensor the configuration implies against the tensors the file holds (name, F32, exact shape; optimizer
    /// tensors of a checkpoint too) before the model is built. So every parameter the model allocates is backed by bytes
    /// of the file, and loading allocates a small multiple of the file's size plus the workspaces of
    /// (maxBatch, maxSource, maxTarget). A NaN or infinite weight is an error naming the tensor.
    /// </remarks>
    public static Seq2SeqModelFileContents Load(string path, int maxBatch = 1, int maxSource = 64, int maxTarget = 64)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Load(stream, path, maxBatch, maxSource, maxTarget);
    }

    /// <summary><see cref="Load(string, int, int, int)"/> from a seekable stream; <paramref name="path"/> only names it in messages.</summary>
    internal static Seq2SeqModelFileContents Load(Stream stream, string path, int maxBatch, int maxSource, int maxTarget)
    {
        using SafeTensorsReader reader = SafeTensorsReader.Open(stream, leaveOpen: true);
        RequireArchitecture(reader.Metadata, null, path);
        Seq2SeqConfig config = ReadConfig(reader.Metadata, path);
        if (config.Decoder == DecoderStyle.Transformer)
        {
            throw new ModelFileException($"{path}: '{ConfigKey}' has Decoder Transformer but the file lacks '{ArchitectureKey}' = '{TransformerArchitecture}' (a Transformer encoder-decoder file always has it).");
        }
        CheckTensors(reader, config, path);
        var model = new Seq2SeqModel(config, (Parameters.ParameterSet?)null, maxBatch, maxSource, maxTarget);
        reader.ReadInto(model.Layout, model.Parameters.Values);
        RequireFinite(model.Layout, model.Parameters.Values, "", path);
        return new Seq2SeqModelFileContents(path, model, reader.Metadata);
    }

    /// <summary>
    /// The tensors (name, shape) a model of <paramref name="config"/> has, in layout order, computed from the sizes
    /// alone (nothing is allocated): what <see cref="Seq2SeqModel.Layout"/> will be.
    /// </summary>
    internal static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(Seq2SeqConfig config)
    {
        long e = config.EmbeddingSize, h = config.HiddenSize, denc = config.EncoderOutputSize;
        long gh = Recurrent.NaiveRecurrent.GateCount(config.Cell) * h;
        int directions = config.Bidirectional ? 2 : 1;
        long dc = config.Decoder == DecoderStyle.None ? h : denc;
        long input = e + (config.Decoder == DecoderStyle.Luong ? h : dc);
        long output = config.Decoder == DecoderStyle.Luong ? h : h + dc;
        if (config.HasSourceVocabulary)
        {
            yield return ("encoder.embedding.weight", [config.SourceVocabSize, e]);
        }
        if (config.Encoder == EncoderKind.Image)
        {
            yield return ("encoder.position", [config.GridPositions, denc]);
            for (int k = 0; k < config.ConvChannels.Count; k++)
            {
                yield return ($"encoder.conv.{k}.weight", [config.ConvChannels[k], k == 0 ? config.ImageChannels : config.ConvChannels[k - 1], 3, 3]);
                yield return ($"encoder.conv.{k}.bias", [config.ConvChannels[k]]);
            }
        }
        if (config.Encoder is EncoderKind.Features or EncoderKind.Image)
        {
            yield return ("bridge.weight", [h, denc]);
            yield return ("bridge.bias", [h]);
        }
        if (config.Encoder == EncoderKind.Transformer)
        {
            long f = config.EffectiveFeedForwardSize;
            for (int k = 0; k < config.EncoderLayers; k++)
            {
                string layer = $"encoder.layers.{k}.";
                yield return (layer + "self_attn.in_proj_weight", [3 * e, e]);
                yield return (layer + "self_attn.in_proj_bias", [3 * e]);
                yield return (layer + "self_attn.out_proj.weight", [e, e]);
                yield return (layer + "self_attn.out_proj.bias", [e]);
                yield return (layer + "linear1.weight", [f, e]);
                yield return (layer + "linear1.bias", [f]);
                yield return (layer + "linear2.weight", [e, f]);
                yield return (layer + "linear2.bias", [e]);
                yield return (layer + "norm1.weight", [e]);
                yield return (layer + "norm1.bias", [e]);
                yield return (layer + "norm2.weight", [e]);
                yield return (layer + "norm2.bias", [e]);
            }
            yield return ("bridge.weight", [h, e]);
            yield return ("bridge.bias", [h]);
        }
        for (int k = 0; k < (config.Encoder == EncoderKind.Recurrent ? config.EncoderLayers : 0); k++)
        {
            for (int d = 0; d < directions; d++)
            {
                string suffix = $"_l{k}" + (d == 1 ? "_reverse" : "");
                yield return ("encoder.rnn.weight_ih" + suffix, [gh, k == 0 ? e : denc]);
                yield return ("encoder.rnn.weight_hh" + suffix, [gh, h]);
                yield return ("encoder.rnn.bias_ih" + suffix, [gh]);
                yield return ("encoder.rnn.bias_hh" + suffix, [gh]);
            }
        }
        if (config.Bidirectional)
        {
            yield return ("bridge.weight", [h, 2 * h]);
            yield return ("bridge.bias", [h]);
        }
        yield return ("decoder.embedding.weight", [config.TargetVocabSize, e]);
        if (config.Decoder != DecoderStyle.None)
        {
            long a = config.EffectiveAttentionSize;
            switch (config.Scorer)
            {
                case Attention.AttentionScorer.General:
                    yield return ("decoder.attention.W.weight", [h, denc]);
                    break;
                case Attention.AttentionScorer.Dot or Attention.AttentionScorer.ScaledDot when config.ProjectsDotKeys:
                    yield return ("decoder.attention.key_proj.weight", [h, denc]);
                    break;
                case Attention.AttentionScorer.Additive:
                    yield return ("decoder.attention.W_q.weight", [a, h]);
                    yield return ("decoder.attention.W_k.weight", [a, denc]);
                    yield return ("decoder.attention.W_k.bias", [a]);
                    yield return ("decoder.attention.v.weight", [1, a]);
                    break;
            }
        }
        if (config.ContextGate)
        {
            yield return ("decoder.f_beta.weight", [1, h]);
            yield return ("decoder.f_beta.bias", [1]);
        }
        yield return ("decoder.cell.weight_ih", [gh, input]);
        yield return ("decoder.cell.weight_hh", [gh, h]);
        yield return ("decoder.cell.bias_ih", [gh]);
        yield return ("decoder.cell.bias_hh", [gh]);
        if (config.Decoder == DecoderStyle.Luong)
        {
            yield return ("decoder.combine.weight", [h, dc + h]);
        }
        yield return ("decoder.out.weight", [config.TargetVocabSize, output]);
        yield return ("decoder.out.bias", [config.TargetVocabSize]);
    }

    /// <summary>
    /// Checks, before anything is allocated from the configuration, that the file holds exactly the tensors it implies:
    /// each present, F32 and of the expected shape, and nothing else but optimizer state (<c>optimizer.*.{name}</c>) of
    /// the same shape. As the reader has checked that every tensor's bytes lie inside the file, the model's size is then
    /// bounded by the file's.
    /// </summary>
    /// <exception cref="ModelFileException">The first mismatch, naming the tensor and the configuration.</exception>
    internal static void CheckTensors(SafeTensorsReader reader, Seq2SeqConfig config, string path) =>
        CheckTensors(reader, ExpectedTensors(config), config.Describe(), path);

    /// <summary>
    /// <see cref="CheckTensors(SafeTensorsReader, Seq2SeqConfig, string)"/> against any architecture's list of tensors;
    /// <paramref name="description"/> names the model in messages.
    /// </summary>
    /// <exception cref="ModelFileException">The first mismatch, naming the tensor and the model.</exception>
    internal static void CheckTensors(SafeTensorsReader reader, IEnumerable<(string Name, long[] Shape)> tensors, string description, string path)
    {
        var expected = new Dictionary<string, long[]>(StringComparer.Ordinal);
        long total = 0;
        foreach ((string name, long[] shape) in tensors)
        {
            // Stops at the first tensor the file lacks, so a configuration asking for 2^31 layers costs one lookup per tensor the file has.
            if (!reader.Contains(name))
            {
                throw new ModelFileException($"{path}: tensor '{name}' [{string.Join(", ", shape)}] (implied by '{ConfigKey}': {description}) is missing from the file.");
            }
            CheckTensor(reader[name], shape, description, path);
            total += reader[name].ElementCount;
            if (total > int.MaxValue)
            {
                throw new ModelFileException($"{path}: the model ({description}) has more than {int.MaxValue} parameters.");
            }
            expected.Add(name, shape);
        }
        foreach (SafeTensorInfo t in reader.Tensors)
        {
            string? parameter = null;
            foreach (string prefix in CheckpointPrefixes)
            {
                if (t.Name.StartsWith(prefix, StringComparison.Ordinal) && expected.ContainsKey(t.Name.Substring(prefix.Length)))
                {
                    parameter = t.Name.Substring(prefix.Length);
                    break;
                }
            }
            if (parameter is null)
            {
                throw new ModelFileException($"{path}: the file holds tensor '{t.Name}' {t.ShapeText}, which the model ({description}) does not have.");
            }
            CheckTensor(t, expected[parameter], description, path);
        }
    }

    private static void CheckTensor(SafeTensorInfo info, long[] shape, string description, string path)
    {
        if (info.DType != SafeTensorsDType.F32)
        {
            throw new ModelFileException($"{path}: tensor '{info.Name}' has dtype {SafeTensorsDTypes.NameOf(info.DType)}, the model expects F32.");
        }
        bool same = info.Shape.Count == shape.Length;
        for (int i = 0; same && i < shape.Length; i++)
        {
            same = info.Shape[i] == shape[i];
        }
        if (!same)
        {
            throw new ModelFileException($"{path}: tensor '{info.Name}' has shape {info.ShapeText}, but '{ConfigKey}' ({description}) implies [{string.Join(", ", shape)}].");
        }
    }

    /// <summary>Throws when a value of <paramref name="values"/> is NaN or infinite, naming the tensor and the index.</summary>
    /// <exception cref="ModelFileException">A non-finite value.</exception>
    internal static void RequireFinite(Parameters.ParameterLayout layout, ReadOnlySpan<float> values, string prefix, string path)
    {
        if (System.Numerics.Tensors.TensorPrimitives.IsFiniteAll(values))
        {
            return;
        }
        foreach (Parameters.ParameterSlot slot in layout.Slots)
        {
            ReadOnlySpan<float> v = slot.Of(values);
            for (int i = 0; i < v.Length; i++)
            {
                if (!float.IsFinite(v[i]))
                {
                    throw new ModelFileException(
                        $"{path}: tensor '{prefix}{slot.Name}' holds {v[i].ToString(System.Globalization.CultureInfo.InvariantCulture)} at element {i}: the weights must be finite.");
                }
            }
        }
    }

    /// <summary>
    /// Checks the file's architecture marker: <paramref name="expected"/> null asks for a recurrent-decoder model (no
    /// marker), otherwise the marker must equal it.
    /// </summary>
    /// <exception cref="ModelFileException">The file is of the other architecture, or of an unknown one.</exception>
    internal static void RequireArchitecture(IReadOnlyDictionary<string, string> metadata, string? expected, string path)
    {
        metadata.TryGetValue(ArchitectureKey, out string? found);
        if (found == expected)
        {
            return;
        }
        string Name(string? a) => a switch
        {
            null => "a recurrent-decoder sequence-to-sequence model (no '" + ArchitectureKey + "')",
            TransformerArchitecture => "a Transformer encoder-decoder ('" + ArchitectureKey + "' = '" + TransformerArchitecture + "')",
            _ => "'" + ArchitectureKey + "' = '" + (a.Length > 64 ? a[..64] + "…" : a) + "', an architecture this version does not know",
        };
        throw new ModelFileException($"{path}: the file holds {Name(found)}, but {Name(expected)} was asked for.");
    }

    /// <summary>The configuration recorded in a file's metadata.</summary>
    /// <exception cref="ModelFileException">It is missing or invalid.</exception>
    internal static Seq2SeqConfig ReadConfig(IReadOnlyDictionary<string, string> metadata, string path)
    {
        if (!metadata.TryGetValue(ConfigKey, out string? json))
        {
            throw new ModelFileException($"{path}: metadata has no '{ConfigKey}' (not a SpanAttention model file).");
        }
        try
        {
            return Seq2SeqConfig.FromJson(json);
        }
        catch (FormatException e)
        {
            throw new ModelFileException($"{path}: invalid '{ConfigKey}': {e.Message}", e);
        }
    }

    /// <summary>Checks that a file (e.g. a checkpoint to resume) was written for this configuration.</summary>
    /// <exception cref="ModelFileException">Missing, invalid or different configuration.</exception>
    internal static void CheckConfig(IReadOnlyDictionary<string, string> metadata, Seq2SeqConfig expected, string path)
    {
        Seq2SeqConfig found = ReadConfig(metadata, path);
        if (found != expected)
        {
            throw new ModelFileException($"{path}: the file's configuration ({found.Describe()}) differs from the model's ({expected.Describe()}).");
        }
    }

    /// <summary>The metadata map of a model file: configuration, the vocabularies given, then the caller's entries.</summary>
    /// <exception cref="ArgumentException">A caller's entry uses one of the keys written here.</exception>
    internal static Dictionary<string, string> BuildMetadata(Seq2SeqConfig config, string? sourceVocabJson, string? targetVocabJson,
        IReadOnlyDictionary<string, string>? extra = null)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [ConfigKey] = config.ToJson() };
        if (sourceVocabJson is not null)
        {
            metadata[SourceVocabKey] = sourceVocabJson;
        }
        if (targetVocabJson is not null)
        {
            metadata[TargetVocabKey] = targetVocabJson;
        }
        if (extra is not null)
        {
            foreach ((string key, string value) in extra)
            {
                if (key is ConfigKey or SourceVocabKey or TargetVocabKey or ArchitectureKey)
                {
                    throw new ArgumentException($"The metadata key '{key}' is written from the model and vocabularies; it cannot be given.", nameof(extra));
                }
                metadata[key] = value;
            }
        }
        return metadata;
    }

    /// <summary>Both vocabularies of a file's metadata, parsed and checked against <paramref name="config"/>.</summary>
    /// <exception cref="ModelFileException">No vocabularies, a malformed one, or ones that do not fit the model.</exception>
    internal static (Vocabulary Source, Vocabulary Target) ReadVocabularies(string path, IReadOnlyDictionary<string, string> metadata, Seq2SeqConfig config)
    {
        if (!metadata.TryGetValue(SourceVocabKey, out string? sourceJson) || !metadata.TryGetValue(TargetVocabKey, out string? targetJson))
        {
            throw new ModelFileException($"{path}: the metadata has no vocabularies ('{SourceVocabKey}', '{TargetVocabKey}').");
        }
        Vocabulary source, target;
        try
        {
            source = Vocabulary.FromJson(sourceJson);
            target = Vocabulary.FromJson(targetJson);
        }
        catch (FormatException e)
        {
            throw new ModelFileException($"{path}: bad vocabulary: {e.Message}", e);
        }
        if (CheckVocabularies(config, source, target) is string problem)
        {
            throw new ModelFileException($"{path}: {problem}");
        }
        return (source, target);
    }

    /// <summary>Why two vocabularies cannot be a model's (sizes or special ids differ), or null when they fit.</summary>
    internal static string? CheckVocabularies(Seq2SeqConfig config, Vocabulary source, Vocabulary target)
    {
        if ((config.HasSourceVocabulary && source.Count != config.SourceVocabSize) || target.Count != config.TargetVocabSize)
        {
            return $"the vocabularies ({source.Count} source, {target.Count} target tokens) do not match the model ({config.SourceVocabSize}, {config.TargetVocabSize}).";
        }
        if (config.PaddingId != Vocabulary.PadId || config.BosId != Vocabulary.SosId || config.EosId != Vocabulary.EosId)
        {
            return $"the model's special ids (pad {config.PaddingId}, bos {config.BosId}, eos {config.EosId}) do not match the vocabulary's.";
        }
        return null;
    }
}

/// <summary>What <see cref="Seq2SeqModelFile.Load(string, int, int, int)"/> read: the model and the file's metadata.</summary>
public sealed class Seq2SeqModelFileContents
{
    internal Seq2SeqModelFileContents(string path, Seq2SeqModel model, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        Model = model;
        Metadata = metadata;
    }

    /// <summary>The file it came from.</summary>
    public string Path { get; }

    /// <summary>The model, its parameters read from the file.</summary>
    public Seq2SeqModel Model { get; }

    /// <summary>The whole <c>__metadata__</c> map.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The source vocabulary JSON text, or null if the file has none.</summary>
    public string? SourceVocabJson => Metadata.TryGetValue(Seq2SeqModelFile.SourceVocabKey, out string? json) ? json : null;

    /// <summary>The target vocabulary JSON text, or null.</summary>
    public string? TargetVocabJson => Metadata.TryGetValue(Seq2SeqModelFile.TargetVocabKey, out string? json) ? json : null;

    /// <summary>
    /// Parses both vocabularies and checks them against the model: sizes equal to the configuration's, special ids
    /// (pad, bos, eos) the vocabulary's.
    /// </summary>
    /// <returns>The source and target vocabularies.</returns>
    /// <exception cref="ModelFileException">No vocabularies, a malformed one, or ones that do not fit the model.</exception>
    public (Vocabulary Source, Vocabulary Target) ReadVocabularies() => Seq2SeqModelFile.ReadVocabularies(Path, Metadata, Model.Config);
}
