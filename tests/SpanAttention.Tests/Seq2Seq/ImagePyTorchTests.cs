using System.Text.Json;
using SpanAttention.Seq2Seq;
using SpanAttention.Training;
using Xunit;

namespace SpanAttention.Tests.Seq2Seq;

/// <summary>
/// The image captioning model (<see cref="EncoderKind.Image"/>: conv blocks, max pooling, adaptive pooling to a grid,
/// position embeddings, mean bridge, then the recurrent attention decoder) against its PyTorch mirror
/// (tools/pytorch/image_seq2seq_reference.py, float64 from float32 initial values and pixels): parameters loaded by
/// state_dict name; the loss and every gradient within 1e-4 relative (+ 1e-6 absolute), the parameters after 5 Adam
/// steps within 1e-4 relative (+ 1e-5 absolute), as for the text models.
/// </summary>
public sealed class ImagePyTorchTests
{
    [Theory]
    [InlineData("bahdanau")]
    [InlineData("luong")]
    [InlineData("none")]
    public void LossGradientsAdam_TinyImageConfig_MatchPyTorch(string style)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "image_model", style + ".json")));
        JsonElement root = doc.RootElement;
        Seq2SeqConfig config = Seq2SeqConfig.FromJson(root.GetProperty("config").GetRawText());
        Assert.Equal(EncoderKind.Image, config.Encoder);
        JsonElement jb = root.GetProperty("batch");
        int b = jb.GetProperty("B").GetInt32(), t = jb.GetProperty("T").GetInt32();
        float[] pixels = [.. jb.GetProperty("pixels").EnumerateArray().Select(x => (float)x.GetDouble())];
        var batch = new Seq2SeqBatch(b, config.GridPositions, t, pixels, (config.ImageChannels, config.ImageHeight, config.ImageWidth),
            Ints(jb, "target_input"), Ints(jb, "target_output"), Ints(jb, "target_lengths"));
        var model = new Seq2SeqModel(config, b, config.GridPositions, t);

        string[] names = [.. root.GetProperty("names").EnumerateArray().Select(x => x.GetString()!)];
        Assert.Equal(names, model.Layout.Slots.Select(x => x.Name));
        foreach (JsonProperty shape in root.GetProperty("shapes").EnumerateObject())
        {
            Assert.Equal(shape.Value.EnumerateArray().Select(x => x.GetInt32()), model.Layout[shape.Name].Shape);
        }
        Seq2SeqPyTorchTests.Load(root.GetProperty("parameters"), model, model.Parameters.Values);

        model.Parameters.ZeroGradients();
        float loss = model.Forward(batch);
        double expectedLoss = root.GetProperty("loss").GetDouble();
        Assert.True(Math.Abs(loss - expectedLoss) <= 1e-4 * Math.Abs(expectedLoss), $"loss {loss} vs {expectedLoss}");
        model.Backward();
        Seq2SeqPyTorchTests.Compare(root.GetProperty("gradients"), model, model.Parameters.Gradients, 1e-4, 1e-6, "gradient");

        var adam = new Adam(model.Layout.Count, 1e-2f);
        adam.Step(model.Parameters.Values, model.Parameters.Gradients);
        for (int i = 1; i < 5; i++)
        {
            model.Parameters.ZeroGradients();
            model.Forward(batch);
            model.Backward();
            adam.Step(model.Parameters.Values, model.Parameters.Gradients);
        }
        Seq2SeqPyTorchTests.Compare(root.GetProperty("after_adam5"), model, model.Parameters.Values, 1e-4, 1e-5, "after 5 Adam steps");
    }

    private static int[] Ints(JsonElement e, string name) => [.. e.GetProperty(name).EnumerateArray().Select(x => (int)x.GetDouble())];
}
