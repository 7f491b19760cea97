using SpanAttention.Parameters;
using SpanAttention.Tests.Support;
using SpanAttention.Training;
using Xunit;

namespace SpanAttention.Tests.Training;

public class OptimizerTests
{
    private static Adam.Coefficients AdamCoefficients(float weightDecay) =>
        new(0.9f, 0.1f, 0.999f, 0.001f, 0.01f, 0.3f, 1e-8f, weightDecay);

    private delegate int AdamPath(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v);

    private delegate int SgdPath(Span<float> p, ReadOnlySpan<float> g, Span<float> b);

    /// <summary>
    /// Every SIMD path (called directly, so each runs whatever the host supports) equals the scalar loop bit for
    /// bit, with p, g, m and v on canary slices (a block loop that runs one block too far writes past them).
    /// </summary>
    [Fact]
    public void AdamUpdate_EveryVectorPath_EqualsScalarBitForBit()
    {
        foreach (float wd in new[] { 0f, 0.1f })
        {
            Adam.Coefficients c = AdamCoefficients(wd);
            for (int n = 0; n <= 70; n++)
            {
                float[] g = Numerics.Random(n, 10 + n);
                float[] p0 = Numerics.Random(n, 20 + n), m0 = Numerics.Random(n, 30 + n, 0.1f), v0 = Numerics.Random(n, 40 + n, 0.01f);
                for (int i = 0; i < n; i++)
                {
                    v0[i] = MathF.Abs(v0[i]);
                }
                (float[] p, float[] m, float[] v) Run(AdamPath vectorPath, string name)
                {
                    CanaryBuffer p = Canary.From(p0), gg = Canary.From(g), m = Canary.From(m0), v = Canary.From(v0);
                    int done = vectorPath(p, gg, m, v);
                    Adam.UpdateScalar(p, gg, m, v, c, done);
                    Canary.AssertIntact($"{name} n={n}", ("p", p), ("g", gg), ("m", m), ("v", v));
                    return (p.ToArray(), m.ToArray(), v.ToArray());
                }
                var scalar = Run((_, _, _, _) => 0, "scalar");
                foreach (var vector in new[]
                {
                    Run((p, gg, m, v) => Adam.UpdateVector256(p, gg, m, v, c), "256-bit"),
                    Run((p, gg, m, v) => Adam.UpdateVector512(p, gg, m, v, c), "512-bit"),
                    Run((p, gg, m, v) => { Adam.Update(p, gg, m, v, c); return n; }, "Update"),
                })
                {
                    Numerics.AssertEqual(scalar.p, vector.p, $"p, n={n}");
                    Numerics.AssertEqual(scalar.m, vector.m, $"m, n={n}");
                    Numerics.AssertEqual(scalar.v, vector.v, $"v, n={n}");
                }
            }
        }
    }

    [Fact]
    public void SgdUpdate_EveryVectorPath_EqualsScalarBitForBit()
    {
        foreach (var c in new Sgd.Coefficients[]
        {
            new(0.1f, 0f, 1f, 0f, false, true),
            new(0.1f, 0.9f, 1f, 0f, false, true),
            new(0.1f, 0.9f, 0.7f, 0.01f, false, false),
            new(0.1f, 0.9f, 1f, 0.01f, true, false),
        })
        {
            for (int n = 0; n <= 70; n++)
            {
                float[] g = Numerics.Random(n, 10 + n), p0 = Numerics.Random(n, 20 + n), b0 = Numerics.Random(n, 30 + n);
                (float[] p, float[] b) Run(SgdPath vectorPath, string name)
                {
                    CanaryBuffer p = Canary.From(p0), gg = Canary.From(g), b = Canary.From(b0);
                    int done = vectorPath(p, gg, b);
                    Sgd.UpdateScalar(p, gg, b, c, done);
                    Canary.AssertIntact($"{name} n={n} {c}", ("p", p), ("g", gg), ("b", b));
                    return (p.ToArray(), b.ToArray());
                }
                var scalar = Run((_, _, _) => 0, "scalar");
                foreach (var vector in new[]
                {
                    Run((p, gg, b) => Sgd.UpdateVector256(p, gg, b, c), "256-bit"),
                    Run((p, gg, b) => Sgd.UpdateVector512(p, gg, b, c), "512-bit"),
                    Run((p, gg, b) => { Sgd.Update(p, gg, b, c); return n; }, "Update"),
                })
                {
                    Numerics.AssertEqual(scalar.p, vector.p, $"p, n={n}, {c}");
                    Numerics.AssertEqual(scalar.b, vector.b, $"b, n={n}, {c}");
                }
            }
        }
    }

    [Fact]
    public void Adam_FirstStep_MovesEveryParameterByLearningRateAgainstTheGradientSign()
    {
        // At t = 1, m̂ = g and v̂ = g², so the step is lr·g/(|g| + eps) ≈ lr·sign(g): a classic sanity check.
        float[] p = new float[37];
        float[] g = Numerics.Random(37, 5);
        var adam = new Adam(37, learningRate: 0.01f);
        adam.Step(p, g);
        for (int i = 0; i < p.Length; i++)
        {
            Assert.Equal(-0.01f * MathF.Sign(g[i]), p[i], 1e-6f);
        }
        Assert.Equal(1, adam.StepCount);
    }

    [Fact]
    public void Step_WrongLengths_ThrowArgumentException()
    {
        var adam = new Adam(4);
        Assert.Throws<ArgumentException>(() => adam.Step(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => adam.Step(new float[4], new float[5]));
        var sgd = new Sgd(4, 0.1f, momentum: 0.9f);
        Assert.Throws<ArgumentException>(() => sgd.Step(new float[4], new float[3]));
        Assert.Throws<ArgumentException>(() => new Sgd(4, 0.1f, momentum: 0f, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(4, beta1: 1f));
    }

    [Fact]
    public void ClipByGlobalNorm_BelowTheLimit_LeavesGradientsUnchanged()
    {
        float[] g = [3f, 4f];
        Assert.Equal(5f, GradientClipping.ClipByGlobalNorm(g, 10f));
        Assert.Equal([3f, 4f], g);
        Assert.Equal(5f, GradientClipping.ClipByGlobalNorm(g, 2.5f));
        Numerics.AssertClose([1.5f, 2f], g, 1e-6f, 0f);
        Assert.Equal(0f, GradientClipping.ClipByGlobalNorm([], 1f));
    }

    [Fact]
    public void ClipByGlobalNorm_NonFiniteGradient_ThrowsOrReportsWithoutTouchingGradients()
    {
        float[] g = Numerics.Random(10_000, 6);
        g[9_000] = float.NaN;
        float[] copy = (float[])g.Clone();
        Assert.Contains("NaN", Assert.Throws<NonFiniteGradientException>(() => GradientClipping.ClipByGlobalNorm(g, 1f)).Message, StringComparison.Ordinal);
        Assert.True(float.IsNaN(GradientClipping.ClipByGlobalNorm(g, 1f, throwIfNonFinite: false)));
        g[9_000] = float.PositiveInfinity;
        Assert.Equal(float.PositiveInfinity, GradientClipping.ClipByGlobalNorm(g, 1f, throwIfNonFinite: false));
        g[9_000] = float.NaN;
        Assert.Equal(copy.Select(BitConverter.SingleToInt32Bits), g.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void GlobalNorm_LargeBufferAndHugeValues_MatchesDoublePrecisionWithoutOverflow()
    {
        float[] g = Numerics.Random(100_003, 7);
        double exact = Math.Sqrt(g.Sum(x => (double)x * x));
        Assert.Equal(exact, GradientClipping.GlobalNorm(g), exact * 1e-6);
        float[] huge = [3e30f, 4e30f, 0f];
        Assert.Equal(5e30f, GradientClipping.GlobalNorm(huge), 5e30f * 1e-6f);
    }

    [Fact]
    public void Step_AfterWarmUp_AllocatesZeroBytes()
    {
        var layout = new ParameterLayout();
        layout.Add("w", 257, 33);
        layout.Add("b", 257);
        var set = new ParameterSet(layout);
        Numerics.Random(layout.Count, 8).CopyTo(set.Gradients, 0);
        var adam = new Adam(layout.Count);
        var sgd = new Sgd(layout.Count, 0.01f, momentum: 0.9f, nesterov: true);
        void Run()
        {
            GradientClipping.ClipByGlobalNorm(set.Gradients, 1e6f);
            adam.Step(set.Values, set.Gradients);
            sgd.Step(set.Values, set.Gradients);
        }
        Run();
        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            Run();
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
