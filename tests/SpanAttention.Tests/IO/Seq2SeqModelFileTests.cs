using SpanAttention.IO;
using SpanAttention.Inference;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Seq2Seq;
using Xunit;
using static SpanAttention.Tests.Seq2Seq.Seq2SeqTestData;

namespace SpanAttention.Tests.IO;

/// <summary>Saving and loading a model with its configuration and vocabularies.</summary>
public sealed class Seq2SeqModelFileTests
{
    [Fact]
    public void SaveLoad_RoundTrip_SameParametersVocabAndDecoding()
    {
        Seq2SeqConfig config = Small();
        var model = new Seq2SeqModel(config, 4, 8, 10, seed: 2);
        string path = Path.Combine(Path.GetTempPath(), $"s2s-{Guid.NewGuid():N}.safetensors");
        try
        {
            Seq2SeqModelFile.Save(path, model, "{\"tokens\":[\"a\"]}", "{\"tokens\":[\"b\"]}");
            Seq2SeqModelFileContents loaded = Seq2SeqModelFile.Load(path, 4, 8, 10);
            Assert.Equal(config, loaded.Model.Config);
            Assert.Equal(model.Parameters.Values, loaded.Model.Parameters.Values);
            Assert.Equal("{\"tokens\":[\"a\"]}", loaded.SourceVocabJson);
            Assert.Equal("{\"tokens\":[\"b\"]}", loaded.TargetVocabJson);
            int[][] sources = [[3, 4, 5], [6, 7]];
            Hypothesis[] a = Decoding.Greedy(model, sources, 6);
            Hypothesis[] b = Decoding.Greedy(loaded.Model, sources, 6);
            for (int i = 0; i < sources.Length; i++)
            {
                Assert.Equal(a[i].Tokens, b[i].Tokens);
                Assert.Equal(a[i].Alignment, b[i].Alignment);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_WrongShapesOrNoConfig_ThrowsModelFileException()
    {
        Seq2SeqConfig config = Small();
        var model = new Seq2SeqModel(config, 2, 4, 4);
        string path = Path.Combine(Path.GetTempPath(), $"s2s-{Guid.NewGuid():N}.safetensors");
        try
        {
            // config says H = 16 but tensors are those of H = 12
            var other = new Seq2SeqModel(config with { HiddenSize = 12 }, 2, 4, 4);
            ModelFile.Save(path, other.Layout, other.Parameters.Values, new Dictionary<string, string> { [Seq2SeqModelFile.ConfigKey] = config.ToJson() });
            var e = Assert.Throws<ModelFileException>(() => Seq2SeqModelFile.Load(path));
            Assert.Contains("encoder", e.Message, StringComparison.Ordinal);
            ModelFile.Save(path, model.Layout, model.Parameters.Values);
            Assert.Throws<ModelFileException>(() => Seq2SeqModelFile.Load(path));
            ModelFile.Save(path, model.Layout, model.Parameters.Values, new Dictionary<string, string> { [Seq2SeqModelFile.ConfigKey] = "{not json" });
            Assert.Throws<ModelFileException>(() => Seq2SeqModelFile.Load(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
