using SpanAttention.Attention;
using SpanAttention.Inference;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Support;
using SpanAttention.Training;
using SpanAttention.Transformer;
using Xunit;
using Xunit.Abstractions;

namespace SpanAttention.Tests.Seq2Seq;

/// <summary>
/// The whole model with a Transformer encoder behind the seam (<see cref="TransformerEncoder"/>) feeding the
/// recurrent attention decoders: gradients against finite differences, padding, decoding, learning, allocations.
/// </summary>
public sealed class TransformerEncoderTests(ITestOutputHelper output)
{
    /// <summary>
    /// A tiny Transformer-encoder model: E = 4 (2 heads of 2), F = 6, GELU, H = 4, A = 5. GELU because finite differences
    /// cannot check ReLU: a perturbation that moves a pre-activation across the kink measures the wrong side (the ReLU
    /// path's backward is checked against PyTorch in TransformerEncoderLayerTests).
    /// </summary>
    internal static Seq2SeqConfig Tiny(DecoderStyle style, AttentionScorer scorer = AttentionScorer.Additive, RecurrentKind cell = RecurrentKind.Gru, int layers = 1) =>
        Seq2SeqGradientTests.Tiny(style, cell, scorer, layers: layers) with
        {
            Encoder = EncoderKind.Transformer,
            EmbeddingSize = 4,
            Heads = 2,
            FeedForwardSize = 6,
            Activation = FeedForwardActivation.Gelu,
        };

    public static TheoryData<string> Configs() => new("bahdanau-additive", "luong-general", "luong-dot", "bahdanau-lstm-general-2layers", "none-gru", "bahdanau-scaleddot-projected");

    private static Seq2SeqConfig ByName(string name) => name switch
    {
        "bahdanau-additive" => Tiny(DecoderStyle.Bahdanau),
        "luong-general" => Tiny(DecoderStyle.Luong, AttentionScorer.General),
        "luong-dot" => Tiny(DecoderStyle.Luong, AttentionScorer.Dot),                                // E = H = 4: keys as wide as the query
        "bahdanau-lstm-general-2layers" => Tiny(DecoderStyle.Bahdanau, AttentionScorer.General, RecurrentKind.Lstm, 2),
        "none-gru" => Tiny(DecoderStyle.None),
        "bahdanau-scaleddot-projected" => Tiny(DecoderStyle.Bahdanau, AttentionScorer.ScaledDot) with { HiddenSize = 6 },   // E = 4 keys, H = 6 query
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Backward_TransformerEncoder_MatchesFiniteDifferences(string name)
    {
        Seq2SeqConfig config = ByName(name);
        var model = new Seq2SeqModel(config, 3, 5, 5, seed: 11);
        Seq2SeqBatch batch = Seq2SeqTestData.TinyBatch(config, 5);
        string? failure = Seq2SeqGradientTests.Check(model, batch, curved: true);
        Assert.True(failure is null, failure);
    }

    [Theory]
    [InlineData("bahdanau-additive")]
    [InlineData("luong-general")]
    public void Backward_TransformerEncoderWithDropout_MatchesFiniteDifferences(string name)
    {
        // the input dropout mask is a hash of (seed, step, index): the same in the + and − evaluations
        Seq2SeqConfig config = ByName(name) with { Dropout = 0.3f };
        var model = new Seq2SeqModel(config, 3, 5, 5, seed: 11) { Training = true, DropoutSeed = 5, DropoutStep = 1 };
        Seq2SeqBatch batch = Seq2SeqTestData.TinyBatch(config, 5);
        string? failure = Seq2SeqGradientTests.Check(model, batch, curved: true);
        Assert.True(failure is null, failure);
    }

    [Fact]
    public void Layout_TransformerEncoder_HasPyTorchNamesInOrder()
    {
        var model = new Seq2SeqModel(Tiny(DecoderStyle.Bahdanau, layers: 2), 3, 5, 5);
        string[] names = [.. model.Layout.Slots.Select(s => s.Name)];
        string[] layer =
        [
            "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
            "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
        ];
        string[] expected =
        [
            "encoder.embedding.weight", .. layer.Select(n => "encoder.layers.0." + n), .. layer.Select(n => "encoder.layers.1." + n),
            "bridge.weight", "bridge.bias",
        ];
        Assert.Equal(expected, names.Take(expected.Length));
        Assert.Equal([4, 4], model.Layout["bridge.weight"].Shape);                                  // (H, E)
        Assert.Equal([12, 4], model.Layout["encoder.layers.1.self_attn.in_proj_weight"].Shape);     // (3E, E)
        Assert.Equal([6, 4], model.Layout["encoder.layers.0.linear1.weight"].Shape);                // (F, E)
        Assert.DoesNotContain(names, n => n.StartsWith("encoder.rnn", StringComparison.Ordinal));
    }

    [Fact]
    public void Encode_PaddedRow_SameMemoryAndInitialStateAsAlone()
    {
        // A row's encoding depends on its own tokens only: padded in a batch of S = 7 it equals the row encoded alone
        // (S = its length); its padded memory rows are exactly 0.
        Seq2SeqConfig config = Tiny(DecoderStyle.Bahdanau, layers: 2) with { SourceVocabSize = 11 };
        var model = new Seq2SeqModel(config, 3, 7, 4, seed: 3);
        int[] ids = [3, 4, 5, 6, 7, 8, 9, 5, 4, 0, 0, 0, 0, 0, 10, 9, 8, 7, 0, 0, 0];
        int[] lengths = [7, 2, 4];
        model.Encode(ids, lengths, 3, 7);
        float[] states = model.MemoryStates.ToArray(), h0 = model.MemoryInitialState.ToArray();
        int e = config.EmbeddingSize, h = config.HiddenSize;
        for (int b = 0; b < 3; b++)
        {
            int n = lengths[b];
            model.Encode(ids.AsSpan(b * 7, n), [n], 1, n);
            Numerics.AssertClose(model.MemoryStates.ToArray(), states.AsSpan(b * 7 * e, n * e), 1e-5f, 1e-6f, $"memory of row {b}");
            Numerics.AssertClose(model.MemoryInitialState.ToArray(), h0.AsSpan(b * h, h), 1e-5f, 1e-6f, $"h_0 of row {b}");
            Assert.All(states.AsSpan((b * 7 + n) * e, (7 - n) * e).ToArray(), v => Assert.Equal(0f, v));
        }
    }

    [Theory]
    [InlineData(DecoderStyle.Bahdanau, AttentionScorer.Additive)]
    [InlineData(DecoderStyle.Luong, AttentionScorer.General)]
    public void GreedyAndBeam_TransformerEncoder_PreparedSameAsPlain(DecoderStyle style, AttentionScorer scorer)
    {
        Seq2SeqConfig config = Tiny(style, scorer, layers: 2) with { SourceVocabSize = 11, TargetVocabSize = 13, EmbeddingSize = 6, HiddenSize = 5, Heads = 3 };
        var model = new Seq2SeqModel(config, 4, 9, 10, seed: 11);
        int[][] sources = [[3, 4, 5, 6, 7, 8, 9, 10, 3], [5, 4], [5, 4], [10, 9, 3, 7]];
        InferenceWeights weights = model.PrepareInference();
        Assert.Empty(weights.EncoderHh);                                                            // nothing recurrent to pack
        Assert.Null(weights.SourceTable);

        Hypothesis[] prepared = Decoding.Greedy(model, sources, 10, weights);
        Hypothesis[] plain = Decoding.Greedy(model, sources, 10);
        for (int i = 0; i < sources.Length; i++)
        {
            Assert.Equal(plain[i].Tokens, prepared[i].Tokens);
            Assert.Equal(plain[i].Score, prepared[i].Score, 3);
            Assert.True(plain[i].Tokens.Length > 0);
            Numerics.AssertClose(plain[i].Alignment, prepared[i].Alignment, 1e-4f, 2e-6f, $"greedy alignment of source {i}");
        }
        Assert.Equal(plain[1].Tokens, plain[2].Tokens);

        Hypothesis[] preparedBeam = Decoding.Beam(model, sources[0], 3, 10, weights: weights);
        Hypothesis[] plainBeam = Decoding.Beam(model, sources[0], 3, 10);
        Assert.Equal(plainBeam.Length, preparedBeam.Length);
        for (int i = 0; i < plainBeam.Length; i++)
        {
            Assert.Equal(plainBeam[i].Tokens, preparedBeam[i].Tokens);
            Assert.Equal(plainBeam[i].Score, preparedBeam[i].Score, 3);
        }

        var translator = new Translator(model);
        Assert.Equal(plain[0].Tokens, translator.Greedy([sources[0]], 10)[0].Tokens);
    }

    [Fact]
    public void EnsureCapacity_LongerSource_EncodesAsFresh()
    {
        Seq2SeqConfig config = Tiny(DecoderStyle.Bahdanau) with { SourceVocabSize = 11 };
        var grown = new Seq2SeqModel(config, 2, 3, 4, seed: 5);
        grown.EnsureCapacity(2, 9, 4);
        var fresh = new Seq2SeqModel(config, 2, 9, 4, seed: 5);
        int[] source = [3, 4, 5, 6, 7, 8, 9, 10, 3];
        Assert.Equal(Decoding.Greedy(fresh, [source], 4)[0].Tokens, Decoding.Greedy(grown, [source], 4)[0].Tokens);
        Assert.Equal(fresh.MemoryStates.ToArray(), grown.MemoryStates.ToArray());
    }

    [Fact]
    public void TrainStep_TransformerEncoderSteadyState_AllocatesNothing()
    {
        foreach (DecoderStyle style in new[] { DecoderStyle.Bahdanau, DecoderStyle.Luong })
        {
            Seq2SeqConfig config = Seq2SeqTestData.Small(style) with
            {
                Encoder = EncoderKind.Transformer, Bidirectional = false, EncoderLayers = 2, Heads = 2, Dropout = style == DecoderStyle.Luong ? 0.2f : 0f,
            };
            var trainer = new Seq2SeqTrainer(new Seq2SeqModel(config, 8, 8, 9), new Seq2SeqTrainerOptions { TeacherForcingRatio = 0.5f });
            List<Seq2SeqBatch> batches = Seq2SeqTestData.Batches(config, 16, 3);
            int step = 0; // cycles through the batches, whose shapes differ: warm up on each of them
            Assert.Equal(0, Allocations.AfterWarmUp(() => trainer.TrainStep(batches[step++ % batches.Count]), warmUpCalls: 3));
        }
    }

    [Fact]
    public void PreparedDecode_TransformerEncoderSteadyState_AllocatesNothing()
    {
        Seq2SeqConfig config = Tiny(DecoderStyle.Bahdanau, layers: 2) with { SourceVocabSize = 20, TargetVocabSize = 20, EmbeddingSize = 16, HiddenSize = 16, Heads = 4 };
        var model = new Seq2SeqModel(config, 1, 12, 12, seed: 2);
        InferenceWeights weights = model.PrepareInference();
        int[] source = [.. Enumerable.Range(3, 12)];
        int[] lengths = [12];
        int[] fed = [0];
        long bytes = Allocations.AfterWarmUp(() =>
        {
            model.Encode(source, lengths, 1, 12, weights);
            fed[0] = config.BosId;
            for (int t = 0; t < 12; t++)
            {
                model.DecoderStep(t, 1, fed, weights);
                fed[0] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(model.StepLogits(t, 1));
            }
        });
        Assert.Equal(0, bytes);
    }

    [Fact]
    public void Train_ReverseWithTransformerEncoder_LossFallsAndLearns()
    {
        // Reversal needs position: only the positional encoding tells the encoder where a token is. 3000 pairs of
        // lengths 3..8 over 10 symbols, 3 epochs; the mean loss must fall well below its first epoch's and most
        // held-out tokens must come out right.
        const int symbols = 10;
        var config = new Seq2SeqConfig
        {
            SourceVocabSize = 3 + symbols,
            TargetVocabSize = 3 + symbols,
            EmbeddingSize = 32,
            HiddenSize = 32,
            AttentionSize = 32,
            Encoder = EncoderKind.Transformer,
            EncoderLayers = 2,
            Heads = 4,
            FeedForwardSize = 64,
        };
        var (src, tgt) = Seq2SeqTestData.Reverse(3000, 3, 8, symbols, 3, seed: 1);
        var batches = Seq2SeqBatch.Bucketed(src, tgt, 32, config.PaddingId, config.BosId, config.EosId);
        var model = new Seq2SeqModel(config, 32, 8, 9, seed: 3);
        var trainer = new Seq2SeqTrainer(model, new Seq2SeqTrainerOptions { LearningRate = 3e-3f, ClipNorm = 5f, Seed = 4 });
        var losses = new List<double>();
        trainer.Train(batches, 3, e =>
        {
            losses.Add(e.MeanLoss);
            output.WriteLine($"epoch {e.Epoch} loss {e.MeanLoss:F4} acc {e.TokenAccuracy:F4}");
        });
        var (testSrc, testTgt) = Seq2SeqTestData.Reverse(200, 3, 8, symbols, 3, seed: 2);
        Hypothesis[] results = Decoding.Greedy(model, testSrc, 10);
        long hits = 0, total = 0;
        for (int i = 0; i < testSrc.Count; i++)
        {
            for (int j = 0; j < testTgt[i].Length; j++)
            {
                hits += j < results[i].Tokens.Length && results[i].Tokens[j] == testTgt[i][j] ? 1 : 0;
                total++;
            }
        }
        double accuracy = (double)hits / total;
        output.WriteLine($"held-out token accuracy {accuracy:P1}");
        Assert.True(losses[^1] < 0.5 * losses[0], $"losses {string.Join(", ", losses)}");
        Assert.True(accuracy > 0.8, $"held-out token accuracy {accuracy:P1}");
    }

    [Theory]
    [InlineData(6, 4, 0, "divisible by Heads")]
    [InlineData(8, 0, 0, "Heads must be ≥ 1")]
    [InlineData(8, 2, -1, "FeedForwardSize must be ≥ 0")]
    public void Validate_BadTransformerSizes_ThrowNamingTheSetting(int embedding, int heads, int feedForward, string message)
    {
        Seq2SeqConfig config = Tiny(DecoderStyle.Bahdanau) with { EmbeddingSize = embedding, Heads = heads, FeedForwardSize = feedForward };
        var e = Assert.Throws<ArgumentException>(config.Validate);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_TransformerWithBidirectional_ThrowsAndNarrowDotKeysProject()
    {
        Assert.Contains("Bidirectional", Assert.Throws<ArgumentException>((Tiny(DecoderStyle.Bahdanau) with { Bidirectional = true }).Validate).Message, StringComparison.Ordinal);
        var dot = Tiny(DecoderStyle.Luong, AttentionScorer.ScaledDot) with { HiddenSize = 8 };
        dot.Validate();                                                                            // E = 4 keys, H = 8 query: a key projection
        Assert.True(dot.ProjectsDotKeys);
        Assert.False((dot with { Decoder = DecoderStyle.None }).ProjectsDotKeys);                  // no attention: no scorer to fit
        (Seq2SeqGradientTests.Tiny(DecoderStyle.Bahdanau) with { Heads = 3 }).Validate();           // a recurrent encoder ignores Heads (E = 3, any heads)
    }

    [Fact]
    public void Json_TransformerRoundTrips_RecurrentUnchangedAndOldJsonIsRecurrent()
    {
        Seq2SeqConfig config = Tiny(DecoderStyle.Luong, AttentionScorer.General, layers: 3);
        string json = config.ToJson();
        Assert.Contains("\"Encoder\":\"Transformer\",\"Heads\":2,\"FeedForwardSize\":6", json, StringComparison.Ordinal);
        Assert.Equal(config, Seq2SeqConfig.FromJson(json));
        Seq2SeqConfig recurrent = config with { Encoder = EncoderKind.Recurrent, Heads = 4, FeedForwardSize = 0, Activation = FeedForwardActivation.Relu };
        Assert.DoesNotContain("\"Encoder\"", recurrent.ToJson(), StringComparison.Ordinal);             // as before the Transformer existed
        Assert.Equal(recurrent, Seq2SeqConfig.FromJson(recurrent.ToJson()));
        Assert.Throws<FormatException>(() => Seq2SeqConfig.FromJson(json.Replace("\"Transformer\"", "\"Conv\"", StringComparison.Ordinal)));
        Assert.Throws<FormatException>(() => Seq2SeqConfig.FromJson(json.Replace("\"Heads\":2", "\"Heads\":3", StringComparison.Ordinal)));
    }
}
