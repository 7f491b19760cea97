using SpanAttention.Data;
using SpanAttention.Data.Captioning;
using SpanAttention.Evaluation;
using SpanAttention.Inference;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Cli;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Api;

/// <summary><see cref="CaptionModel"/>: loading a captioning file, captions as the internal decoder makes them, attention maps, and the inputs it refuses.</summary>
public sealed class CaptionModelTests
{
    private static float[][] ShapesImages(int count) => [.. CaptionDatasets.Shapes(5, count, CaptionSplit.HeldOut).Select(x => x.Pixels)];

    [Fact]
    public void Load_SeededShapesModel_RoundTripsConfigPreprocessingAndCaptions()
    {
        using var folder = new TempFolder();
        string path = folder.File("c.safetensors");
        Seq2SeqModel written = CaptionModelFiles.Write(path);

        using var model = CaptionModel.Load(path, maxBatch: 4);
        Assert.Equal(written.Config, model.Config);
        Assert.Equal(new ImagePreprocessing(3, 48, 48, [0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f]).ToString(), model.Preprocessing!.ToString());
        Assert.Equal([0.5f, 0.5f, 0.5f], model.Preprocessing.Mean);
        Assert.Equal((6, 6), (model.GridHeight, model.GridWidth));
        Assert.Equal(written.Layout.Count, model.ParameterCount);
        Assert.True(model.Metadata.ContainsKey(Seq2SeqModelFile.TaskKey));

        float[][] images = ShapesImages(6);
        Hypothesis[] reference = Decoding.GreedyImages(written, images, 82);
        GeneratedCaption[] captions = model.Decode(images);
        for (int i = 0; i < images.Length; i++)
        {
            Assert.Equal(model.Vocabulary.Decode(reference[i].Tokens), captions[i].Words);
            Assert.Equal(string.Join(' ', captions[i].Words), captions[i].Text);
            Assert.Equal(captions[i].Text, model.Caption(images[i]));
        }
    }

    [Fact]
    public void Decode_SeededModel_AttentionRowsAreDistributionsOverTheGrid()
    {
        using var folder = new TempFolder();
        string path = folder.File("c.safetensors");
        CaptionModelFiles.Write(path);
        using var model = CaptionModel.Load(path);

        GeneratedCaption caption = model.Decode(ShapesImages(1)[0], new DecodingOptions { MaxLength = 8 });
        CaptionAttention a = Assert.IsType<CaptionAttention>(caption.Attention);
        Assert.Equal((6, 6, 36), (a.GridHeight, a.GridWidth, a.Positions));
        Assert.Equal(a.Words.Count * 36, a.Weights.Length);
        Assert.InRange(a.Words.Count, 1, 8);
        for (int t = 0; t < a.Words.Count; t++)
        {
            float sum = 0;
            foreach (float w in a.Map(t))
            {
                Assert.InRange(w, 0f, 1f);
                sum += w;
            }
            Assert.Equal(1f, sum, 1e-4f);
            (int row, int column) = a.MostAttended(t);
            Assert.Equal(System.Numerics.Tensors.TensorPrimitives.IndexOfMax(a.Map(t)), (row * 6) + column);
        }
        string svg = a.ToSvg(caption.Text);
        Assert.StartsWith("<?xml", svg, StringComparison.Ordinal);
        Assert.Equal(a.Words.Count, svg.Split("class=\"panel\"").Length - 1);
    }

    [Fact]
    public void NBestAndBeam_SeededModel_BestFirstAndBeamOneIsGreedy()
    {
        using var folder = new TempFolder();
        string path = folder.File("c.safetensors");
        CaptionModelFiles.Write(path);
        using var model = CaptionModel.Load(path, maxBatch: 4);
        float[] image = ShapesImages(1)[0];

        GeneratedCaption[] best = model.NBest(image, 3, new DecodingOptions { MaxLength = 6 });
        Assert.InRange(best.Length, 1, 3);
        for (int i = 1; i < best.Length; i++)
        {
            Assert.True(best[i - 1].NormalizedScore >= best[i].NormalizedScore);
        }
        Assert.Equal(best[0].Text, model.Decode(image, new DecodingOptions { BeamWidth = 3, MaxLength = 6 }).Text);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.NBest(image, 5));
    }

    [Fact]
    public void Decode_WrongSizedOrNonFiniteImage_ThrowsNamingTheExpectedSize()
    {
        using var folder = new TempFolder();
        string path = folder.File("c.safetensors");
        CaptionModelFiles.Write(path);
        using var model = CaptionModel.Load(path);

        var e = Assert.Throws<ArgumentException>(() => model.Decode(new float[3 * 32 * 32]));
        Assert.StartsWith("The image has 3072 values; the model reads (C, H, W) = (3, 48, 48), 6912 values: resize it first.", e.Message, StringComparison.Ordinal);
        Assert.Equal("pixels", e.ParamName);
        float[] nan = ShapesImages(1)[0];
        nan[17] = float.NaN;
        e = Assert.Throws<ArgumentException>(() => model.Decode([ShapesImages(1)[0], nan]));
        Assert.StartsWith("Value 17 of the input is NaN, not a finite number.", e.Message, StringComparison.Ordinal);
        Assert.Equal("images[1]", e.ParamName);
    }

    [Fact]
    public void Load_TextModel_ThrowsModelFileExceptionSayingSo()
    {
        using var folder = new TempFolder();
        string path = folder.File("t.safetensors");
        Seq2SeqModel text = CaptionModelFiles.WriteTextModel(path);
        Vocabulary v = Vocabulary.FromTokens(["a", "b"], Tokenization.Word);

        var e = Assert.Throws<ModelFileException>(() => CaptionModel.Load(path));
        Assert.Equal($"{path}: this is a text model (its recurrent encoder reads token ids), not a captioning model (an image or feature-grid encoder). Load it with TranslationModel.Load.", e.Message);
        Assert.Throws<ArgumentException>(() => new CaptionModel(text, v));
    }

    [Fact]
    public void Dispose_ThenDecode_ThrowsObjectDisposed()
    {
        using var folder = new TempFolder();
        string path = folder.File("c.safetensors");
        CaptionModelFiles.Write(path);
        var model = CaptionModel.Load(path);
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => model.Caption(ShapesImages(1)[0]));
    }

    [Fact]
    public void CaptionEvaluationBuiltIn_SeededModel_ScoresBothSplitsWithGroundingBetweenZeroAndCeiling()
    {
        using var folder = new TempFolder();
        string path = folder.File("c.safetensors");
        CaptionModelFiles.Write(path);
        using var model = CaptionModel.Load(path);

        IReadOnlyList<CaptionSplitScore> scores = CaptionEvaluation.BuiltIn(model, CaptionDataset.ShapesName, seed: 1, count: 0, limit: 12);
        Assert.Equal(["held-out", "compositional"], scores.Select(s => s.Split));
        Assert.All(scores, s => Assert.Equal(12, s.Images));
        // the reference: the same images through the internal decoder and metrics
        (ImageExample[] validation, _, _) = CaptionDataset.HeldOutExamples(CaptionDataset.ShapesName, 1, 0);
        Hypothesis[] h = Decoding.GreedyImages(model.Model, [.. validation.Take(12).Select(x => x.Pixels)], 82);
        CaptionScores text = CaptionMetrics.Score([.. h.Select(x => (IReadOnlyList<string>)model.Vocabulary.Decode(x.Tokens))], [.. validation.Take(12).Select(x => (IReadOnlyList<string>)x.Tokens)]);
        Assert.Equal(text.ExactMatch, scores[0].ExactMatch);
        Assert.Equal(text.Bleu.Score, scores[0].Bleu.Score);
        foreach (CaptionSplitScore s in scores)
        {
            if (s.Grounding is GroundingScore g)
            {
                Assert.InRange(g.Mass, 0, g.Ceiling + 1e-9);
                Assert.InRange(g.Uniform, 0, 1);
            }
        }
        var e = Assert.Throws<ArgumentException>(() => CaptionEvaluation.BuiltIn(model, CaptionDataset.DigitsName, 1, limit: 2));
        Assert.StartsWith("The digits images are 1 x 24 x 112; the model reads 3 x 48 x 48 (it was trained on another task).", e.Message, StringComparison.Ordinal);
    }
}
