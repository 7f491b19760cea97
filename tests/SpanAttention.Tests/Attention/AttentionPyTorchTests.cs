using System.Text.Json;
using SpanAttention.Attention;
using SpanAttention.Parameters;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Attention;

/// <summary>
/// Agreement with PyTorch 1.13 on fixed cases written by tools/pytorch/attention_reference.py (computed in
/// float64 from float32 inputs): weights, context and every gradient, through both the multi-step and the
/// single-step API, with the parameters loaded by their PyTorch state_dict names.
/// </summary>
public class AttentionPyTorchTests
{
    public static TheoryData<string, AttentionScorer, bool> Files() => new()
    {
        { "dot", AttentionScorer.Dot, false },
        { "dot", AttentionScorer.Dot, true },
        { "scaled_dot", AttentionScorer.ScaledDot, false },
        { "scaled_dot", AttentionScorer.ScaledDot, true },
        { "general", AttentionScorer.General, false },
        { "general", AttentionScorer.General, true },
        { "additive", AttentionScorer.Additive, false },
        { "additive", AttentionScorer.Additive, true },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void ForwardBackward_FixedCase_MatchesPyTorch(string file, AttentionScorer scorer, bool stepByStep)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "attention", file + ".json")));
        JsonElement root = doc.RootElement;
        int b = root.GetProperty("B").GetInt32(), s = root.GetProperty("S").GetInt32(), t = root.GetProperty("T").GetInt32();
        int dq = root.GetProperty("Dq").GetInt32(), dk = root.GetProperty("Dk").GetInt32(), dv = root.GetProperty("Dv").GetInt32(), a = root.GetProperty("A").GetInt32();
        int[] lengths = root.GetProperty("lengths").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        float[] queries = Floats(root, "queries"), keys = Floats(root, "keys"), values = Floats(root, "values");
        float[] dContext = Floats(root, "dContext"), dWeights = Floats(root, "dWeights");

        var layer = new AttentionLayer(scorer, dq, dk, dv, a, b, s, t);
        var layout = new ParameterLayout();
        layer.RegisterParameters(layout, "attention.");
        var set = new ParameterSet(layout);
        JsonElement parameters = root.GetProperty("parameters");
        Assert.Equal(layout.Slots.Select(x => x.Name).Order(), parameters.EnumerateObject().Select(x => x.Name).Order());
        foreach (ParameterSlot slot in layout.Slots)
        {
            int[] shape = root.GetProperty("shapes").GetProperty(slot.Name).EnumerateArray().Select(x => x.GetInt32()).ToArray();
            Assert.Equal(shape, slot.Shape);
            Floats(parameters, slot.Name).CopyTo(slot.Of(set.Values.AsSpan()));
        }

        var weights = new float[t * b * s];
        var context = new float[t * b * dv];
        var dq_ = new float[queries.Length];
        var dk_ = new float[keys.Length];
        var dv_ = new float[values.Length];
        layer.PrepareKeys(set.Values, keys, b, s);
        if (stepByStep)
        {
            for (int i = 0; i < t; i++)
            {
                layer.Forward(set.Values, queries.AsSpan(i * b * dq, b * dq), keys, values, lengths, weights.AsSpan(i * b * s, b * s), context.AsSpan(i * b * dv, b * dv));
            }
            for (int i = t - 1; i >= 0; i--)
            {
                layer.Backward(dContext.AsSpan(i * b * dv, b * dv), dWeights.AsSpan(i * b * s, b * s), set.Values, queries.AsSpan(i * b * dq, b * dq),
                    keys, values, lengths, weights.AsSpan(i * b * s, b * s), set.Gradients, dq_.AsSpan(i * b * dq, b * dq), dk_, dv_);
            }
        }
        else
        {
            layer.ForwardSteps(set.Values, queries, t, keys, values, lengths, weights, context);
            layer.BackwardSteps(dContext, dWeights, set.Values, queries, t, keys, values, lengths, weights, set.Gradients, dq_, dk_, dv_);
        }
        layer.PrepareKeysBackward(set.Values, keys, set.Gradients, dk_);

        // float32 arithmetic against a float64 reference over sums of < 50 O(1) terms: 1e-5 relative is ~100 ulps of margin
        Numerics.AssertClose(Floats(root, "weights"), weights, 1e-5f, 1e-7f, "weights");
        Numerics.AssertClose(Floats(root, "context"), context, 1e-5f, 1e-6f, "context");
        Numerics.AssertClose(Floats(root, "dQueries"), dq_, 1e-4f, 1e-6f, "dQueries");
        Numerics.AssertClose(Floats(root, "dKeys"), dk_, 1e-4f, 1e-6f, "dKeys");
        Numerics.AssertClose(Floats(root, "dValues"), dv_, 1e-4f, 1e-6f, "dValues");
        foreach (ParameterSlot slot in layout.Slots)
        {
            Numerics.AssertClose(Floats(root.GetProperty("dParameters"), slot.Name), slot.Of(set.Gradients.AsSpan()), 1e-4f, 1e-6f, "d" + slot.Name);
        }
        // the fully masked row (length 0) has exactly zero weights and context
        Assert.Equal(0, lengths[^1]);
        Assert.All(weights.AsSpan((b - 1) * s, s).ToArray(), w => Assert.Equal(0f, w));
    }

    private static float[] Floats(JsonElement element, string name) =>
        element.GetProperty(name).EnumerateArray().Select(x => (float)x.GetDouble()).ToArray();
}
