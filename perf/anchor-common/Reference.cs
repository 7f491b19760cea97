using System.Text.Json;

namespace SpanAttention.Anchors;

/// <summary>
/// The reference data perf/pytorch/export_reference.py writes for one H: the PyTorch model's weights, the training
/// batches and decoding source, and what PyTorch computed from them (losses over a few Adam steps, greedy tokens).
/// Every anchor harness loads the same files, so every engine runs the same weights on the same batches.
/// </summary>
internal sealed class Reference
{
    private readonly JsonElement _root;

    private Reference(string directory, JsonElement root)
    {
        Directory = directory;
        _root = root;
        H = root.GetProperty("H").GetInt32();
        V = root.GetProperty("V").GetInt32();
        S = root.GetProperty("S").GetInt32();
        T = root.GetProperty("T").GetInt32();
        Bos = root.GetProperty("BOS").GetInt64();
    }

    /// <summary>The directory holding reference.json (DIR/H&lt;H&gt;).</summary>
    public string Directory { get; }

    public int H { get; }

    public int V { get; }

    public int S { get; }

    public int T { get; }

    public long Bos { get; }

    /// <summary>Loads DIR/H&lt;hidden&gt;/reference.json; a clear error when it is missing or for another H.</summary>
    public static Reference Load(string dataDirectory, int hidden)
    {
        string dir = Path.Combine(dataDirectory, "H" + hidden.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string file = Path.Combine(dir, "reference.json");
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"No reference data for H = {hidden}: {file} is missing. Write it with "
                + $"/usr/bin/python3 perf/pytorch/export_reference.py --sizes {hidden} --out {dataDirectory}.", file);
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        var reference = new Reference(dir, doc.RootElement.Clone());
        if (reference.H != hidden)
        {
            throw new InvalidDataException($"{file} is for H = {reference.H}, not {hidden}.");
        }
        return reference;
    }

    /// <summary>Every parameter in PyTorch's order: state_dict name, shape, values (row-major).</summary>
    public IEnumerable<(string Name, long[] Shape, float[] Values)> Parameters()
    {
        byte[] all = File.ReadAllBytes(Path.Combine(Directory, "weights.bin"));
        foreach (JsonElement p in _root.GetProperty("parameters").EnumerateArray())
        {
            long[] shape = p.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            long count = shape.Aggregate(1L, (a, d) => a * d);
            long offset = p.GetProperty("offset").GetInt64();
            var values = new float[count];
            Buffer.BlockCopy(all, checked((int)(offset * sizeof(float))), values, 0, checked((int)(count * sizeof(float))));
            yield return (p.GetProperty("name").GetString()!, shape, values);
        }
    }

    /// <summary>The training batch of size <paramref name="batch"/>: src [S, B], tgt_in [T, B], tgt_out [T, B].</summary>
    public (long[] Src, long[] TgtIn, long[] TgtOut) Batch(int batch)
    {
        JsonElement b = BatchEntry(batch);
        long[] all = ReadInt64(b.GetProperty("file").GetString()!);
        int n = S * batch, m = T * batch;
        if (all.Length != n + 2 * m)
        {
            throw new InvalidDataException($"{b.GetProperty("file").GetString()} holds {all.Length} tokens, expected {n + 2 * m}.");
        }
        return (all[..n], all[n..(n + m)], all[(n + m)..]);
    }

    /// <summary>PyTorch's teacher-forced losses for that batch: initial weights, then after each Adam step.</summary>
    public double[] Losses(int batch) =>
        BatchEntry(batch).GetProperty("losses").EnumerateArray().Select(l => l.GetDouble()).ToArray();

    /// <summary>The decoding source, [S, 1].</summary>
    public long[] DecodeSource() => ReadInt64(_root.GetProperty("decode").GetProperty("file").GetString()!);

    /// <summary>PyTorch's greedy tokens for the decoding source (T tokens, no EOS stop).</summary>
    public long[] GreedyTokens() =>
        _root.GetProperty("decode").GetProperty("tokens").EnumerateArray().Select(t => t.GetInt64()).ToArray();

    /// <summary>Path of an exported ONNX graph (section "onnx" or "onnx_int8", key "encoder" or "decoder_step").</summary>
    public string OnnxPath(string section, string key)
    {
        if (!_root.TryGetProperty(section, out JsonElement s))
        {
            throw new InvalidDataException($"{Path.Combine(Directory, "reference.json")} has no '{section}' graphs: "
                + $"export them with export_reference.py {(section == "onnx" ? "--onnx" : "--onnx --int8")}.");
        }
        return Path.Combine(Directory, s.GetProperty(key).GetString()!);
    }

    private JsonElement BatchEntry(int batch)
    {
        if (!_root.GetProperty("batches").TryGetProperty(batch.ToString(System.Globalization.CultureInfo.InvariantCulture), out JsonElement b))
        {
            throw new InvalidDataException($"No training batch B = {batch} in {Directory}; export it with --batches {batch}.");
        }
        return b;
    }

    private long[] ReadInt64(string file)
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(Directory, file));
        var values = new long[bytes.Length / sizeof(long)];
        Buffer.BlockCopy(bytes, 0, values, 0, values.Length * sizeof(long));
        return values;
    }
}
