using SpanAttention.Attention;
using SpanAttention.Data.Captioning;
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
/// Pixels behind the encoder seam: a CNN (<see cref="ImageEncoder"/>) trained end to end with the unchanged recurrent
/// attention decoders. Gradients through the convs against finite differences, layout, files, decoding, allocations,
/// source checks, configuration, and a short learning run on the shapes task.
/// </summary>
public sealed class ImageEncoderTests(ITestOutputHelper output)
{
    /// <summary>
    /// A tiny image model: 2 x 12 x 10 images, conv blocks of 3 and 5 channels (12 x 10 -> 6 x 5 -> 3 x 2), a 2 x 2 grid
    /// (overlapping row windows), normalised pixels; H = 4, A = 5.
    /// </summary>
    internal static Seq2SeqConfig Tiny(DecoderStyle style, AttentionScorer scorer = AttentionScorer.Additive, RecurrentKind cell = RecurrentKind.Gru) =>
        Seq2SeqGradientTests.Tiny(style, cell, scorer) with
        {
            Encoder = EncoderKind.Image,
            SourceVocabSize = 0,
            ImageChannels = 2,
            ImageHeight = 12,
            ImageWidth = 10,
            ConvChannels = [3, 5],
            GridHeight = 2,
            GridWidth = 2,
            PixelMean = [0.5f, 0.25f],
            PixelStd = [0.5f, 2f],
        };

    /// <summary>Images of values in [0, 1] from a seed.</summary>
    internal static float[][] Images(Seq2SeqConfig config, int count, ulong seed)
    {
        var rng = new SplitMix64(seed);
        var images = new float[count][];
        for (int i = 0; i < count; i++)
        {
            images[i] = new float[config.ImageChannels * config.ImageHeight * config.ImageWidth];
            for (int j = 0; j < images[i].Length; j++)
            {
                images[i][j] = (float)rng.NextDouble();
            }
        }
        return images;
    }

    /// <summary>Three random images with short random targets.</summary>
    internal static Seq2SeqBatch TinyBatch(Seq2SeqConfig config, ulong seed)
    {
        var rng = new SplitMix64(seed + 100);
        int[][] targets = [.. new[] { 2, 3, 1 }.Select(n => Enumerable.Range(0, n).Select(_ => 3 + rng.Next(config.TargetVocabSize - 3)).ToArray())];
        return Seq2SeqBatch.FromImages(Images(config, 3, seed), (config.ImageChannels, config.ImageHeight, config.ImageWidth), config.GridPositions,
            targets, config.PaddingId, config.BosId, config.EosId);
    }

    [Theory]
    [InlineData(DecoderStyle.Bahdanau, AttentionScorer.Additive, RecurrentKind.Gru)]
    [InlineData(DecoderStyle.Luong, AttentionScorer.General, RecurrentKind.Gru)]
    [InlineData(DecoderStyle.Bahdanau, AttentionScorer.General, RecurrentKind.Lstm)]
    [InlineData(DecoderStyle.None, AttentionScorer.Additive, RecurrentKind.Gru)]
    public void Backward_Image_MatchesFiniteDifferencesThroughTheConvs(DecoderStyle style, AttentionScorer scorer, RecurrentKind cell)
    {
        Seq2SeqConfig config = Tiny(style, scorer, cell);
        var model = new Seq2SeqModel(config, 3, config.GridPositions, 4, seed: 11);
        Seq2SeqBatch batch = TinyBatch(config, 5);
        string? failure = Check(model, batch);
        Assert.True(failure is null, failure);
        Assert.Contains(model.Layout["encoder.conv.0.weight"].Of(model.Parameters.Gradients).ToArray(), g => Math.Abs(g) > 1e-3f);
    }

    /// <summary>
    /// Null when every parameter's gradient agrees with central differences, else the first bad element. As
    /// <see cref="Seq2SeqGradientTests.Check"/> (the tiny model sharpened ×3), but the convs' parameters take h = 1e-3:
    /// the loss is piecewise smooth in them (ReLU and max-pool kinks, one per pre-activation and pooling window), and
    /// h = 1e-2 moves enough pre-activations across a kink to bias the quotient by 10-30 %; at 1e-3 the rare kink left
    /// inside [θ - h, θ + h] costs a few per cent (hence 5 % relative there) and float noise ~1e-4 absolute.
    /// </summary>
    private static string? Check(Seq2SeqModel model, Seq2SeqBatch batch)
    {
        foreach (var slot in model.Layout.Slots)
        {
            if (!slot.Name.Contains("embedding", StringComparison.Ordinal))
            {
                Span<float> v = slot.Of(model.Parameters.Values.AsSpan());
                System.Numerics.Tensors.TensorPrimitives.Multiply(v, 3f, v);
            }
        }
        model.Parameters.ZeroGradients();
        model.Forward(batch);
        model.Backward();
        float[] analytic = model.Parameters.Gradients;
        float[] values = model.Parameters.Values;
        foreach (var slot in model.Layout.Slots)
        {
            bool conv = slot.Name.StartsWith("encoder.conv.", StringComparison.Ordinal);
            double h = conv ? 1e-3 : 1e-2, atol = conv ? 3e-4 : 1e-4, rtol = conv ? 5e-2 : 2e-2;
            for (int k = 0; k < slot.Length; k++)
            {
                int i = slot.Offset + k;
                float saved = values[i];
                values[i] = (float)(saved + h);
                double plus = model.Forward(batch);
                values[i] = (float)(saved - h);
                double minus = model.Forward(batch);
                values[i] = saved;
                double numerical = (plus - minus) / (2 * h);
                if (!(Math.Abs(numerical - analytic[i]) <= atol + rtol * Math.Abs(numerical)))
                {
                    return $"{slot.Name}[{k}]: analytic {analytic[i]:R}, numerical {numerical:R}";
                }
            }
        }
        return null;
    }

    [Fact]
    public void Layout_Image_IsExpectedTensorsWithPyTorchConvShapes()
    {
        Seq2SeqConfig config = Tiny(DecoderStyle.Bahdanau);
        var model = new Seq2SeqModel(config, 3, 4, 4);
        string[] names = [.. model.Layout.Slots.Select(s => s.Name)];
        Assert.Equal(["encoder.position", "encoder.conv.0.weight", "encoder.conv.0.bias", "encoder.conv.1.weight", "encoder.conv.1.bias",
            "bridge.weight", "bridge.bias", "decoder.embedding.weight"], names.Take(8));
        Assert.Equal([4, 5], model.Layout["encoder.position"].Shape);                                // (L, D)
        Assert.Equal([3, 2, 3, 3], model.Layout["encoder.conv.0.weight"].Shape);                    // (C_out, C_in, k, k)
        Assert.Equal([5, 3, 3, 3], model.Layout["encoder.conv.1.weight"].Shape);
        Assert.Equal([4, 5], model.Layout["bridge.weight"].Shape);                                   // (H, D)
        Assert.Equal(5, config.EncoderOutputSize);
        Assert.Equal(Seq2SeqModelFile.ExpectedTensors(config).Select(t => (t.Name, string.Join(",", t.Shape))),
            model.Layout.Slots.Select(s => (s.Name, string.Join(",", s.Shape))));
    }

    [Fact]
    public void Encode_Image_MemoryIsTheNaivePooledGridAsPositions()
    {
        // The memory against the naive twins composed by hand: normalise, conv, relu, max pool, ..., adaptive pool,
        // then states[l, d] = grid[d, l] + position[l, d].
        Seq2SeqConfig config = Tiny(DecoderStyle.Bahdanau);
        var model = new Seq2SeqModel(config, 3, 4, 4, seed: 3);
        float[][] images = Images(config, 2, 8);
        Seq2SeqBatch batch = Seq2SeqBatch.FromImages(images, (2, 12, 10), 4, [[3], [4]], 0, 1, 2);
        model.Encode(batch.Source);
        float[] states = model.MemoryStates.ToArray();
        float[] p = model.Parameters.Values;
        for (int b = 0; b < 2; b++)
        {
            var x = new float[images[b].Length];
            for (int i = 0; i < x.Length; i++)
            {
                int c = i / 120;
                x[i] = (images[b][i] - config.PixelMean[c]) / config.PixelStd[c];
            }
            int h = 12, w = 10, cIn = 2;
            for (int k = 0; k < 2; k++)
            {
                int cOut = config.ConvChannels[k];
                var geometry = new SpanAttention.Vision.Conv2dGeometry(cIn, cOut, 3, 1, 1);
                var y = new float[cOut * h * w];
                SpanAttention.Vision.NaiveVision.Conv2dForward<float>(geometry, x, 1, h, w, model.Layout[$"encoder.conv.{k}.weight"].Of(p), model.Layout[$"encoder.conv.{k}.bias"].Of(p), y);
                for (int i = 0; i < y.Length; i++)
                {
                    y[i] = Math.Max(y[i], 0f);
                }
                x = new float[cOut * (h / 2) * (w / 2)];
                SpanAttention.Vision.NaiveVision.MaxPool2dForward<float>(y, cOut, h, w, x, new int[x.Length]);
                (h, w, cIn) = (h / 2, w / 2, cOut);
            }
            var grid = new float[5 * 4];
            SpanAttention.Vision.NaiveVision.AdaptiveAvgPool2dForward<float>(x, 5, h, w, 2, 2, grid);
            for (int l = 0; l < 4; l++)
            {
                for (int d = 0; d < 5; d++)
                {
                    Assert.Equal(grid[d * 4 + l] + model.Layout["encoder.position"].Of(p)[l * 5 + d], states[(b * 4 + l) * 5 + d], 5);
                }
            }
        }
        Assert.Equal([4, 4], model.MemoryLengths.ToArray());
    }

    [Fact]
    public void Encode_WrongSourceKindOrSize_ThrowsOneClearMessage()
    {
        Seq2SeqConfig config = Tiny(DecoderStyle.Bahdanau);
        var images = new Seq2SeqModel(config, 2, 4, 4);
        var e = Assert.Throws<ArgumentException>(() => images.Encode([3, 4], [2], 1, 2));
        Assert.StartsWith("This model's encoder reads images (2 x 12 x 10, C x H x W), not token ids.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => images.Encode(SourceInput.FromFeatures(new float[20], 5, [4], 1, 4)));
        Assert.StartsWith("This model's encoder reads images (2 x 12 x 10, C x H x W), not a feature grid.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => images.Encode(SourceInput.FromImages(new float[3 * 12 * 10], 3, 12, 10, [4], 1, 4)));
        Assert.StartsWith("The images are 3 x 12 x 10 (C x H x W); this model's encoder reads 2 x 12 x 10.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => images.Encode(SourceInput.FromImages(new float[2 * 12 * 10], 2, 12, 10, [3], 1, 3)));
        Assert.StartsWith("An image gives S = 4 memory positions (a 2 x 2 grid), got S = 3.", e.Message, StringComparison.Ordinal);
        var tokens = new Seq2SeqModel(Seq2SeqGradientTests.Tiny(DecoderStyle.Bahdanau), 2, 4, 4);
        e = Assert.Throws<ArgumentException>(() => tokens.Encode(SourceInput.FromImages(new float[240], 2, 12, 10, [4], 1, 4)));
        Assert.StartsWith("This model's Recurrent encoder reads token ids, not images.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Decoding.GreedyImages(tokens, [new float[240]], 3));
        Assert.StartsWith("This model's Recurrent encoder reads token ids, not images.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Decoding.GreedyImages(images, [new float[239]], 3));
        Assert.StartsWith("images[0] has 239 values; a 2 x 12 x 10 image has 240.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Decoding.GreedyFeatures(images, [new float[5]], 3));
        Assert.StartsWith("This model's Image encoder reads images, not feature grids.", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(DecoderStyle.Bahdanau, AttentionScorer.Additive)]
    [InlineData(DecoderStyle.Luong, AttentionScorer.General)]
    [InlineData(DecoderStyle.None, AttentionScorer.Additive)]
    public void GreedyAndBeam_Image_PreparedSameAsPlain(DecoderStyle style, AttentionScorer scorer)
    {
        Seq2SeqConfig config = Tiny(style, scorer) with { TargetVocabSize = 13, HiddenSize = 6 };
        var model = new Seq2SeqModel(config, 4, 4, 10, seed: 2);
        model.Parameters.Values[model.Layout["decoder.out.bias"].Offset + config.EosId] = -3f;            // untrained: not EOS first everywhere
        float[][] images = Images(config, 4, 21);
        images[2] = images[1];
        InferenceWeights weights = model.PrepareInference();
        Hypothesis[] prepared = Decoding.GreedyImages(model, images, 10, weights);
        Hypothesis[] plain = Decoding.GreedyImages(model, images, 10);
        for (int i = 0; i < images.Length; i++)
        {
            Assert.Equal(plain[i].Tokens, prepared[i].Tokens);
            Assert.Equal(plain[i].Score, prepared[i].Score, 3);
            Numerics.AssertClose(plain[i].Alignment, prepared[i].Alignment, 1e-4f, 2e-6f, $"greedy alignment of image {i}");
            Assert.Equal(style == DecoderStyle.None ? 0 : plain[i].Tokens.Length * 4, plain[i].Alignment.Length);
        }
        Assert.Equal(plain[1].Tokens, plain[2].Tokens);
        Assert.Contains(plain, p => p.Tokens.Length > 1);                                             // something was decoded

        Hypothesis[] preparedBeam = Decoding.BeamImage(model, images[0], 3, 10, weights: weights);
        Hypothesis[] plainBeam = Decoding.BeamImage(model, images[0], 3, 10);
        Assert.Equal(3, plainBeam.Length);
        for (int i = 0; i < plainBeam.Length; i++)
        {
            Assert.Equal(plainBeam[i].Tokens, preparedBeam[i].Tokens);
            Assert.Equal(plainBeam[i].Score, preparedBeam[i].Score, 3);
        }
    }

    [Fact]
    public void TrainStep_ImageSteadyState_AllocatesNothing()
    {
        foreach (int threads in new[] { 1, 2 })
        {
            Seq2SeqConfig config = Tiny(DecoderStyle.Bahdanau) with { TargetVocabSize = 13, HiddenSize = 16, AttentionSize = 8 };
            var trainer = new Seq2SeqTrainer(new Seq2SeqModel(config, 8, 4, 9), new Seq2SeqTrainerOptions { TeacherForcingRatio = 0.5f, Threads = threads });
            var rng = new SplitMix64(3);
            var batches = new List<Seq2SeqBatch>();
            for (int i = 0; i < 2; i++)
            {
                int[][] targets = [.. Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, 2 + rng.Next(6)).Select(_ => 3 + rng.Next(10)).ToArray())];
                batches.Add(Seq2SeqBatch.FromImages(Images(config, 8, (ulong)i), (2, 12, 10), 4, targets, 0, 1, 2));
            }
            int step = 0;
            Assert.Equal(0, Allocations.AfterWarmUp(() => trainer.TrainStep(batches[step++ % batches.Count]), warmUpCalls: 3));
        }
    }

    [Fact]
    public void PreparedDecode_ImageSteadyState_AllocatesNothing()
    {
        Seq2SeqConfig config = Tiny(DecoderStyle.Luong, AttentionScorer.General) with { TargetVocabSize = 20, HiddenSize = 16 };
        var model = new Seq2SeqModel(config, 1, 4, 12, seed: 2);
        InferenceWeights weights = model.PrepareInference();
        float[] image = Images(config, 1, 5)[0];
        int[] lengths = [4];
        int[] fed = [0];
        long bytes = Allocations.AfterWarmUp(() =>
        {
            model.Encode(SourceInput.FromImages(image, 2, 12, 10, lengths, 1, 4), weights);
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
    public void ModelFile_Image_RoundTripsConfigPreprocessingParametersAndDecoding()
    {
        Seq2SeqConfig config = Tiny(DecoderStyle.Bahdanau) with { TargetVocabSize = 11 };
        var model = new Seq2SeqModel(config, 2, 4, 8, seed: 4);
        string path = Path.Combine(Path.GetTempPath(), $"spanattention-image-{Guid.NewGuid():N}.safetensors");
        try
        {
            Seq2SeqModelFile.Save(path, model);
            Seq2SeqModelFileContents loaded = Seq2SeqModelFile.Load(path, 2, 4, 8);
            Assert.Equal(config, loaded.Model.Config);
            Assert.Equal([0.5f, 0.25f], loaded.Model.Config.PixelMean);
            Assert.Equal([0.5f, 2f], loaded.Model.Config.PixelStd);
            Assert.Equal([3, 5], loaded.Model.Config.ConvChannels);
            Assert.Equal(model.Parameters.Values, loaded.Model.Parameters.Values);
            float[][] images = Images(config, 2, 9);
            Assert.Equal(Decoding.GreedyImages(model, images, 8).Select(h => h.Tokens), Decoding.GreedyImages(loaded.Model, images, 8).Select(h => h.Tokens));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Json_Image_RoundTripsAndComparesByValue()
    {
        Seq2SeqConfig config = Tiny(DecoderStyle.Luong, AttentionScorer.General, RecurrentKind.Lstm);
        string json = config.ToJson();
        Assert.Contains("\"Encoder\":\"Image\",\"ImageChannels\":2,\"ImageHeight\":12,\"ImageWidth\":10,\"ConvChannels\":[3,5],\"GridHeight\":2,\"GridWidth\":2,\"PixelMean\":[0.5,0.25],\"PixelStd\":[0.5,2]", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"FeatureSize\"", json, StringComparison.Ordinal);
        Assert.Equal(config, Seq2SeqConfig.FromJson(json));
        Seq2SeqConfig rebuilt = config with { ConvChannels = new List<int> { 3, 5 }, PixelStd = [0.5f, 2f] };
        Assert.Equal(config, rebuilt);                                                                // value equality, not reference
        Assert.Equal(config.GetHashCode(), rebuilt.GetHashCode());
        Assert.NotEqual(config, config with { ConvChannels = [3, 6] });
        Assert.NotEqual(config, config with { PixelMean = [0.5f, 0.3f] });
        Assert.DoesNotContain("Image", Seq2SeqGradientTests.Tiny(DecoderStyle.Bahdanau).ToJson(), StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => Seq2SeqConfig.FromJson(json.Replace("\"GridHeight\":2", "\"GridHeight\":4", StringComparison.Ordinal)));
    }

    [Fact]
    public void Validate_ImageSettings_ThrowNamingTheSetting()
    {
        static string Message(Seq2SeqConfig c) => Assert.Throws<ArgumentException>(c.Validate).Message;
        Seq2SeqConfig ok = Tiny(DecoderStyle.Bahdanau);
        Assert.Contains("ImageChannels in 1..64, got 0", Message(ok with { ImageChannels = 0 }), StringComparison.Ordinal);
        Assert.Contains("needs 1..8 ConvChannels (one per conv block), got 0", Message(ok with { ConvChannels = [] }), StringComparison.Ordinal);
        Assert.Contains("ConvChannels[1] must be in 1..4096, got 0", Message(ok with { ConvChannels = [3, 0] }), StringComparison.Ordinal);
        Assert.Contains("a 12 x 10 image is too small for 4 conv blocks (block 3 would get 1 x 1", Message(ok with { ConvChannels = [3, 3, 3, 3] }), StringComparison.Ordinal);
        Assert.Contains("GridHeight x GridWidth must be within the last feature map (3 x 2)", Message(ok with { GridWidth = 3 }), StringComparison.Ordinal);
        Assert.Contains("PixelMean needs 0 or ImageChannels = 2 values, got 1", Message(ok with { PixelMean = [0.5f] }), StringComparison.Ordinal);
        Assert.Contains("PixelStd values must be finite and > 0", Message(ok with { PixelStd = [1f, 0f] }), StringComparison.Ordinal);
        Assert.Contains("a Image encoder has no source vocabulary", Message(ok with { SourceVocabSize = 7 }), StringComparison.Ordinal);
        (ok with { Decoder = DecoderStyle.Luong, Scorer = AttentionScorer.Dot }).Validate();           // D != H: the dot scorer projects the keys
        Assert.Contains("apply to an Image encoder only", Message(Seq2SeqGradientTests.Tiny(DecoderStyle.Bahdanau) with { GridHeight = 2 }), StringComparison.Ordinal);
        (ok with { PixelMean = [], PixelStd = [] }).Validate();                                         // no normalisation
        (ok with { Decoder = DecoderStyle.Luong, Scorer = AttentionScorer.Dot, ConvChannels = [3, 4] }).Validate(); // D = H
    }

    [Fact]
    public void Train_TinyShapes_LearnsOneObjectCaptions()
    {
        // One-object scenes of the shapes task at 32 x 32: "a <size> <colour> <shape> at <row> <column>". A decoder that
        // cannot see the image scores at most 1/2 · 1/6 · 1/4 · 1/9 of captions; the whole model learns most of them.
        string[] words = [.. ShapesGrammar.Words];
        int Id(string w) => 3 + Array.IndexOf(words, w);
        ImageExample[] OneObject(int seed, int count, CaptionSplit split) =>
            [.. CaptionDatasets.Shapes(seed, count * 4, split, imageSize: 32).Where(x => x.Tokens.Length == ShapesGrammar.PhraseLength).Take(count)];
        ImageExample[] train = OneObject(1, 900, CaptionSplit.Train), test = OneObject(2, 100, CaptionSplit.HeldOut);
        var config = new Seq2SeqConfig
        {
            TargetVocabSize = 3 + words.Length,
            EmbeddingSize = 16,
            HiddenSize = 48,
            AttentionSize = 32,
            Encoder = EncoderKind.Image,
            ImageChannels = 3,
            ImageHeight = 32,
            ImageWidth = 32,
            ConvChannels = [16, 32],
            GridHeight = 4,
            GridWidth = 4,
            PixelMean = [0.2f, 0.2f, 0.2f],
            PixelStd = [0.4f, 0.4f, 0.4f],
        };
        var batches = new List<Seq2SeqBatch>();
        for (int start = 0; start < train.Length; start += 16)
        {
            ImageExample[] chunk = train[start..Math.Min(start + 16, train.Length)];
            batches.Add(Seq2SeqBatch.FromImages([.. chunk.Select(x => x.Pixels)], (3, 32, 32), 16, [.. chunk.Select(x => x.Tokens.Select(Id).ToArray())], 0, 1, 2));
        }
        var model = new Seq2SeqModel(config, 16, 16, 8, seed: 3);
        var trainer = new Seq2SeqTrainer(model, new Seq2SeqTrainerOptions { LearningRate = 3e-3f, ClipNorm = 5f, Seed = 4 });
        var losses = new List<double>();
        trainer.Train(batches, 6, e =>
        {
            losses.Add(e.MeanLoss);
            output.WriteLine($"epoch {e.Epoch} loss {e.MeanLoss:F4} acc {e.TokenAccuracy:F4}");
        });
        Hypothesis[] results = Decoding.GreedyImages(model, [.. test.Select(x => x.Pixels)], 9);
        int exact = results.Where((r, i) => r.Tokens.SequenceEqual(test[i].Tokens.Select(Id))).Count();
        output.WriteLine($"held-out exact match {exact} / {test.Length}");
        Assert.True(losses[^1] < 0.3 * losses[0], $"losses {string.Join(", ", losses)}");
        Assert.True(exact >= 50, $"held-out exact match {exact} / {test.Length}");
    }
}
