using SpanAttention.Attention;
using SpanAttention.Inference;
using SpanAttention.IO;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Support;
using SpanAttention.Training;
using Xunit;

namespace SpanAttention.Tests.Seq2Seq;

public sealed class Seq2SeqModelTests
{
    private static Seq2SeqConfig Small(DecoderStyle style = DecoderStyle.Bahdanau) => new()
    {
        SourceVocabSize = 12,
        TargetVocabSize = 12,
        EmbeddingSize = 8,
        HiddenSize = 16,
        AttentionSize = 8,
        Decoder = style,
        Bidirectional = true,
        Scorer = AttentionScorer.Additive,
    };

    private static List<Seq2SeqBatch> Batches(Seq2SeqConfig config, int count, ulong seed)
    {
        var (src, tgt) = Seq2SeqTestData.Reverse(count, 2, 7, 9, 3, seed);
        return Seq2SeqBatch.Bucketed(src, tgt, 8, config.PaddingId, config.BosId, config.EosId);
    }

    [Fact]
    public void Layout_BidirectionalLuong_HasPyTorchNamesInStateDictOrder()
    {
        var model = new Seq2SeqModel(Small(DecoderStyle.Luong), 2, 4, 4);
        string[] names = [.. model.Layout.Slots.Select(s => s.Name)];
        Assert.Equal(
        [
            "encoder.embedding.weight",
            "encoder.rnn.weight_ih_l0", "encoder.rnn.weight_hh_l0", "encoder.rnn.bias_ih_l0", "encoder.rnn.bias_hh_l0",
            "encoder.rnn.weight_ih_l0_reverse", "encoder.rnn.weight_hh_l0_reverse", "encoder.rnn.bias_ih_l0_reverse", "encoder.rnn.bias_hh_l0_reverse",
            "bridge.weight", "bridge.bias", "decoder.embedding.weight",
            "decoder.attention.W_q.weight", "decoder.attention.W_k.weight", "decoder.attention.W_k.bias", "decoder.attention.v.weight",
            "decoder.cell.weight_ih", "decoder.cell.weight_hh", "decoder.cell.bias_ih", "decoder.cell.bias_hh",
            "decoder.combine.weight", "decoder.out.weight", "decoder.out.bias",
        ], names);
        Assert.Equal([16, 8 + 16], model.Layout["decoder.cell.weight_ih"].Shape.Skip(1).Prepend(model.Layout["decoder.cell.weight_ih"].Shape[0] / 3));
    }

    [Fact]
    public void Forward_PaddingTargets_NotCountedInLossOrAccuracy()
    {
        Seq2SeqConfig config = Small();
        var model = new Seq2SeqModel(config, 3, 5, 5, seed: 1);
        Seq2SeqBatch batch = Seq2SeqTestData.TinyBatch(config with { }, 5);
        float loss = model.Forward(batch);
        Assert.Equal(batch.TargetLengths.Sum(), model.LastTokenCount);
        Assert.InRange(model.CountCorrect(), 0, model.LastTokenCount);
        // padding a batch further (longer T, same rows) changes nothing
        int t2 = batch.TargetLength + 1;
        int[] Pad(int[] a)
        {
            var r = new int[batch.BatchSize * t2];
            for (int b = 0; b < batch.BatchSize; b++)
            {
                Array.Copy(a, b * batch.TargetLength, r, b * t2, batch.TargetLength);
            }
            return r;
        }
        var longer = new Seq2SeqBatch(batch.BatchSize, batch.SourceLength, t2, batch.SourceIds, batch.SourceLengths,
            Pad(batch.TargetInput), Pad(batch.TargetOutput), batch.TargetLengths);
        Assert.Equal(loss, model.Forward(longer), 5);
    }

    [Fact]
    public void Config_JsonRoundTrip_Equal()
    {
        Seq2SeqConfig config = Small(DecoderStyle.Luong) with { Cell = RecurrentKind.Lstm, EncoderLayers = 2 };
        Assert.Equal(config, Seq2SeqConfig.FromJson(config.ToJson()));
        Assert.Throws<FormatException>(() => Seq2SeqConfig.FromJson("{\"SourceVocabSize\": 3}"));
        Assert.Throws<ArgumentException>(() => (config with { Scorer = AttentionScorer.Dot, Decoder = DecoderStyle.Bahdanau }).Validate());
    }

    [Fact]
    public void SaveLoad_RoundTrip_SameParametersVocabAndDecoding()
    {
        Seq2SeqConfig config = Small();
        var model = new Seq2SeqModel(config, 4, 8, 10, seed: 2);
        string path = Path.Combine(Path.GetTempPath(), $"s2s-{Guid.NewGuid():N}.safetensors");
        try
        {
            Seq2SeqModelFile.Save(path, model, "{\"tokens\":[\"a\"]}", "{\"tokens\":[\"b\"]}");
            Seq2SeqModelFileContents loaded = Seq2SeqModelFile.Load(path, 4, 8, 10);
            Assert.Equal(config, loaded.Model.Config);
            Assert.Equal(model.Parameters.Values, loaded.Model.Parameters.Values);
            Assert.Equal("{\"tokens\":[\"a\"]}", loaded.SourceVocabJson);
            Assert.Equal("{\"tokens\":[\"b\"]}", loaded.TargetVocabJson);
            int[][] sources = [[3, 4, 5], [6, 7]];
            Hypothesis[] a = Decoding.Greedy(model, sources, 6);
            Hypothesis[] b = Decoding.Greedy(loaded.Model, sources, 6);
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

    [Fact]
    public void Load_WrongShapesOrNoConfig_ThrowsModelFileException()
    {
        Seq2SeqConfig config = Small();
        var model = new Seq2SeqModel(config, 2, 4, 4);
        string path = Path.Combine(Path.GetTempPath(), $"s2s-{Guid.NewGuid():N}.safetensors");
        try
        {
            // config says H = 16 but tensors are those of H = 12
            var other = new Seq2SeqModel(config with { HiddenSize = 12 }, 2, 4, 4);
            ModelFile.Save(path, other.Layout, other.Parameters.Values, new Dictionary<string, string> { [Seq2SeqModelFile.ConfigKey] = config.ToJson() });
            var e = Assert.Throws<ModelFileException>(() => Seq2SeqModelFile.Load(path));
            Assert.Contains("encoder", e.Message, StringComparison.Ordinal);
            ModelFile.Save(path, model.Layout, model.Parameters.Values);
            Assert.Throws<ModelFileException>(() => Seq2SeqModelFile.Load(path));
            ModelFile.Save(path, model.Layout, model.Parameters.Values, new Dictionary<string, string> { [Seq2SeqModelFile.ConfigKey] = "{not json" });
            Assert.Throws<ModelFileException>(() => Seq2SeqModelFile.Load(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Checkpoint_ResumedRun_LossSequenceIdentical()
    {
        Seq2SeqConfig config = Small();
        List<Seq2SeqBatch> batches = Batches(config, 48, 9);
        var options = new Seq2SeqTrainerOptions { LearningRate = 5e-3f, TeacherForcingRatio = 0.7f, Seed = 21, Schedule = new StepDecaySchedule(5e-3f, 1, 0.5f) };
        var (straight, _, resumed) = CheckpointResume.Run(config, batches, options, 1, 2,
            afterLoad: (_, saved, loaded) => Assert.Equal(saved.Step, loaded.Step),
            afterResume: (path, saved, loaded) =>
            {
                // a plain model file is not a checkpoint
                Seq2SeqModelFile.Save(path, saved.Model);
                Assert.Throws<ModelFileException>(() => loaded.LoadCheckpoint(path));
            });
        Assert.Equal(straight.Model.Parameters.Values, resumed.Model.Parameters.Values);
    }

    [Fact]
    public void TrainStep_NonFiniteParameters_ThrowsNamingTheStep()
    {
        Seq2SeqConfig config = Small();
        var trainer = new Seq2SeqTrainer(new Seq2SeqModel(config, 8, 8, 9), new Seq2SeqTrainerOptions());
        List<Seq2SeqBatch> batches = Batches(config, 8, 3);
        trainer.TrainStep(batches[0]);
        trainer.Model.Parameters.Values[trainer.Model.Layout["decoder.out.bias"].Offset] = float.NaN;
        var e = Assert.Throws<NonFiniteGradientException>(() => trainer.TrainStep(batches[0]));
        Assert.Contains("step 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TrainStep_SteadyState_AllocatesNothing()
    {
        foreach (DecoderStyle style in new[] { DecoderStyle.Bahdanau, DecoderStyle.Luong, DecoderStyle.None })
        {
            Seq2SeqConfig config = Small(style) with { Cell = style == DecoderStyle.Luong ? RecurrentKind.Lstm : RecurrentKind.Gru };
            var trainer = new Seq2SeqTrainer(new Seq2SeqModel(config, 8, 8, 9), new Seq2SeqTrainerOptions { TeacherForcingRatio = 0.5f });
            List<Seq2SeqBatch> batches = Batches(config, 16, 3);
            int step = 0; // cycles through the batches, whose shapes differ: warm up on each of them
            Assert.Equal(0, Allocations.AfterWarmUp(() => trainer.TrainStep(batches[step++ % batches.Count]), warmUpCalls: 3));
        }
    }

    [Fact]
    public void DecoderStep_SteadyState_AllocatesNothing()
    {
        var model = new Seq2SeqModel(Small(DecoderStyle.Luong), 4, 8, 10);
        int[] ids = [3, 4, 5, 0, 6, 7, 8, 9];
        int[] lengths = [3, 4];
        int[] fed = [1, 1];
        for (int round = 0; round < 2; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            model.Encode(ids, lengths, 2, 4);
            for (int t = 0; t < 10; t++)
            {
                model.DecoderStep(t, 2, fed);
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (round == 1)
            {
                Assert.Equal(0, allocated);
            }
        }
    }

    [Fact]
    public void Beam_WidthOne_EqualsGreedy_AndNBestSorted()
    {
        Seq2SeqConfig config = Small();
        var model = new Seq2SeqModel(config, 8, 8, 12, seed: 4);
        var trainer = new Seq2SeqTrainer(model, new Seq2SeqTrainerOptions { LearningRate = 1e-2f });
        trainer.Train(Batches(config, 64, 1), 3);
        int[] source = [3, 5, 7, 4];
        Hypothesis greedy = Decoding.Greedy(model, [source], 12)[0];
        Hypothesis beam1 = Decoding.Beam(model, source, 1, 12, lengthPenalty: 0f)[0];
        Assert.Equal(greedy.Tokens, beam1.Tokens);
        Assert.Equal(greedy.Score, beam1.Score, 4);
        Assert.Equal(greedy.Alignment, beam1.Alignment);
        Hypothesis[] nBest = Decoding.Beam(model, source, 5, 12, lengthPenalty: 1f, nBest: 4);
        Assert.Equal(4, nBest.Length);
        for (int i = 1; i < nBest.Length; i++)
        {
            Assert.True(nBest[i - 1].NormalizedScore >= nBest[i].NormalizedScore);
        }
        foreach (Hypothesis h in nBest)
        {
            Assert.Equal(h.Tokens.Length * source.Length, h.Alignment.Length);
            for (int t = 0; t < h.Tokens.Length; t++)
            {
                Assert.Equal(1f, h.Alignment.AsSpan(t * source.Length, source.Length).ToArray().Sum(), 4);
            }
            Assert.DoesNotContain(config.EosId, h.Tokens);
        }
        Assert.True(nBest[0].Score >= greedy.Score - 1e-4f || nBest[0].NormalizedScore >= greedy.Score / (greedy.Tokens.Length + 1) - 1e-4f);
    }

    [Fact]
    public void Greedy_MaxLength_RespectedWithoutHiddenCap()
    {
        var model = new Seq2SeqModel(Small(DecoderStyle.None), 2, 4, 4, seed: 1);
        Hypothesis[] h = Decoding.Greedy(model, [[3, 4], [5]], 300);
        Assert.All(h, x => Assert.True(x.Tokens.Length <= 300 && (x.Finished || x.Tokens.Length == 300)));
        Assert.Empty(h[0].Alignment);
        Assert.True(model.MaxTarget >= 300);
    }

    [Fact]
    public void Translator_ManyThreads_IdenticalToSingleThreaded()
    {
        Seq2SeqConfig config = Small(DecoderStyle.Luong);
        var model = new Seq2SeqModel(config, 4, 8, 12, seed: 8);
        var (sources, _) = Seq2SeqTestData.Reverse(24, 2, 7, 9, 3, 17);
        var translator = new Translator(model);
        Assert.NotNull(translator.Weights);
        Hypothesis[] expectedGreedy = [.. sources.Select(s => Decoding.Greedy(model, [s], 10, translator.Weights)[0])];
        Hypothesis[][] expectedBeam = [.. sources.Select(s => Decoding.Beam(model, s, 3, 10, weights: translator.Weights))];
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 4 * sources.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            int k = i % sources.Count;
            Hypothesis g = translator.Greedy([sources[k]], 10)[0];
            Hypothesis[] b = translator.Beam(sources[k], 3, 10);
            if (!g.Tokens.SequenceEqual(expectedGreedy[k].Tokens) || !g.Alignment.SequenceEqual(expectedGreedy[k].Alignment)
                || b.Length != expectedBeam[k].Length || !b.Zip(expectedBeam[k]).All(p => p.First.Tokens.SequenceEqual(p.Second.Tokens) && p.First.Score == p.Second.Score))
            {
                failures.Add($"source {k}");
            }
        });
        Assert.Empty(failures);
    }
}

public sealed class Seq2SeqTwoThreadTests
{
    [Fact]
    public void TrainTwoThreads_SameSeed_DeterministicAndCloseToOneThread()
    {
        var config = new Seq2SeqConfig { SourceVocabSize = 12, TargetVocabSize = 12, EmbeddingSize = 8, HiddenSize = 16, AttentionSize = 8 };
        var (src, tgt) = Seq2SeqTestData.Reverse(64, 2, 7, 9, 3, 5);
        var batches = Seq2SeqBatch.Bucketed(src, tgt, 16, config.PaddingId, config.BosId, config.EosId);
        List<float> Run(int threads)
        {
            var losses = new List<float>();
            var trainer = new Seq2SeqTrainer(new Seq2SeqModel(config, 16, 8, 9, seed: 2), new Seq2SeqTrainerOptions { Threads = threads, TeacherForcingRatio = 0.8f, Seed = 3 });
            trainer.Train(batches, 2, onStep: s => losses.Add(s.Loss));
            return losses;
        }
        List<float> a = Run(2), b = Run(2), one = Run(1);
        Assert.Equal(a, b);
        // the first step starts from identical parameters: same loss up to float summation order
        Assert.Equal(one[0], a[0], 4);
        for (int i = 0; i < a.Count; i++)
        {
            Assert.True(Math.Abs(a[i] - one[i]) <= 2e-2 * Math.Abs(one[i]), $"step {i}: {a[i]} vs {one[i]}");
        }
    }

    [Fact]
    public void TrainTwoThreads_SecondHalfRunsOnOneDedicatedThread()
    {
        // Not the thread pool: a pool thread injected mid-training would allocate its kernel packing buffers in a
        // steady-state step. Every step's second half runs on the same thread, which is neither the caller nor a pool thread.
        var config = new Seq2SeqConfig { SourceVocabSize = 12, TargetVocabSize = 12, EmbeddingSize = 8, HiddenSize = 16, AttentionSize = 8 };
        var (src, tgt) = Seq2SeqTestData.Reverse(64, 2, 7, 9, 3, 5);
        var batches = Seq2SeqBatch.Bucketed(src, tgt, 16, config.PaddingId, config.BosId, config.EosId);
        var trainer = new Seq2SeqTrainer(new Seq2SeqModel(config, 16, 8, 9, seed: 2), new Seq2SeqTrainerOptions { Threads = 2, Seed = 3 });
        var ids = new HashSet<int>();
        trainer.Train(batches, 3, onStep: _ => ids.Add(trainer.SecondThreadId));
        int id = Assert.Single(ids);
        Assert.NotEqual(Environment.CurrentManagedThreadId, id);
        Assert.False(trainer.SecondThreadIsPoolThread);
    }
}
