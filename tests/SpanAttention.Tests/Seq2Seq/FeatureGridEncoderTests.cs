using SpanAttention.Attention;
using SpanAttention.Inference;
using SpanAttention.IO;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Support;
using SpanAttention.Training;
using Xunit;
using Xunit.Abstractions;

namespace SpanAttention.Tests.Seq2Seq;

/// <summary>
/// A source that is not token ids behind the encoder seam: a grid of feature vectors (<see cref="FeatureGridEncoder"/>)
/// as the memory, read by the unchanged recurrent attention decoders. Gradients against finite differences (parameters
/// and the features themselves), padding, decoding, learning, allocations, configuration.
/// </summary>
public sealed class FeatureGridEncoderTests(ITestOutputHelper output)
{
    /// <summary>A tiny feature-grid model: F = 5 features per position, H = 4, A = 5.</summary>
    internal static Seq2SeqConfig Tiny(DecoderStyle style, AttentionScorer scorer = AttentionScorer.Additive, RecurrentKind cell = RecurrentKind.Gru, int features = 5) =>
        Seq2SeqGradientTests.Tiny(style, cell, scorer) with { Encoder = EncoderKind.Features, FeatureSize = features, SourceVocabSize = 0 };

    public static TheoryData<string> Configs() => new("bahdanau-additive", "luong-general", "luong-dot", "bahdanau-lstm-general", "none-gru", "luong-dot-projected");

    private static Seq2SeqConfig ByName(string name) => name switch
    {
        "bahdanau-additive" => Tiny(DecoderStyle.Bahdanau),
        "luong-general" => Tiny(DecoderStyle.Luong, AttentionScorer.General),
        "luong-dot" => Tiny(DecoderStyle.Luong, AttentionScorer.Dot, features: 4),               // F = H = 4: keys as wide as the query
        "bahdanau-lstm-general" => Tiny(DecoderStyle.Bahdanau, AttentionScorer.General, RecurrentKind.Lstm),
        "none-gru" => Tiny(DecoderStyle.None),
        "luong-dot-projected" => Tiny(DecoderStyle.Luong, AttentionScorer.Dot),                  // F = 5 keys, H = 4 query: key projection
        _ => throw new ArgumentException(name),
    };

    /// <summary>Random grids of 4, 2 and 3 positions (values in [-1, 1]) with short random targets.</summary>
    internal static Seq2SeqBatch TinyBatch(Seq2SeqConfig config, ulong seed)
    {
        var rng = new SplitMix64(seed);
        int[] positions = [4, 2, 3];
        int[] targetLengths = [2, 3, 1];
        var grids = new List<float[]>();
        var targets = new List<int[]>();
        for (int b = 0; b < positions.Length; b++)
        {
            var grid = new float[positions[b] * config.FeatureSize];
            for (int j = 0; j < grid.Length; j++)
            {
                grid[j] = 2f * (float)rng.NextDouble() - 1f;
            }
            var y = new int[targetLengths[b]];
            for (int j = 0; j < y.Length; j++)
            {
                y[j] = 3 + rng.Next(config.TargetVocabSize - 3);
            }
            grids.Add(grid);
            targets.Add(y);
        }
        return Seq2SeqBatch.FromFeatureGrids(grids, config.FeatureSize, targets, config.PaddingId, config.BosId, config.EosId);
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void Backward_FeatureGrid_MatchesFiniteDifferences(string name)
    {
        Seq2SeqConfig config = ByName(name);
        var model = new Seq2SeqModel(config, 3, 4, 4, seed: 11);
        string? failure = Seq2SeqGradientTests.Check(model, TinyBatch(config, 5));
        Assert.True(failure is null, failure);
    }

    [Theory]
    [InlineData("bahdanau-additive")]
    [InlineData("luong-general")]
    [InlineData("none-gru")]
    public void Backward_FeatureGrid_FeatureGradientMatchesFiniteDifferences(string name)
    {
        // d(loss)/d(features), through attention (keys and values) and through the mean that gives h_0; the padded
        // positions do not reach the loss: both their quotient and their gradient are 0.
        Seq2SeqConfig config = ByName(name);
        var model = new Seq2SeqModel(config, 3, 4, 4, seed: 7);
        Seq2SeqBatch batch = TinyBatch(config, 9);
        model.Parameters.ZeroGradients();
        model.Forward(batch);
        model.Backward();
        float[] analytic = model.MemoryStateGradients.ToArray();
        float[] features = batch.SourceFeatures;
        Assert.Equal(features.Length, analytic.Length);
        const double h = 1e-2;
        for (int i = 0; i < features.Length; i++)
        {
            float saved = features[i];
            features[i] = (float)(saved + h);
            double plus = model.Forward(batch);
            features[i] = (float)(saved - h);
            double minus = model.Forward(batch);
            features[i] = saved;
            double numerical = (plus - minus) / (2 * h);
            Assert.True(Math.Abs(numerical - analytic[i]) <= 2e-3 + 2e-2 * Math.Abs(numerical), $"features[{i}]: analytic {analytic[i]:R}, numerical {numerical:R}");
        }
        int f = config.FeatureSize, s = batch.SourceLength;
        for (int b = 0; b < batch.BatchSize; b++)
        {
            Assert.All(analytic.AsSpan((b * s + batch.SourceLengths[b]) * f, (s - batch.SourceLengths[b]) * f).ToArray(), g => Assert.Equal(0f, g));
        }
        Assert.Contains(analytic, g => Math.Abs(g) > 1e-3f);
    }

    [Fact]
    public void Layout_FeatureGrid_HasOnlyTheBridgeOnTheEncoderSide()
    {
        Seq2SeqConfig config = Tiny(DecoderStyle.Bahdanau);
        var model = new Seq2SeqModel(config, 3, 4, 4);
        string[] names = [.. model.Layout.Slots.Select(s => s.Name)];
        Assert.Equal(["bridge.weight", "bridge.bias", "decoder.embedding.weight"], names.Take(3));
        Assert.Equal([4, 5], model.Layout["bridge.weight"].Shape);                                  // (H, F)
        Assert.DoesNotContain(names, n => n.StartsWith("encoder.", StringComparison.Ordinal));
        Assert.Equal(Seq2SeqModelFile.ExpectedTensors(config).Select(t => (t.Name, string.Join(",", t.Shape))),
            model.Layout.Slots.Select(s => (s.Name, string.Join(",", s.Shape))));
    }

    [Fact]
    public void Encode_PaddedGrid_SameMemoryAndInitialStateAsAlone()
    {
        Seq2SeqConfig config = Tiny(DecoderStyle.Bahdanau);
        var model = new Seq2SeqModel(config, 3, 4, 4, seed: 3);
        Seq2SeqBatch batch = TinyBatch(config, 2);
        int f = config.FeatureSize, h = config.HiddenSize, s = batch.SourceLength;
        Array.Fill(batch.SourceFeatures, 9f, (1 * s + 2) * f, 2 * f);                                // junk in row 1's padding: ignored
        model.Encode(batch.Source);
        float[] states = model.MemoryStates.ToArray(), h0 = model.MemoryInitialState.ToArray();
        for (int b = 0; b < 3; b++)
        {
            int n = batch.SourceLengths[b];
            float[] alone = batch.SourceFeatures.AsSpan(b * s * f, n * f).ToArray();
            model.Encode(SourceInput.FromFeatures(alone, f, [n], 1, n));
            Assert.Equal(alone, model.MemoryStates.ToArray());                                           // the memory is the grid itself
            Assert.Equal(alone, states.AsSpan(b * s * f, n * f).ToArray());
            Numerics.AssertClose(model.MemoryInitialState.ToArray(), h0.AsSpan(b * h, h), 1e-6f, 1e-7f, $"h_0 of row {b}");
            Assert.All(states.AsSpan((b * s + n) * f, (s - n) * f).ToArray(), v => Assert.Equal(0f, v));
        }
    }

    [Fact]
    public void Encode_WrongSourceKind_ThrowsNamingWhatTheEncoderReads()
    {
        var grids = new Seq2SeqModel(Tiny(DecoderStyle.Bahdanau), 2, 4, 4);
        var e = Assert.Throws<ArgumentException>(() => grids.Encode([3, 4], [2], 1, 2));
        Assert.StartsWith("This model's encoder reads a feature grid (F = 5), not token ids.", e.Message, StringComparison.Ordinal);
        var tokens = new Seq2SeqModel(Seq2SeqGradientTests.Tiny(DecoderStyle.Bahdanau), 2, 4, 4);
        e = Assert.Throws<ArgumentException>(() => tokens.Encode(SourceInput.FromFeatures(new float[10], 5, [2], 1, 2)));
        Assert.StartsWith("This model's Recurrent encoder reads token ids, not a feature grid.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => grids.Encode(SourceInput.FromFeatures(new float[8], 4, [2], 1, 2)));
        Assert.StartsWith("The feature grid has F = 4 features per position; this model's encoder reads F = 5.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Decoding.GreedyFeatures(tokens, [new float[5]], 3));
        Assert.StartsWith("This model's Recurrent encoder reads token ids, not feature grids.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Decoding.GreedyFeatures(grids, [new float[7]], 3));
        Assert.StartsWith("grids[0] has 7 values, not a positive multiple of F = 5.", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(DecoderStyle.Bahdanau, AttentionScorer.Additive)]
    [InlineData(DecoderStyle.Luong, AttentionScorer.General)]
    [InlineData(DecoderStyle.None, AttentionScorer.Additive)]
    public void GreedyAndBeam_FeatureGrid_PreparedSameAsPlain(DecoderStyle style, AttentionScorer scorer)
    {
        Seq2SeqConfig config = Tiny(style, scorer) with { TargetVocabSize = 13, HiddenSize = 6, FeatureSize = 7 };
        var model = new Seq2SeqModel(config, 4, 9, 10, seed: 11);
        var rng = new SplitMix64(4);
        float[] Grid(int positions) => [.. Enumerable.Range(0, positions * 7).Select(_ => 3f * (float)rng.NextDouble() - 1.5f)];
        float[][] grids = [Grid(9), Grid(2), null!, Grid(4)];
        grids[2] = grids[1];
        InferenceWeights weights = model.PrepareInference();
        Assert.Empty(weights.EncoderHh);
        Assert.Null(weights.SourceTable);

        Hypothesis[] prepared = Decoding.GreedyFeatures(model, grids, 10, weights);
        Hypothesis[] plain = Decoding.GreedyFeatures(model, grids, 10);
        for (int i = 0; i < grids.Length; i++)
        {
            Assert.Equal(plain[i].Tokens, prepared[i].Tokens);
            Assert.Equal(plain[i].Score, prepared[i].Score, 3);
            Assert.True(plain[i].Tokens.Length > 0);
            Numerics.AssertClose(plain[i].Alignment, prepared[i].Alignment, 1e-4f, 2e-6f, $"greedy alignment of grid {i}");
            Assert.Equal(style == DecoderStyle.None ? 0 : plain[i].Tokens.Length * grids[i].Length / 7, plain[i].Alignment.Length);
        }
        Assert.Equal(plain[1].Tokens, plain[2].Tokens);

        Hypothesis[] preparedBeam = Decoding.BeamFeatures(model, grids[0], 3, 10, weights: weights);
        Hypothesis[] plainBeam = Decoding.BeamFeatures(model, grids[0], 3, 10);
        Assert.Equal(3, plainBeam.Length);
        Assert.Equal(plainBeam.Length, preparedBeam.Length);
        for (int i = 0; i < plainBeam.Length; i++)
        {
            Assert.Equal(plainBeam[i].Tokens, preparedBeam[i].Tokens);
            Assert.Equal(plainBeam[i].Score, preparedBeam[i].Score, 3);
        }
        for (int i = 1; i < plainBeam.Length; i++)
        {
            Assert.True(plainBeam[i - 1].NormalizedScore >= plainBeam[i].NormalizedScore, "best first");
        }
    }

    [Fact]
    public void TrainStep_FeatureGridSteadyState_AllocatesNothing()
    {
        foreach (int threads in new[] { 1, 2 })
        {
            Seq2SeqConfig config = Tiny(DecoderStyle.Bahdanau) with { TargetVocabSize = 13, HiddenSize = 16, FeatureSize = 18, AttentionSize = 8 };
            var trainer = new Seq2SeqTrainer(new Seq2SeqModel(config, 8, 7, 9), new Seq2SeqTrainerOptions { TeacherForcingRatio = 0.5f, Threads = threads });
            List<Seq2SeqBatch> batches = Copying(config, 16, 2, 7, seed: 3).Batches;
            int step = 0;
            Assert.Equal(0, Allocations.AfterWarmUp(() => trainer.TrainStep(batches[step++ % batches.Count]), warmUpCalls: 3));
        }
    }

    [Fact]
    public void PreparedDecode_FeatureGridSteadyState_AllocatesNothing()
    {
        Seq2SeqConfig config = Tiny(DecoderStyle.Luong, AttentionScorer.General) with { TargetVocabSize = 20, HiddenSize = 16, FeatureSize = 24 };
        var model = new Seq2SeqModel(config, 1, 12, 12, seed: 2);
        InferenceWeights weights = model.PrepareInference();
        float[] grid = [.. Enumerable.Range(0, 12 * 24).Select(i => MathF.Sin(i))];
        int[] lengths = [12];
        int[] fed = [0];
        long bytes = Allocations.AfterWarmUp(() =>
        {
            model.Encode(SourceInput.FromFeatures(grid, 24, lengths, 1, 12), weights);
            fed[0] = config.BosId;
            for (int t = 0; t < 12; t++)
            {
                model.DecoderStep(t, 1, fed, weights);
                fed[0] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(model.StepLogits(t, 1));
            }
        });
        Assert.Equal(0, bytes);
    }

    /// <summary>
    /// A reading task over grids: position j of a grid of n holds [one-hot(symbol_j, 10); one-hot(j, 8)] (F = 18); the
    /// caption is symbol_0 .. symbol_{n-1} as tokens 3..12. Only attention to the right position at each step solves it.
    /// </summary>
    private static (List<float[]> Grids, List<int[]> Targets, List<Seq2SeqBatch> Batches) Copying(Seq2SeqConfig config, int count, int minLen, int maxLen, ulong seed)
    {
        const int symbols = 10, positions = 8;
        var rng = new SplitMix64(seed);
        var grids = new List<float[]>();
        var targets = new List<int[]>();
        for (int i = 0; i < count; i++)
        {
            int n = minLen + rng.Next(maxLen - minLen + 1);
            var grid = new float[n * config.FeatureSize];
            var y = new int[n];
            for (int j = 0; j < n; j++)
            {
                int symbol = rng.Next(symbols);
                grid[j * config.FeatureSize + symbol] = 1f;
                grid[j * config.FeatureSize + symbols + j % positions] = 1f;
                y[j] = 3 + symbol;
            }
            grids.Add(grid);
            targets.Add(y);
        }
        var batches = new List<Seq2SeqBatch>();
        for (int start = 0; start < count; start += 8)
        {
            int m = Math.Min(8, count - start);
            batches.Add(Seq2SeqBatch.FromFeatureGrids(grids.GetRange(start, m), config.FeatureSize, targets.GetRange(start, m), config.PaddingId, config.BosId, config.EosId));
        }
        return (grids, targets, batches);
    }

    [Fact]
    public void Train_ReadingFeatureGrids_LossFallsAndLearns()
    {
        var config = new Seq2SeqConfig
        {
            SourceVocabSize = 0,
            TargetVocabSize = 13,
            EmbeddingSize = 16,
            HiddenSize = 32,
            AttentionSize = 32,
            Encoder = EncoderKind.Features,
            FeatureSize = 18,
        };
        List<Seq2SeqBatch> batches = Copying(config, 2400, 3, 7, seed: 1).Batches;
        var model = new Seq2SeqModel(config, 8, 7, 8, seed: 3);
        var trainer = new Seq2SeqTrainer(model, new Seq2SeqTrainerOptions { LearningRate = 3e-3f, ClipNorm = 5f, Seed = 4 });
        var losses = new List<double>();
        trainer.Train(batches, 3, e =>
        {
            losses.Add(e.MeanLoss);
            output.WriteLine($"epoch {e.Epoch} loss {e.MeanLoss:F4} acc {e.TokenAccuracy:F4}");
        });
        var (grids, targets, _) = Copying(config, 200, 3, 7, seed: 2);
        Hypothesis[] results = Decoding.GreedyFeatures(model, grids, 9);
        int exact = results.Where((r, i) => r.Tokens.SequenceEqual(targets[i])).Count();
        output.WriteLine($"held-out exact match {exact} / 200");
        Assert.True(losses[^1] < 0.2 * losses[0], $"losses {string.Join(", ", losses)}");
        Assert.True(exact >= 180, $"held-out exact match {exact} / 200");
    }

    [Fact]
    public void Validate_FeatureGridSettings_ThrowNamingTheSetting()
    {
        static string Message(Seq2SeqConfig c) => Assert.Throws<ArgumentException>(c.Validate).Message;
        Assert.Contains("a Features encoder needs FeatureSize in 1..65536, got 0", Message(Tiny(DecoderStyle.Bahdanau) with { FeatureSize = 0 }), StringComparison.Ordinal);
        Assert.Contains("SourceVocabSize must be 0, got 7", Message(Tiny(DecoderStyle.Bahdanau) with { SourceVocabSize = 7 }), StringComparison.Ordinal);
        Assert.Contains("Bidirectional applies to a recurrent encoder only", Message(Tiny(DecoderStyle.Bahdanau) with { Bidirectional = true }), StringComparison.Ordinal);
        Assert.True(Tiny(DecoderStyle.Luong, AttentionScorer.Dot).ProjectsDotKeys);                      // F = 5 keys for an H = 4 query: projected
        Assert.Contains("FeatureSize applies to a Features encoder only, got 3", Message(Seq2SeqGradientTests.Tiny(DecoderStyle.Bahdanau) with { FeatureSize = 3 }), StringComparison.Ordinal);
        (Tiny(DecoderStyle.None, AttentionScorer.Dot)).Validate();                                        // no attention: no scorer to fit
        Assert.Equal(5, Tiny(DecoderStyle.Bahdanau).EncoderOutputSize);
    }

    [Fact]
    public void ModelFile_FeatureGrid_RoundTripsParametersAndDecoding()
    {
        Seq2SeqConfig config = Tiny(DecoderStyle.Bahdanau) with { TargetVocabSize = 11 };
        var model = new Seq2SeqModel(config, 2, 6, 8, seed: 4);
        string path = Path.Combine(Path.GetTempPath(), $"spanattention-grid-{Guid.NewGuid():N}.safetensors");
        try
        {
            Seq2SeqModelFile.Save(path, model);
            Seq2SeqModelFileContents loaded = Seq2SeqModelFile.Load(path, 2, 6, 8);
            Assert.Equal(config, loaded.Model.Config);
            Assert.Equal(model.Parameters.Values, loaded.Model.Parameters.Values);
            float[] grid = [.. Enumerable.Range(0, 6 * 5).Select(i => MathF.Cos(0.7f * i))];
            Assert.Equal(Decoding.GreedyFeatures(model, [grid], 8)[0].Tokens, Decoding.GreedyFeatures(loaded.Model, [grid], 8)[0].Tokens);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Json_FeatureGridRoundTrips()
    {
        Seq2SeqConfig config = Tiny(DecoderStyle.Luong, AttentionScorer.General, RecurrentKind.Lstm);
        string json = config.ToJson();
        Assert.Contains("\"Encoder\":\"Features\",\"FeatureSize\":5", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"Heads\"", json, StringComparison.Ordinal);
        Assert.Equal(config, Seq2SeqConfig.FromJson(json));
        Assert.Throws<FormatException>(() => Seq2SeqConfig.FromJson(json.Replace("\"FeatureSize\":5", "\"FeatureSize\":0", StringComparison.Ordinal)));
    }
}
