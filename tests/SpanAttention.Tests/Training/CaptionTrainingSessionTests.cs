using SpanAttention.Data;
using SpanAttention.Data.Captioning;
using SpanAttention.Inference;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;
using SpanAttention.Training;
using Xunit;
using Xunit.Abstractions;

namespace SpanAttention.Tests.Training;

/// <summary>A <see cref="TrainingSession"/> over images: learning, the saved model, and the settings it refuses.</summary>
public sealed class CaptionTrainingSessionTests(ITestOutputHelper output)
{
    /// <summary>One-object shapes scenes at 32 x 32 (captions of 7 words).</summary>
    private static CaptionDataset OneObjectShapes(int train, int validation)
    {
        ImageCaption[] Of(int seed, int count, CaptionSplit split) =>
            [.. CaptionDatasets.Shapes(seed, count * 4, split, imageSize: 32).Where(x => x.Tokens.Length == ShapesGrammar.PhraseLength).Take(count)
                .Select(x => new ImageCaption(x.Pixels, x.Caption))];
        return new CaptionDataset("shapes-1", 3, 32, 32, Of(1, train, CaptionSplit.Train), Of(2, validation, CaptionSplit.HeldOut), Of(3, 20, CaptionSplit.HeldOut));
    }

    private static Seq2SeqConfig Config() => new()
    {
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
        PixelMean = [0.5f, 0.5f, 0.5f],
        PixelStd = [0.5f, 0.5f, 0.5f],
    };

    [Fact]
    public void Run_OneObjectShapes_LearnsCaptionsAndSavesTheBestModel()
    {
        CaptionDataset data = OneObjectShapes(900, 100);
        string path = Path.Combine(Path.GetTempPath(), $"spanattention-caption-{Guid.NewGuid():N}.safetensors");
        try
        {
            var session = new TrainingSession(data, new TrainingOptions { Config = Config(), Epochs = 6, BatchSize = 16, LearningRateDecay = 1f, Seed = 4, Threads = 1, BestModelPath = path });
            Assert.Equal(0, session.Model.Config.SourceVocabSize);
            TrainingResult result = session.Run();
            foreach (EpochReport e in result.History)
            {
                output.WriteLine($"epoch {e.Epoch} loss {e.TrainLoss:F4} held-out exact {e.ExactMatch:P1} tokens {e.TokenAccuracy:P1}");
            }
            Assert.True(result.BestExactMatch >= 0.5, $"held-out exact match {result.BestExactMatch:P1}");

            // the saved model is the best epoch's, with its image configuration, and captions the same
            Seq2SeqModel loaded = Seq2SeqModelFile.Load(path).Model;
            Assert.Equal(result.Model.Config, loaded.Config);
            float[][] images = [.. data.Validation.Take(5).Select(x => x.Pixels)];
            Assert.Equal(Decoding.GreedyImages(result.Model, images, 12).Select(h => h.Tokens), Decoding.GreedyImages(loaded, images, 12).Select(h => h.Tokens));
            List<int[]> targets = HeldOutEvaluation.Encode(data.Captions.Validation, result.Source, result.Target).Targets;
            Assert.Equal(result.BestExactMatch, HeldOutEvaluation.Score(loaded, [.. data.Validation.Select(x => x.Pixels)], targets, 12).ExactMatch);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Constructor_WrongEncoderOrImageSize_ThrowsNamingIt()
    {
        CaptionDataset data = OneObjectShapes(20, 5);
        var e = Assert.Throws<ArgumentException>(() => new TrainingSession(data, new TrainingOptions { Config = new Seq2SeqConfig() }));
        Assert.StartsWith("A captioning session needs an Image or Features encoder, got Recurrent.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => new TrainingSession(data, new TrainingOptions { Config = new Seq2SeqConfig { Encoder = EncoderKind.Features, FeatureSize = 5 } }));
        Assert.StartsWith("The model reads grids of 5 features per position; dataset shapes-1 has 3.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => new TrainingSession(data, new TrainingOptions { Config = Config() with { ImageHeight = 48, ImageWidth = 48 } }));
        Assert.StartsWith("The model reads 3 x 48 x 48 images; dataset shapes-1 has 3 x 32 x 32.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => new CaptionDataset("x", 3, 32, 32, [new ImageCaption(new float[5], "a")], [], []));
        Assert.StartsWith("train[0] has 5 pixel values; a 3 x 32 x 32 image has 3072.", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => CaptionDataset.BuiltIn("cats", 1));
        Assert.StartsWith("unknown captioning task 'cats'; the built-in ones are shapes, digits.", e.Message, StringComparison.Ordinal);
    }
}
