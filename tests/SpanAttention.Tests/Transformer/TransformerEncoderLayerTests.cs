using System.Text.Json;
using SpanAttention.Parameters;
using SpanAttention.Tests.Support;
using SpanAttention.Training;
using SpanAttention.Transformer;
using Xunit;
using static SpanAttention.Tests.Transformer.TransformerTestData;

namespace SpanAttention.Tests.Transformer;

public class TransformerEncoderLayerTests
{
    [Theory]
    [InlineData("encoder_layer_post")]
    [InlineData("encoder_layer_pre")]
    public void ForwardBackwardAdam_PyTorchCase_MatchesNnTransformerEncoderLayer(string file)
    {
        JsonElement root = Load(file);
        int b = root.GetProperty("B").GetInt32(), s = root.GetProperty("S").GetInt32(), e = root.GetProperty("E").GetInt32();
        int heads = root.GetProperty("H").GetInt32(), f = root.GetProperty("F").GetInt32();
        int[] lengths = Ints(root, "lengths");
        bool normFirst = root.GetProperty("norm_first").GetBoolean();
        var activation = root.GetProperty("activation").GetString() == "gelu" ? FeedForwardActivation.Gelu : FeedForwardActivation.Relu;
        var layout = new ParameterLayout();
        var layer = new TransformerEncoderLayer(layout, "", e, heads, f, activation, normFirst, b, s);
        var set = new ParameterSet(layout);
        LoadParameters(root, set);
        float[] x = Floats(root, "x"), dy = Floats(root, "d_output");
        var y = new float[x.Length];
        layer.Forward(set.Values, x, b, s, lengths, false, y);
        // PyTorch leaves padded query positions in the output too (they attend to the valid keys): compared as well
        Numerics.AssertClose(Floats(root, "output"), y, 1e-4f, 1e-5f, "output");
        var dx = new float[x.Length];
        layer.Backward(dy, set.Values, x, set.Gradients, dx);
        Numerics.AssertClose(Floats(root, "d_x"), dx, 1e-4f, 1e-5f, "d_x");
        AssertParameterGradients(root, set);

        LoadParameters(root, set);
        var adam = new Adam(layout.Count, learningRate: (float)root.GetProperty("adam_lr").GetDouble());
        float[] losses = Floats(root, "adam_losses");
        for (int step = 0; step < 5; step++)
        {
            set.ZeroGradients();
            layer.Forward(set.Values, x, b, s, lengths, false, y);
            Assert.True(Math.Abs(Dot(y, dy) - losses[step]) <= 1e-4 * (1 + Math.Abs(losses[step])), $"loss at step {step}: {Dot(y, dy)} vs {losses[step]}");
            Array.Clear(dx);
            layer.Backward(dy, set.Values, x, set.Gradients, dx);
            adam.Step(set.Values, set.Gradients);
        }
        // bk's gradient is identically zero (see MultiheadAttentionTests): its Adam steps are rounding noise on both sides
        ParameterSlot inBias = layer.SelfAttention.InProjBias;
        foreach (ParameterSlot slot in layout.Slots)
        {
            float[] expected = Floats(root.GetProperty("adam_parameters"), slot.Name);
            float[] actual = slot.Of(set.Values.AsSpan()).ToArray();
            if (slot == inBias)
            {
                expected.AsSpan(e, e).Clear();
                actual.AsSpan(e, e).Clear();
            }
            Numerics.AssertClose(expected, actual, 1e-4f, 1e-5f, "after 5 Adam steps: " + slot.Name);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Backward_FiniteDifferences_AgreeForInputAndParameters(bool normFirst)
    {
        const int b = 2, s = 3, e = 4, heads = 2, f = 5;
        int[] lengths = [3, 2];
        var layout = new ParameterLayout();
        var layer = new TransformerEncoderLayer(layout, "layers.0.", e, heads, f, FeedForwardActivation.Gelu, normFirst, b, s);
        var set = new ParameterSet(layout);
        layer.Initialize(set, new Random(3));
        float[] x = Numerics.Random(b * s * e, seed: 4), dy = Numerics.Random(b * s * e, seed: 5);
        var y = new float[x.Length];
        double Loss()
        {
            layer.Forward(set.Values, x, b, s, lengths, true, y);
            return Dot(y, dy);
        }
        Loss();
        var dx = new float[x.Length];
        layer.Backward(dy, set.Values, x, set.Gradients, dx);
        CheckGradient(x, dx, Loss, "dx");
        CheckGradient(set.Values, set.Gradients, Loss, "dparameters");
    }

    [Fact]
    public void Constructor_Names_ArePyTorchs()
    {
        var layout = new ParameterLayout();
        _ = new TransformerEncoderLayer(layout, "encoder.layers.0.", 8, 2, 16, FeedForwardActivation.Relu, false, 1, 1);
        Assert.Equal(
            ["self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
             "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"],
            layout.Slots.Select(x => x.Name["encoder.layers.0.".Length..]));
    }

    [Fact]
    public void ForwardBackward_SteadyState_AllocateNothing()
    {
        const int b = 2, s = 6, e = 16, heads = 4, f = 32;
        var layout = new ParameterLayout();
        var layer = new TransformerEncoderLayer(layout, "", e, heads, f, FeedForwardActivation.Relu, false, b, s);
        var set = new ParameterSet(layout);
        layer.Initialize(set, new Random(1));
        float[] x = Numerics.Random(b * s * e, seed: 1), dy = Numerics.Random(b * s * e, seed: 2);
        var y = new float[x.Length];
        var dx = new float[x.Length];
        int[] lengths = [6, 4];
        long bytes = Allocations.AfterWarmUp(() =>
        {
            layer.Forward(set.Values, x, b, s, lengths, false, y);
            layer.Backward(dy, set.Values, x, set.Gradients, dx);
        });
        Assert.Equal(0, bytes);
    }
}
