using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using SpanAttention.Attention;
using SpanAttention.Data;
using SpanAttention.IO;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using Xunit;

namespace SpanAttention.Tests.IO;

/// <summary>
/// The model loader treats every file as hostile: each corrupted file either fails with one
/// <see cref="ModelFileException"/> or loads into a model that translates; loading allocates a bounded multiple of
/// the file's size and never hangs.
/// </summary>
public sealed class HostileModelFileTests
{
    // The recurrent-decoder styles (the Transformer decoder is another model, with its own file table and tests).
    private static readonly DecoderStyle[] RecurrentDecoders = [.. Enum.GetValues<DecoderStyle>().Where(d => d != DecoderStyle.Transformer)];

    // Loading allocates at most AllocationFactor × file size + AllocationConstant bytes (the header's JSON document and
    // strings, the parameters and their gradients, the decoding tables, the workspaces of (1, 16, 16)).
    private const long AllocationFactor = 16;
    private const long AllocationConstant = 4 << 20;
    private static readonly TimeSpan CaseTimeLimit = TimeSpan.FromSeconds(5);

    private static byte[] Seed() => File.ReadAllBytes(ModelFileCompatibilityTests.FixturePath);

    /// <summary>How one load ended.</summary>
    internal enum Outcome { CleanError, HarmlessLoad, Crashed, Hung }

    /// <summary>Loads one file from memory as <c>TranslationModel.Load</c> does, then (if it loaded) translates a sentence.</summary>
    internal static (Outcome Outcome, string Detail, long Allocated, TimeSpan Elapsed) Try(byte[] file)
    {
        var clock = Stopwatch.StartNew();
        long before = GC.GetAllocatedBytesForCurrentThread();
        long allocated = 0;
        try
        {
            Seq2SeqModelFileContents contents = Seq2SeqModelFile.Load(new MemoryStream(file, writable: false), "fuzz.safetensors", 1, 16, 16);
            (Vocabulary source, Vocabulary target) = contents.ReadVocabularies();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            using var model = new TranslationModel(contents.Model, source, target);
            Translation t = model.Decode(ModelFileCompatibilityTests.Sentences[0], new DecodingOptions { MaxLength = 20 });
            return (clock.Elapsed > CaseTimeLimit ? Outcome.Hung : Outcome.HarmlessLoad, t.Text, allocated, clock.Elapsed);
        }
        catch (ModelFileException e)
        {
            allocated = allocated == 0 ? GC.GetAllocatedBytesForCurrentThread() - before : allocated;
            return (clock.Elapsed > CaseTimeLimit ? Outcome.Hung : Outcome.CleanError, e.Message, allocated, clock.Elapsed);
        }
        catch (Exception e)
        {
            return (Outcome.Crashed, e.GetType().Name + ": " + e.Message, GC.GetAllocatedBytesForCurrentThread() - before, clock.Elapsed);
        }
    }

    /// <summary>
    /// Runs cases [0, count) of <see cref="ModelFileFuzz"/>. Default 2,800 (200 of each kind); the environment variable
    /// SPANATTN_MODEL_FUZZ_CASES sets another count (tools/fuzz-model-files.sh), SPANATTN_MODEL_FUZZ_REPORT a file that
    /// receives the counts, SPANATTN_MODEL_FUZZ_DUMP a folder that receives the first 300 cases' files (for the CLI runs).
    /// </summary>
    [Fact]
    public void Load_GeneratedHostileFiles_CleanErrorOrHarmlessLoad_BoundedAllocation_NoHang()
    {
        int count = int.TryParse(Environment.GetEnvironmentVariable("SPANATTN_MODEL_FUZZ_CASES"), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 2800;
        string? report = Environment.GetEnvironmentVariable("SPANATTN_MODEL_FUZZ_REPORT");
        string? dump = Environment.GetEnvironmentVariable("SPANATTN_MODEL_FUZZ_DUMP");
        byte[] seed = Seed();
        var fuzz = new ModelFileFuzz(seed);
        var counts = new Dictionary<Outcome, int>();
        var byKind = new Dictionary<string, int[]>();
        var failures = new List<string>();
        long worstRatio = 0;
        var total = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            (byte[] file, string kind) = fuzz.Case(1, i);
            if (dump is not null && i < 300)
            {
                Directory.CreateDirectory(dump);
                File.WriteAllBytes(Path.Combine(dump, $"case{i:D4}.safetensors"), file);
            }
            (Outcome outcome, string detail, long allocated, TimeSpan elapsed) = Try(file);
            counts[outcome] = counts.GetValueOrDefault(outcome) + 1;
            (byKind.TryGetValue(kind, out int[]? k) ? k : byKind[kind] = new int[4])[(int)outcome]++;
            worstRatio = Math.Max(worstRatio, allocated / Math.Max(1, file.Length));
            if (outcome is Outcome.Crashed or Outcome.Hung)
            {
                failures.Add($"{ModelFileFuzz.Describe(1, i, kind)}: {outcome} after {elapsed.TotalMilliseconds:F0} ms: {detail}");
            }
            else if (allocated > AllocationFactor * file.Length + AllocationConstant)
            {
                failures.Add($"{ModelFileFuzz.Describe(1, i, kind)}: allocated {allocated} bytes for a {file.Length}-byte file: {detail}");
            }
        }
        // The seed itself is never written: loading cannot lose data.
        bool seedIntact = seed.AsSpan().SequenceEqual(File.ReadAllBytes(ModelFileCompatibilityTests.FixturePath));
        if (report is not null)
        {
            using var w = new StreamWriter(report);
            w.WriteLine($"tried {count}, clean error {counts.GetValueOrDefault(Outcome.CleanError)}, harmless load {counts.GetValueOrDefault(Outcome.HarmlessLoad)}, "
                + $"crashed {counts.GetValueOrDefault(Outcome.Crashed)}, hung {counts.GetValueOrDefault(Outcome.Hung)}, data lost {(seedIntact ? 0 : 1)}; "
                + $"worst allocation {worstRatio} x file size; {total.Elapsed.TotalSeconds:F1} s");
            foreach ((string kind, int[] c) in byKind)
            {
                w.WriteLine($"  {kind}: clean {c[0]}, harmless {c[1]}, crashed {c[2]}, hung {c[3]}");
            }
            foreach (string f in failures.Take(50))
            {
                w.WriteLine("  FAIL " + f);
            }
        }
        Assert.True(seedIntact);
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} cases failed:\n" + string.Join("\n", failures.Take(20)));
        // Every kind of corruption was exercised, and the generator is not so gentle that everything loads.
        Assert.Equal(ModelFileFuzz.Kinds.Length, byKind.Count);
        Assert.True(counts.GetValueOrDefault(Outcome.CleanError) > count / 2, $"only {counts.GetValueOrDefault(Outcome.CleanError)} clean errors");
    }

    [Fact]
    public void Load_SeedFile_IsAHarmlessLoadWithinTheAllocationBound()
    {
        byte[] seed = Seed();
        (Outcome outcome, string detail, long allocated, _) = Try(seed);
        Assert.Equal(Outcome.HarmlessLoad, outcome);
        Assert.Equal(ModelFileCompatibilityTests.Greedy[0], detail);
        Assert.InRange(allocated, seed.Length, AllocationFactor * seed.Length + AllocationConstant);
    }

    private static byte[] WithConfig(Action<JsonObject> edit, Func<List<SafeTensor>, List<SafeTensor>>? tensors = null)
    {
        using var reader = SafeTensorsReader.Open(new MemoryStream(Seed()));
        var metadata = new Dictionary<string, string>(reader.Metadata, StringComparer.Ordinal);
        JsonObject config = JsonNode.Parse(metadata[Seq2SeqModelFile.ConfigKey])!.AsObject();
        edit(config);
        metadata[Seq2SeqModelFile.ConfigKey] = config.ToJsonString();
        var list = new List<SafeTensor>();
        foreach (SafeTensorInfo t in reader.Tensors)
        {
            int[] shape = [.. t.Shape.Select(d => (int)d)];
            var values = new float[t.ElementCount];
            reader.ReadSingle(t.Name, shape, values);
            list.Add(new SafeTensor(t.Name, shape, values));
        }
        using var stream = new MemoryStream();
        SafeTensorsWriter.Write(stream, tensors is null ? list : tensors(list), metadata);
        return stream.ToArray();
    }

    public static TheoryData<string, long, string> AbsurdSizes() => new()
    {
        { "EncoderLayers", int.MaxValue, "EncoderLayers must be ≤ 64" },
        { "EncoderLayers", 64, "encoder.rnn.weight_ih_l1" },
        { "HiddenSize", 46341, "HiddenSize 46341" },
        { "HiddenSize", 4096, "encoder.rnn.weight_ih_l0" },
        { "TargetVocabSize", int.MaxValue, "TargetVocabSize must be ≤" },
        { "SourceVocabSize", 1 << 24, "SourceVocabSize 16777216" },
        { "EmbeddingSize", 65536, "'encoder.embedding.weight' has shape [139, 12]" },
        { "AttentionSize", 60000, "'decoder.attention.W_q.weight' has shape [24, 24]" },
    };

    [Theory]
    [MemberData(nameof(AbsurdSizes))]
    public void Load_AbsurdConfigSize_ModelFileExceptionNamingTheFieldOrTensor_BeforeAllocating(string field, long value, string expected)
    {
        byte[] file = WithConfig(c => c[field] = value);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ModelFileException>(() => Seq2SeqModelFile.Load(new MemoryStream(file), "m.safetensors", 1, 16, 16));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.InRange(allocated, 0, 4L * file.Length + (1 << 20));
    }

    [Fact]
    public void Load_TinyFileAskingForTwoBillionLayers_ModelFileException()
    {
        // A 1 KB file: a config, no tensors.
        string config = new Seq2SeqConfig { SourceVocabSize = 10, TargetVocabSize = 10 }.ToJson().Replace("\"EncoderLayers\":1", "\"EncoderLayers\":2147483647", StringComparison.Ordinal);
        using var stream = new MemoryStream();
        SafeTensorsWriter.Write(stream, [], new Dictionary<string, string> { [Seq2SeqModelFile.ConfigKey] = config });
        var e = Assert.Throws<ModelFileException>(() => Seq2SeqModelFile.Load(new MemoryStream(stream.ToArray()), "m.safetensors", 1, 16, 16));
        Assert.Contains("EncoderLayers", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ConfigWithinLimitsButTensorsOfAnotherModel_NamesTheTensorBeforeBuildingTheModel()
    {
        // 40 layers pass the configuration's limits; the file has one.
        byte[] file = WithConfig(c => c["EncoderLayers"] = 40);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ModelFileException>(() => Seq2SeqModelFile.Load(new MemoryStream(file), "m.safetensors", 1, 16, 16));
        Assert.Contains("'encoder.rnn.weight_ih_l1'", e.Message, StringComparison.Ordinal);
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 4L * file.Length + (1 << 20));
    }

    [Theory]
    [InlineData("optimizer.exp_avg.decoder.out.bias", "[88]")]
    [InlineData("optimizer.momentum_buffer.encoder.embedding.weight", "[12, 139]")]
    [InlineData("optimizer.exp_avg_sq.decoder.out.weight", "[87]")]
    public void Load_OptimizerStateOfTheWrongShape_ModelFileExceptionNamingIt(string name, string shape)
    {
        int[] dims = [.. shape.Trim('[', ']').Split(", ").Select(int.Parse)];
        byte[] file = WithConfig(_ => { }, list => [.. list, new SafeTensor(name, dims, new float[dims.Aggregate(1, (a, b) => a * b)])]);
        var e = Assert.Throws<ModelFileException>(() => Seq2SeqModelFile.Load(new MemoryStream(file), "m.safetensors", 1, 16, 16));
        Assert.Contains($"'{name}' has shape {shape}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_OptimizerStateOfTheRightShape_Loads()
    {
        byte[] file = WithConfig(_ => { }, list => [.. list, new SafeTensor("optimizer.exp_avg.decoder.out.bias", [87], new float[87])]);
        Assert.Equal(Outcome.HarmlessLoad, Try(file).Outcome);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void Load_NonFiniteWeight_ModelFileExceptionNamingTensorAndElement(float bad)
    {
        byte[] file = WithConfig(_ => { }, list =>
        {
            int k = list.FindIndex(t => t.Name == "decoder.cell.weight_hh");
            float[] values = list[k].Values.ToArray();
            values[17] = bad;
            list[k] = list[k] with { Values = values };
            return list;
        });
        var e = Assert.Throws<ModelFileException>(() => Seq2SeqModelFile.Load(new MemoryStream(file), "m.safetensors", 1, 16, 16));
        Assert.Contains("'decoder.cell.weight_hh'", e.Message, StringComparison.Ordinal);
        Assert.Contains("element 17", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\\ud800")]
    [InlineData("a\\udc00b")]
    public void ReadVocabularies_LoneSurrogateInVocabularyJson_ModelFileException(string escaped)
    {
        using var reader = SafeTensorsReader.Open(new MemoryStream(Seed()));
        string vocab = reader.Metadata[Seq2SeqModelFile.TargetVocabKey];
        Assert.Contains("\"garden\"", vocab, StringComparison.Ordinal);
        string broken = vocab.Replace("\"garden\"", "\"" + escaped + "\"", StringComparison.Ordinal);
        Assert.Throws<VocabularyFormatException>(() => Vocabulary.FromJson(broken));
        var metadata = new Dictionary<string, string>(reader.Metadata, StringComparer.Ordinal) { [Seq2SeqModelFile.TargetVocabKey] = broken };
        var tensors = new List<SafeTensor>();
        foreach (SafeTensorInfo t in reader.Tensors)
        {
            int[] shape = [.. t.Shape.Select(d => (int)d)];
            var values = new float[t.ElementCount];
            reader.ReadSingle(t.Name, shape, values);
            tensors.Add(new SafeTensor(t.Name, shape, values));
        }
        using var stream = new MemoryStream();
        SafeTensorsWriter.Write(stream, tensors, metadata);
        (Outcome outcome, string detail, _, _) = Try(stream.ToArray());
        Assert.Equal(Outcome.CleanError, outcome);
        Assert.Contains("surrogate", detail, StringComparison.Ordinal);
    }

    public static TheoryData<RecurrentKind, int, bool, DecoderStyle, AttentionScorer> Architectures()
    {
        var data = new TheoryData<RecurrentKind, int, bool, DecoderStyle, AttentionScorer>();
        foreach (RecurrentKind cell in Enum.GetValues<RecurrentKind>())
        {
            foreach (DecoderStyle decoder in RecurrentDecoders)
            {
                foreach (AttentionScorer scorer in Enum.GetValues<AttentionScorer>())
                {
                    foreach (bool bi in new[] { false, true })
                    {
                        data.Add(cell, bi ? 2 : 1 + (int)scorer % 2, bi, decoder, scorer);
                    }
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void ExpectedTensors_EveryArchitecture_IsTheModelsLayout(RecurrentKind cell, int layers, bool bidirectional, DecoderStyle decoder, AttentionScorer scorer)
    {
        var config = new Seq2SeqConfig
        {
            SourceVocabSize = 11, TargetVocabSize = 13, EmbeddingSize = 5, HiddenSize = 7, AttentionSize = 3,
            Cell = cell, EncoderLayers = layers, Bidirectional = bidirectional, Decoder = decoder, Scorer = scorer,
        };
        var model = new Seq2SeqModel(config, 1, 2, 2);
        string expected = string.Join("\n", model.Layout.Slots.Select(s => $"{s.Name} [{string.Join(", ", s.Shape)}]"));
        string predicted = string.Join("\n", Seq2SeqModelFile.ExpectedTensors(config).Select(t => $"{t.Name} [{string.Join(", ", t.Shape)}]"));
        Assert.Equal(expected, predicted);
    }

    [Fact]
    public void Validate_SizesWhoseProductsOverflow_ArgumentExceptionNotOverflow()
    {
        var config = new Seq2SeqConfig { SourceVocabSize = 1 << 24, TargetVocabSize = 1 << 24, EmbeddingSize = 1 << 16, HiddenSize = 1 << 16 };
        var e = Assert.Throws<ArgumentException>(() => new Seq2SeqModel(config, 1, 1, 1));
        Assert.Contains("floats", e.Message, StringComparison.Ordinal);
    }
}
