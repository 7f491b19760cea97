using System.Text.Json;
using SpanAttention.Parameters;
using SpanAttention.Tests.Support;
using SpanAttention.Training;
using Xunit;

namespace SpanAttention.Tests.Training;

/// <summary>
/// Adam, SGD, clipping and schedules against torch 1.13 (tools/pytorch/optimizer_reference.py). Tolerance:
/// 1e-6 relative plus 1e-7 absolute per element after every step: both sides compute in float32 with the
/// same operation order (PyTorch's AVX2 kernels fuse a·x + y like our FusedMultiplyAdd), so the remaining
/// differences are last-bit rounding of the scalar coefficients.
/// </summary>
public class OptimizerReferenceTests
{
    private const float Rtol = 1e-6f;
    private const float Atol = 1e-7f;

    private static readonly Lazy<JsonDocument> Reference = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "training", "optimizer_reference.json"))));

    private static JsonElement Root => Reference.Value.RootElement;

    private static float[] Floats(JsonElement array) => array.EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();

    private static ParameterLayout Layout()
    {
        var layout = new ParameterLayout();
        int k = 0;
        foreach (JsonElement shape in Root.GetProperty("shapes").EnumerateArray())
        {
            layout.Add($"p{k++}", shape.EnumerateArray().Select(d => d.GetInt32()).ToArray());
        }
        return layout;
    }

    private static float Option(JsonElement options, string name, float fallback) =>
        options.TryGetProperty(name, out JsonElement v) ? (float)v.GetDouble() : fallback;

    public static TheoryData<string> Configurations()
    {
        var data = new TheoryData<string>();
        foreach (JsonProperty p in Root.GetProperty("optimizers").EnumerateObject())
        {
            data.Add(p.Name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Step_FiveStepsLikeTorchOptim_MatchesPyTorch(string configuration) => RunAndCompare(configuration, null);

    /// <summary>Teeth: the same comparison with one option changed (bias-correction-sized effects included) must fail.</summary>
    [Theory]
    [InlineData("adam_lr_wd", "weight_decay", 0f)]
    [InlineData("adam_default", "beta2", 0.99f)]
    [InlineData("sgd_momentum_dampening_wd", "dampening", 0f)]
    [InlineData("sgd_nesterov", "nesterov", 0f)]
    public void Step_WithOneOptionWrong_FailsTheComparison(string configuration, string option, float value) =>
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => RunAndCompare(configuration, (option, value)));

    private static void RunAndCompare(string configuration, (string Name, float Value)? wrong)
    {
        float Option(JsonElement options, string name, float fallback) =>
            wrong is { } w && w.Name == name ? w.Value : OptimizerReferenceTests.Option(options, name, fallback);
        bool nesterov(JsonElement options) =>
            wrong is { Name: "nesterov" } ? false : options.TryGetProperty("nesterov", out JsonElement n) && n.GetBoolean();
        ParameterLayout layout = Layout();
        var set = new ParameterSet(layout);
        Floats(Root.GetProperty("params0")).CopyTo(set.Values, 0);
        JsonElement config = Root.GetProperty("optimizers").GetProperty(configuration);
        JsonElement options = config.GetProperty("options");
        Action<float[], float[]> step;
        if (options.GetProperty("kind").GetString() == "adam")
        {
            var adam = new Adam(layout.Count, Option(options, "lr", 1e-3f), Option(options, "beta1", 0.9f), Option(options, "beta2", 0.999f),
                Option(options, "eps", 1e-8f), Option(options, "weight_decay", 0f));
            step = (p, g) => adam.Step(p, g);
        }
        else
        {
            var sgd = new Sgd(layout.Count, Option(options, "lr", float.NaN), Option(options, "momentum", 0f), Option(options, "dampening", 0f),
                Option(options, "weight_decay", 0f), nesterov(options));
            step = (p, g) => sgd.Step(p, g);
        }
        float[][] grads = Root.GetProperty("grads").EnumerateArray().Select(Floats).ToArray();
        float[][] expected = config.GetProperty("params").EnumerateArray().Select(Floats).ToArray();
        for (int t = 0; t < expected.Length; t++)
        {
            grads[t].CopyTo(set.Gradients, 0);
            step(set.Values, set.Gradients);
            Numerics.AssertClose(expected[t], set.Values, Rtol, Atol, $"{configuration} after step {t + 1}");
            Numerics.AssertEqual(grads[t], set.Gradients, "gradients are read only");
        }
    }

    [Fact]
    public void ClipByGlobalNorm_LikeClipGradNorm_MatchesPyTorch()
    {
        foreach (JsonElement c in Root.GetProperty("clip").EnumerateArray())
        {
            float maxNorm = (float)c.GetProperty("max_norm").GetDouble();
            float[] grads = Floats(c.GetProperty("grads"));
            float norm = GradientClipping.ClipByGlobalNorm(grads, maxNorm);
            Numerics.AssertClose([(float)c.GetProperty("norm").GetDouble()], [norm], Rtol, 0f, $"norm, max_norm {maxNorm}");
            Numerics.AssertClose(Floats(c.GetProperty("clipped")), grads, Rtol, Atol, $"clipped, max_norm {maxNorm}");
        }
    }

    [Fact]
    public void Schedules_LikeStepLRAndExponentialLR_MatchPyTorch()
    {
        JsonElement s = Root.GetProperty("schedules");
        ILearningRateSchedule step = new StepDecaySchedule(0.1f, 2, 0.5f);
        ILearningRateSchedule exponential = new ExponentialDecaySchedule(0.1f, 0.9f);
        float[] expectedStep = Floats(s.GetProperty("step_2_0.5"));
        float[] expectedExponential = Floats(s.GetProperty("exponential_0.9"));
        Numerics.AssertClose(expectedStep, Enumerable.Range(0, 10).Select(step.At).ToArray(), Rtol, 0f, "StepLR");
        Numerics.AssertClose(expectedExponential, Enumerable.Range(0, 10).Select(exponential.At).ToArray(), Rtol, 0f, "ExponentialLR");
        Assert.Equal(0.1f, new ConstantSchedule(0.1f).At(7));
    }
}
