using System.Text.Json;
using SpanAttention.Parameters;
using SpanAttention.Tests.Support;
using SpanAttention.Training;
using SpanAttention.Transformer;
using Xunit;
using static SpanAttention.Tests.Transformer.TransformerTestData;

namespace SpanAttention.Tests.Transformer;

public class TransformerDecoderLayerTests
{
    private const string Prefix = "decoder.layers.0.";

    /// <summary>A layer with every parameter moved off its init value (biases 0, norms 1/0), so each gradient is exercised.</summary>
    private static (TransformerDecoderLayer Layer, ParameterSet Set) Build(int e, int heads, int f, FeedForwardActivation activation, bool normFirst,
        int maxBatch, int maxTarget, int maxSource, int seed)
    {
        var layout = new ParameterLayout();
        var layer = new TransformerDecoderLayer(layout, Prefix, e, heads, f, activation, normFirst, maxBatch, maxTarget, maxSource);
        var set = new ParameterSet(layout);
        layer.Initialize(set, new Random(seed));
        Span<float> values = set.Values;
        foreach (MultiheadAttention attention in new[] { layer.SelfAttention, layer.CrossAttention })
        {
            Numerics.Random(3 * e, seed + 1, 0.3f).CopyTo(attention.InProjBias.Of(values));
            Numerics.Random(e, seed + 2, 0.3f).CopyTo(attention.OutProj.Bias!.Of(values));
        }
        foreach (LayerNorm norm in new[] { layer.Norm1, layer.Norm2, layer.Norm3 })
        {
            float[] shift = Numerics.Random(2 * e, seed + 3, 0.3f);
            TensorAdd(norm.Weight.Of(values), shift.AsSpan(0, e));
            shift.AsSpan(e, e).CopyTo(norm.Bias.Of(values));
        }
        return (layer, set);
    }

    private static void TensorAdd(Span<float> y, ReadOnlySpan<float> a)
    {
        for (int i = 0; i < y.Length; i++)
        {
            y[i] += a[i];
        }
    }

    /// <summary>Each slot's span as an array, by its name without the layer prefix (the naive twin's lookup).</summary>
    private static Dictionary<string, float[]> ByName(ParameterLayout layout, float[] flat) =>
        layout.Slots.ToDictionary(slot => slot.Name[Prefix.Length..], slot => slot.Of(flat.AsSpan()).ToArray());

    public static TheoryData<bool, bool, int, int, int, int, int, int, int[], int[]> Shapes() => new()
    {
        // normFirst, gelu, E, H, F, B, T, S, target lengths, memory lengths
        { false, false, 4, 1, 6, 1, 1, 1, [], [] },
        { false, false, 8, 2, 12, 2, 5, 3, [5, 3], [3, 2] },
        { true, true, 8, 2, 12, 2, 5, 3, [5, 3], [3, 2] },
        { false, true, 6, 3, 10, 3, 4, 7, [4, 1, 2], [7, 4, 0] },   // one row with no valid memory position: zero cross-attention
        { true, false, 12, 4, 7, 2, 9, 4, [], [2, 4] },             // T > S
        { true, true, 10, 5, 16, 1, 3, 13, [], [] },
    };

    [Theory]
    [InlineData("decoder_layer_post")]
    [InlineData("decoder_layer_pre")]
    public void ForwardBackwardAdam_PyTorchCase_MatchesNnTransformerDecoderLayer(string file)
    {
        JsonElement root = Load(file);
        int b = root.GetProperty("B").GetInt32(), t = root.GetProperty("T").GetInt32(), s = root.GetProperty("S").GetInt32();
        int e = root.GetProperty("E").GetInt32(), heads = root.GetProperty("H").GetInt32(), f = root.GetProperty("F").GetInt32();
        int[] targetLengths = Ints(root, "target_lengths"), memoryLengths = Ints(root, "memory_lengths");
        bool normFirst = root.GetProperty("norm_first").GetBoolean();
        var activation = root.GetProperty("activation").GetString() == "gelu" ? FeedForwardActivation.Gelu : FeedForwardActivation.Relu;
        var layout = new ParameterLayout();
        var layer = new TransformerDecoderLayer(layout, "", e, heads, f, activation, normFirst, b, t, s);
        var set = new ParameterSet(layout);
        LoadParameters(root, set);
        float[] x = Floats(root, "x"), memory = Floats(root, "memory"), dy = Floats(root, "d_output");
        var y = new float[x.Length];
        layer.Forward(set.Values, x, memory, b, t, s, targetLengths, memoryLengths, y);
        // padded target positions are compared too: PyTorch computes them like any other (they attend to valid keys)
        Numerics.AssertClose(Floats(root, "output"), y, 1e-4f, 1e-5f, "output");
        var dx = new float[x.Length];
        var dMemory = new float[memory.Length];
        layer.Backward(dy, set.Values, x, memory, set.Gradients, dx, dMemory);
        Numerics.AssertClose(Floats(root, "d_x"), dx, 1e-4f, 1e-5f, "d_x");
        Numerics.AssertClose(Floats(root, "d_memory"), dMemory, 1e-4f, 1e-5f, "d_memory");
        AssertParameterGradients(root, set);

        LoadParameters(root, set);
        var adam = new Adam(layout.Count, learningRate: (float)root.GetProperty("adam_lr").GetDouble());
        float[] losses = Floats(root, "adam_losses");
        for (int step = 0; step < 5; step++)
        {
            set.ZeroGradients();
            layer.Forward(set.Values, x, memory, b, t, s, targetLengths, memoryLengths, y);
            Assert.True(Math.Abs(Dot(y, dy) - losses[step]) <= 1e-4 * (1 + Math.Abs(losses[step])), $"loss at step {step}: {Dot(y, dy)} vs {losses[step]}");
            Array.Clear(dx);
            Array.Clear(dMemory);
            layer.Backward(dy, set.Values, x, memory, set.Gradients, dx, dMemory);
            adam.Step(set.Values, set.Gradients);
        }
        // in both attentions bk's gradient is identically zero (see MultiheadAttentionTests): its Adam steps are rounding noise on both sides
        foreach (ParameterSlot slot in layout.Slots)
        {
            float[] expected = Floats(root.GetProperty("adam_parameters"), slot.Name);
            float[] actual = slot.Of(set.Values.AsSpan()).ToArray();
            if (slot == layer.SelfAttention.InProjBias || slot == layer.CrossAttention.InProjBias)
            {
                expected.AsSpan(e, e).Clear();
                actual.AsSpan(e, e).Clear();
            }
            Numerics.AssertClose(expected, actual, 1e-4f, 1e-5f, "after 5 Adam steps: " + slot.Name);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardBackward_RandomCase_MatchesNaiveTwin(bool normFirst, bool gelu, int e, int heads, int f, int b, int t, int s,
        int[] targetLengths, int[] memoryLengths)
    {
        var activation = gelu ? FeedForwardActivation.Gelu : FeedForwardActivation.Relu;
        (TransformerDecoderLayer layer, ParameterSet set) = Build(e, heads, f, activation, normFirst, b + 1, t + 2, s + 1, seed: e * 31 + t);
        var shape = new NaiveTransformer.DecoderLayerShape(e, heads, f, activation, normFirst, b, t, s, targetLengths, memoryLengths);
        float[] x = Numerics.Random(b * t * e, seed: 1), memory = Numerics.Random(b * s * e, seed: 2), dy = Numerics.Random(b * t * e, seed: 3);
        Dictionary<string, float[]> p = ByName(set.Layout, set.Values);

        var y = new float[x.Length];
        layer.Forward(set.Values, x, memory, b, t, s, targetLengths, memoryLengths, y);
        var expected = new float[x.Length];
        NaiveTransformer.DecoderLayerForward(shape, p, x, memory, expected);
        Numerics.AssertClose(expected, y, 1e-4f, 1e-5f, "output");

        // every gradient accumulates onto a non-zero start
        float[] dx = Numerics.Random(x.Length, 4), dMemory = Numerics.Random(memory.Length, 5);
        float[] expectedDx = (float[])dx.Clone(), expectedDMemory = (float[])dMemory.Clone();
        Numerics.Random(set.Gradients.Length, 6).CopyTo(set.Gradients, 0);
        Dictionary<string, float[]> dp = ByName(set.Layout, set.Gradients);
        layer.Backward(dy, set.Values, x, memory, set.Gradients, dx, dMemory);
        NaiveTransformer.DecoderLayerBackward(shape, dy, p, x, memory, dp, expectedDx, expectedDMemory);
        Numerics.AssertClose(expectedDx, dx, 1e-4f, 1e-5f, "dx");
        Numerics.AssertClose(expectedDMemory, dMemory, 1e-4f, 1e-5f, "dMemory");
        foreach (ParameterSlot slot in set.Layout.Slots)
        {
            Numerics.AssertClose(dp[slot.Name[Prefix.Length..]], slot.Of(set.Gradients.AsSpan()), 1e-4f, 1e-5f, "d" + slot.Name);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Backward_FiniteDifferences_AgreeForTargetMemoryAndParameters(bool normFirst)
    {
        const int b = 2, t = 3, s = 4, e = 4, heads = 2, f = 5;
        int[] targetLengths = [3, 2], memoryLengths = [4, 2];
        (TransformerDecoderLayer layer, ParameterSet set) = Build(e, heads, f, FeedForwardActivation.Gelu, normFirst, b, t, s, seed: 8);
        float[] x = Numerics.Random(b * t * e, seed: 4), memory = Numerics.Random(b * s * e, seed: 6), dy = Numerics.Random(b * t * e, seed: 5);
        var y = new float[x.Length];
        double Loss()
        {
            layer.Forward(set.Values, x, memory, b, t, s, targetLengths, memoryLengths, y);
            return Dot(y, dy);
        }
        Loss();
        var dx = new float[x.Length];
        var dMemory = new float[memory.Length];
        layer.Backward(dy, set.Values, x, memory, set.Gradients, dx, dMemory);
        // the padded memory positions of row 1 get no gradient at all: the check covers them as zeros
        Assert.All(dMemory.AsSpan((s + 2) * e, 2 * e).ToArray(), v => Assert.Equal(0f, v));
        CheckGradient(x, dx, Loss, "dx");
        CheckGradient(memory, dMemory, Loss, "dMemory");
        CheckGradient(set.Values, set.Gradients, Loss, "dparameters");
    }

    [Fact]
    public void Constructor_Names_ArePyTorchsInStateDictOrder()
    {
        var layout = new ParameterLayout();
        _ = new TransformerDecoderLayer(layout, Prefix, 8, 2, 16, FeedForwardActivation.Relu, false, 1, 1, 1);
        Assert.Equal(
            ["self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
             "multihead_attn.in_proj_weight", "multihead_attn.in_proj_bias", "multihead_attn.out_proj.weight", "multihead_attn.out_proj.bias",
             "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
             "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "norm3.weight", "norm3.bias"],
            layout.Slots.Select(x => x.Name[Prefix.Length..]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ForwardBackward_SteadyState_AllocateNothing(bool normFirst)
    {
        const int b = 2, t = 6, s = 5, e = 16, heads = 4, f = 32;
        (TransformerDecoderLayer layer, ParameterSet set) = Build(e, heads, f, FeedForwardActivation.Relu, normFirst, b, t, s, seed: 1);
        float[] x = Numerics.Random(b * t * e, seed: 1), memory = Numerics.Random(b * s * e, seed: 2), dy = Numerics.Random(b * t * e, seed: 3);
        var y = new float[x.Length];
        var dx = new float[x.Length];
        var dMemory = new float[memory.Length];
        int[] targetLengths = [6, 4], memoryLengths = [5, 3];
        long bytes = Allocations.AfterWarmUp(() =>
        {
            layer.Forward(set.Values, x, memory, b, t, s, targetLengths, memoryLengths, y);
            layer.Backward(dy, set.Values, x, memory, set.Gradients, dx, dMemory);
        });
        Assert.Equal(0, bytes);
    }
}
