using System.Text.Json;
using SpanAttention.Parameters;
using SpanAttention.Tests.Support;
using SpanAttention.Training;
using SpanAttention.Transformer;
using Xunit;
using static SpanAttention.Tests.Transformer.TransformerTestData;

namespace SpanAttention.Tests.Transformer;

public class MultiheadAttentionTests
{
    private sealed record Case(MultiheadAttention Layer, ParameterSet Set, NaiveTransformer.AttentionShape Shape, float[] Query, float[] Key, float[] Value, float[] DOutput);

    private static Case Random(int e, int heads, int b, int t, int s, int[] lengths, bool causal, int seed)
    {
        var layout = new ParameterLayout();
        var layer = new MultiheadAttention(layout, "self_attn.", e, heads, b + 1, t + 2, s + 1);
        var set = new ParameterSet(layout);
        layer.Initialize(set, new Random(seed));
        Numerics.Random(3 * e, seed + 1, 0.3f).CopyTo(layer.InProjBias.Of(set.Values.AsSpan()));
        Numerics.Random(e, seed + 2, 0.3f).CopyTo(layer.OutProj.Bias!.Of(set.Values.AsSpan()));
        return new Case(layer, set, new NaiveTransformer.AttentionShape(e, heads, b, t, s, lengths, causal),
            Numerics.Random(b * t * e, seed + 3), Numerics.Random(b * s * e, seed + 4), Numerics.Random(b * s * e, seed + 5), Numerics.Random(b * t * e, seed + 6));
    }

    public static TheoryData<int, int, int, int, int, int[], bool> Shapes() => new()
    {
        { 4, 1, 1, 1, 1, [], false },
        { 8, 2, 2, 5, 5, [5, 3], true },           // self-attention shape, causal and padded
        { 6, 3, 3, 3, 7, [7, 4, 0], false },       // cross-attention, one row with no valid key
        { 12, 4, 2, 9, 4, [2, 4], true },          // T > S with the causal mask
        { 10, 5, 1, 17, 13, [], false },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void ForwardBackward_RandomCase_MatchesNaiveTwin(int e, int heads, int b, int t, int s, int[] lengths, bool causal)
    {
        Case c = Random(e, heads, b, t, s, lengths, causal, seed: e * 31 + t);
        var output = new float[b * t * e];
        c.Layer.Forward(c.Set.Values, c.Query, c.Key, c.Value, b, t, s, lengths, causal, output);
        var expected = new float[output.Length];
        var expectedWeights = new float[b * heads * t * s];
        float[] values = c.Set.Values;
        float[] inW = c.Layer.InProjWeight.Of(values.AsSpan()).ToArray(), inB = c.Layer.InProjBias.Of(values.AsSpan()).ToArray();
        float[] outW = c.Layer.OutProj.Weight.Of(values.AsSpan()).ToArray(), outB = c.Layer.OutProj.Bias!.Of(values.AsSpan()).ToArray();
        NaiveTransformer.AttentionForward(c.Shape, inW, inB, outW, outB, c.Query, c.Key, c.Value, expected, expectedWeights);
        Numerics.AssertClose(expected, output, 1e-4f, 1e-5f, "output");
        Numerics.AssertClose(expectedWeights, c.Layer.Weights, 1e-4f, 1e-6f, "weights");

        // both accumulate onto non-zero gradients
        float[] dq = Numerics.Random(c.Query.Length, 1), dk = Numerics.Random(c.Key.Length, 2), dv = Numerics.Random(c.Value.Length, 3);
        float[] eq = (float[])dq.Clone(), ek = (float[])dk.Clone(), ev = (float[])dv.Clone();
        Numerics.Random(c.Set.Gradients.Length, 4).CopyTo(c.Set.Gradients, 0);
        float[] dInW = c.Layer.InProjWeight.Of(c.Set.Gradients.AsSpan()).ToArray(), dInB = c.Layer.InProjBias.Of(c.Set.Gradients.AsSpan()).ToArray();
        float[] dOutW = c.Layer.OutProj.Weight.Of(c.Set.Gradients.AsSpan()).ToArray(), dOutB = c.Layer.OutProj.Bias!.Of(c.Set.Gradients.AsSpan()).ToArray();
        c.Layer.Backward(c.DOutput, values, c.Query, c.Key, c.Value, c.Set.Gradients, dq, dk, dv);
        NaiveTransformer.AttentionBackward(c.Shape, c.DOutput, inW, inB, outW, c.Query, c.Key, c.Value, dInW, dInB, dOutW, dOutB, eq, ek, ev);
        Numerics.AssertClose(eq, dq, 1e-4f, 1e-5f, "dQuery");
        Numerics.AssertClose(ek, dk, 1e-4f, 1e-5f, "dKey");
        Numerics.AssertClose(ev, dv, 1e-4f, 1e-5f, "dValue");
        Numerics.AssertClose(dInW, c.Layer.InProjWeight.Of(c.Set.Gradients.AsSpan()), 1e-4f, 1e-5f, "dInProjWeight");
        Numerics.AssertClose(dInB, c.Layer.InProjBias.Of(c.Set.Gradients.AsSpan()), 1e-4f, 1e-5f, "dInProjBias");
        Numerics.AssertClose(dOutW, c.Layer.OutProj.Weight.Of(c.Set.Gradients.AsSpan()), 1e-4f, 1e-5f, "dOutProjWeight");
        Numerics.AssertClose(dOutB, c.Layer.OutProj.Bias!.Of(c.Set.Gradients.AsSpan()), 1e-4f, 1e-5f, "dOutProjBias");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Backward_FiniteDifferences_AgreeForInputsAndParameters(bool causal)
    {
        const int e = 4, heads = 2, b = 2, t = 3, s = 4;
        int[] lengths = [4, 2];
        Case c = Random(e, heads, b, t, s, lengths, causal, seed: 77);
        var output = new float[b * t * e];
        double Loss()
        {
            c.Layer.Forward(c.Set.Values, c.Query, c.Key, c.Value, b, t, s, lengths, causal, output);
            return Dot(output, c.DOutput);
        }
        Loss();
        var dq = new float[c.Query.Length];
        var dk = new float[c.Key.Length];
        var dv = new float[c.Value.Length];
        c.Layer.Backward(c.DOutput, c.Set.Values, c.Query, c.Key, c.Value, c.Set.Gradients, dq, dk, dv);
        CheckGradient(c.Query, dq, Loss, "dQuery");
        CheckGradient(c.Key, dk, Loss, "dKey");
        CheckGradient(c.Value, dv, Loss, "dValue");
        CheckGradient(c.Set.Values, c.Set.Gradients, Loss, "dparameters");
    }

    [Theory]
    [InlineData("mha_self")]
    [InlineData("mha_cross")]
    public void ForwardBackwardAdam_PyTorchCase_MatchesNnMultiheadAttention(string file)
    {
        JsonElement root = Load(file);
        int b = root.GetProperty("B").GetInt32(), t = root.GetProperty("T").GetInt32(), s = root.GetProperty("S").GetInt32();
        int e = root.GetProperty("E").GetInt32(), heads = root.GetProperty("H").GetInt32();
        int[] lengths = Ints(root, "lengths");
        bool causal = root.GetProperty("causal").GetBoolean();
        var layout = new ParameterLayout();
        var layer = new MultiheadAttention(layout, "self_attn.", e, heads, b, t, s);
        var set = new ParameterSet(layout);
        Assert.Equal(["self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias"], layout.Slots.Select(x => x.Name));
        LoadParameters(root, set);
        float[] query = Floats(root, "query"), key = Floats(root, "key"), value = Floats(root, "value"), dOutput = Floats(root, "d_output");
        if (root.GetProperty("self").GetBoolean())
        {
            Assert.Equal(query, key);
            key = value = query;        // self-attention: one span for all three
        }
        var output = new float[b * t * e];
        layer.Forward(set.Values, query, key, value, b, t, s, lengths, causal, output);
        Numerics.AssertClose(Floats(root, "output"), output, 1e-4f, 1e-5f, "output");
        Numerics.AssertClose(Floats(root, "weights"), layer.Weights, 1e-4f, 1e-6f, "weights (B, H, T, S)");
        var dq = new float[query.Length];
        var dk = new float[key.Length];
        var dv = new float[value.Length];
        layer.Backward(dOutput, set.Values, query, key, value, set.Gradients, dq, dk, dv);
        Numerics.AssertClose(Floats(root, "d_query"), dq, 1e-4f, 1e-5f, "d_query");
        Numerics.AssertClose(Floats(root, "d_key"), dk, 1e-4f, 1e-5f, "d_key");
        Numerics.AssertClose(Floats(root, "d_value"), dv, 1e-4f, 1e-5f, "d_value");
        AssertParameterGradients(root, set);

        // 5 Adam steps on the same loss, from the same initial parameters
        LoadParameters(root, set);
        var adam = new Adam(layout.Count, learningRate: (float)root.GetProperty("adam_lr").GetDouble());
        float[] losses = Floats(root, "adam_losses");
        var scratch = new float[Math.Max(query.Length, key.Length)];
        for (int step = 0; step < 5; step++)
        {
            set.ZeroGradients();
            layer.Forward(set.Values, query, key, value, b, t, s, lengths, causal, output);
            Assert.True(Math.Abs(Dot(output, dOutput) - losses[step]) <= 1e-4 * (1 + Math.Abs(losses[step])), $"loss at step {step}: {Dot(output, dOutput)} vs {losses[step]}");
            layer.Backward(dOutput, set.Values, query, key, value, set.Gradients, scratch.AsSpan(0, query.Length), scratch.AsSpan(0, key.Length), scratch.AsSpan(0, value.Length));
            adam.Step(set.Values, set.Gradients);
        }
        // The key bias bk has an identically zero gradient (it adds q·bk to every score of a row, which the softmax
        // ignores); both sides hold only rounding noise there (~1e-17 in float64, ~1e-8 here), which Adam's
        // m / sqrt(v) turns into steps of ±lr with a random sign. Those e entries are compared as "gradient ~ 0";
        // every other entry after 5 steps must match.
        Assert.All(layer.InProjBias.Of(set.Gradients.AsSpan()).Slice(e, e).ToArray(), g => Assert.True(Math.Abs(g) < 1e-5f, $"d bk = {g}"));
        foreach (ParameterSlot slot in layout.Slots)
        {
            float[] expected = Floats(root.GetProperty("adam_parameters"), slot.Name);
            float[] actual = slot.Of(set.Values.AsSpan()).ToArray();
            if (slot == layer.InProjBias)
            {
                expected.AsSpan(e, e).Clear();
                actual.AsSpan(e, e).Clear();
            }
            Numerics.AssertClose(expected, actual, 1e-4f, 1e-5f, "after 5 Adam steps: " + slot.Name);
        }
    }

    [Fact]
    public void Forward_FullyMaskedRow_GivesZeroWeightsAndTheBiasAsOutput()
    {
        Case c = Random(6, 3, 2, 3, 4, [4, 0], false, seed: 5);
        var output = new float[2 * 3 * 6];
        c.Layer.Forward(c.Set.Values, c.Query, c.Key, c.Value, 2, 3, 4, [4, 0], false, output);
        ReadOnlySpan<float> masked = c.Layer.Weights.Slice(3 * 3 * 4);    // batch row 1: (H, T, S)
        Assert.All(masked.ToArray(), w => Assert.Equal(0f, w));
        ReadOnlySpan<float> bias = c.Layer.OutProj.Bias!.Of(c.Set.Values.AsSpan());
        for (int i = 0; i < 3; i++)
        {
            Numerics.AssertEqual(bias, output.AsSpan((3 + i) * 6, 6), $"query {i}");   // zero context: out_proj(0) = bias
        }
        var dq = new float[c.Query.Length];
        var dk = new float[c.Key.Length];
        var dv = new float[c.Value.Length];
        c.Layer.Backward(c.DOutput, c.Set.Values, c.Query, c.Key, c.Value, c.Set.Gradients, dq, dk, dv);
        Assert.All(dq.Concat(dk).Concat(dv).Concat(c.Set.Gradients), g => Assert.True(float.IsFinite(g)));
        Assert.All(dk.AsSpan(4 * 6).ToArray(), g => Assert.Equal(0f, g));               // no key of row 1 is used
    }

    [Fact]
    public void AverageWeights_TwoHeads_IsTheMeanOverHeadsAndRowsSumToOne()
    {
        Case c = Random(8, 2, 1, 3, 5, [5], true, seed: 8);
        var output = new float[3 * 8];
        c.Layer.Forward(c.Set.Values, c.Query, c.Key, c.Value, 1, 3, 5, [5], true, output);
        var averaged = new float[3 * 5];
        c.Layer.AverageWeights(averaged);
        ReadOnlySpan<float> w = c.Layer.Weights;
        for (int i = 0; i < 15; i++)
        {
            Assert.Equal((w[i] + w[15 + i]) / 2, averaged[i], 6);
        }
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(1f, averaged.AsSpan(i * 5, 5).ToArray().Sum(), 5);
            Assert.All(averaged.AsSpan(i * 5 + i + 1, 4 - i).ToArray(), x => Assert.Equal(0f, x));   // causal: nothing after i
        }
    }

    [Fact]
    public void SelfAttention_OneGradientSpanForAllThree_IsTheSumOfTheThree()
    {
        Case c = Random(8, 2, 2, 5, 5, [5, 3], true, seed: 9);
        var output = new float[2 * 5 * 8];
        c.Layer.Forward(c.Set.Values, c.Query, c.Query, c.Query, 2, 5, 5, [5, 3], true, output);
        var dq = new float[c.Query.Length];
        var dk = new float[c.Query.Length];
        var dv = new float[c.Query.Length];
        c.Layer.Backward(c.DOutput, c.Set.Values, c.Query, c.Query, c.Query, c.Set.Gradients, dq, dk, dv);
        var shared = new float[c.Query.Length];
        c.Layer.Backward(c.DOutput, c.Set.Values, c.Query, c.Query, c.Query, c.Set.Gradients, shared, shared, shared);
        Numerics.AssertClose(dq.Zip(dk, (x, y) => x + y).Zip(dv, (x, y) => x + y).ToArray(), shared, 1e-5f, 1e-6f, "dx");
    }

    [Fact]
    public void Constructor_HeadsNotDividingEmbedding_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => new MultiheadAttention(new ParameterLayout(), "a.", 10, 3, 1, 1, 1));
        Assert.Contains("divisible", ex.Message);
    }

    [Fact]
    public void Forward_ShapeBeyondTheBuffers_ThrowsNamingTheLimits()
    {
        Case c = Random(4, 2, 1, 2, 2, [], false, seed: 1);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => c.Layer.Forward(c.Set.Values, new float[100], new float[100], new float[100], 1, 9, 2, [], false, new float[100]));
        Assert.Contains("exceeds", ex.Message);
    }

    [Fact]
    public void ForwardBackward_SteadyState_AllocateNothing()
    {
        Case c = Random(16, 4, 2, 7, 9, [9, 5], false, seed: 3);
        var output = new float[2 * 7 * 16];
        var dq = new float[c.Query.Length];
        var dk = new float[c.Key.Length];
        var dv = new float[c.Value.Length];
        int[] lengths = [9, 5];
        long bytes = Allocations.AfterWarmUp(() =>
        {
            c.Layer.Forward(c.Set.Values, c.Query, c.Key, c.Value, 2, 7, 9, lengths, false, output);
            c.Layer.Backward(c.DOutput, c.Set.Values, c.Query, c.Key, c.Value, c.Set.Gradients, dq, dk, dv);
        });
        Assert.Equal(0, bytes);
    }
}
