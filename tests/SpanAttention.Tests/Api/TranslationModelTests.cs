using SpanAttention.Attention;
using SpanAttention.Data;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Cli;
using SpanAttention.Tests.IO;
using Xunit;

namespace SpanAttention.Tests.Api;

public sealed class TranslationModelTests
{
    private static string Fixture => ModelFileCompatibilityTests.FixturePath;

    private static string ReadmeText()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SpanAttention.sln")))
        {
            dir = dir.Parent;
        }
        Assert.NotNull(dir);
        return File.ReadAllText(Path.Combine(dir.FullName, "README.md"));
    }

    [Fact]
    public void Readme_UseItFromCSharp_ShowsTheLinesThisFileRuns()
    {
        string readme = ReadmeText();
        string[] lines =
        [
            "using var model = TranslationModel.Load(\"demo-output/demo.safetensors\");",
            "string english = model.Translate(\"मैं खाना खा रहा हूँ\");",
            "string[] outputs = model.Translate([\"औरत बगीचे में खेली\", \"लड़का किताब पढ़ता है\"]);",
            "foreach (Translation t in model.NBest(\"मैं खाना खा रहा हूँ\", 3))",
            "Alignment a = model.Align(\"मैं खाना खा रहा हूँ\");",
            "Console.WriteLine($\"{a.TargetTokens[t]} <- {a.SourceTokens[a.MostAttended(t)]}\");",
            "Translation d = model.Decode(\"मैं xyz खा रहा हूँ\", new DecodingOptions { BeamWidth = 4 });",
        ];
        int section = readme.IndexOf("## Use it from C#", StringComparison.Ordinal);
        Assert.True(section >= 0, "README has no 'Use it from C#' section");
        foreach (string line in lines)
        {
            Assert.Contains(line, readme[section..], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Translate_ReadmeThreeLines_TranslatesTheDemoSentence()
    {
        using var model = TranslationModel.Load(Fixture);
        string english = model.Translate("मैं खाना खा रहा हूँ");
        Assert.Equal("i am eating food", english);
    }

    [Fact]
    public void ReadmeExamples_BatchBeamAlignmentUnknown_GiveTheDocumentedResults()
    {
        using var model = TranslationModel.Load(Fixture);
        string[] outputs = model.Translate(["औरत बगीचे में खेली", "लड़का किताब पढ़ता है"]);
        Assert.Equal(["the woman played in the garden", "the boy reads a book"], outputs);

        Translation[] best = model.NBest("मैं खाना खा रहा हूँ", 3);
        Assert.Equal(3, best.Length);
        Assert.Equal("i am eating food", best[0].Text);
        Assert.Equal(best.Select(t => t.NormalizedScore).OrderDescending(), best.Select(t => t.NormalizedScore));
        Assert.Equal(3, best.Select(t => t.Text).Distinct().Count());
        foreach (Translation t in best)
        {
            // length-normalised: the total log-probability (the <eos> step's included) over the output tokens
            Assert.Equal(t.Score / t.Tokens.Count, t.NormalizedScore, 1e-5f);
        }

        Alignment a = model.Align("मैं खाना खा रहा हूँ");
        var pairs = new List<string>();
        for (int t = 0; t < a.TargetTokens.Count; t++)
        {
            pairs.Add($"{a.TargetTokens[t]} <- {a.SourceTokens[a.MostAttended(t)]}");
        }
        Assert.Equal(["i <- मैं", "am <- हूँ", "eating <- खा", "food <- खाना"], pairs);
        Assert.Equal(["मैं", "खाना", "खा", "रहा", "हूँ", "<eos>"], a.SourceTokens);
        Assert.Equal(4 * 6, a.Weights.Length);
        for (int t = 0; t < 4; t++)
        {
            Assert.Equal(1f, System.Numerics.Tensors.TensorPrimitives.Sum(a.Weights.Slice(t * 6, 6)), 1e-5f);
        }

        Translation d = model.Decode("मैं xyz खा रहा हूँ", new DecodingOptions { BeamWidth = 4 });
        Assert.Equal("i am eating", d.Text);
        Assert.Equal(["xyz"], d.UnknownTokens);
    }

    [Fact]
    public void Decode_ManyThreads_SameAsOneThread()
    {
        using var model = TranslationModel.Load(Fixture, maxBatch: 4);
        string[] texts = [.. ModelFileCompatibilityTests.Sentences, "औरत बगीचे में खेली", "लड़का किताब पढ़ता है", "मैं खाना खा रहा हूँ"];
        Translation[] greedy = model.Decode(texts); // 7 texts: chunks of 4 and 3
        Translation[] beam = model.NBest(texts[1], 3);
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 24, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            Translation[] g = i % 2 == 0 ? model.Decode(texts) : [model.Decode(texts[i % texts.Length])];
            Translation[] expected = i % 2 == 0 ? greedy : [greedy[i % texts.Length]];
            for (int j = 0; j < g.Length; j++)
            {
                if (g[j].Text != expected[j].Text || g[j].Score != expected[j].Score || !g[j].Alignment!.Weights.SequenceEqual(expected[j].Alignment!.Weights))
                {
                    failures.Add($"call {i}, text {j}");
                }
            }
            Translation[] b = model.NBest(texts[1], 3);
            if (!b.Select(t => (t.Text, t.NormalizedScore)).SequenceEqual(beam.Select(t => (t.Text, t.NormalizedScore))))
            {
                failures.Add($"call {i}, beam");
            }
        });
        Assert.Empty(failures);
    }

    [Fact]
    public void Dispose_ThenTranslate_ThrowsObjectDisposed()
    {
        var model = TranslationModel.Load(Fixture);
        Assert.Equal("i am eating food", model.Translate("मैं खाना खा रहा हूँ"));
        model.Dispose();
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => model.Translate("मैं खाना खा रहा हूँ"));
        Assert.Throws<ObjectDisposedException>(() => model.NBest("मैं खाना खा रहा हूँ", 2));
    }

    [Fact]
    public void Decode_BadInputOrOptions_ThrowsNamingTheProblem()
    {
        using var model = TranslationModel.Load(Fixture, maxBatch: 4);
        var e = Assert.Throws<ArgumentException>(() => model.Translate("   "));
        Assert.Equal("text", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => model.Translate(["मैं खाना खा रहा हूँ", ""]));
        Assert.Equal("texts[1]", e.ParamName);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => model.NBest("मैं खाना खा रहा हूँ", 5));
        Assert.Contains("larger than the model was loaded for (4)", range.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Decode("मैं खाना खा रहा हूँ", new DecodingOptions { BeamWidth = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Decode("मैं खाना खा रहा हूँ", new DecodingOptions { MaxLength = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Decode("मैं खाना खा रहा हूँ", new DecodingOptions { LengthPenalty = float.NaN }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.NBest("मैं खाना खा रहा हूँ", 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => TranslationModel.Load(Fixture, maxBatch: 0));
    }

    [Fact]
    public void Decode_MaxLength_CutsTheOutputUnfinished()
    {
        using var model = TranslationModel.Load(Fixture);
        Translation t = model.Decode("औरत बगीचे में खेली", new DecodingOptions { MaxLength = 3 });
        Assert.Equal(["the", "woman", "played"], t.Tokens);
        Assert.False(t.Finished);
        Assert.Equal(3, t.Alignment!.TargetTokens.Count);
    }

    [Fact]
    public void FindUnknownTokens_RepeatedAndKnown_ListsEachUnknownOccurrence()
    {
        using var model = TranslationModel.Load(Fixture);
        Assert.Equal(["xyz", "abc", "xyz"], model.FindUnknownTokens("xyz मैं abc xyz <unk>"));
        Assert.Empty(model.FindUnknownTokens("मैं खाना खा रहा हूँ"));
        Assert.Equal("hi-en", System.Text.Json.JsonDocument.Parse(model.Metadata[Seq2SeqModelFile.TaskKey]).RootElement.GetProperty("task").GetString());
        Assert.Equal(139, model.SourceVocabulary.Count);
        Assert.True(model.HasAttention);
    }

    private static (Seq2SeqModel Model, Vocabulary Source, Vocabulary Target) InMemory(DecoderStyle decoder)
    {
        Vocabulary source = Vocabulary.FromTokens(["a", "b", "c", "d"], Tokenization.Word);
        Vocabulary target = Vocabulary.FromTokens(["x", "y", "z"], Tokenization.Character);
        var config = new Seq2SeqConfig
        {
            SourceVocabSize = source.Count,
            TargetVocabSize = target.Count,
            EmbeddingSize = 4,
            HiddenSize = 6,
            Decoder = decoder,
            Scorer = decoder == DecoderStyle.None ? AttentionScorer.Additive : AttentionScorer.General,
        };
        return (new Seq2SeqModel(config, 4, 4, 4, seed: 5), source, target);
    }

    [Fact]
    public void Constructor_InMemoryModel_TranslatesLikeItsSavedFile()
    {
        (Seq2SeqModel seq2seq, Vocabulary source, Vocabulary target) = InMemory(DecoderStyle.Luong);
        using var folder = new TempFolder();
        string path = folder.File("m.safetensors");
        Seq2SeqModelFile.Save(path, seq2seq, source, target, new Dictionary<string, string> { ["app.note"] = "hello" });
        using var inMemory = new TranslationModel(seq2seq, source, target);
        using var loaded = TranslationModel.Load(path, maxBatch: 4);
        Assert.Equal("hello", loaded.Metadata["app.note"]);
        Assert.Empty(inMemory.Metadata);
        Assert.Equal(seq2seq.Config, loaded.Config);
        string[] texts = ["a b c", "d d", "c q a"];
        Translation[] expected = inMemory.Decode(texts);
        Translation[] actual = loaded.Decode(texts);
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(expected[i].Tokens, actual[i].Tokens);
            Assert.Equal(expected[i].Score, actual[i].Score);
            Assert.Equal(expected[i].Text, actual[i].Text);
            Assert.Equal(string.Concat(actual[i].Tokens), actual[i].Text); // the target vocabulary is character-level
        }
        Assert.Equal(["q"], actual[2].UnknownTokens);
    }

    [Fact]
    public void Constructor_VocabulariesThatDoNotFit_ThrowsArgument()
    {
        (Seq2SeqModel seq2seq, Vocabulary source, Vocabulary target) = InMemory(DecoderStyle.Bahdanau);
        var e = Assert.Throws<ArgumentException>(() => new TranslationModel(seq2seq, target, target));
        Assert.Contains("do not match the model", e.Message, StringComparison.Ordinal);
        using var folder = new TempFolder();
        Assert.Throws<ArgumentException>(() => Seq2SeqModelFile.Save(folder.File("m.safetensors"), seq2seq, source, source));
        Assert.Throws<ArgumentException>(() => Seq2SeqModelFile.Save(folder.File("m.safetensors"), seq2seq, source, target,
            new Dictionary<string, string> { [Seq2SeqModelFile.ConfigKey] = "{}" }));
        Assert.False(File.Exists(folder.File("m.safetensors")));
    }

    [Fact]
    public void Align_ModelWithoutAttention_NoAlignment()
    {
        (Seq2SeqModel seq2seq, Vocabulary source, Vocabulary target) = InMemory(DecoderStyle.None);
        using var model = new TranslationModel(seq2seq, source, target);
        Assert.False(model.HasAttention);
        Assert.Null(model.Decode("a b").Alignment);
        var e = Assert.Throws<InvalidOperationException>(() => model.Align("a b"));
        Assert.Contains("no attention", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FileWithoutOrWithBadVocabularies_ThrowsModelFileException()
    {
        (Seq2SeqModel seq2seq, Vocabulary source, Vocabulary target) = InMemory(DecoderStyle.Bahdanau);
        using var folder = new TempFolder();
        string path = folder.File("m.safetensors");
        Seq2SeqModelFile.Save(path, seq2seq);
        var e = Assert.Throws<ModelFileException>(() => TranslationModel.Load(path));
        Assert.Contains("has no vocabularies", e.Message, StringComparison.Ordinal);
        Seq2SeqModelFile.Save(path, seq2seq, target.ToJson(), target.ToJson());
        e = Assert.Throws<ModelFileException>(() => TranslationModel.Load(path));
        Assert.Contains("do not match the model", e.Message, StringComparison.Ordinal);
        Seq2SeqModelFile.Save(path, seq2seq, "{\"tokens\": 3}", target.ToJson());
        e = Assert.Throws<ModelFileException>(() => TranslationModel.Load(path));
        Assert.Contains("bad vocabulary", e.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => TranslationModel.Load(folder.File("missing.safetensors")));
        Seq2SeqModelFile.Save(path, seq2seq, source, target);
        using var model = TranslationModel.Load(path);
        Assert.Equal(source.Tokens, model.SourceVocabulary.Tokens);
        Assert.Equal(Tokenization.Character, model.TargetVocabulary.Tokenization);
    }
}
