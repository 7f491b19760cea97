using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SpanAttention.Attention;
using SpanAttention.Tests.Support;
using Xunit;
using Xunit.Sdk;

namespace SpanAttention.Tests.Attention;

/// <summary>
/// Every gradient (queries, keys, values, every parameter) of every scorer, with and without masks, against
/// central finite differences of a double-precision oracle (tolerance justified in <see cref="GradientCheck"/>).
/// </summary>
public class AttentionGradientTests
{
    private const int Cases = 6;

    /// <summary>Every (scorer, mask) pair.</summary>
    public static readonly (AttentionScorer Scorer, MaskKind Mask)[] Combinations =
        Enum.GetValues<AttentionScorer>().SelectMany(scorer => Enum.GetValues<MaskKind>().Select(mask => (scorer, mask))).ToArray();

    /// <summary><see cref="Cases"/> random cases for each (scorer, mask) pair.</summary>
    [Property(MaxTest = Cases)]
    public Property BackwardSteps_RandomShapes_MatchesFiniteDifferences() =>
        Properties.ForEach(Combinations, sm => Prop.ForAll(AttentionCase.Generator(sm.Scorer, sm.Mask, maxSteps: 3, maxSource: 7, maxDim: 6).ToArbitrary(), c =>
        {
            string? failure = GradientCheck.Compare(c, c.Backward(stepByStep: false));
            return failure is null ? true : throw new XunitException(failure);
        }));

    /// <summary><see cref="Cases"/> random cases for each (scorer, mask) pair.</summary>
    [Property(MaxTest = Cases)]
    public Property Backward_StepByStep_MatchesFiniteDifferences() =>
        Properties.ForEach(Combinations, sm => Prop.ForAll(AttentionCase.Generator(sm.Scorer, sm.Mask, maxSteps: 2, maxSource: 7, maxDim: 6).ToArbitrary(), c =>
        {
            string? failure = GradientCheck.Compare(c, c.Backward(stepByStep: true));
            return failure is null ? true : throw new XunitException(failure);
        }));

    [Theory]
    [InlineData(AttentionScorer.Dot)]
    [InlineData(AttentionScorer.Additive)]
    public void Backward_WithoutWeightGradient_MatchesFiniteDifferences(AttentionScorer scorer)
    {
        var c = new AttentionCase(scorer, batch: 2, source: 5, steps: 2, queryDim: 3, keyDim: 4, valueDim: 3, attentionDim: 5, MaskKind.Lengths, seed: 11);
        Assert.Null(GradientCheck.Compare(c, c.Backward(withDWeights: false), withDWeights: false));
    }

    /// <summary>3 random cases for each (scorer, mask) pair.</summary>
    [Property(MaxTest = 3)]
    public Property NaiveBackward_RandomShapes_MatchesFiniteDifferences() =>
        Properties.ForEach(Combinations, sm => Prop.ForAll(AttentionCase.Generator(sm.Scorer, sm.Mask, maxSteps: 2, maxSource: 6, maxDim: 5).ToArbitrary(), c =>
        {
            string? failure = GradientCheck.Compare(c, c.Naive().Grads);
            return failure is null ? true : throw new XunitException(failure);
        }));

    [Theory]
    [InlineData(WrongBackward.Fault.SoftmaxCentering, AttentionScorer.Dot)]
    [InlineData(WrongBackward.Fault.SoftmaxCentering, AttentionScorer.Additive)]
    [InlineData(WrongBackward.Fault.ValueGradient, AttentionScorer.ScaledDot)]
    [InlineData(WrongBackward.Fault.Scale, AttentionScorer.ScaledDot)]
    [InlineData(WrongBackward.Fault.TanhDerivative, AttentionScorer.Additive)]
    [InlineData(WrongBackward.Fault.QueryProjection, AttentionScorer.General)]
    public void GradientCheck_DeliberatelyWrongBackward_Fails(WrongBackward.Fault fault, AttentionScorer scorer)
    {
        var c = new AttentionCase(scorer, batch: 2, source: 6, steps: 2, queryDim: 4, keyDim: 5, valueDim: 3, attentionDim: 5, MaskKind.None, seed: 5); // no mask: every term carries weight
        // the correct backward of the same case passes, the wrong one must not
        Assert.Null(GradientCheck.Compare(c, WrongBackward.Run(c, WrongBackward.Fault.None)));
        Assert.NotNull(GradientCheck.Compare(c, WrongBackward.Run(c, fault)));
    }

    [Theory]
    [InlineData(MaskKind.None)]
    [InlineData(MaskKind.Lengths)]
    public void Backward_KeptHiddenAndDeferredQueryWeight_EqualsRecomputingBackward(MaskKind mask)
    {
        // odd sizes: every SIMD remainder of the tanh, the GEMVs and the dW_q GEMM runs
        var c = new AttentionCase(AttentionScorer.Additive, batch: 3, source: 11, steps: 4, queryDim: 9, keyDim: 7, valueDim: 5, attentionDim: 13, mask, seed: 41);
        AttentionCase.Gradients expected = c.Backward(stepByStep: true);
        AttentionCase.Gradients kept = c.BackwardKept();
        Assert.Contains(expected.DParameters, v => v != 0f);
        Numerics.AssertClose(expected.DParameters, kept.DParameters, 1e-5f, 1e-6f, "dParameters");
        Numerics.AssertClose(expected.DQueries, kept.DQueries, 1e-5f, 1e-6f, "dQueries");
        Numerics.AssertClose(expected.DKeys, kept.DKeys, 1e-5f, 1e-6f, "dKeys");
        Numerics.AssertClose(expected.DValues, kept.DValues, 1e-5f, 1e-6f, "dValues");
    }

    [Fact]
    public void Forward_HiddenCacheOfWrongSizeOrScorer_ThrowsNamingIt()
    {
        var c = new AttentionCase(AttentionScorer.Additive, batch: 2, source: 3, steps: 1, queryDim: 4, keyDim: 4, valueDim: 4, attentionDim: 5, MaskKind.None, seed: 1);
        c.Layer.PrepareKeys(c.Parameters.Values, c.Keys, c.B, c.S);
        var e = Assert.Throws<ArgumentException>(() => c.Layer.Forward(c.Parameters.Values, c.Queries, c.Keys, c.Values, c.Lengths,
            new float[c.B * c.S], new float[c.B * c.Dv], new float[c.B * c.S * c.A - 1]));
        Assert.Contains("hiddenCache", e.Message);
        var dot = new AttentionCase(AttentionScorer.Dot, batch: 2, source: 3, steps: 1, queryDim: 4, keyDim: 4, valueDim: 4, attentionDim: 5, MaskKind.None, seed: 1);
        dot.Layer.PrepareKeys(dot.Parameters.Values, dot.Keys, dot.B, dot.S);
        Assert.Throws<ArgumentException>(() => dot.Layer.Forward(dot.Parameters.Values, dot.Queries, dot.Keys, dot.Values, dot.Lengths,
            new float[dot.B * dot.S], new float[dot.B * dot.Dv], new float[dot.B * dot.S * 5]));
    }

    [Fact]
    public void Backward_CalledTwicePerBatch_AccumulatesTwice()
    {
        var c = new AttentionCase(AttentionScorer.Additive, batch: 2, source: 5, steps: 1, queryDim: 3, keyDim: 4, valueDim: 3, attentionDim: 5, MaskKind.None, seed: 3);
        AttentionCase.Gradients once = c.Backward();
        (float[] weights, _) = c.Forward();
        var dq = new float[c.Queries.Length];
        var dk = new float[c.Keys.Length];
        var dv = new float[c.Values.Length];
        var dp = new float[c.Parameters.Values.Length];
        for (int i = 0; i < 2; i++)
        {
            c.Layer.Backward(c.DContext, c.DWeights, c.Parameters.Values, c.Queries, c.Keys, c.Values, c.Lengths, weights, dp, dq, dk, dv);
        }
        c.Layer.PrepareKeysBackward(c.Parameters.Values, c.Keys, dp, dk);
        c.Layer.PrepareKeysBackward(c.Parameters.Values, c.Keys, dp, dk); // the accumulator was cleared: adds nothing
        Numerics.AssertClose(Twice(once.DQueries), dq, 1e-5f, 1e-6f, "dq");
        Numerics.AssertClose(Twice(once.DKeys), dk, 1e-5f, 1e-6f, "dk");
        Numerics.AssertClose(Twice(once.DValues), dv, 1e-5f, 1e-6f, "dv");
        Numerics.AssertClose(Twice(once.DParameters), dp, 1e-5f, 1e-6f, "dparameters");
    }

    private static float[] Twice(float[] x) => x.Select(v => 2 * v).ToArray();
}
