using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

public class SoftmaxTests
{
    public static TheoryData<int> Sizes => Numerics.SizeData();

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_AnySize_MatchesNaiveTwin(int n)
    {
        CanaryBuffer scores = Canary.From(Numerics.Random(n, seed: n, scale: 20f));
        var expected = new float[n];
        CanaryBuffer actual = Canary.Filled(n, float.NaN);
        Naive.Softmax(scores, ReadOnlySpan<bool>.Empty, expected);
        Softmax.Forward(scores, actual);
        Numerics.AssertClose(expected, actual, rtol: 2e-5f, atol: 1e-7f, $"n={n}");
        Canary.AssertIntact($"n={n}", ("scores", scores), ("weights", actual));
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_RandomMask_MatchesNaiveTwinAndZerosMasked(int n)
    {
        float[] scores = Numerics.Random(n, seed: 1000 + n, scale: 20f);
        var rng = new Random(n);
        var valid = new bool[n];
        for (int j = 0; j < n; j++)
        {
            valid[j] = rng.Next(3) > 0;
        }
        var expected = new float[n];
        CanaryBuffer actual = Canary.Filled(n, float.NaN);
        Naive.Softmax(scores, valid, expected);
        Softmax.Forward(scores, valid, actual);
        Numerics.AssertClose(expected, actual, rtol: 2e-5f, atol: 1e-7f, $"n={n}");
        actual.AssertIntact($"n={n}");
        for (int j = 0; j < n; j++)
        {
            if (!valid[j])
            {
                Assert.Equal(0f, actual[j]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Forward_ValidPrefix_EqualsSoftmaxOfPrefixThenZeros(int n)
    {
        float[] scores = Numerics.Random(n, seed: 2000 + n, scale: 5f);
        int length = n / 2;
        var prefix = new float[length];
        Naive.Softmax(scores.AsSpan(0, length), ReadOnlySpan<bool>.Empty, prefix);
        CanaryBuffer actual = Canary.Filled(n, float.NaN);
        Softmax.Forward(scores, length, actual);
        Numerics.AssertClose(prefix, actual.Span.Slice(0, length), rtol: 2e-5f, atol: 1e-7f);
        for (int j = length; j < n; j++)
        {
            Assert.Equal(0f, actual[j]);
        }
        actual.AssertIntact($"n={n}");
    }

    [Fact]
    public void Forward_FullyMaskedRow_GivesZerosNotNaN()
    {
        float[] scores = [1f, 1000f, -3f];
        var weights = new float[3];
        Softmax.Forward(scores, new bool[3], weights);
        Assert.Equal(new float[3], weights);
        weights.AsSpan().Fill(7f);
        Softmax.Forward(scores, validLength: 0, weights);
        Assert.Equal(new float[3], weights);
    }

    [Fact]
    public void Forward_LogitsThatBreakUnstableSoftmax_StayFinite()
    {
        // TensorPrimitives.SoftMax returns NaN for these; the stable version must not.
        float[] scores = [1000f, 1001f, 89f, 0f, -1000f];
        var weights = new float[scores.Length];
        Softmax.Forward(scores, weights);
        Assert.All(weights, w => Assert.True(float.IsFinite(w)));
        Assert.Equal(1f / (1f + MathF.Exp(-1f)), weights[1], 5);
    }

    [Fact]
    public void Forward_InvalidArguments_ThrowNamingTheArgument()
    {
        var ex = Assert.Throws<ArgumentException>(() => Softmax.Forward(new float[3], new float[2]));
        Assert.Contains("weights", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => Softmax.Forward(new float[3], 4, new float[3]));
        Assert.Throws<ArgumentException>(() => Softmax.Forward(new float[3], new bool[2], new float[3]));
    }

    [Property(MaxTest = 300)]
    public Property Forward_AnyFiniteLogits_WeightsInUnitIntervalSummingToOne()
    {
        Gen<float[]> logits = Properties.Arrays(Properties.FiniteFloats(1e30f), 1, 300);
        return Prop.ForAll(logits.ToArbitrary(), scores =>
        {
            var weights = new float[scores.Length];
            Softmax.Forward(scores, weights);
            double sum = 0;
            foreach (float w in weights)
            {
                if (!(w >= 0f && w <= 1f))
                {
                    return false;
                }
                sum += w;
            }
            // Each weight is rounded once after the division: the sum is off by at most ~n ulps of 1.
            return Math.Abs(sum - 1.0) <= 4 * scores.Length * 1.2e-7;
        });
    }

    [Property(MaxTest = 200)]
    public Property Forward_ShiftedLogits_GiveTheSameWeights()
    {
        Gen<(float[] Scores, float Shift)> cases =
            from scores in Properties.Arrays(Gen.Choose(-50_000, 50_000).Select(i => i / 1000f), 1, 100)
            from shift in Gen.Choose(-100_000, 100_000).Select(i => i / 1000f)
            select (scores, shift);
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var shifted = new float[c.Scores.Length];
            for (int j = 0; j < shifted.Length; j++)
            {
                shifted[j] = c.Scores[j] + c.Shift;
            }
            var a = new float[shifted.Length];
            var b = new float[shifted.Length];
            Softmax.Forward(c.Scores, a);
            Softmax.Forward(shifted, b);
            // Adding the shift rounds each logit by up to half an ulp of |s + shift| <= 150, about 8e-6;
            // a logit error e changes a weight by a relative e, so 1e-4 relative plus a tiny floor is ample.
            for (int j = 0; j < a.Length; j++)
            {
                if (!(Math.Abs(a[j] - b[j]) <= 1e-4 * Math.Max(a[j], b[j]) + 1e-30))
                {
                    return false;
                }
            }
            return true;
        });
    }

    [Property(MaxTest = 300)]
    public Property Forward_AnyMask_MaskedPositionsExactlyZero()
    {
        Gen<(float[] Scores, bool[] Valid)> cases =
            from scores in Properties.Arrays(Properties.FiniteFloats(1e30f), 0, 100)
            from valid in Gen.ArrayOf(ArbMap.Default.GeneratorFor<bool>(), scores.Length)
            select (scores, valid);
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var weights = new float[c.Scores.Length];
            Softmax.Forward(c.Scores, c.Valid, weights);
            double sum = 0;
            bool anyValid = false;
            for (int j = 0; j < weights.Length; j++)
            {
                if (!c.Valid[j] && weights[j] != 0f)
                {
                    return false;
                }
                anyValid |= c.Valid[j];
                sum += weights[j];
            }
            return anyValid ? Math.Abs(sum - 1.0) <= 4 * weights.Length * 1.2e-7 : sum == 0.0;
        });
    }

    [Property(MaxTest = 100)]
    public Property Backward_MatchesCentralFiniteDifferences()
    {
        // Loss L = Σ_j g_j · softmax(s)_j for a random g; dL/ds from Backward vs (L(s+h) - L(s-h)) / 2h in double.
        Gen<(float[] Scores, int Seed)> cases =
            from scores in Properties.Arrays(Gen.Choose(-3000, 3000).Select(i => i / 1000f), 1, 70)
            from seed in Gen.Choose(0, int.MaxValue - 1)
            select (scores, seed);
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            int n = c.Scores.Length;
            float[] g = Numerics.Random(n, c.Seed);
            var weights = new float[n];
            Softmax.Forward(c.Scores, weights);
            var dScores = new float[n];
            Softmax.Backward(weights, g, dScores);
            for (int j = 0; j < n; j++)
            {
                double numeric = (SoftmaxLossDouble(c.Scores, g, j, +1e-4) - SoftmaxLossDouble(c.Scores, g, j, -1e-4)) / 2e-4;
                // Oracle in double, central difference error O(h²) ~ 1e-8; float forward weights add ~1e-6.
                if (Math.Abs(numeric - dScores[j]) > 1e-5 + 1e-3 * Math.Abs(numeric))
                {
                    return false;
                }
            }
            return true;
        });
    }

    [Fact]
    public void Backward_AccumulatesIntoExistingGradient()
    {
        float[] scores = Numerics.Random(37, seed: 5);
        float[] g = Numerics.Random(37, seed: 6);
        var weights = new float[37];
        Softmax.Forward(scores, weights);
        var once = new float[37];
        Softmax.Backward(weights, g, once);
        var twice = (float[])once.Clone();
        Softmax.Backward(weights, g, twice);
        for (int j = 0; j < 37; j++)
        {
            Assert.Equal(2 * once[j], twice[j], 6);
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Backward_AnySize_MatchesNaiveTwin(int n)
    {
        float[] scores = Numerics.Random(n, seed: 3000 + n, scale: 3f);
        CanaryBuffer g = Canary.From(Numerics.Random(n, seed: 4000 + n));
        CanaryBuffer weights = Canary.Zeros(n);
        Softmax.Forward(scores, weights);
        float[] expected = Numerics.Random(n, seed: 5000 + n);
        CanaryBuffer actual = Canary.From(expected);
        Naive.SoftmaxBackward(weights, g, expected);
        Softmax.Backward(weights, g, actual);
        Numerics.AssertClose(expected, actual, rtol: 1e-4f, atol: 1e-6f, $"n={n}");
        Canary.AssertIntact($"n={n}", ("weights", weights), ("dWeights", g), ("dScores", actual));
    }

    [Fact]
    public void Rows_WithLengths_MatchRowByRow()
    {
        const int rows = 5, cols = 23;
        float[] scores = Numerics.Random(rows * cols, seed: 9, scale: 4f);
        int[] lengths = [23, 0, 1, 17, 22];
        CanaryBuffer actual = Canary.Filled(rows * cols, float.NaN);
        Softmax.ForwardRows(scores, rows, cols, lengths, actual);
        actual.AssertIntact("weights");
        for (int r = 0; r < rows; r++)
        {
            var expected = new float[cols];
            var valid = new bool[cols];
            for (int j = 0; j < lengths[r]; j++)
            {
                valid[j] = true;
            }
            Naive.Softmax(scores.AsSpan(r * cols, cols), valid, expected);
            Numerics.AssertClose(expected, actual.Span.Slice(r * cols, cols), 2e-5f, 1e-7f, $"row {r}");
        }
    }

    private static double SoftmaxLossDouble(float[] scores, float[] g, int perturbed, double h)
    {
        int n = scores.Length;
        double max = double.NegativeInfinity;
        var s = new double[n];
        for (int j = 0; j < n; j++)
        {
            s[j] = scores[j] + (j == perturbed ? h : 0);
            max = Math.Max(max, s[j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++)
        {
            sum += Math.Exp(s[j] - max);
        }
        double loss = 0;
        for (int j = 0; j < n; j++)
        {
            loss += g[j] * Math.Exp(s[j] - max) / sum;
        }
        return loss;
    }
}
