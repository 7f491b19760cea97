using System.Text.Json;
using SpanAttention.Tests.Support;
using SpanAttention.Vision;
using Xunit;
using static SpanAttention.Tests.Transformer.TransformerTestData;

namespace SpanAttention.Tests.Vision;

/// <summary>
/// The vision kernels against torch 1.13's nn.Conv2d, nn.MaxPool2d and nn.AdaptiveAvgPool2d
/// (tools/pytorch/vision_goldens.py; float64 references, compared within 1e-5 relative and 1e-6 absolute).
/// </summary>
public class VisionGoldenTests
{
    private const float Rtol = 1e-5f, Atol = 1e-6f;

    [Theory]
    [InlineData("conv_k3_s1_p1")]
    [InlineData("conv_k5_s2_p2")]
    [InlineData("conv_k3_s2_p0")]
    [InlineData("conv_k1")]
    public void Conv2d_PyTorchCase_MatchesNnConv2d(string name)
    {
        JsonElement root = Load(name);
        int b = Int(root, "B"), c = Int(root, "C"), h = Int(root, "H"), w = Int(root, "W");
        var g = new Conv2dGeometry(c, Int(root, "C_out"), Int(root, "k"), Int(root, "stride"), Int(root, "padding"));
        JsonElement parameters = root.GetProperty("parameters"), shapes = root.GetProperty("shapes");
        Assert.Equal([g.OutChannels, g.InChannels, g.KernelSize, g.KernelSize], Ints(shapes, "weight"));
        Assert.Equal([g.OutChannels], Ints(shapes, "bias"));
        float[] x = Floats(root, "x"), weight = Floats(parameters, "weight"), bias = Floats(parameters, "bias"), dy = Floats(root, "d_output");
        var conv = new Conv2d(g, h, w);
        var y = new float[dy.Length];
        conv.Forward(x, b, h, w, weight, bias, y);
        Numerics.AssertClose(Floats(root, "output"), y, Rtol, Atol, "output");
        float[] dx = new float[x.Length], dWeight = new float[weight.Length], dBias = new float[bias.Length];
        conv.Backward(dy, x, b, h, w, weight, dx, dWeight, dBias);
        JsonElement grads = root.GetProperty("d_parameters");
        Numerics.AssertClose(Floats(root, "d_x"), dx, Rtol, Atol, "d_x");
        Numerics.AssertClose(Floats(grads, "weight"), dWeight, Rtol, Atol, "d_weight");
        Numerics.AssertClose(Floats(grads, "bias"), dBias, Rtol, Atol, "d_bias");
    }

    [Fact]
    public void MaxPool2d_PyTorchCase_MatchesNnMaxPool2dWithIndices()
    {
        JsonElement root = Load("maxpool");
        int planes = Int(root, "B") * Int(root, "C"), h = Int(root, "H"), w = Int(root, "W");
        float[] x = Floats(root, "x"), dy = Floats(root, "d_output");
        var y = new float[dy.Length];
        var indices = new int[dy.Length];
        MaxPool2d.Forward(x, planes, h, w, y, indices);
        Numerics.AssertEqual(Floats(root, "output"), y, "output");
        Assert.Equal(Ints(root, "indices"), indices);
        var dx = new float[x.Length];
        MaxPool2d.Backward(dy, indices, planes, h, w, dx);
        Numerics.AssertEqual(Floats(root, "d_x"), dx, "d_x");
    }

    [Theory]
    [InlineData("adaptive_7x9_3x4")]
    [InlineData("adaptive_5x4_7x6")]
    public void AdaptiveAvgPool2d_PyTorchCase_MatchesNnAdaptiveAvgPool2d(string name)
    {
        JsonElement root = Load(name);
        int planes = Int(root, "B") * Int(root, "C"), h = Int(root, "H"), w = Int(root, "W"), oh = Int(root, "H_out"), ow = Int(root, "W_out");
        float[] x = Floats(root, "x"), dy = Floats(root, "d_output");
        var y = new float[dy.Length];
        AdaptiveAvgPool2d.Forward(x, planes, h, w, oh, ow, y);
        Numerics.AssertClose(Floats(root, "output"), y, Rtol, Atol, "output");
        var dx = new float[x.Length];
        AdaptiveAvgPool2d.Backward(dy, planes, h, w, oh, ow, dx);
        Numerics.AssertClose(Floats(root, "d_x"), dx, Rtol, Atol, "d_x");
    }

    private static JsonElement Load(string name)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "vision", name + ".json")));
        return doc.RootElement.Clone();
    }

    private static int Int(JsonElement root, string name) => root.GetProperty(name).GetInt32();
}
