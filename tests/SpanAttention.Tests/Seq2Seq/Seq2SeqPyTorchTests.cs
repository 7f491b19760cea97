using System.Text.Json;
using SpanAttention.Seq2Seq;
using SpanAttention.Training;
using Xunit;
using Xunit.Sdk;

namespace SpanAttention.Tests.Seq2Seq;

/// <summary>
/// The whole model against PyTorch (tools/pytorch/seq2seq_reference.py, float64 from float32 initial values):
/// parameters are loaded by state_dict name; the loss and every gradient must agree within 1e-4 relative
/// (plus 1e-6 absolute for near-zero elements: float32 sums of ~10 terms are exact to ~1e-7 relative), and the
/// parameters after 5 Adam steps within 1e-4 relative + 1e-5 absolute (Adam divides by sqrt(v), which amplifies
/// float rounding of tiny gradients a little). The <c>_dropout</c> files do the same with p = 0.3 in training mode,
/// the script applying the masks SpanAttention draws (PyTorch's own dropout RNG cannot be reproduced).
/// </summary>
public sealed class Seq2SeqPyTorchTests
{
    [Theory]
    [InlineData("bahdanau")]
    [InlineData("luong")]
    [InlineData("none")]
    [InlineData("bahdanau_dropout")]
    [InlineData("luong_dropout")]
    [InlineData("bahdanau_gate")]
    [InlineData("bahdanau_gate_coverage")]
    [InlineData("luong_coverage")]
    public void LossGradientsAdam_TinyConfig_MatchPyTorch(string style)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "seq2seq_model", style + ".json")));
        JsonElement root = doc.RootElement;
        Seq2SeqConfig config = Seq2SeqConfig.FromJson(root.GetProperty("config").GetRawText());
        JsonElement jb = root.GetProperty("batch");
        int b = jb.GetProperty("B").GetInt32(), s = jb.GetProperty("S").GetInt32(), t = jb.GetProperty("T").GetInt32();
        var batch = new Seq2SeqBatch(b, s, t, Ints(jb, "source"), Ints(jb, "source_lengths"), Ints(jb, "target_input"), Ints(jb, "target_output"), Ints(jb, "target_lengths"));
        var model = new Seq2SeqModel(config, b, s, t);
        if (root.TryGetProperty("dropout", out JsonElement dropout))
        {
            // p = 0.3 in training mode; the script recomputed SpanAttention's masks for this seed and step (same at every step)
            model.Training = true;
            model.DropoutSeed = dropout.GetProperty("seed").GetUInt64();
            model.DropoutStep = dropout.GetProperty("step").GetInt64();
            Assert.Equal(0.3f, config.Dropout);
        }

        // names and order identical to the PyTorch state_dict
        string[] names = [.. root.GetProperty("names").EnumerateArray().Select(x => x.GetString()!)];
        Assert.Equal(names, model.Layout.Slots.Select(x => x.Name));
        Load(root.GetProperty("parameters"), model, model.Parameters.Values);

        model.Parameters.ZeroGradients();
        float loss = model.Forward(batch);
        double expectedLoss = root.GetProperty("loss").GetDouble();
        Assert.True(Math.Abs(loss - expectedLoss) <= 1e-4 * Math.Abs(expectedLoss), $"loss {loss} vs {expectedLoss}");
        model.Backward();
        Compare(root.GetProperty("gradients"), model, model.Parameters.Gradients, 1e-4, 1e-6, "gradient");

        var adam = new Adam(model.Layout.Count, 1e-2f);
        adam.Step(model.Parameters.Values, model.Parameters.Gradients);
        for (int i = 1; i < 5; i++)
        {
            model.Parameters.ZeroGradients();
            model.Forward(batch);
            model.Backward();
            adam.Step(model.Parameters.Values, model.Parameters.Gradients);
        }
        Compare(root.GetProperty("after_adam5"), model, model.Parameters.Values, 1e-4, 1e-5, "after 5 Adam steps");
    }

    private static int[] Ints(JsonElement e, string name) => [.. e.GetProperty(name).EnumerateArray().Select(x => (int)x.GetDouble())];

    internal static void Load(JsonElement tensors, Seq2SeqModel model, float[] destination)
    {
        foreach (JsonProperty p in tensors.EnumerateObject())
        {
            var slot = model.Layout[p.Name];
            double[] v = [.. p.Value.EnumerateArray().Select(x => x.GetDouble())];
            Assert.Equal(slot.Length, v.Length);
            for (int i = 0; i < v.Length; i++)
            {
                destination[slot.Offset + i] = (float)v[i];
            }
        }
    }

    internal static void Compare(JsonElement tensors, Seq2SeqModel model, float[] actual, double rtol, double atol, string what)
    {
        foreach (JsonProperty p in tensors.EnumerateObject())
        {
            var slot = model.Layout[p.Name];
            double[] expected = [.. p.Value.EnumerateArray().Select(x => x.GetDouble())];
            Assert.Equal(slot.Length, expected.Length);
            for (int i = 0; i < expected.Length; i++)
            {
                double a = actual[slot.Offset + i];
                if (!(Math.Abs(a - expected[i]) <= atol + rtol * Math.Abs(expected[i])))
                {
                    throw new XunitException($"{what} {p.Name}[{i}]: C# {a:R}, PyTorch {expected[i]:R}");
                }
            }
        }
    }
}
