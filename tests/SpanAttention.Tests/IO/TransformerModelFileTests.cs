using SpanAttention.Attention;
using SpanAttention.Inference;
using SpanAttention.IO;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Seq2Seq;
using SpanAttention.Tests.Support;
using SpanAttention.Training;
using SpanAttention.Transformer;
using Xunit;

namespace SpanAttention.Tests.IO;

/// <summary>Model files and checkpoints of a model with a Transformer encoder.</summary>
public sealed class TransformerModelFileTests
{
    private static Seq2SeqConfig Config(DecoderStyle style = DecoderStyle.Bahdanau, AttentionScorer scorer = AttentionScorer.Additive, int layers = 2) => new()
    {
        SourceVocabSize = 12,
        TargetVocabSize = 13,
        EmbeddingSize = 8,
        HiddenSize = 10,
        AttentionSize = 6,
        Encoder = EncoderKind.Transformer,
        EncoderLayers = layers,
        Heads = 2,
        FeedForwardSize = 12,
        Decoder = style,
        Scorer = scorer,
        Cell = style == DecoderStyle.Luong ? RecurrentKind.Lstm : RecurrentKind.Gru,
    };

    private static string TempPath() => Path.Combine(Path.GetTempPath(), $"tenc-{Guid.NewGuid():N}.safetensors");

    [Theory]
    [InlineData(DecoderStyle.Bahdanau, AttentionScorer.Additive)]
    [InlineData(DecoderStyle.Luong, AttentionScorer.General)]
    public void SaveLoad_TransformerEncoder_SameConfigParametersAndDecoding(DecoderStyle style, AttentionScorer scorer)
    {
        Seq2SeqConfig config = Config(style, scorer) with { Activation = style == DecoderStyle.Luong ? FeedForwardActivation.Gelu : FeedForwardActivation.Relu };
        var model = new Seq2SeqModel(config, 4, 8, 10, seed: 2);
        string path = TempPath();
        try
        {
            Seq2SeqModelFile.Save(path, model, "{\"tokens\":[\"a\"]}", "{\"tokens\":[\"b\"]}");
            Seq2SeqModelFileContents loaded = Seq2SeqModelFile.Load(path, 4, 8, 10);
            Assert.Equal(config, loaded.Model.Config);
            Assert.Equal(model.Layout.Slots.Select(s => s.Name), loaded.Model.Layout.Slots.Select(s => s.Name));
            Assert.Equal(model.Parameters.Values, loaded.Model.Parameters.Values);
            using (SafeTensorsReader reader = SafeTensorsReader.Open(path))
            {
                Assert.Contains("\"Encoder\":\"Transformer\"", reader.Metadata[Seq2SeqModelFile.ConfigKey], StringComparison.Ordinal);
            }
            int[][] sources = [[3, 4, 5, 6, 7, 8], [6, 7], [11, 10, 9]];
            Hypothesis[] a = Decoding.Greedy(model, sources, 6);
            Hypothesis[] b = Decoding.Greedy(loaded.Model, sources, 6, loaded.Model.PrepareInference());
            for (int i = 0; i < sources.Length; i++)
            {
                Assert.Equal(a[i].Tokens, b[i].Tokens);
                Numerics.AssertClose(a[i].Alignment, b[i].Alignment, 1e-4f, 2e-6f, $"alignment of source {i}");
            }
            Hypothesis[] beamA = Decoding.Beam(model, sources[0], 3, 6);
            Hypothesis[] beamB = Decoding.Beam(loaded.Model, sources[0], 3, 6);
            Assert.Equal(beamA.Select(h => h.Tokens), beamB.Select(h => h.Tokens));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(DecoderStyle.Bahdanau, AttentionScorer.Additive, 1)]
    [InlineData(DecoderStyle.Luong, AttentionScorer.General, 3)]
    [InlineData(DecoderStyle.None, AttentionScorer.Additive, 2)]
    [InlineData(DecoderStyle.Luong, AttentionScorer.ScaledDot, 1)]
    public void ExpectedTensors_TransformerEncoder_EqualTheModelsLayout(DecoderStyle style, AttentionScorer scorer, int layers)
    {
        Seq2SeqConfig config = Config(style, scorer, layers) with { FeedForwardSize = 0 };                      // F = 4E
        var model = new Seq2SeqModel(config, 1, 2, 2);
        Assert.Equal(model.Layout.Slots.Select(s => $"{s.Name} [{string.Join(", ", s.Shape)}]"),
            Seq2SeqModelFile.ExpectedTensors(config).Select(t => $"{t.Name} [{string.Join(", ", t.Shape)}]"));
        Assert.Equal([32, 8], model.Layout["encoder.layers.0.linear1.weight"].Shape);
    }

    [Fact]
    public void Load_RecurrentTensorsUnderATransformerConfig_ThrowsNamingTheMissingTensor()
    {
        Seq2SeqConfig transformer = Config();
        var recurrent = new Seq2SeqModel(transformer with { Encoder = EncoderKind.Recurrent }, 1, 4, 4);
        string path = TempPath();
        try
        {
            ModelFile.Save(path, recurrent.Layout, recurrent.Parameters.Values, new Dictionary<string, string> { [Seq2SeqModelFile.ConfigKey] = transformer.ToJson() });
            var e = Assert.Throws<ModelFileException>(() => Seq2SeqModelFile.Load(path));
            Assert.Contains("'encoder.layers.0.self_attn.in_proj_weight' [24, 8]", e.Message, StringComparison.Ordinal);
            Assert.Contains("Transformer x2 heads=2 F=12", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Checkpoint_TransformerEncoderResumedRun_LossSequenceIdentical()
    {
        Seq2SeqConfig config = Config(DecoderStyle.Luong, AttentionScorer.General) with { SourceVocabSize = 12, TargetVocabSize = 12, Dropout = 0.1f };
        List<Seq2SeqBatch> batches = Seq2SeqTestData.Batches(config, 32, 9);
        var options = new Seq2SeqTrainerOptions { LearningRate = 5e-3f, TeacherForcingRatio = 0.7f, Seed = 21 };
        var (straight, _, resumed) = CheckpointResume.Run(config, batches, options, 1, 1);
        Assert.Equal(straight.Model.Parameters.Values, resumed.Model.Parameters.Values);
    }
}
