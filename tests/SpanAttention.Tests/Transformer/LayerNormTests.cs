using System.Text.Json;
using SpanAttention.Parameters;
using SpanAttention.Tests.Support;
using SpanAttention.Transformer;
using Xunit;
using static SpanAttention.Tests.Transformer.TransformerTestData;

namespace SpanAttention.Tests.Transformer;

public class LayerNormTests
{
    private static (LayerNorm Norm, ParameterSet Set) Build(int e, int seed)
    {
        var layout = new ParameterLayout();
        var norm = new LayerNorm(layout, "norm", e);
        var set = new ParameterSet(layout);
        float[] gamma = Numerics.Random(e, seed), beta = Numerics.Random(e, seed + 1);
        for (int i = 0; i < e; i++)
        {
            gamma[i] += 1f;
        }
        gamma.CopyTo(norm.Weight.Of(set.Values.AsSpan()));
        beta.CopyTo(norm.Bias.Of(set.Values.AsSpan()));
        return (norm, set);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(4, 16)]
    [InlineData(2, 67)]
    public void ForwardBackward_RandomRows_MatchNaiveTwin(int rows, int e)
    {
        (LayerNorm norm, ParameterSet set) = Build(e, seed: e);
        float[] x = Numerics.Random(rows * e, seed: 10 + e, scale: 4f), dy = Numerics.Random(rows * e, seed: 20 + e);
        for (int i = 0; i < x.Length; i++)
        {
            x[i] += 3f;   // an offset mean: the two-pass variance must not cancel
        }
        var y = new float[rows * e];
        var mean = new float[rows];
        var rstd = new float[rows];
        norm.Forward(x, rows, set.Values, y, mean, rstd);
        var expected = new float[rows * e];
        NaiveTransformer.LayerNormForward(x, rows, e, norm.Weight.Of(set.Values.AsSpan()), norm.Bias.Of(set.Values.AsSpan()), norm.Epsilon, expected);
        Numerics.AssertClose(expected, y, 1e-5f, 1e-5f, "y");

        float[] dx = Numerics.Random(rows * e, seed: 30 + e);     // accumulates onto what is there
        float[] expectedDx = (float[])dx.Clone();
        var expectedDGamma = new float[e];
        var expectedDBeta = new float[e];
        norm.Backward(dy, x, mean, rstd, rows, set.Values, set.Gradients, dx);
        NaiveTransformer.LayerNormBackward(dy, x, rows, e, norm.Weight.Of(set.Values.AsSpan()), norm.Epsilon, expectedDx, expectedDGamma, expectedDBeta);
        Numerics.AssertClose(expectedDx, dx, 1e-4f, 1e-5f, "dx");
        Numerics.AssertClose(expectedDGamma, norm.Weight.Of(set.Gradients.AsSpan()), 1e-4f, 1e-5f, "dγ");
        Numerics.AssertClose(expectedDBeta, norm.Bias.Of(set.Gradients.AsSpan()), 1e-4f, 1e-5f, "dβ");
    }

    [Fact]
    public void Backward_FiniteDifferences_AgreeForInputAndParameters()
    {
        const int rows = 3, e = 6;
        (LayerNorm norm, ParameterSet set) = Build(e, seed: 3);
        float[] x = Numerics.Random(rows * e, seed: 4, scale: 2f), dy = Numerics.Random(rows * e, seed: 5);
        var y = new float[rows * e];
        var mean = new float[rows];
        var rstd = new float[rows];
        double Loss()
        {
            norm.Forward(x, rows, set.Values, y, mean, rstd);
            return Dot(y, dy);
        }
        Loss();
        var dx = new float[rows * e];
        norm.Backward(dy, x, mean, rstd, rows, set.Values, set.Gradients, dx);
        CheckGradient(x, dx, Loss, "dx");
        CheckGradient(set.Values, set.Gradients, Loss, "dparameters");
    }

    [Fact]
    public void ForwardBackward_PyTorchCase_MatchesNnLayerNorm()
    {
        JsonElement root = Load("layernorm");
        int rows = root.GetProperty("N").GetInt32(), e = root.GetProperty("E").GetInt32();
        var layout = new ParameterLayout();
        var norm = new LayerNorm(layout, "norm", e);
        Assert.Equal(root.GetProperty("eps").GetDouble(), norm.Epsilon, 1e-12);
        var set = new ParameterSet(layout);
        LoadParameters(root, set);
        float[] x = Floats(root, "x"), dy = Floats(root, "d_output");
        var y = new float[rows * e];
        var mean = new float[rows];
        var rstd = new float[rows];
        norm.Forward(x, rows, set.Values, y, mean, rstd);
        Numerics.AssertClose(Floats(root, "output"), y, 1e-4f, 1e-5f, "output");
        var dx = new float[rows * e];
        norm.Backward(dy, x, mean, rstd, rows, set.Values, set.Gradients, dx);
        Numerics.AssertClose(Floats(root, "d_x"), dx, 1e-4f, 1e-5f, "d_x");
        AssertParameterGradients(root, set);
    }

    [Fact]
    public void ForwardBackward_SteadyState_AllocateNothing()
    {
        const int rows = 8, e = 32;
        (LayerNorm norm, ParameterSet set) = Build(e, seed: 9);
        float[] x = Numerics.Random(rows * e, seed: 1), dy = Numerics.Random(rows * e, seed: 2);
        var y = new float[rows * e];
        var dx = new float[rows * e];
        var mean = new float[rows];
        var rstd = new float[rows];
        long bytes = Allocations.AfterWarmUp(() =>
        {
            norm.Forward(x, rows, set.Values, y, mean, rstd);
            norm.Backward(dy, x, mean, rstd, rows, set.Values, set.Gradients, dx);
        });
        Assert.Equal(0, bytes);
    }
}
