using SpanAttention.Attention;
using SpanAttention.Parameters;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Attention;

/// <summary>Construction, parameter registration, shape errors and allocation behaviour of <see cref="AttentionLayer"/>.</summary>
public class AttentionLayerTests
{
    [Fact]
    public void RegisterParameters_Additive_UsesPyTorchNamesAndShapes()
    {
        var layer = new AttentionLayer(AttentionScorer.Additive, queryDim: 7, keyDim: 5, valueDim: 3, attentionDim: 11, maxBatch: 2, maxSource: 4);
        var layout = new ParameterLayout();
        layer.RegisterParameters(layout, "decoder.attention.");
        Assert.Equal(new[] { "decoder.attention.W_q.weight", "decoder.attention.W_k.weight", "decoder.attention.W_k.bias", "decoder.attention.v.weight" },
            layout.Slots.Select(s => s.Name));
        Assert.Equal(new[] { 11, 7 }, layout["decoder.attention.W_q.weight"].Shape);
        Assert.Equal(new[] { 11, 5 }, layout["decoder.attention.W_k.weight"].Shape);
        Assert.Equal(new[] { 11 }, layout["decoder.attention.W_k.bias"].Shape);
        Assert.Equal(new[] { 1, 11 }, layout["decoder.attention.v.weight"].Shape);
    }

    [Fact]
    public void RegisterParameters_GeneralAndDot_RegisterWOrNothing()
    {
        var layout = new ParameterLayout();
        new AttentionLayer(AttentionScorer.General, 7, 5, 3, 0, 1, 1).RegisterParameters(layout, "attention.");
        new AttentionLayer(AttentionScorer.Dot, 5, 5, 3, 0, 1, 1).RegisterParameters(layout, "other.");
        Assert.Single(layout.Slots);
        Assert.Equal(new[] { 7, 5 }, layout["attention.W.weight"].Shape);
    }

    [Fact]
    public void InitializeParameters_Additive_UsesLinearDefaultBounds()
    {
        var layer = new AttentionLayer(AttentionScorer.Additive, queryDim: 9, keyDim: 25, valueDim: 3, attentionDim: 16, maxBatch: 1, maxSource: 1);
        var layout = new ParameterLayout();
        layer.RegisterParameters(layout, "attention.");
        var set = new ParameterSet(layout);
        layer.InitializeParameters(set, new Random(1));
        AssertBound(set, layer.QueryWeight!, 1f / 3f);
        AssertBound(set, layer.KeyWeight!, 1f / 5f);
        AssertBound(set, layer.KeyBias!, 1f / 5f);
        AssertBound(set, layer.ScoreWeight!, 1f / 4f);

        static void AssertBound(ParameterSet set, ParameterSlot slot, float bound)
        {
            float[] values = slot.Of(set.Values.AsSpan()).ToArray();
            Assert.All(values, v => Assert.InRange(MathF.Abs(v), 0f, bound));
            Assert.True(values.Max(MathF.Abs) > 0.5f * bound, $"{slot.Name} does not spread over its bound");
        }
    }

    [Theory]
    [InlineData(AttentionScorer.Dot)]
    [InlineData(AttentionScorer.ScaledDot)]
    public void RegisterParameters_DotWithDifferentQueryAndKeySizes_AddsKeyProjection(AttentionScorer scorer)
    {
        var layer = new AttentionLayer(scorer, 4, 5, 3, 0, 1, 1);
        var layout = new ParameterLayout();
        layer.RegisterParameters(layout, "attention.");
        ParameterSlot slot = Assert.Single(layout.Slots);
        Assert.Equal("attention.key_proj.weight", slot.Name);
        Assert.Equal([4, 5], slot.Shape);                                   // nn.Linear(Dk, Dq, bias=False).weight: [Dq, Dk]
        Assert.Same(slot, layer.KeyProjectionWeight);
        var set = new ParameterSet(layout);
        layer.InitializeParameters(set, new Random(1));
        float[] values = slot.Of(set.Values.AsSpan()).ToArray();
        Assert.All(values, v => Assert.InRange(MathF.Abs(v), 0f, 1f / MathF.Sqrt(5f)));  // fan_in = Dk

        var same = new AttentionLayer(scorer, 4, 4, 3, 0, 1, 1);             // Dq = Dk: no parameters
        var empty = new ParameterLayout();
        same.RegisterParameters(empty, "attention.");
        Assert.Empty(empty.Slots);
        Assert.Null(same.KeyProjectionWeight);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AttentionLayer(AttentionScorer.Additive, 4, 5, 3, 0, 1, 1));
    }

    [Fact]
    public void PrepareKeys_ShapeBeyondCapacity_ThrowsUntilEnsureCapacity()
    {
        var c = new AttentionCase(AttentionScorer.General, batch: 2, source: 5, steps: 1, queryDim: 3, keyDim: 4, valueDim: 3, attentionDim: 0, MaskKind.None, seed: 1);
        var bigKeys = new float[2 * 9 * 4];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => c.Layer.PrepareKeys(c.Parameters.Values, bigKeys, 2, 9));
        Assert.Contains("EnsureCapacity", e.Message, StringComparison.Ordinal);
        c.Layer.EnsureCapacity(2, 9, 1);
        c.Layer.PrepareKeys(c.Parameters.Values, bigKeys, 2, 9);
    }

    [Fact]
    public void Forward_BadLengthsOrShapesOrNotPrepared_ThrowNamingTheArgument()
    {
        var c = new AttentionCase(AttentionScorer.Dot, batch: 2, source: 5, steps: 1, queryDim: 3, keyDim: 3, valueDim: 3, attentionDim: 0, MaskKind.None, seed: 1);
        var weights = new float[10];
        var context = new float[6];
        Assert.Throws<InvalidOperationException>(() => c.Layer.Forward(c.Parameters.Values, c.Queries, c.Keys, c.Values, ReadOnlySpan<int>.Empty, weights, context));
        c.Layer.PrepareKeys(c.Parameters.Values, c.Keys, 2, 5);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => c.Layer.Forward(c.Parameters.Values, c.Queries, c.Keys, c.Values, new[] { 2, 6 }, weights, context));
        Assert.Contains("lengths[1] = 6", e.Message, StringComparison.Ordinal);
        Assert.Equal("weights", Assert.Throws<ArgumentException>(() => c.Layer.Forward(c.Parameters.Values, c.Queries, c.Keys, c.Values, ReadOnlySpan<int>.Empty, new float[9], context)).ParamName);
        Assert.Equal("mask", Assert.Throws<ArgumentException>(() => c.Layer.Forward(c.Parameters.Values, c.Queries, c.Keys, c.Values, new bool[9], weights, context)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => c.Layer.ForwardSteps(c.Parameters.Values, new float[12], 2, c.Keys, c.Values, ReadOnlySpan<int>.Empty, new float[20], new float[12]));
    }

    [Fact]
    public void Forward_GeneralWithoutRegisteredParameters_Throws()
    {
        var layer = new AttentionLayer(AttentionScorer.General, 3, 3, 3, 0, 1, 2);
        Assert.Throws<InvalidOperationException>(() => layer.PrepareKeys(new float[9], new float[6], 1, 2));
    }

    [Fact]
    public void ForwardSteps_EqualsSingleStepsOneByOne()
    {
        foreach (AttentionScorer scorer in Enum.GetValues<AttentionScorer>())
        {
            var c = new AttentionCase(scorer, batch: 3, source: 13, steps: 5, queryDim: 9, keyDim: 7, valueDim: 6, attentionDim: 10, MaskKind.Lengths, seed: 17);
            (float[] w1, float[] c1) = c.Forward(stepByStep: true);
            (float[] w2, float[] c2) = c.Forward(stepByStep: false);
            Numerics.AssertClose(w1, w2, 1e-5f, 1e-7f, $"{scorer} weights");
            Numerics.AssertClose(c1, c2, 1e-5f, 1e-6f, $"{scorer} context");
        }
    }

    [Theory]
    [InlineData(AttentionScorer.General)]
    [InlineData(AttentionScorer.Additive)]
    public void Forward_AfterPrepareKeys_ReusesProjectedKeysWithoutRereadingKeys(AttentionScorer scorer)
    {
        // the projection of the keys happens once, in PrepareKeys: every later step reads only the projection
        var c = new AttentionCase(scorer, batch: 2, source: 9, steps: 3, queryDim: 5, keyDim: 7, valueDim: 4, attentionDim: 6, MaskKind.Lengths, seed: 23);
        (float[] expected, _) = c.Forward(stepByStep: true);
        c.Layer.PrepareKeys(c.Parameters.Values, c.Keys, c.B, c.S);
        var scrambled = new float[c.Keys.Length]; // same shape, different contents
        var weights = new float[c.B * c.S];
        var context = new float[c.B * c.Dv];
        for (int t = 0; t < c.T; t++)
        {
            c.Layer.Forward(c.Parameters.Values, c.Queries.AsSpan(t * c.B * c.Dq, c.B * c.Dq), scrambled, c.Values, c.Lengths, weights, context);
            Numerics.AssertEqual(expected.AsSpan(t * c.B * c.S, c.B * c.S), weights, $"step {t}");
        }
    }


    [Theory]
    [InlineData(AttentionScorer.Dot, MaskKind.Lengths)]
    [InlineData(AttentionScorer.ScaledDot, MaskKind.Bool)]
    [InlineData(AttentionScorer.General, MaskKind.Lengths)]
    [InlineData(AttentionScorer.Additive, MaskKind.Bool)]
    public void ForwardBackward_AfterWarmUp_AllocatesZeroBytes(AttentionScorer scorer, MaskKind mask)
    {
        var c = new AttentionCase(scorer, batch: 3, source: 37, steps: 4, queryDim: 19, keyDim: 23, valueDim: 17, attentionDim: 21, mask, seed: 2);
        float[] p = c.Parameters.Values, g = c.Parameters.Gradients;
        var weights = new float[c.T * c.B * c.S];
        var context = new float[c.T * c.B * c.Dv];
        var dq = new float[c.Queries.Length];
        var dk = new float[c.Keys.Length];
        var dv = new float[c.Values.Length];
        int stepQ = c.B * c.Dq, stepW = c.B * c.S, stepC = c.B * c.Dv;
        long bytes = Allocations.AfterWarmUp(() =>
        {
            c.Layer.PrepareKeys(p, c.Keys, c.B, c.S);
            for (int t = 0; t < c.T; t++)
            {
                if (mask == MaskKind.Bool)
                {
                    c.Layer.Forward(p, c.Queries.AsSpan(t * stepQ, stepQ), c.Keys, c.Values, c.Valid, weights.AsSpan(t * stepW, stepW), context.AsSpan(t * stepC, stepC));
                }
                else
                {
                    c.Layer.Forward(p, c.Queries.AsSpan(t * stepQ, stepQ), c.Keys, c.Values, c.Lengths, weights.AsSpan(t * stepW, stepW), context.AsSpan(t * stepC, stepC));
                }
            }
            for (int t = c.T - 1; t >= 0; t--)
            {
                c.Layer.Backward(c.DContext.AsSpan(t * stepC, stepC), c.DWeights.AsSpan(t * stepW, stepW), p, c.Queries.AsSpan(t * stepQ, stepQ), c.Keys, c.Values,
                    c.Lengths, weights.AsSpan(t * stepW, stepW), g, dq.AsSpan(t * stepQ, stepQ), dk, dv);
            }
            c.Layer.PrepareKeysBackward(p, c.Keys, g, dk);
            // and the multi-step API
            c.Layer.PrepareKeys(p, c.Keys, c.B, c.S);
            c.Layer.ForwardSteps(p, c.Queries, c.T, c.Keys, c.Values, c.Lengths, weights, context);
            c.Layer.BackwardSteps(c.DContext, c.DWeights, p, c.Queries, c.T, c.Keys, c.Values, c.Lengths, weights, g, dq, dk, dv);
            c.Layer.PrepareKeysBackward(p, c.Keys, g, dk);
        });
        Assert.Equal(0, bytes);
    }
}
