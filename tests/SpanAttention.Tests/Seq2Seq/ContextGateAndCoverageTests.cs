using SpanAttention.Attention;
using SpanAttention.Inference;
using SpanAttention.IO;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Support;
using Xunit;
using static SpanAttention.Tests.Seq2Seq.Seq2SeqTestData;

namespace SpanAttention.Tests.Seq2Seq;

/// <summary>
/// The two Show, Attend and Tell options of the decoder: the context gate (β = σ(f_β(h_{t-1}))) and the doubly stochastic
/// attention penalty. Their gradients are checked against PyTorch (Seq2SeqPyTorchTests) and finite differences
/// (Seq2SeqGradientTests); the prepared decoding path against the plain one (PreparedInferenceTests). Here: the
/// configuration, the model file, the penalty's value and its split over half batches, and zero allocation.
/// </summary>
public sealed class ContextGateAndCoverageTests
{
    private static Seq2SeqConfig Both() => Small() with { Cell = RecurrentKind.Lstm, ContextGate = true, AttentionRegularization = 0.75f };

    [Fact]
    public void Config_JsonRoundTrip_KeepsBothAndWritesNeitherWhenOff()
    {
        Seq2SeqConfig config = Both();
        string json = config.ToJson();
        Assert.Equal(config, Seq2SeqConfig.FromJson(json));
        Assert.Contains("\"ContextGate\":true", json);
        Assert.Contains("\"AttentionRegularization\":0.75", json);
        string plain = Small().ToJson();
        Assert.DoesNotContain("ContextGate", plain);
        Assert.DoesNotContain("AttentionRegularization", plain);
        Assert.Equal(Small(), Seq2SeqConfig.FromJson(plain));
        Assert.Contains(" gate attention-reg=0.75", config.Describe());
    }

    [Theory]
    [InlineData(DecoderStyle.Luong, true, 0f, "ContextGate applies to the Bahdanau decoder only")]
    [InlineData(DecoderStyle.None, true, 0f, "ContextGate applies to the Bahdanau decoder only")]
    [InlineData(DecoderStyle.None, false, 0.5f, "AttentionRegularization needs an attention decoder")]
    [InlineData(DecoderStyle.Bahdanau, false, -0.5f, "AttentionRegularization must be a finite λ ≥ 0, got -0.5")]
    [InlineData(DecoderStyle.Luong, false, float.NaN, "AttentionRegularization must be a finite λ ≥ 0, got NaN")]
    [InlineData(DecoderStyle.Luong, false, float.PositiveInfinity, "AttentionRegularization must be a finite λ ≥ 0, got Infinity")]
    public void Validate_BadCombination_NamesTheSetting(DecoderStyle style, bool gate, float lambda, string message)
    {
        Seq2SeqConfig config = Small(style) with { ContextGate = gate, AttentionRegularization = lambda };
        ArgumentException e = Assert.Throws<ArgumentException>(config.Validate);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void ModelFile_GateAndPenalty_LayoutIsExpectedTensorsAndRoundTrips()
    {
        Seq2SeqConfig config = Both();
        var model = new Seq2SeqModel(config, 4, 8, 10, seed: 2);
        Assert.Equal(Seq2SeqModelFile.ExpectedTensors(config).Select(t => (t.Name, string.Join(",", t.Shape))),
            model.Layout.Slots.Select(s => (s.Name, string.Join(",", s.Shape))));
        Assert.Equal(["decoder.f_beta.weight", "decoder.f_beta.bias"], model.Layout.Slots.Select(s => s.Name).Where(n => n.Contains("f_beta")));
        string path = Path.Combine(Path.GetTempPath(), $"s2s-gate-{Guid.NewGuid():N}.safetensors");
        try
        {
            Seq2SeqModelFile.Save(path, model, "{\"tokens\":[\"a\"]}", "{\"tokens\":[\"b\"]}");
            Seq2SeqModel loaded = Seq2SeqModelFile.Load(path, 4, 8, 10).Model;
            Assert.Equal(config, loaded.Config);
            Assert.Equal(model.Parameters.Values, loaded.Parameters.Values);
            int[][] sources = [[3, 4, 5], [6, 7, 8, 9]];
            Hypothesis[] a = Decoding.Greedy(model, sources, 6), b = Decoding.Greedy(loaded, sources, 6);
            for (int i = 0; i < sources.Length; i++)
            {
                Assert.Equal(a[i].Tokens, b[i].Tokens);
                Assert.Equal(a[i].Alignment, b[i].Alignment);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(DecoderStyle.Bahdanau)]
    [InlineData(DecoderStyle.Luong)]
    public void Forward_Penalty_IsLambdaTimesSquaredCoverageGapOverTokens(DecoderStyle style)
    {
        const float lambda = 1.5f;
        Seq2SeqConfig off = Small(style);
        var model = new Seq2SeqModel(off, 8, 8, 8, seed: 4);
        Seq2SeqBatch batch = Batches(off, 40, 5).First(b => b.BatchSize >= 3 && b.SourceLengths.Distinct().Count() > 1);
        float ce = model.Forward(batch);
        int bsz = batch.BatchSize, s = batch.SourceLength, count = model.LastTokenCount;
        // the penalty from the alignments the forward left, summed here directly
        double sum = 0;
        for (int b = 0; b < bsz; b++)
        {
            for (int l = 0; l < batch.SourceLengths[b]; l++)
            {
                double coverage = 0;
                for (int t = 0; t < batch.TargetLengths[b]; t++)
                {
                    coverage += model.StepWeights(t, bsz)[b * s + l];
                }
                sum += (1 - coverage) * (1 - coverage);
            }
        }
        Assert.True(sum > 1e-3, "the check needs alignments whose columns do not already sum to one");
        var on = new Seq2SeqModel(off with { AttentionRegularization = lambda }, 8, 8, 8, seed: 4);
        Assert.Equal(model.Parameters.Values, on.Parameters.Values);
        float total = on.Forward(batch);
        Assert.Equal(ce + lambda * sum / count, total, 5);
    }

    [Fact]
    public void Backward_HalfBatches_CombineToTheWholeBatchGradient()
    {
        // the penalty is divided by the counted tokens as the cross-entropy is: (n1 g1 + n2 g2) / n is the whole gradient,
        // which is how the two-thread trainer combines its halves
        Seq2SeqConfig config = Both() with { Bidirectional = false, Scorer = AttentionScorer.General };
        var model = new Seq2SeqModel(config, 8, 8, 8, seed: 6);
        Seq2SeqBatch batch = Batches(config, 40, 7).First(b => b.BatchSize >= 4);
        model.Parameters.ZeroGradients();
        float whole = model.Forward(batch);
        model.Backward();
        float[] expected = (float[])model.Parameters.Gradients.Clone();

        int b1 = batch.BatchSize / 2;
        Seq2SeqBatch first = batch.Rows(0, b1), second = batch.Rows(b1, batch.BatchSize - b1);
        model.Parameters.ZeroGradients();
        float loss1 = model.Forward(first);
        model.Backward();
        int n1 = model.LastTokenCount;
        float[] g1 = (float[])model.Parameters.Gradients.Clone();
        model.Parameters.ZeroGradients();
        float loss2 = model.Forward(second);
        model.Backward();
        int n2 = model.LastTokenCount;
        float[] g2 = model.Parameters.Gradients;
        int n = n1 + n2;
        Assert.Equal(whole, (loss1 * n1 + loss2 * n2) / n, 5);
        var combined = new float[expected.Length];
        for (int i = 0; i < combined.Length; i++)
        {
            combined[i] = (g1[i] * n1 + g2[i] * n2) / n;
        }
        Numerics.AssertClose(expected, combined, 1e-4f, 1e-6f, "combined half-batch gradients");
    }

    [Fact]
    public void TrainStep_GateAndPenalty_AllocatesNothing()
    {
        Seq2SeqConfig config = Both();
        var model = new Seq2SeqModel(config, 8, 8, 8, seed: 1);
        Seq2SeqBatch batch = Batches(config, 16, 3)[0];
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            model.Parameters.ZeroGradients();
            model.Forward(batch);
            model.Backward();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (round == 2)
            {
                Assert.Equal(0, allocated);
            }
        }
    }
}
