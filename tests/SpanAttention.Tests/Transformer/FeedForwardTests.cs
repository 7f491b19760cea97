using System.Text.Json;
using SpanAttention.Parameters;
using SpanAttention.Tests.Support;
using SpanAttention.Transformer;
using Xunit;
using static SpanAttention.Tests.Transformer.TransformerTestData;

namespace SpanAttention.Tests.Transformer;

public class FeedForwardTests
{
    [Theory]
    [InlineData("feedforward_relu", false)]
    [InlineData("feedforward_gelu", true)]
    public void ForwardBackward_PyTorchCase_MatchesLinearActLinear(string file, bool gelu)
    {
        JsonElement root = Load(file);
        int rows = root.GetProperty("N").GetInt32(), e = root.GetProperty("E").GetInt32(), f = root.GetProperty("F").GetInt32();
        var layout = new ParameterLayout();
        var ff = new FeedForward(layout, "", e, f, Act(gelu), maxRows: rows + 3);
        var set = new ParameterSet(layout);
        LoadParameters(root, set);
        float[] x = Floats(root, "x"), dy = Floats(root, "d_output");
        var y = new float[rows * e];
        ff.Forward(x, rows, set.Values, y);
        Numerics.AssertClose(Floats(root, "output"), y, 1e-4f, 1e-5f, "output");
        var dx = new float[rows * e];
        ff.Backward(dy, x, rows, set.Values, set.Gradients, dx);
        Numerics.AssertClose(Floats(root, "d_x"), dx, 1e-4f, 1e-5f, "d_x");
        AssertParameterGradients(root, set);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Backward_FiniteDifferences_AgreeForInputAndParameters(bool gelu)
    {
        const int rows = 3, e = 4, f = 9;
        var layout = new ParameterLayout();
        var ff = new FeedForward(layout, "ff.", e, f, Act(gelu), rows);
        var set = new ParameterSet(layout);
        ff.Initialize(set, new Random(5));
        float[] x = Numerics.Random(rows * e, seed: 12, scale: 2f), dy = Numerics.Random(rows * e, seed: 7);
        var h = new float[rows * f];
        ff.Linear1.Forward(x, rows, set.Values, h);
        // precondition: no pre-activation within reach of ReLU's kink at the finite-difference step (|Δh| ≤ ~5e-3)
        Assert.All(h, v => Assert.True(Math.Abs(v) > 2e-2f, $"pre-activation {v} too close to 0 for this seed"));
        var y = new float[rows * e];
        double Loss()
        {
            ff.Forward(x, rows, set.Values, y);
            return Dot(y, dy);
        }
        Loss();
        var dx = new float[rows * e];
        ff.Backward(dy, x, rows, set.Values, set.Gradients, dx);
        float step = gelu ? 1e-2f : 1e-3f;   // ReLU has a kink at 0: a small step keeps every pre-activation on its side
        CheckGradient(x, dx, Loss, "dx", step);
        CheckGradient(set.Values, set.Gradients, Loss, "dparameters", step);
    }

    [Fact]
    public void Forward_TooManyRows_ThrowsNamingTheLimit()
    {
        var ff = new FeedForward(new ParameterLayout(), "", 2, 3, FeedForwardActivation.Relu, maxRows: 2);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ff.Forward(new float[6], 3, new float[100], new float[6]));
        Assert.Contains("0..2", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ForwardBackward_SteadyState_AllocateNothing(bool gelu)
    {
        const int rows = 12, e = 16, f = 37;
        var layout = new ParameterLayout();
        var ff = new FeedForward(layout, "", e, f, Act(gelu), rows);
        var set = new ParameterSet(layout);
        ff.Initialize(set, new Random(1));
        float[] x = Numerics.Random(rows * e, seed: 1), dy = Numerics.Random(rows * e, seed: 2);
        var y = new float[rows * e];
        var dx = new float[rows * e];
        long bytes = Allocations.AfterWarmUp(() =>
        {
            ff.Forward(x, rows, set.Values, y);
            ff.Backward(dy, x, rows, set.Values, set.Gradients, dx);
        });
        Assert.Equal(0, bytes);
    }

    private static FeedForwardActivation Act(bool gelu) => gelu ? FeedForwardActivation.Gelu : FeedForwardActivation.Relu;
}
