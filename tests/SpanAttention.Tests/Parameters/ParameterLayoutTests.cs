using SpanAttention.Parameters;
using Xunit;

namespace SpanAttention.Tests.Parameters;

public class ParameterLayoutTests
{
    [Fact]
    public void Add_SeveralTensors_PlacesThemBackToBack()
    {
        var layout = new ParameterLayout();
        ParameterSlot w = layout.Add("rnn.weight_ih_l0", 12, 5);
        ParameterSlot b = layout.Add("rnn.bias_ih_l0", 12);
        Assert.Equal(0, w.Offset);
        Assert.Equal(60, w.Length);
        Assert.Equal(60, b.Offset);
        Assert.Equal(72, layout.Count);
        Assert.Same(b, layout["rnn.bias_ih_l0"]);
        Assert.Equal(new[] { 12, 5 }, w.Shape);
    }

    [Fact]
    public void Add_DuplicateOrBadShape_ThrowsNamingTheParameter()
    {
        var layout = new ParameterLayout();
        layout.Add("a", 3);
        Assert.Contains("'a'", Assert.Throws<ArgumentException>(() => layout.Add("a", 3)).Message, StringComparison.Ordinal);
        Assert.Contains("'b'", Assert.Throws<ArgumentException>(() => layout.Add("b", 3, 0)).Message, StringComparison.Ordinal);
        Assert.Throws<KeyNotFoundException>(() => layout["missing"]);
    }

    [Fact]
    public void Slot_ViewsIntoValuesAndGradients_AddressTheSameElements()
    {
        var layout = new ParameterLayout();
        layout.Add("x", 2);
        ParameterSlot y = layout.Add("y", 3);
        var set = new ParameterSet(layout);
        y.Of(set.Values.AsSpan()).Fill(1f);
        y.Of(set.Gradients.AsSpan()).Fill(2f);
        Assert.Equal(new[] { 0f, 0f, 1f, 1f, 1f }, set.Values);
        Assert.Equal(new[] { 0f, 0f, 2f, 2f, 2f }, set.Gradients);
        set.ZeroGradients();
        Assert.All(set.Gradients, g => Assert.Equal(0f, g));
        set.InitializeUniform(y, 0.5f, new Random(1));
        Assert.All(set.Values.AsSpan(2).ToArray(), v => Assert.InRange(v, -0.5f, 0.5f));
    }
}
