using SpanAttention.Tests.Support;
using SpanAttention.Training;
using Xunit;

namespace SpanAttention.Tests.Training;

/// <summary>
/// Every argument guard of <see cref="Adam"/> and <see cref="GradientClipping"/>, at and just past each
/// boundary, each asserted on the parameter it names; and the clipping epsilon at a norm where it matters.
/// </summary>
public class OptimizerArgumentTests
{
    [Theory]
    [InlineData("count", -1, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f)]
    [InlineData("learningRate", 4, -1e-3f, 0.9f, 0.999f, 1e-8f, 0f)]
    [InlineData("beta1", 4, 1e-3f, -0.1f, 0.999f, 1e-8f, 0f)]
    [InlineData("beta1", 4, 1e-3f, 1f, 0.999f, 1e-8f, 0f)]
    [InlineData("beta1", 4, 1e-3f, 1.5f, 0.999f, 1e-8f, 0f)]
    [InlineData("beta1", 4, 1e-3f, float.NaN, 0.999f, 1e-8f, 0f)]
    [InlineData("beta2", 4, 1e-3f, 0.9f, -1e-7f, 1e-8f, 0f)]
    [InlineData("beta2", 4, 1e-3f, 0.9f, 1f, 1e-8f, 0f)]
    [InlineData("beta2", 4, 1e-3f, 0.9f, 2f, 1e-8f, 0f)]
    [InlineData("beta2", 4, 1e-3f, 0.9f, float.NaN, 1e-8f, 0f)]
    [InlineData("beta2", 4, 1e-3f, 0.9f, float.NegativeInfinity, 1e-8f, 0f)]
    [InlineData("epsilon", 4, 1e-3f, 0.9f, 0.999f, -1e-8f, 0f)]
    [InlineData("weightDecay", 4, 1e-3f, 0.9f, 0.999f, 1e-8f, -0.01f)]
    public void Adam_ArgumentOutOfRange_ThrowsNamingIt(string name, int count, float learningRate, float beta1, float beta2, float epsilon, float weightDecay)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(count, learningRate, beta1, beta2, epsilon, weightDecay));
        Assert.Equal(name, e.ParamName);
        if (name is "beta1" or "beta2")
        {
            Assert.Contains($"{name} must be in [0, 1).", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(0, 0f, 0f, 0f, 0f, 0f)]             // every lower bound is allowed
    [InlineData(3, 1e-3f, 0.99999994f, 0.99999994f, 1e-8f, 0.1f)]   // the largest float below 1
    public void Adam_BoundaryArguments_Accepted(int count, float learningRate, float beta1, float beta2, float epsilon, float weightDecay)
    {
        var adam = new Adam(count, learningRate, beta1, beta2, epsilon, weightDecay);
        Assert.Equal(count, adam.ExpAvg.Length);
        Assert.Equal(count, adam.ExpAvgSq.Length);
        Assert.Equal((learningRate, beta1, beta2, epsilon, weightDecay), (adam.LearningRate, adam.Beta1, adam.Beta2, adam.Epsilon, adam.WeightDecay));
    }

    [Fact]
    public void Adam_BetasZero_MomentsAreTheLastGradientAndItsSquare()
    {
        // beta1 = beta2 = 0 (allowed: RMSprop-like without averaging): m = g, v = g², and with no bias
        // correction left (1 - 0^t = 1) every step moves by lr · g / (|g| + eps).
        var adam = new Adam(5, learningRate: 0.1f, beta1: 0f, beta2: 0f, epsilon: 1e-8f);
        float[] p = new float[5];
        float[] g1 = [1f, -2f, 0.5f, 3f, -0.25f];
        float[] g2 = [-1f, 4f, 0.5f, -3f, 2f];
        adam.Step(p, g1);
        adam.Step(p, g2);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(g2[i], adam.ExpAvg[i]);
            Assert.Equal(g2[i] * g2[i], adam.ExpAvgSq[i], 6);
            float expected = -0.1f * MathF.Sign(g1[i]) - 0.1f * MathF.Sign(g2[i]);
            Assert.Equal(expected, p[i], 5);
        }
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void ClipByGlobalNorm_MaxNormNotPositiveAndFinite_ThrowsAndLeavesGradients(float maxNorm)
    {
        float[] g = [3f, 4f];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm(g, maxNorm));
        Assert.Equal("maxNorm", e.ParamName);
        Assert.Contains("must be positive and finite", e.Message, StringComparison.Ordinal);
        Assert.Equal([3f, 4f], g);
    }

    [Theory]
    [InlineData(float.Epsilon)]
    [InlineData(float.MaxValue)]
    public void ClipByGlobalNorm_ExtremeButValidMaxNorm_Accepted(float maxNorm)
    {
        float[] g = [3f, 4f];
        Assert.Equal(5f, GradientClipping.ClipByGlobalNorm(g, maxNorm));
        Assert.True(maxNorm == float.MaxValue ? g[0] == 3f : g[0] < 1e-30f);
    }

    [Theory]
    [InlineData(1e-6f, 0.5f)]          // clip_coef = 1e-6 / (1e-6 + 1e-6): half; without the epsilon nothing would be clipped
    [InlineData(3e-6f, 0.25f)]         // 1e-6 / (3e-6 + 1e-6); without the epsilon 1/3, with it subtracted 1/2
    public void ClipByGlobalNorm_NormNearTheEpsilon_ScalesByMaxNormOverNormPlusEpsilon(float norm, float factor)
    {
        float[] g = [0.6f * norm, 0.8f * norm];
        float before = GradientClipping.ClipByGlobalNorm(g, 1e-6f);
        Assert.Equal(norm, before, norm * 1e-6f);
        Numerics.AssertClose([0.6f * norm * factor, 0.8f * norm * factor], g, 1e-5f, 0f, $"norm {norm}");
    }

    [Fact]
    public void ClipByGlobalNorm_NormJustAboveMaxNorm_ScaledToMaxNorm()
    {
        float[] g = Numerics.Random(100, 3);
        float norm = GradientClipping.GlobalNorm(g);
        float maxNorm = norm * 0.999f;
        GradientClipping.ClipByGlobalNorm(g, maxNorm);
        Assert.Equal(maxNorm / (norm + 1e-6f) * norm, GradientClipping.GlobalNorm(g), maxNorm * 1e-5f);
        Assert.True(GradientClipping.GlobalNorm(g) < norm);
    }

    [Fact]
    public void GlobalNorm_SeveralChunksWithHugeValuesInALaterOne_MatchesDouble()
    {
        // 3 chunks of 4096; the last one overflows float squares and is rescaled on its own
        float[] g = Numerics.Random(2 * 4096 + 100, 9);
        g[2 * 4096 + 7] = 3e30f;
        g[2 * 4096 + 8] = -4e30f;
        double exact = Math.Sqrt(g.Sum(x => (double)x * x));
        Assert.Equal(exact, GradientClipping.GlobalNorm(g), exact * 1e-6);
        float[] small = Numerics.Random(4096 + 1, 10);
        double exactSmall = Math.Sqrt(small.Sum(x => (double)x * x));
        Assert.Equal(exactSmall, GradientClipping.GlobalNorm(small), exactSmall * 1e-6);
    }
}
