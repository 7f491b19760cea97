using System.Globalization;
using SpanAttention.Data;
using SpanAttention.Seq2Seq;
using SpanAttention.Transformer;

namespace SpanAttention.IO;

/// <summary>
/// The model file of a <see cref="TransformerSeq2Seq"/> (the full Transformer encoder-decoder): one safetensors file
/// with every parameter under its PyTorch name (nn.TransformerEncoderLayer / nn.TransformerDecoderLayer names), and in
/// <c>__metadata__</c> the configuration (<see cref="Seq2SeqConfig.ToJson"/>, as <see cref="Seq2SeqModelFile"/>), both
/// vocabularies and the architecture marker <see cref="Seq2SeqModelFile.ArchitectureKey"/> =
/// <see cref="Seq2SeqModelFile.TransformerArchitecture"/>.
/// </summary>
/// <remarks>
/// The marker keeps the two kinds of file apart: the configuration alone would also describe a Transformer encoder
/// feeding a recurrent decoder, so without it a file of one kind could be read as the other. Each loader refuses the
/// other kind with one <see cref="ModelFileException"/>. The file is hostile until checked, as for
/// <see cref="Seq2SeqModelFile.Load(string, int, int, int)"/>: configuration validated, every implied tensor checked
/// (present, F32, exact shape) before anything is allocated from the configuration, no other tensor but optimizer state
/// of a parameter, every weight finite.
/// </remarks>
internal static class TransformerSeq2SeqModelFile
{
    /// <summary>Saves a model with its vocabularies, atomically.</summary>
    /// <param name="path">Destination; replaced only once the new file is complete on disk.</param>
    /// <param name="model">The model.</param>
    /// <param name="source">The source vocabulary (its size must be the configuration's).</param>
    /// <param name="target">The target vocabulary.</param>
    /// <param name="metadata">Further metadata entries (e.g. <see cref="Seq2SeqModelFile.TaskKey"/>), or null.</param>
    /// <exception cref="ArgumentException">A vocabulary does not fit the model, or a reserved key is in <paramref name="metadata"/>.</exception>
    public static void Save(string path, TransformerSeq2Seq model, Vocabulary source, Vocabulary target, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        if (Seq2SeqModelFile.CheckVocabularies(model.Config, source, target) is string problem)
        {
            throw new ArgumentException(problem, nameof(source));
        }
        Save(path, model, source.ToJson(), target.ToJson(), metadata);
    }

    /// <summary>Saves a model, atomically, with vocabularies given as JSON text (or none).</summary>
    /// <exception cref="ArgumentException">A reserved key is in <paramref name="metadata"/>.</exception>
    public static void Save(string path, TransformerSeq2Seq model, string? sourceVocabJson = null, string? targetVocabJson = null,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ModelFile.Save(path, model.Layout, model.Parameters.Values, BuildMetadata(model.Config, sourceVocabJson, targetVocabJson, metadata));
    }

    /// <summary>The metadata of a Transformer encoder-decoder file: <see cref="Seq2SeqModelFile.BuildMetadata"/> plus the marker.</summary>
    internal static Dictionary<string, string> BuildMetadata(Seq2SeqConfig config, string? sourceVocabJson, string? targetVocabJson,
        IReadOnlyDictionary<string, string>? extra)
    {
        Dictionary<string, string> metadata = Seq2SeqModelFile.BuildMetadata(config, sourceVocabJson, targetVocabJson, extra);
        metadata[Seq2SeqModelFile.ArchitectureKey] = Seq2SeqModelFile.TransformerArchitecture;
        return metadata;
    }

    /// <summary>Loads a file written by <see cref="Save(string, TransformerSeq2Seq, string?, string?, IReadOnlyDictionary{string, string}?)"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxBatch">Largest B of the model's workspaces (the beam width when beam decoding).</param>
    /// <param name="maxSource">Largest S.</param>
    /// <param name="maxTarget">Largest T (training length and longest decoded output).</param>
    /// <returns>The model and the file's metadata.</returns>
    /// <exception cref="ModelFileException">Malformed file, not a Transformer encoder-decoder file, invalid configuration,
    /// missing, extra or mis-shaped tensors, a non-finite weight.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static TransformerSeq2SeqFileContents Load(string path, int maxBatch = 1, int maxSource = 64, int maxTarget = 64)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Load(stream, path, maxBatch, maxSource, maxTarget);
    }

    /// <summary><see cref="Load(string, int, int, int)"/> from a seekable stream; <paramref name="path"/> only names it in messages.</summary>
    internal static TransformerSeq2SeqFileContents Load(Stream stream, string path, int maxBatch, int maxSource, int maxTarget)
    {
        using SafeTensorsReader reader = SafeTensorsReader.Open(stream, leaveOpen: true);
        Seq2SeqModelFile.RequireArchitecture(reader.Metadata, Seq2SeqModelFile.TransformerArchitecture, path);
        Seq2SeqConfig config = ReadConfig(reader.Metadata, path);
        CheckTensors(reader, config, path);
        var model = new TransformerSeq2Seq(config, null, maxBatch, maxSource, maxTarget);
        reader.ReadInto(model.Layout, model.Parameters.Values);
        Seq2SeqModelFile.RequireFinite(model.Layout, model.Parameters.Values, "", path);
        return new TransformerSeq2SeqFileContents(path, model, reader.Metadata);
    }

    /// <summary>The configuration of a Transformer encoder-decoder file (its encoder must be <see cref="EncoderKind.Transformer"/>).</summary>
    /// <exception cref="ModelFileException">Missing, invalid, or not a Transformer configuration.</exception>
    internal static Seq2SeqConfig ReadConfig(IReadOnlyDictionary<string, string> metadata, string path)
    {
        Seq2SeqConfig config = Seq2SeqModelFile.ReadConfig(metadata, path);
        if (config.Encoder != EncoderKind.Transformer)
        {
            throw new ModelFileException($"{path}: '{Seq2SeqModelFile.ConfigKey}' has Encoder {config.Encoder}; a Transformer encoder-decoder needs \"Encoder\":\"Transformer\".");
        }
        return config with { Decoder = DecoderStyle.Transformer };   // files written before the Transformer decoder style name another
    }

    /// <summary>Checks that the file holds exactly the tensors of <paramref name="config"/> (and a checkpoint's optimizer state of them), stopping at the first missing one.</summary>
    /// <exception cref="ModelFileException">The first mismatch, naming the tensor.</exception>
    internal static void CheckTensors(SafeTensorsReader reader, Seq2SeqConfig config, string path)
    {
        Seq2SeqModelFile.CheckTensors(reader, ExpectedTensors(config), Describe(config), path);
    }

    /// <summary>A short summary of a Transformer encoder-decoder configuration, for messages and <c>spanattn info</c>.</summary>
    internal static string Describe(Seq2SeqConfig config) => TransformerSeq2Seq.Describe(config);

    /// <summary>
    /// The tensors (name, shape) of a <see cref="TransformerSeq2Seq"/> of <paramref name="config"/>, in layout (= PyTorch
    /// state_dict) order, from the sizes alone.
    /// </summary>
    internal static IEnumerable<(string Name, long[] Shape)> ExpectedTensors(Seq2SeqConfig config)
    {
        long e = config.EmbeddingSize, f = config.EffectiveFeedForwardSize;
        yield return ("encoder.embedding.weight", [config.SourceVocabSize, e]);
        for (int k = 0; k < config.EncoderLayers; k++)
        {
            string layer = $"encoder.layers.{k}.";
            foreach (var t in Attention(layer + "self_attn.", e))
            {
                yield return t;
            }
            foreach (var t in FeedForwardAndNorms(layer, e, f, 2))
            {
                yield return t;
            }
        }
        yield return ("decoder.embedding.weight", [config.TargetVocabSize, e]);
        for (int k = 0; k < config.EncoderLayers; k++)
        {
            string layer = $"decoder.layers.{k}.";
            foreach (var t in Attention(layer + "self_attn.", e))
            {
                yield return t;
            }
            foreach (var t in Attention(layer + "multihead_attn.", e))
            {
                yield return t;
            }
            foreach (var t in FeedForwardAndNorms(layer, e, f, 3))
            {
                yield return t;
            }
        }
        yield return ("decoder.out.weight", [config.TargetVocabSize, e]);
        yield return ("decoder.out.bias", [config.TargetVocabSize]);
    }

    // nn.MultiheadAttention(E, Nh): in_proj rows q, k, v.
    private static IEnumerable<(string, long[])> Attention(string prefix, long e)
    {
        yield return (prefix + "in_proj_weight", [3 * e, e]);
        yield return (prefix + "in_proj_bias", [3 * e]);
        yield return (prefix + "out_proj.weight", [e, e]);
        yield return (prefix + "out_proj.bias", [e]);
    }

    // linear1 (F, E), linear2 (E, F), then norm1..norm{norms}.
    private static IEnumerable<(string, long[])> FeedForwardAndNorms(string layer, long e, long f, int norms)
    {
        yield return (layer + "linear1.weight", [f, e]);
        yield return (layer + "linear1.bias", [f]);
        yield return (layer + "linear2.weight", [e, f]);
        yield return (layer + "linear2.bias", [e]);
        for (int n = 1; n <= norms; n++)
        {
            yield return (layer + $"norm{n}.weight", [e]);
            yield return (layer + $"norm{n}.bias", [e]);
        }
    }
}

/// <summary>What <see cref="TransformerSeq2SeqModelFile.Load(string, int, int, int)"/> read: the model and the file's metadata.</summary>
internal sealed class TransformerSeq2SeqFileContents
{
    internal TransformerSeq2SeqFileContents(string path, TransformerSeq2Seq model, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        Model = model;
        Metadata = metadata;
    }

    /// <summary>The file it came from.</summary>
    public string Path { get; }

    /// <summary>The model, its parameters read from the file.</summary>
    public TransformerSeq2Seq Model { get; }

    /// <summary>The whole <c>__metadata__</c> map.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Both vocabularies, parsed and checked against the model.</summary>
    /// <exception cref="ModelFileException">No vocabularies, a malformed one, or ones that do not fit the model.</exception>
    public (Vocabulary Source, Vocabulary Target) ReadVocabularies() => Seq2SeqModelFile.ReadVocabularies(Path, Metadata, Model.Config);
}
