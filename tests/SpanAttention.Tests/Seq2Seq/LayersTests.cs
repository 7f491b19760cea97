using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SpanAttention.Parameters;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Seq2Seq;

public class LayersTests
{
    private static float[] Floats(JsonElement e) => e.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();

    /// <summary>
    /// Embedding → Linear → cross-entropy (ignore_index) against torch 1.13 (tools/pytorch/layers_reference.py):
    /// forward values, loss and every gradient, within 1e-5 relative + 1e-6 absolute (float32 on both sides,
    /// sums of 5-7 terms in different orders).
    /// </summary>
    [Fact]
    public void EmbeddingLinearCrossEntropy_ForwardAndBackward_MatchPyTorch()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "seq2seq", "layers_reference.json")));
        JsonElement r = doc.RootElement;
        int vocabulary = r.GetProperty("vocabulary").GetInt32(), dim = r.GetProperty("embedding").GetInt32();
        int ignore = r.GetProperty("ignore_index").GetInt32();
        int[] ids = r.GetProperty("ids").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        int[] targets = r.GetProperty("targets").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        int rows = ids.Length;

        var layout = new ParameterLayout();
        var embedding = new Embedding(layout, "decoder.embedding", vocabulary, dim, r.GetProperty("padding_id").GetInt32());
        var output = new Linear(layout, "decoder.out", dim, vocabulary);
        var set = new ParameterSet(layout);
        foreach (ParameterSlot slot in layout.Slots)
        {
            Floats(r.GetProperty(slot.Name)).CopyTo(slot.Of(set.Values.AsSpan()));
        }

        float[] x = new float[rows * dim], logits = new float[rows * vocabulary], probabilities = new float[rows * vocabulary];
        embedding.Forward(ids, set.Values, x);
        output.Forward(x, rows, set.Values, logits);
        float loss = CrossEntropy.Forward(logits, targets, vocabulary, ignore, probabilities, out int count);
        Numerics.AssertClose(Floats(r.GetProperty("x")), x, 1e-5f, 1e-6f, "x");
        Numerics.AssertClose(Floats(r.GetProperty("logits")), logits, 1e-5f, 1e-6f, "logits");
        Numerics.AssertClose([(float)r.GetProperty("loss").GetDouble()], [loss], 1e-5f, 0f, "loss");

        set.ZeroGradients();
        float[] dLogits = new float[rows * vocabulary], dX = new float[rows * dim];
        CrossEntropy.Backward(1f, probabilities, targets, vocabulary, ignore, count, dLogits);
        output.Backward(dLogits, x, rows, set.Values, set.Gradients, dX);
        embedding.Backward(dX, ids, set.Gradients);
        Numerics.AssertClose(Floats(r.GetProperty("d_logits")), dLogits, 1e-5f, 1e-6f, "dLogits");
        Numerics.AssertClose(Floats(r.GetProperty("d_x")), dX, 1e-5f, 1e-6f, "dX");
        foreach (ParameterSlot slot in layout.Slots)
        {
            Numerics.AssertClose(Floats(r.GetProperty("d_" + slot.Name)), slot.Of((ReadOnlySpan<float>)set.Gradients), 1e-5f, 1e-6f, "d " + slot.Name);
        }
    }

    [Property(MaxTest = 200)]
    public Property CrossEntropy_AnyLogits_LossNonNegativeAndGradientRowsSumToZero()
    {
        Gen<(float[] Logits, int[] Targets)> cases =
            from rows in Gen.Choose(1, 6)
            from vocabulary in Gen.Choose(1, 40)
            from logits in Gen.ArrayOf(Properties.FiniteFloats(50f), rows * vocabulary)
            from targets in Gen.ArrayOf(Gen.Choose(-1, vocabulary - 1), rows)
            select (logits, targets);
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            int rows = c.Targets.Length, vocabulary = c.Logits.Length / rows;
            float[] p = new float[c.Logits.Length], d = new float[c.Logits.Length];
            float loss = CrossEntropy.Forward(c.Logits, c.Targets, vocabulary, -1, p, out int count);
            CrossEntropy.Backward(1f, p, c.Targets, vocabulary, -1, count, d);
            bool ok = loss >= 0f && float.IsFinite(loss) && count == c.Targets.Count(t => t >= 0);
            for (int n = 0; n < rows; n++)
            {
                ok &= Math.Abs(d.AsSpan(n * vocabulary, vocabulary).ToArray().Sum()) <= 1e-5f;
            }
            return ok;
        });
    }

    [Fact]
    public void CrossEntropy_EveryRowIgnored_ReturnsZeroAndAddsNoGradient()
    {
        float[] logits = Numerics.Random(12, 1), p = new float[12], d = new float[12];
        Assert.Equal(0f, CrossEntropy.Forward(logits, [-100, -100], 6, -100, p, out int count));
        Assert.Equal(0, count);
        CrossEntropy.Backward(1f, p, [-100, -100], 6, -100, count, d);
        Assert.All(d, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void CrossEntropy_HugeLogits_StaysFinite()
    {
        float[] logits = [1000f, 1001f, -1000f, 89f, 0f, 0f], p = new float[6];
        float loss = CrossEntropy.Forward(logits, [0, 0], 3, -100, p, out _);
        Assert.True(float.IsFinite(loss));
        // Row 0: logsumexp − 1000 = 1 + log(1 + e⁻¹ + e⁻²⁰⁰¹) ≈ 1.3133; row 1: log(1 + 2e⁻⁸⁹) ≈ 0.
        Assert.Equal((1f + MathF.Log(1f + MathF.Exp(-1f))) / 2f, loss, 1e-5f);
    }

    [Fact]
    public void CountCorrect_IgnoresPaddingRows()
    {
        float[] logits = [0f, 1f, 0f, /**/ 2f, 0f, 0f, /**/ 0f, 0f, 3f];
        Assert.Equal(1, CrossEntropy.CountCorrect(logits, [1, 1, 0], 3, ignoreIndex: 0)); // row 0 right, row 1 wrong, row 2 ignored
    }

    [Fact]
    public void Forward_IdOrTargetOutOfRange_ThrowsNamingIt()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Forward([1, 7], new float[14], 7, 2, new float[4]));
        Assert.Contains("position 1", e.Message, StringComparison.Ordinal);
        var t = Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropy.Forward(new float[6], [0, 3], 3, -100, new float[6], out _));
        Assert.Contains("row 1", t.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Linear.Forward(new float[5], 2, 3, 2, new float[6], new float[2], new float[4]));
    }

    [Fact]
    public void Modules_RegisterPyTorchNamesAndInitialiseLikePyTorch()
    {
        var layout = new ParameterLayout();
        var embedding = new Embedding(layout, "decoder.embedding", 11, 4, paddingId: 2);
        var linear = new Linear(layout, "decoder.out", 4, 11);
        var noBias = new Linear(layout, "bridge", 4, 3, bias: false);
        Assert.Equal(["decoder.embedding.weight", "decoder.out.weight", "decoder.out.bias", "bridge.weight"], layout.Slots.Select(s => s.Name));
        Assert.Equal([11, 4], layout["decoder.out.weight"].Shape);
        Assert.Null(noBias.Bias);
        var set = new ParameterSet(layout);
        var random = new Random(3);
        embedding.Initialize(set, random);
        linear.Initialize(set, random);
        Span<float> e = embedding.Weight.Of(set.Values.AsSpan());
        Assert.All(e.Slice(2 * 4, 4).ToArray(), v => Assert.Equal(0f, v));
        Assert.Contains(e.ToArray(), v => Math.Abs(v) > 1f); // N(0, 1), not a narrow uniform
        Assert.All(linear.Weight.Of(set.Values.AsSpan()).ToArray(), v => Assert.InRange(v, -0.5f, 0.5f));
    }

    [Fact]
    public void ForwardBackward_AfterWarmUp_AllocateZeroBytes()
    {
        const int rows = 37, dim = 33, vocabulary = 101;
        var layout = new ParameterLayout();
        var embedding = new Embedding(layout, "e", vocabulary, dim, 0);
        var linear = new Linear(layout, "o", dim, vocabulary);
        var set = new ParameterSet(layout);
        embedding.Initialize(set, new Random(1));
        linear.Initialize(set, new Random(2));
        int[] ids = Enumerable.Range(0, rows).Select(i => i * 7 % vocabulary).ToArray();
        float[] x = new float[rows * dim], logits = new float[rows * vocabulary], p = new float[rows * vocabulary];
        float[] dLogits = new float[rows * vocabulary], dX = new float[rows * dim];
        void Run()
        {
            embedding.Forward(ids, set.Values, x);
            linear.Forward(x, rows, set.Values, logits);
            CrossEntropy.Forward(logits, ids, vocabulary, 0, p, out int count);
            CrossEntropy.Backward(1f, p, ids, vocabulary, 0, count, dLogits);
            linear.Backward(dLogits, x, rows, set.Values, set.Gradients, dX);
            embedding.Backward(dX, ids, set.Gradients);
        }
        Run();
        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
        {
            Run();
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
