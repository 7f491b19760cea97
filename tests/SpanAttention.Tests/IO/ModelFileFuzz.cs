using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SpanAttention.IO;

namespace SpanAttention.Tests.IO;

/// <summary>
/// A deterministic generator of hostile model files, all derived from one good seed file: case i of seed s is always
/// the same bytes. Each case applies one kind of corruption (see <see cref="Kinds"/>), chosen by i.
/// </summary>
internal sealed class ModelFileFuzz
{
    private readonly byte[] _seed;
    private readonly List<(string Name, int[] Shape, float[] Values)> _tensors;
    private readonly Dictionary<string, string> _metadata;
    private readonly int _headerEnd;

    public ModelFileFuzz(byte[] seedFile)
    {
        _seed = seedFile;
        _headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(seedFile);
        using var reader = SafeTensorsReader.Open(new MemoryStream(seedFile));
        _metadata = new Dictionary<string, string>(reader.Metadata, StringComparer.Ordinal);
        _tensors = [];
        foreach (SafeTensorInfo t in reader.Tensors)
        {
            int[] shape = [.. t.Shape.Select(d => (int)d)];
            var values = new float[t.ElementCount];
            reader.ReadSingle(t.Name, shape, values);
            _tensors.Add((t.Name, shape, values));
        }
    }

    /// <summary>The kinds of corruption, in the order case numbers cycle through them.</summary>
    public static readonly string[] Kinds =
    [
        "bit flips", "truncation", "header byte", "header length", "config field", "absurd config", "config enum",
        "vocabulary", "tensor shape", "dtype", "optimizer state", "non-finite weight", "missing or extra tensor", "metadata",
    ];

    /// <summary>The bytes of case <paramref name="index"/>, and the kind of corruption applied.</summary>
    public (byte[] File, string Kind) Case(int seed, int index)
    {
        var random = new Random(unchecked(seed * 1_000_003 + index)); // not HashCode.Combine: it is seeded per process
        string kind = Kinds[index % Kinds.Length];
        byte[] file = kind switch
        {
            "bit flips" => BitFlips(random),
            "truncation" => _seed.AsSpan(0, random.Next(_seed.Length)).ToArray(),
            "header byte" => HeaderByte(random),
            "header length" => HeaderLength(random),
            "config field" => WithConfig(random, absurd: false),
            "absurd config" => WithConfig(random, absurd: true),
            "config enum" => ConfigEnum(random),
            "vocabulary" => Vocabulary(random),
            "tensor shape" => TensorShape(random),
            "dtype" => DType(random),
            "optimizer state" => OptimizerState(random),
            "non-finite weight" => NonFinite(random),
            "missing or extra tensor" => MissingOrExtra(random),
            _ => Metadata(random),
        };
        return (file, kind);
    }

    private static readonly long[] NastyNumbers =
    [
        -1, 0, 1, 2, 3, 4, 7, 12, 23, 25, 46340, 46341, 65536, 65537, 1 << 20, 1 << 24, (1 << 24) + 1,
        int.MaxValue, int.MinValue, (long)int.MaxValue + 1, long.MaxValue,
    ];

    private static readonly string[] ConfigInts =
        ["SourceVocabSize", "TargetVocabSize", "EmbeddingSize", "HiddenSize", "EncoderLayers", "AttentionSize", "PaddingId", "BosId", "EosId"];

    private byte[] BitFlips(Random random)
    {
        byte[] file = (byte[])_seed.Clone();
        int flips = random.Next(1, 5);
        for (int k = 0; k < flips; k++)
        {
            // Most flips in the header, where a flip changes meaning; the rest anywhere.
            int position = random.Next(3) == 0 ? random.Next(file.Length) : random.Next(_headerEnd);
            file[position] ^= (byte)(1 << random.Next(8));
        }
        return file;
    }

    private static readonly byte[] NastyBytes = "0123456789-\"{}[],:\\u.eE \0"u8.ToArray().Concat(new byte[] { 0x80, 0xC0, 0xFF, 0xED }).ToArray();

    private byte[] HeaderByte(Random random)
    {
        byte[] file = (byte[])_seed.Clone();
        int edits = random.Next(1, 4);
        for (int k = 0; k < edits; k++)
        {
            file[8 + random.Next(_headerEnd - 8)] = NastyBytes[random.Next(NastyBytes.Length)];
        }
        return file;
    }

    private byte[] HeaderLength(Random random)
    {
        byte[] file = (byte[])_seed.Clone();
        ulong[] values = [0, 1, 2, (ulong)(_headerEnd - 9), (ulong)(_headerEnd - 7), (ulong)file.Length, 100_000_000, 100_000_001, ulong.MaxValue, 1UL << 63];
        BinaryPrimitives.WriteUInt64LittleEndian(file, values[random.Next(values.Length)]);
        return file;
    }

    private JsonObject Config() => JsonNode.Parse(_metadata[Seq2SeqModelFile.ConfigKey])!.AsObject();

    private byte[] WithConfig(Random random, bool absurd)
    {
        JsonObject config = Config();
        string field = ConfigInts[random.Next(ConfigInts.Length)];
        if (absurd)
        {
            // The sizes that used to overflow or exhaust memory: 2^31-1 layers, H = 46341, V = 2^31-1, ...
            long[] absurdValues = [int.MaxValue, 46341, 65536, 1 << 20, 1 << 24, 1_048_576, 100_000];
            string[] sizeFields = ["EncoderLayers", "HiddenSize", "SourceVocabSize", "TargetVocabSize", "EmbeddingSize", "AttentionSize"];
            int count = random.Next(1, 3);
            for (int k = 0; k < count; k++)
            {
                config[sizeFields[random.Next(sizeFields.Length)]] = absurdValues[random.Next(absurdValues.Length)];
            }
        }
        else
        {
            switch (random.Next(6))
            {
                case 0: config.Remove(field); break;
                case 1: config[field] = "12"; break;
                case 2: config[field] = 1.5; break;
                case 3: config[field] = null; break;
                default: config[field] = NastyNumbers[random.Next(NastyNumbers.Length)]; break;
            }
        }
        return Write(_tensors, MetadataWith(Seq2SeqModelFile.ConfigKey, config.ToJsonString()));
    }

    private byte[] ConfigEnum(Random random)
    {
        JsonObject config = Config();
        switch (random.Next(6))
        {
            case 0: config["Cell"] = new[] { "Rnn", "Lstm", "Gru", "gru", "Transformer", "" }[random.Next(6)]; break;
            case 1: config["Decoder"] = new[] { "Luong", "None", "Bahdanau", "2", "" }[random.Next(5)]; break;
            case 2: config["Scorer"] = new[] { "Dot", "ScaledDot", "General", "Additive", "Cosine" }[random.Next(5)]; break;
            case 3: config["Bidirectional"] = random.Next(2) == 0; break;
            case 4: config["Dropout"] = new[] { -0.5, 0.0, 0.5, 1.0, 1e39 }[random.Next(5)]; break;
            default: config["EncoderLayers"] = random.Next(0, 4); break;
        }
        return Write(_tensors, MetadataWith(Seq2SeqModelFile.ConfigKey, config.ToJsonString()));
    }

    private byte[] Vocabulary(Random random)
    {
        string key = random.Next(2) == 0 ? Seq2SeqModelFile.SourceVocabKey : Seq2SeqModelFile.TargetVocabKey;
        JsonObject vocab = JsonNode.Parse(_metadata[key])!.AsObject();
        JsonArray tokens = vocab["tokens"]!.AsArray();
        string text;
        switch (random.Next(7))
        {
            case 0:
                // A lone surrogate, as a JSON escape inside the vocabulary text.
                string json = vocab.ToJsonString();
                string token = tokens[4 + random.Next(tokens.Count - 4)]!.GetValue<string>();
                string escaped = JsonSerializer.Serialize(token);
                text = json.Replace(escaped, "\"" + (random.Next(2) == 0 ? "\\ud800" : "x\\udfff") + "\"", StringComparison.Ordinal);
                break;
            case 1: tokens.RemoveAt(tokens.Count - 1); text = vocab.ToJsonString(); break;
            case 2: tokens.Add("extra-token"); text = vocab.ToJsonString(); break;
            case 3: tokens[random.Next(tokens.Count)] = tokens[random.Next(tokens.Count)]!.DeepClone(); text = vocab.ToJsonString(); break;
            case 4: tokens[random.Next(tokens.Count)] = random.Next(2) == 0 ? 7 : null; text = vocab.ToJsonString(); break;
            case 5: vocab["version"] = NastyNumbers[random.Next(NastyNumbers.Length)]; text = vocab.ToJsonString(); break;
            default:
                text = vocab.ToJsonString();
                text = text.Substring(0, random.Next(text.Length));
                break;
        }
        return Write(_tensors, MetadataWith(key, text));
    }

    private byte[] TensorShape(Random random)
    {
        var tensors = new List<(string, int[], float[])>(_tensors);
        int k = random.Next(tensors.Count);
        (string name, int[] shape, _) = tensors[k];
        int[] wrong = random.Next(4) switch
        {
            0 => [.. shape.Reverse()],
            1 => [shape.Aggregate(1, (a, b) => a * b)],
            2 => [.. shape, 1],
            _ => [.. shape.Select((d, i) => i == 0 ? d + random.Next(-1, 2) * (1 + random.Next(3)) : d).Select(d => Math.Max(d, 0))],
        };
        tensors[k] = (name, wrong, new float[wrong.Aggregate(1, (a, b) => a * b)]);
        return Write(tensors, _metadata);
    }

    private byte[] DType(Random random)
    {
        // Same byte size (I32, U32) keeps the layout valid; other sizes break it.
        string[] dtypes = ["I32", "U32", "F16", "BF16", "F64", "I64", "U8", "BOOL", "F8_E4M3", "X32"];
        string header = Encoding.UTF8.GetString(_seed, 8, _headerEnd - 8);
        int count = 0, target = random.Next(_tensors.Count);
        string replaced = System.Text.RegularExpressions.Regex.Replace(header, "\"dtype\":\"F32\"",
            m => count++ == target ? $"\"dtype\":\"{dtypes[random.Next(dtypes.Length)]}\"" : m.Value);
        return WithHeader(replaced);
    }

    private byte[] OptimizerState(Random random)
    {
        var tensors = new List<(string, int[], float[])>(_tensors);
        string[] prefixes = ["optimizer.exp_avg.", "optimizer.exp_avg_sq.", "optimizer.momentum_buffer.", "optimizer.other.", "optimizer.exp_avg"];
        (string name, int[] shape, float[] values) = _tensors[random.Next(_tensors.Count)];
        string prefix = prefixes[random.Next(prefixes.Length)];
        int[] optimizerShape = random.Next(3) switch
        {
            0 => shape,
            1 => [.. shape.Reverse()],
            _ => [shape[0] + 1, .. shape.Skip(1)],
        };
        float[] state = new float[optimizerShape.Aggregate(1, (a, b) => a * b)];
        if (random.Next(4) == 0 && state.Length > 0)
        {
            state[random.Next(state.Length)] = float.NaN;
        }
        tensors.Add((prefix + name, optimizerShape, state));
        _ = values;
        return Write(tensors, _metadata);
    }

    private byte[] NonFinite(Random random)
    {
        var tensors = new List<(string, int[], float[])>(_tensors);
        int k = random.Next(tensors.Count);
        (string name, int[] shape, float[] values) = tensors[k];
        float[] copy = (float[])values.Clone();
        float[] nasty = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, -float.MaxValue, 1e30f, float.Epsilon];
        int count = random.Next(1, 4);
        for (int j = 0; j < count; j++)
        {
            copy[random.Next(copy.Length)] = nasty[random.Next(nasty.Length)];
        }
        tensors[k] = (name, shape, copy);
        return Write(tensors, _metadata);
    }

    private byte[] MissingOrExtra(Random random)
    {
        var tensors = new List<(string, int[], float[])>(_tensors);
        if (random.Next(2) == 0)
        {
            tensors.RemoveAt(random.Next(tensors.Count));
        }
        else
        {
            string[] names = ["encoder.rnn.weight_ih_l1", "bridge.weight", "decoder.combine.weight", "unknown", "encoder.embedding.weight.extra"];
            tensors.Add((names[random.Next(names.Length)], [2, 3], new float[6]));
        }
        return Write(tensors, _metadata);
    }

    private byte[] Metadata(Random random)
    {
        var metadata = new Dictionary<string, string>(_metadata, StringComparer.Ordinal);
        string[] keys = [Seq2SeqModelFile.ConfigKey, Seq2SeqModelFile.SourceVocabKey, Seq2SeqModelFile.TargetVocabKey, Seq2SeqModelFile.TaskKey];
        string key = keys[random.Next(keys.Length)];
        switch (random.Next(4))
        {
            case 0: metadata.Remove(key); break;
            case 1: metadata[key] = ""; break;
            case 2: metadata[key] = "[1,2,3]"; break;
            default: metadata[key] = "{\"a\":" + new string('[', random.Next(1, 2000)) + "}"; break;
        }
        return Write(_tensors, metadata);
    }

    private Dictionary<string, string> MetadataWith(string key, string value) =>
        new(_metadata, StringComparer.Ordinal) { [key] = value };

    private byte[] WithHeader(string header)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        byte[] file = new byte[8 + h.Length + (_seed.Length - _headerEnd)];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)h.Length);
        h.CopyTo(file, 8);
        _seed.AsSpan(_headerEnd).CopyTo(file.AsSpan(8 + h.Length));
        return file;
    }

    private static byte[] Write(IEnumerable<(string Name, int[] Shape, float[] Values)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        using var stream = new MemoryStream();
        SafeTensorsWriter.Write(stream, [.. tensors.Select(t => new SafeTensor(t.Name, t.Shape, t.Values))], metadata);
        return stream.ToArray();
    }

    /// <summary>Shown in failure messages: the case and its first bytes of header.</summary>
    public static string Describe(int seed, int index, string kind) =>
        string.Create(CultureInfo.InvariantCulture, $"case {index} (seed {seed}, {kind})");
}
