using SpanAttention.Data;
using SpanAttention.Data.Captioning;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Tests.Support;

/// <summary>Small seeded (untrained) captioning model files at a built-in task's image size, for the API and CLI tests.</summary>
internal static class CaptionModelFiles
{
    /// <summary>The caption vocabulary of a built-in task (from a few of its captions).</summary>
    public static Vocabulary Vocabulary(string task) => SpanAttention.Data.Vocabulary.Build(
        [.. (task == CaptionDataset.ShapesName ? CaptionDatasets.Shapes(1, 200, CaptionSplit.Train) : CaptionDatasets.Digits(1, 200, CaptionSplit.Train))
            .Select(x => (IReadOnlyList<string>)x.Tokens)], Tokenization.Word);

    /// <summary>A tiny image model of <paramref name="task"/>'s image size (shapes 3 x 48 x 48, grid 6x6; digits 1 x 24 x 112, grid 1x14).</summary>
    public static Seq2SeqConfig Config(string task, int vocabulary, DecoderStyle decoder = DecoderStyle.Bahdanau)
    {
        bool shapes = task == CaptionDataset.ShapesName;
        int c = shapes ? 3 : 1;
        return new Seq2SeqConfig
        {
            EmbeddingSize = 8,
            HiddenSize = 16,
            Decoder = decoder,
            TargetVocabSize = vocabulary,
            Encoder = EncoderKind.Image,
            ImageChannels = c,
            ImageHeight = shapes ? 48 : DigitStrings.Height,
            ImageWidth = shapes ? 48 : DigitStrings.Width,
            ConvChannels = [4, 8],
            GridHeight = shapes ? 6 : 1,
            GridWidth = shapes ? 6 : 14,
            PixelMean = [.. Enumerable.Repeat(0.5f, c)],
            PixelStd = [.. Enumerable.Repeat(0.5f, c)],
        };
    }

    /// <summary>Writes a seeded model of <paramref name="task"/> to <paramref name="path"/>, recording the task as <c>train</c> does.</summary>
    public static Seq2SeqModel Write(string path, string task = CaptionDataset.ShapesName, int seed = 3, DecoderStyle decoder = DecoderStyle.Bahdanau)
    {
        Vocabulary target = Vocabulary(task);
        var model = new Seq2SeqModel(Config(task, target.Count, decoder), 4, 36, 16, seed);
        Vocabulary source = SpanAttention.Data.Vocabulary.FromTokens(["image"], Tokenization.Word);
        string taskJson = $"{{\"task\":\"{task}\",\"data\":null,\"tokens\":\"word\",\"seed\":1,\"count\":0,\"min_length\":0,\"max_length\":0}}";
        Seq2SeqModelFile.Save(path, model, source, target, new Dictionary<string, string> { [Seq2SeqModelFile.TaskKey] = taskJson });
        return model;
    }

    /// <summary>Writes a tiny seeded text model (recurrent encoder over token ids) to <paramref name="path"/>.</summary>
    public static Seq2SeqModel WriteTextModel(string path)
    {
        Vocabulary v = SpanAttention.Data.Vocabulary.FromTokens(["a", "b"], Tokenization.Word);
        var model = new Seq2SeqModel(new Seq2SeqConfig { SourceVocabSize = v.Count, TargetVocabSize = v.Count, EmbeddingSize = 4, HiddenSize = 4 }, 1, 4, 4, 1);
        Seq2SeqModelFile.Save(path, model, v, v);
        return model;
    }
}
