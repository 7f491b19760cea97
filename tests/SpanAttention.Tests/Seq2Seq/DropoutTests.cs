using SpanAttention.Attention;
using SpanAttention.IO;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Support;
using SpanAttention.Training;
using Xunit;

namespace SpanAttention.Tests.Seq2Seq;

/// <summary>Dropout on the embeddings and the decoder output: masks, gradients, train/eval, threads, configuration.</summary>
public sealed class DropoutTests
{
    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.3f)]
    [InlineData(0.5f)]
    public void FillMask_LargeTensor_KeptFractionNearOneMinusPAndScaleInverse(float p)
    {
        var mask = new float[1_000_003]; // odd size
        Dropout.FillMask(Dropout.Key(7, 3, Dropout.DecoderOutput), 0, p, mask);
        float scale = 1f / (1f - p);
        int kept = 0;
        foreach (float m in mask)
        {
            Assert.True(m == 0f || m == scale, $"mask value {m}");
            kept += m != 0f ? 1 : 0;
        }
        // binomial standard deviation sqrt(p(1-p)/n) ≤ 5e-4: 4e-3 is 8 sigma
        Assert.InRange((double)kept / mask.Length, 1 - p - 4e-3, 1 - p + 4e-3);
    }

    [Fact]
    public void FillMask_SameCounter_SameValuesAndOtherKeysDiffer()
    {
        ulong key = Dropout.Key(1, 2, Dropout.SourceEmbedding);
        var whole = new float[100];
        var tail = new float[60];
        Dropout.FillMask(key, 0, 0.5f, whole);
        Dropout.FillMask(key, 40, 0.5f, tail);
        Assert.Equal(whole.AsSpan(40).ToArray(), tail);
        var otherStep = new float[100];
        var otherTensor = new float[100];
        Dropout.FillMask(Dropout.Key(1, 3, Dropout.SourceEmbedding), 0, 0.5f, otherStep);
        Dropout.FillMask(Dropout.Key(1, 2, Dropout.TargetEmbedding), 0, 0.5f, otherTensor);
        Assert.NotEqual(whole, otherStep);
        Assert.NotEqual(whole, otherTensor);
    }

    public static TheoryData<string> Configs() => new("bahdanau-gru-additive", "luong-gru-general", "none-gru", "luong-lstm-bi-additive");

    /// <summary>The whole model with p = 0.3 in training mode against central differences; the masks are fixed by (seed, step).</summary>
    [Theory]
    [MemberData(nameof(Configs))]
    public void Backward_DropoutOn_MatchesFiniteDifferences(string name)
    {
        Seq2SeqConfig config = Seq2SeqGradientTests.ByName(name) with { Dropout = 0.3f };
        var model = new Seq2SeqModel(config, 3, 5, 5, seed: 11) { Training = true, DropoutSeed = 5, DropoutStep = 1 };
        Seq2SeqBatch batch = Seq2SeqTestData.TinyBatch(config, 5);
        string? failure = Seq2SeqGradientTests.Check(model, batch);
        Assert.True(failure is null, failure);
    }

    /// <summary>Teeth: a backward that ignores the masks must fail the same check.</summary>
    [Theory]
    [InlineData("bahdanau-gru-additive")]
    [InlineData("luong-gru-general")]
    public void Backward_MasksIgnoredInBackward_CheckFails(string name)
    {
        Seq2SeqConfig config = Seq2SeqGradientTests.ByName(name) with { Dropout = 0.3f };
        var model = new Seq2SeqModel(config, 3, 5, 5, seed: 11) { Training = true, DropoutSeed = 5, DropoutStep = 1, Faults = new Seq2SeqFaults { SkipDropoutBackward = true } };
        Seq2SeqBatch batch = Seq2SeqTestData.TinyBatch(config, 5);
        Assert.NotNull(Seq2SeqGradientTests.Check(model, batch));
    }

    [Theory]
    [InlineData(DecoderStyle.Bahdanau)]
    [InlineData(DecoderStyle.Luong)]
    [InlineData(DecoderStyle.None)]
    public void Forward_ZeroDropoutTraining_BitwiseSameAsEval(DecoderStyle style)
    {
        Seq2SeqConfig config = Seq2SeqGradientTests.Tiny(style);
        Seq2SeqBatch batch = Seq2SeqTestData.TinyBatch(config, 5);
        (float Loss, float[] Gradients) Run(bool training)
        {
            var model = new Seq2SeqModel(config, 3, 5, 5, seed: 11) { Training = training, DropoutSeed = 9, DropoutStep = 4 };
            model.Parameters.ZeroGradients();
            float loss = model.Forward(batch);
            model.Backward();
            return (loss, model.Parameters.Gradients);
        }
        var (evalLoss, evalGrads) = Run(false);
        var (trainLoss, trainGrads) = Run(true);
        Assert.Equal(evalLoss, trainLoss);
        Assert.Equal(evalGrads, trainGrads);
    }

    [Theory]
    [InlineData(DecoderStyle.Bahdanau)]
    [InlineData(DecoderStyle.Luong)]
    [InlineData(DecoderStyle.None)]
    public void Forward_DropoutEvalMode_EqualsZeroDropout_TrainingModeDiffers(DecoderStyle style)
    {
        Seq2SeqConfig config = Seq2SeqGradientTests.Tiny(style);
        Seq2SeqBatch batch = Seq2SeqTestData.TinyBatch(config, 5);
        (float Loss, float[] Gradients) Run(float p, bool training)
        {
            var model = new Seq2SeqModel(config with { Dropout = p }, 3, 5, 5, seed: 11) { Training = training, DropoutSeed = 9, DropoutStep = 4 };
            model.Parameters.ZeroGradients();
            float loss = model.Forward(batch);
            model.Backward();
            return (loss, model.Parameters.Gradients);
        }
        var (plainLoss, plainGrads) = Run(0f, false);
        var (evalLoss, evalGrads) = Run(0.4f, false);
        Assert.Equal(plainLoss, evalLoss);
        Assert.Equal(plainGrads, evalGrads);
        Assert.NotEqual(plainLoss, Run(0.4f, true).Loss);
    }

    [Fact]
    public void Decoding_TrainingModeWithDropout_NeverDrops()
    {
        Seq2SeqConfig config = Seq2SeqGradientTests.Tiny(DecoderStyle.Luong);
        var model = new Seq2SeqModel(config with { Dropout = 0.5f }, 3, 5, 5, seed: 11) { Training = true };
        var plain = new Seq2SeqModel(config, 3, 5, 5, seed: 11);
        int[] ids = [3, 4, 5, 6];
        int[] lengths = [4];
        int[] fed = [config.BosId];
        model.Encode(ids, lengths, 1, 4);
        plain.Encode(ids, lengths, 1, 4);
        for (int t = 0; t < 4; t++)
        {
            model.DecoderStep(t, 1, fed);
            plain.DecoderStep(t, 1, fed);
            Assert.Equal(plain.StepLogits(t, 1).ToArray(), model.StepLogits(t, 1).ToArray());
        }
    }

    /// <summary>
    /// A batch split in two with <see cref="Seq2SeqModel.DropoutRowOffset"/> draws the whole batch's masks: the
    /// token-weighted mean of the halves' losses equals the whole batch's loss (up to summation order); with the
    /// offset left at 0 the second half draws other masks and the loss moves.
    /// </summary>
    [Theory]
    [InlineData(DecoderStyle.Bahdanau)]
    [InlineData(DecoderStyle.Luong)]
    public void Forward_SplitBatchWithRowOffset_SameMasksAsWholeBatch(DecoderStyle style)
    {
        Seq2SeqConfig config = new()
        {
            SourceVocabSize = 12, TargetVocabSize = 12, EmbeddingSize = 8, HiddenSize = 16, AttentionSize = 8, Decoder = style, Dropout = 0.5f,
        };
        var (src, tgt) = Seq2SeqTestData.Reverse(8, 4, 4, 9, 3, 5);
        Seq2SeqBatch whole = Seq2SeqBatch.Bucketed(src, tgt, 8, config.PaddingId, config.BosId, config.EosId)[0];
        Assert.Equal(8, whole.BatchSize);
        Seq2SeqBatch first = Seq2SeqBatch.Bucketed(src[..4], tgt[..4], 4, config.PaddingId, config.BosId, config.EosId)[0];
        Seq2SeqBatch second = Seq2SeqBatch.Bucketed(src[4..], tgt[4..], 4, config.PaddingId, config.BosId, config.EosId)[0];
        var model = new Seq2SeqModel(config, 8, 8, 9, seed: 2) { Training = true, DropoutSeed = 3, DropoutStep = 7 };
        float all = model.Forward(whole);
        float l1 = model.Forward(first);
        int n1 = model.LastTokenCount;
        model.DropoutRowOffset = 4;
        float l2 = model.Forward(second);
        int n2 = model.LastTokenCount;
        Assert.Equal(all, (l1 * n1 + l2 * n2) / (n1 + n2), 5);
        model.DropoutRowOffset = 0;
        float wrong = model.Forward(second);
        Assert.NotEqual(all, (l1 * n1 + wrong * n2) / (n1 + n2), 5);
    }

    [Fact]
    public void Train_DropoutOneVsTwoThreads_SameMasksDeterministic()
    {
        var config = new Seq2SeqConfig { SourceVocabSize = 12, TargetVocabSize = 12, EmbeddingSize = 8, HiddenSize = 16, AttentionSize = 8, Dropout = 0.3f };
        var (src, tgt) = Seq2SeqTestData.Reverse(64, 2, 7, 9, 3, 5);
        var batches = Seq2SeqBatch.Bucketed(src, tgt, 16, config.PaddingId, config.BosId, config.EosId);
        List<float> Run(int threads, Seq2SeqConfig c)
        {
            var losses = new List<float>();
            var trainer = new Seq2SeqTrainer(new Seq2SeqModel(c, 16, 8, 9, seed: 2), new Seq2SeqTrainerOptions { Threads = threads, TeacherForcingRatio = 0.8f, Seed = 3 });
            trainer.Train(batches, 2, onStep: s => losses.Add(s.Loss));
            Assert.False(trainer.Model.Training); // back in eval mode after the steps
            return losses;
        }
        List<float> a = Run(2, config), b = Run(2, config), one = Run(1, config), plain = Run(1, config with { Dropout = 0f });
        Assert.Equal(a, b);
        // the first step starts from identical parameters: with the same masks the loss agrees up to summation order
        Assert.Equal(one[0], a[0], 5);
        Assert.NotEqual(plain[0], one[0], 3);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.True(Math.Abs(a[i] - one[i]) <= 2e-2 * Math.Abs(one[i]), $"step {i}: {a[i]} vs {one[i]}");
        }
    }

    [Fact]
    public void Checkpoint_DropoutResumedRun_LossSequenceIdentical()
    {
        var config = new Seq2SeqConfig { SourceVocabSize = 12, TargetVocabSize = 12, EmbeddingSize = 8, HiddenSize = 16, AttentionSize = 8, Dropout = 0.2f };
        var (src, tgt) = Seq2SeqTestData.Reverse(48, 2, 7, 9, 3, 9);
        var batches = Seq2SeqBatch.Bucketed(src, tgt, 8, config.PaddingId, config.BosId, config.EosId);
        var options = new Seq2SeqTrainerOptions { LearningRate = 5e-3f, Seed = 21 };
        CheckpointResume.Run(config, batches, options, 1, 1,
            afterResume: (path, _, _) => Assert.Equal(0.2f, Seq2SeqModelFile.Load(path, 8, 8, 9).Model.Config.Dropout));
    }

    [Fact]
    public void TrainStep_DropoutSteadyState_AllocatesNothing()
    {
        foreach (DecoderStyle style in new[] { DecoderStyle.Bahdanau, DecoderStyle.Luong, DecoderStyle.None })
        {
            var config = new Seq2SeqConfig
            {
                SourceVocabSize = 12, TargetVocabSize = 12, EmbeddingSize = 8, HiddenSize = 16, AttentionSize = 8, Decoder = style, Dropout = 0.3f,
                Cell = style == DecoderStyle.Luong ? RecurrentKind.Lstm : RecurrentKind.Gru, Bidirectional = true,
            };
            var (src, tgt) = Seq2SeqTestData.Reverse(16, 2, 7, 9, 3, 3);
            var batches = Seq2SeqBatch.Bucketed(src, tgt, 8, config.PaddingId, config.BosId, config.EosId);
            var trainer = new Seq2SeqTrainer(new Seq2SeqModel(config, 8, 8, 9), new Seq2SeqTrainerOptions { TeacherForcingRatio = 0.5f });
            int step = 0; // cycles through the batches, whose shapes differ: warm up on each of them
            Assert.Equal(0, Allocations.AfterWarmUp(() => trainer.TrainStep(batches[step++ % batches.Count]), warmUpCalls: 3));
        }
    }

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(1f)]
    [InlineData(1.5f)]
    [InlineData(float.NaN)]
    public void Validate_DropoutOutsideZeroOne_ThrowsNamingDropout(float p)
    {
        var config = new Seq2SeqConfig { SourceVocabSize = 12, TargetVocabSize = 12, Dropout = p };
        var e = Assert.Throws<ArgumentException>(config.Validate);
        Assert.Contains("Dropout must be in [0, 1)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_DropoutRoundTripsAndOldFilesWithoutItLoadAsZero()
    {
        var config = new Seq2SeqConfig { SourceVocabSize = 12, TargetVocabSize = 12, Dropout = 0.25f, Scorer = AttentionScorer.General };
        Assert.Equal(config, Seq2SeqConfig.FromJson(config.ToJson()));
        string old = config.ToJson().Replace("\"Dropout\":0.25,", "", StringComparison.Ordinal);
        Assert.DoesNotContain("Dropout", old, StringComparison.Ordinal);
        Assert.Equal(config with { Dropout = 0f }, Seq2SeqConfig.FromJson(old));
        Assert.Throws<FormatException>(() => Seq2SeqConfig.FromJson(config.ToJson().Replace("0.25", "1.5", StringComparison.Ordinal)));
    }
}
