using SpanAttention.Data;
using SpanAttention.Inference;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Transformer;
using SpanAttention.Transformer;
using Xunit;

namespace SpanAttention.Tests.IO;

/// <summary>Model files of the full Transformer encoder-decoder (<see cref="TransformerSeq2SeqModelFile"/>).</summary>
public sealed class TransformerSeq2SeqModelFileTests
{
    private static readonly int[][] Sources = [[4, 5, 6, 7, 8], [9, 4], [10, 11, 5, 6]];

    private static Seq2SeqConfig Config(int layers = 2, FeedForwardActivation activation = FeedForwardActivation.Relu) =>
        TransformerSeq2SeqTests.Tiny(sourceVocab: 12, targetVocab: 13, layers, activation) with { EmbeddingSize = 8, Heads = 2, FeedForwardSize = 10, Decoder = DecoderStyle.Transformer };

    private static Vocabulary Vocab(int count) => Vocabulary.FromTokens(Enumerable.Range(0, count - 4).Select(i => "t" + i), Tokenization.Word);

    private static string TempPath() => Path.Combine(Path.GetTempPath(), $"tfm-{Guid.NewGuid():N}.safetensors");

    private static void WithFile(Action<string> body)
    {
        string path = TempPath();
        try
        {
            body(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Writes the model's tensors (changed by <paramref name="edit"/>) with the metadata (changed by <paramref name="meta"/>).</summary>
    private static void WriteEdited(string path, TransformerSeq2Seq model, Func<List<SafeTensor>, List<SafeTensor>> edit,
        Action<Dictionary<string, string>>? meta = null)
    {
        Dictionary<string, string> metadata = TransformerSeq2SeqModelFile.BuildMetadata(model.Config, null, null, null);
        meta?.Invoke(metadata);
        ModelFile.Save(path, edit([.. SafeTensor.FromLayout(model.Layout, model.Parameters.Values)]), metadata);
    }

    [Theory]
    [InlineData(1, FeedForwardActivation.Gelu)]
    [InlineData(2, FeedForwardActivation.Relu)]
    public void SaveLoad_RoundTrip_SameConfigParametersVocabulariesGreedyAndBeam(int layers, FeedForwardActivation activation)
    {
        Seq2SeqConfig config = Config(layers, activation);
        var model = new TransformerSeq2Seq(config, 4, 8, 10, seed: 3);
        Vocabulary source = Vocab(12), target = Vocab(13);
        WithFile(path =>
        {
            TransformerSeq2SeqModelFile.Save(path, model, source, target, new Dictionary<string, string> { [Seq2SeqModelFile.TaskKey] = "{}" });
            TransformerSeq2SeqFileContents loaded = TransformerSeq2SeqModelFile.Load(path, 4, 8, 10);
            Assert.Equal(config, loaded.Model.Config);
            Assert.Equal(model.Layout.Slots.Select(s => s.Name), loaded.Model.Layout.Slots.Select(s => s.Name));
            Assert.Equal(model.Parameters.Values, loaded.Model.Parameters.Values);
            Assert.Equal("{}", loaded.Metadata[Seq2SeqModelFile.TaskKey]);
            Assert.Equal(Seq2SeqModelFile.TransformerArchitecture, loaded.Metadata[Seq2SeqModelFile.ArchitectureKey]);
            (Vocabulary s, Vocabulary t) = loaded.ReadVocabularies();
            Assert.Equal(source.Tokens, s.Tokens);
            Assert.Equal(target.Tokens, t.Tokens);

            Hypothesis[] a = TransformerDecoding.Greedy(model, Sources, 9);
            Hypothesis[] b = TransformerDecoding.Greedy(loaded.Model, Sources, 9);
            for (int i = 0; i < Sources.Length; i++)
            {
                Assert.Equal(a[i].Tokens, b[i].Tokens);
                Assert.Equal(a[i].Score, b[i].Score);
            }
            Hypothesis[] beamA = TransformerDecoding.Beam(model, Sources[0], 4, 9);
            Hypothesis[] beamB = TransformerDecoding.Beam(loaded.Model, Sources[0], 4, 9);
            Assert.Equal(beamA.Select(h => h.Tokens), beamB.Select(h => h.Tokens));
            Assert.Equal(beamA.Select(h => h.Score), beamB.Select(h => h.Score));
        });
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 10)]
    [InlineData(3, 6)]
    public void ExpectedTensors_EqualsModelLayoutNamesAndShapes(int layers, int feedForward)
    {
        Seq2SeqConfig config = Config(layers) with { FeedForwardSize = feedForward };
        var model = new TransformerSeq2Seq(config, 1, 4, 4, seed: 1);
        var expected = TransformerSeq2SeqModelFile.ExpectedTensors(config).ToList();
        Assert.Equal(model.Layout.Slots.Select(s => s.Name), expected.Select(t => t.Name));
        Assert.Equal(model.Layout.Slots.Select(s => string.Join(",", s.Shape)), expected.Select(t => string.Join(",", t.Shape)));
    }

    [Fact]
    public void Load_TransformerFileAsRecurrentModel_OneClearError()
    {
        var model = new TransformerSeq2Seq(Config(), 1, 8, 8, seed: 1);
        WithFile(path =>
        {
            TransformerSeq2SeqModelFile.Save(path, model);
            var e = Assert.Throws<ModelFileException>(() => Seq2SeqModelFile.Load(path));
            Assert.Contains("Transformer encoder-decoder", e.Message, StringComparison.Ordinal);
            Assert.Contains("recurrent-decoder", e.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Load_RecurrentFileAsTransformer_OneClearError()
    {
        // The same configuration as a Transformer encoder feeding a GRU decoder: only the marker tells the two apart.
        var recurrent = new Seq2SeqModel(Config() with { HiddenSize = 8, Decoder = DecoderStyle.Bahdanau }, 1, 8, 8, seed: 1);
        WithFile(path =>
        {
            Seq2SeqModelFile.Save(path, recurrent);
            var e = Assert.Throws<ModelFileException>(() => TransformerSeq2SeqModelFile.Load(path));
            Assert.Contains("recurrent-decoder", e.Message, StringComparison.Ordinal);
            Assert.Contains("was asked for", e.Message, StringComparison.Ordinal);
        });
    }

    [Theory]
    [InlineData("missing", "decoder.layers.1.multihead_attn.in_proj_weight", "is missing")]
    [InlineData("shape", "decoder.layers.0.norm3.bias", "has shape [7]")]
    [InlineData("extra", "decoder.layers.0.norm4.weight", "does not have")]
    [InlineData("nan", "encoder.layers.1.linear2.weight", "must be finite")]
    public void Load_WrongOrMissingTensor_ErrorNamesTheTensor(string kind, string name, string expected)
    {
        var model = new TransformerSeq2Seq(Config(), 1, 8, 8, seed: 1);
        WithFile(path =>
        {
            WriteEdited(path, model, tensors => kind switch
            {
                "missing" => [.. tensors.Where(t => t.Name != name)],
                "shape" => [.. tensors.Select(t => t.Name == name ? new SafeTensor(name, [7], new float[7]) : t)],
                "extra" => [.. tensors, new SafeTensor(name, [8], new float[8])],
                _ => [.. tensors.Select(t => t.Name == name ? t with { Values = Enumerable.Repeat(float.NaN, t.Values.Length).ToArray() } : t)],
            });
            var e = Assert.Throws<ModelFileException>(() => TransformerSeq2SeqModelFile.Load(path));
            Assert.Contains($"'{name}'", e.Message, StringComparison.Ordinal);
            Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        });
    }

    [Theory]
    [InlineData("heads", "Heads")]
    [InlineData("layers", "'encoder.layers.2.self_attn.in_proj_weight' [24, 8] (implied by 'spanattention.config': Transformer encoder-decoder x64")]
    [InlineData("hugelayers", "EncoderLayers must be ≤ 64")]
    [InlineData("encoder", "Encoder Recurrent")]
    [InlineData("noconfig", "no 'spanattention.config'")]
    [InlineData("json", "invalid 'spanattention.config'")]
    [InlineData("architecture", "does not know")]
    [InlineData("vocabulary", "do not match the model")]
    public void Load_HostileMetadata_OneModelFileException(string kind, string expected)
    {
        var model = new TransformerSeq2Seq(Config(), 1, 8, 8, seed: 1);
        string json = model.Config.ToJson();
        WithFile(path =>
        {
            WriteEdited(path, model, t => t, meta =>
            {
                switch (kind)
                {
                    case "heads": meta[Seq2SeqModelFile.ConfigKey] = json.Replace("\"Heads\":2", "\"Heads\":3", StringComparison.Ordinal); break;
                    case "layers": meta[Seq2SeqModelFile.ConfigKey] = json.Replace("\"EncoderLayers\":2", "\"EncoderLayers\":64", StringComparison.Ordinal); break;
                    case "hugelayers": meta[Seq2SeqModelFile.ConfigKey] = json.Replace("\"EncoderLayers\":2", "\"EncoderLayers\":2147483647", StringComparison.Ordinal); break;
                    case "encoder": meta[Seq2SeqModelFile.ConfigKey] = (model.Config with { Encoder = EncoderKind.Recurrent, Decoder = DecoderStyle.Bahdanau }).ToJson(); break;
                    case "noconfig": meta.Remove(Seq2SeqModelFile.ConfigKey); break;
                    case "json": meta[Seq2SeqModelFile.ConfigKey] = json[..^3]; break;
                    case "architecture": meta[Seq2SeqModelFile.ArchitectureKey] = new string('x', 5000); break;
                    default:
                        meta[Seq2SeqModelFile.SourceVocabKey] = Vocab(11).ToJson();
                        meta[Seq2SeqModelFile.TargetVocabKey] = Vocab(13).ToJson();
                        break;
                }
            });
            var e = Assert.Throws<ModelFileException>(() => TransformerSeq2SeqModelFile.Load(path).ReadVocabularies());
            Assert.Contains(expected, e.Message, StringComparison.Ordinal);
            Assert.True(e.Message.Length < 1000, "one short message: " + e.Message.Length);
        });
    }

    [Fact]
    public void Save_ReservedArchitectureKeyInMetadata_Refused()
    {
        var model = new TransformerSeq2Seq(Config(), 1, 8, 8, seed: 1);
        Assert.Throws<ArgumentException>(() => TransformerSeq2SeqModelFile.Save(TempPath(), model, (string?)null, null,
            new Dictionary<string, string> { [Seq2SeqModelFile.ArchitectureKey] = "x" }));
    }
}
