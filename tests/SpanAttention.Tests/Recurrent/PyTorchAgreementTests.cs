using System.Text.Json;
using SpanAttention.Parameters;
using SpanAttention.Recurrent;
using Xunit;

namespace SpanAttention.Tests.Recurrent;

/// <summary>
/// Agreement with PyTorch 1.13 (tools/pytorch/recurrent_reference.py): 2-layer bidirectional nn.RNN, nn.GRU
/// and nn.LSTM over a packed batch with unsorted variable lengths; outputs, final states and every gradient
/// of a random linear functional of them. The references are float64 (PyTorch run in double on float32
/// inputs), so this measures the float32 engine's error against the true values.
/// </summary>
public class PyTorchAgreementTests
{
    // |ours - torch| ≤ 1e-5·|torch| + 1e-6. The absolute floor covers values near zero, where float32
    // round-off of the O(1) terms that cancel (about 1e-7 each) dominates any relative measure.
    private const double Rtol = 1e-5, Atol = 1e-6;

    [Theory]
    [InlineData("rnn")]
    [InlineData("gru")]
    [InlineData("lstm")]
    public void ForwardBackward_TwoLayerBidirectionalPacked_MatchesPyTorch(string kind)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "recurrent", kind + ".json")));
        JsonElement root = doc.RootElement;
        switch (kind)
        {
            case "rnn": Check<RnnGates>(root); break;
            case "gru": Check<GruGates>(root); break;
            default: Check<LstmGates>(root); break;
        }
    }

    private static float[] Floats(JsonElement e) => e.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    private static void Check<TGates>(JsonElement root)
        where TGates : struct, IRecurrentGates
    {
        int inputSize = root.GetProperty("input_size").GetInt32(), hiddenSize = root.GetProperty("hidden_size").GetInt32();
        int layers = root.GetProperty("num_layers").GetInt32(), batch = root.GetProperty("batch").GetInt32(), steps = root.GetProperty("steps").GetInt32();
        bool bidirectional = root.GetProperty("bidirectional").GetBoolean();
        int[] lengths = root.GetProperty("lengths").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        bool lstm = TGates.HasCellState;

        var layout = new ParameterLayout();
        var layer = new RecurrentLayer<TGates>(layout, "", inputSize, hiddenSize, layers, bidirectional, batch, steps);
        var ps = new ParameterSet(layout);
        // Every PyTorch tensor maps one to one to a slot of the same name and size, in state_dict order.
        var names = new List<string>();
        foreach (JsonProperty p in root.GetProperty("parameters").EnumerateObject())
        {
            ParameterSlot slot = layout[p.Name];
            float[] v = Floats(p.Value);
            Assert.Equal(slot.Length, v.Length);
            v.CopyTo(slot.Of(ps.Values.AsSpan()));
            names.Add(p.Name);
        }
        Assert.Equal(layout.Slots.Select(s => s.Name), names);

        float[] x = Floats(root.GetProperty("x"));
        float[] h0 = Floats(root.GetProperty("h0"));
        float[] c0 = lstm ? Floats(root.GetProperty("c0")) : [];
        int states = layer.StateCount * batch * hiddenSize;
        var output = new float[batch * steps * layer.OutputSize];
        var hN = new float[states];
        var cN = lstm ? new float[states] : [];
        layer.Forward(ps, batch, steps, x, lengths, h0, c0, output, hN, cN);
        Assert.Null(GradientCheck.Mismatch(Doubles(root.GetProperty("output")), output, Rtol, 0, "output", Atol));
        Assert.Null(GradientCheck.Mismatch(Doubles(root.GetProperty("h_n")), hN, Rtol, 0, "h_n", Atol));
        if (lstm)
        {
            Assert.Null(GradientCheck.Mismatch(Doubles(root.GetProperty("c_n")), cN, Rtol, 0, "c_n", Atol));
        }

        var dX = new float[x.Length];
        var dH0 = new float[states];
        var dC0 = lstm ? new float[states] : [];
        layer.Backward(ps, x, Floats(root.GetProperty("w_out")), Floats(root.GetProperty("w_h")),
            lstm ? Floats(root.GetProperty("w_c")) : default, dX, dH0, dC0);
        Assert.Null(GradientCheck.Mismatch(Doubles(root.GetProperty("grad_x")), dX, Rtol, 0, "grad x", Atol));
        Assert.Null(GradientCheck.Mismatch(Doubles(root.GetProperty("grad_h0")), dH0, Rtol, 0, "grad h0", Atol));
        if (lstm)
        {
            Assert.Null(GradientCheck.Mismatch(Doubles(root.GetProperty("grad_c0")), dC0, Rtol, 0, "grad c0", Atol));
        }
        foreach (JsonProperty p in root.GetProperty("grad_parameters").EnumerateObject())
        {
            Assert.Null(GradientCheck.Mismatch(Doubles(p.Value), layout[p.Name].Of(ps.Gradients.AsSpan()).ToArray(), Rtol, 0, "grad " + p.Name, Atol));
        }
    }
}
