using System.Xml.Linq;
using SpanAttention.Cli;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary>
/// Two tiny models trained once through <c>spanattn train</c> (reverse, lengths 3-6, one epoch, E=16, H=32):
/// one with additive attention, one with the no-attention decoder. The command tests reuse them.
/// </summary>
public sealed class TinyModels : IDisposable
{
    private readonly TempFolder _folder = new();

    public TinyModels()
    {
        Attention = _folder.File("attn.safetensors");
        None = _folder.File("none.safetensors");
        TrainResult = CliRunner.Run(Train(Attention));
        NoneResult = CliRunner.Run([.. Train(None), "--decoder", "none"]);
    }

    /// <summary>The common arguments of a tiny training run.</summary>
    public static string[] Train(string output, int epochs = 1) =>
    [
        "train", "--task", "reverse", "--count", "600", "--min-length", "3", "--max-length", "6", "--lr", "0.01", "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--embedding-size", "16", "--hidden-size", "32", "--batch-size", "32", "--threads", "1", "--output", output,
    ];

    /// <summary>The arguments with one option's value replaced (or the option appended).</summary>
    public static string[] With(string[] args, string option, string value)
    {
        int at = Array.IndexOf(args, option);
        if (at < 0)
        {
            return [.. args, option, value];
        }
        string[] copy = (string[])args.Clone();
        copy[at + 1] = value;
        return copy;
    }

    public string Attention { get; }

    public string None { get; }

    public (int Code, string Out, string Error) TrainResult { get; }

    public (int Code, string Out, string Error) NoneResult { get; }

    public string Folder => _folder.Path;

    public void Dispose() => _folder.Dispose();
}

/// <summary>The commands end to end on tiny models: train, translate, attend, eval, info, and their error paths.</summary>
public class CommandTests : IClassFixture<TinyModels>
{
    private readonly TinyModels _models;

    public CommandTests(TinyModels models) => _models = models;

    [Fact]
    public void Train_TinyReverse_WritesModelCheckpointAndEpochLine()
    {
        Assert.True(_models.TrainResult.Code == 0, _models.TrainResult.Error);
        Assert.True(File.Exists(_models.Attention));
        Assert.True(File.Exists(Path.Combine(_models.Folder, "attn.ckpt.safetensors")));
        Assert.Contains("epoch 1/1", _models.TrainResult.Error, StringComparison.Ordinal);
        Assert.Contains("held-out", _models.TrainResult.Error, StringComparison.Ordinal);
        Assert.Contains("saved", _models.TrainResult.Out, StringComparison.Ordinal);
        Assert.Equal(0, _models.NoneResult.Code);
        Assert.DoesNotContain(Directory.GetFiles(_models.Folder), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void Translate_Arguments_OneLinePerSentence()
    {
        (int code, string output, string error) = CliRunner.Run("translate", _models.Attention, "a b c", "d e f g");

        Assert.Equal(0, code);
        Assert.Equal(2, output.Count(c => c == '\n'));
        Assert.Equal("", error);
    }

    [Fact]
    public void Translate_StdinLines_OneLinePerLineBlankIncluded()
    {
        (int code, string output, _) = CliRunner.RunWithStdin("a b c\n\nd e f\n", "translate", _models.Attention);

        Assert.Equal(0, code);
        Assert.Equal(3, output.Count(c => c == '\n'));
    }

    [Fact]
    public void Translate_UnknownTokens_OneWarningLine()
    {
        (int code, string output, string error) = CliRunner.Run("translate", _models.Attention, "a zz b", "zz yy");

        Assert.Equal(0, code);
        Assert.Equal(2, output.Count(c => c == '\n'));
        string[] lines = CliRunner.Lines(error);
        Assert.Single(lines);
        Assert.StartsWith("spanattn: warning: 3 unknown tokens mapped to <unk>", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Translate_BeamWithNBest_PrintsNScoredLines()
    {
        (int code, string output, _) = CliRunner.Run("translate", _models.Attention, "--beam", "4", "--nbest", "3", "a b c");

        Assert.Equal(0, code);
        string[] lines = CliRunner.Lines(output);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.StartsWith("1\t", l, StringComparison.Ordinal));
    }

    [Fact]
    public void Translate_NBestAboveBeam_UsageError()
    {
        (int code, _, string error) = CliRunner.Run("translate", _models.Attention, "--beam", "2", "--nbest", "3", "a b");

        Assert.Equal(2, code);
        CliRunner.AssertOneErrorLine(error, "--nbest");
    }

    [Fact]
    public void Translate_Attention_WritesWellFormedSvgWithOneCellPerPair()
    {
        using var folder = new TempFolder();
        string svg = folder.File("a.svg");
        (int code, string output, _) = CliRunner.Run("translate", _models.Attention, "--attention", svg, "--max-length", "4", "a b c d");

        Assert.Equal(0, code);
        int rows = CliRunner.Lines(output)[0].Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        XDocument document = XDocument.Load(svg); // throws unless well-formed
        int cells = document.Descendants(XName.Get("rect", "http://www.w3.org/2000/svg")).Count(r => r.Attribute("data-weight") is not null);
        Assert.Equal(rows * 5, cells); // 4 source tokens + <eos> columns, one row per output token
    }

    [Fact]
    public void Attend_Sentence_DrawsHeatmapAndWritesSvg()
    {
        using var folder = new TempFolder();
        string svg = folder.File("h.svg");
        (int code, string output, string error) = CliRunner.Run("attend", _models.Attention, "a b c", "--svg", svg);

        Assert.True(code == 0, error);
        Assert.Contains("a b c →", output, StringComparison.Ordinal);
        Assert.Contains("<eos>", output, StringComparison.Ordinal);
        Assert.Contains("weight:", output, StringComparison.Ordinal);
        _ = XDocument.Load(svg);
    }

    [Fact]
    public void Attend_ModelWithoutAttention_OneErrorLineNoFile()
    {
        using var folder = new TempFolder();
        string svg = folder.File("h.svg");
        (int code, _, string error) = CliRunner.Run("attend", _models.None, "a b c", "--svg", svg);

        Assert.Equal(1, code);
        CliRunner.AssertOneErrorLine(error, "has no attention");
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void Eval_TwoModels_OneComparisonTableWithBuckets()
    {
        (int code, string output, string error) = CliRunner.Run("eval", _models.Attention, _models.None);

        Assert.True(code == 0, error);
        Assert.Contains("attn.safetensors", output, StringComparison.Ordinal);
        Assert.Contains("none.safetensors", output, StringComparison.Ordinal);
        Assert.Contains("exact match", output, StringComparison.Ordinal);
        Assert.Contains("BLEU-4", output, StringComparison.Ordinal);
        Assert.Contains("by source length", output, StringComparison.Ordinal);
        Assert.Contains("evaluated on reverse", output, StringComparison.Ordinal); // the recorded task is used
    }

    [Fact]
    public void Eval_DataFile_ScoresEveryLine()
    {
        using var folder = new TempFolder();
        string tsv = folder.File("t.tsv");
        File.WriteAllText(tsv, "a b c\tc b a\nd e\te d\textra column\n");
        (int code, string output, _) = CliRunner.Run("eval", _models.Attention, "--data", tsv, "--format", "markdown");

        Assert.Equal(0, code);
        Assert.Contains("| attn.safetensors |", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Eval_OtherTaskVocabulary_OneErrorLine()
    {
        (int code, _, string error) = CliRunner.Run("eval", _models.Attention, "--task", "hi-en", "--count", "200");

        Assert.Equal(1, code);
        CliRunner.AssertOneErrorLine(error, "does not match this data");
    }

    [Fact]
    public void Info_TrainedModel_ShowsConfigurationAndTask()
    {
        (int code, string output, _) = CliRunner.Run("info", _models.Attention);

        Assert.Equal(0, code);
        Assert.Contains("spanattention.config.HiddenSize: 32", output, StringComparison.Ordinal);
        Assert.Contains("spanattention.task.task: reverse", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_Resume_ContinuesAtTheNextEpoch()
    {
        using var folder = new TempFolder();
        string output = folder.File("r.safetensors");
        string checkpoint = Path.Combine(_models.Folder, "attn.ckpt.safetensors");
        (int code, string stdout, string error) = CliRunner.Run([.. TinyModels.Train(output, epochs: 2), "--resume", checkpoint]);

        Assert.True(code == 0, error);
        Assert.Contains("resuming", error, StringComparison.Ordinal);
        Assert.Contains("epoch 2/2", error, StringComparison.Ordinal);
        Assert.DoesNotContain("epoch 1/2", error, StringComparison.Ordinal);
        Assert.Contains("saved", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_ResumeOtherArchitecture_OneErrorLine()
    {
        using var folder = new TempFolder();
        string checkpoint = Path.Combine(_models.Folder, "attn.ckpt.safetensors");
        string[] args = TinyModels.With(TinyModels.Train(folder.File("r.safetensors"), epochs: 2), "--hidden-size", "24");
        (int code, _, string error) = CliRunner.Run([.. args, "--resume", checkpoint]);

        Assert.Equal(1, code);
        Assert.Contains("cannot resume", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_SgdWithDropout_TrainsAndRecordsDropout()
    {
        using var folder = new TempFolder();
        string output = folder.File("sgd.safetensors");
        string[] args = [.. TinyModels.With(TinyModels.Train(output), "--lr", "0.1"), "--optimizer", "sgd", "--momentum", "0.8", "--dropout", "0.2"];
        (int code, string stdout, string error) = CliRunner.Run(args);

        Assert.True(code == 0, error);
        Assert.Contains("saved", stdout, StringComparison.Ordinal);
        (code, string info, _) = CliRunner.Run("info", output);
        Assert.Equal(0, code);
        Assert.Contains("spanattention.config.Dropout: 0.2", info, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_ResumeAdamCheckpointWithSgd_OneErrorLine()
    {
        using var folder = new TempFolder();
        string checkpoint = Path.Combine(_models.Folder, "attn.ckpt.safetensors");
        (int code, _, string error) = CliRunner.Run([.. TinyModels.Train(folder.File("r.safetensors"), epochs: 2), "--optimizer", "sgd", "--resume", checkpoint]);

        Assert.Equal(1, code);
        string last = CliRunner.Lines(error)[^1];
        Assert.StartsWith("spanattn: error: cannot resume", last, StringComparison.Ordinal);
        Assert.Contains("optimizer is 'adam'", last, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_OutputIsAFolder_FailsBeforeTrainingAndLeavesNoFile()
    {
        using var folder = new TempFolder();
        string target = folder.File("taken");
        Directory.CreateDirectory(target);
        (int code, _, string error) = CliRunner.Run(TinyModels.Train(target));

        Assert.Equal(1, code);
        CliRunner.AssertOneErrorLine(error, "is a folder");
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void Train_OutputFolderMissing_OneErrorLine()
    {
        using var folder = new TempFolder();
        (int code, _, string error) = CliRunner.Run(TinyModels.Train(folder.File(Path.Combine("missing", "m.safetensors"))));

        Assert.Equal(1, code);
        CliRunner.AssertOneErrorLine(error, "does not exist");
    }

    [Theory]
    [InlineData("--threads", "100000", "--threads")] // more than any machine's processors
    [InlineData("--teacher-forcing", "1.5", "--teacher-forcing")]
    [InlineData("--lr", "0", "--lr")]
    [InlineData("--dropout", "1", "--dropout")]
    [InlineData("--dropout", "-0.2", "--dropout")]
    [InlineData("--momentum", "1.5", "--momentum")]
    [InlineData("--clip", "1,5", "--clip")] // a comma is not a decimal separator, and not read as 15 either
    [InlineData("--lr", "1,000", "--lr")]
    [InlineData("--lr-decay", "0.8.1", "--lr-decay")]
    [InlineData("--dropout", "a lot", "--dropout")]
    public void Train_BadValue_UsageError(string option, string value, string fragment)
    {
        using var folder = new TempFolder();
        (int code, _, string error) = CliRunner.Run(TinyModels.With(TinyModels.Train(folder.File("m.safetensors")), option, value));

        Assert.Equal(2, code);
        CliRunner.AssertOneErrorLine(error, fragment);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Theory]
    [InlineData("--cell", "transformer")]
    [InlineData("--decoder", "pointer")]
    [InlineData("--optimizer", "rmsprop")]
    [InlineData("--task", "wmt14")]
    [InlineData("--no-such-option", "1")]
    public void Train_UnknownChoiceOrOption_ParseErrorExitTwo(string option, string value)
    {
        (int code, string output, string error) = CliRunner.Run("train", option, value);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith("spanattn: error: ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_ZeroEpochs_UsageError()
    {
        using var folder = new TempFolder();
        (int code, _, string error) = CliRunner.Run(TinyModels.Train(folder.File("m.safetensors"), epochs: 0));

        Assert.Equal(2, code);
        CliRunner.AssertOneErrorLine(error, "--epochs");
    }

    [Fact]
    public void Train_TaskAndData_UsageError()
    {
        (int code, _, string error) = CliRunner.Run("train", "--task", "dates", "--data", "x.tsv");

        Assert.Equal(2, code);
        CliRunner.AssertOneErrorLine(error, "either --task or --data");
    }

    [Fact]
    public void Train_MissingDataFile_OneErrorLine()
    {
        using var folder = new TempFolder();
        (int code, _, string error) = CliRunner.Run("train", "--data", folder.File("nope.tsv"), "--output", folder.File("m.safetensors"));

        Assert.Equal(1, code);
        CliRunner.AssertOneErrorLine(error, "does not exist");
    }

    [Fact]
    public void Train_MalformedTsv_ErrorNamesTheLine()
    {
        using var folder = new TempFolder();
        string tsv = folder.File("bad.tsv");
        File.WriteAllText(tsv, "a b\tb a\nno tab here\n");
        (int code, _, string error) = CliRunner.Run("train", "--data", tsv, "--output", folder.File("m.safetensors"));

        Assert.Equal(1, code);
        CliRunner.AssertOneErrorLine(error, "bad.tsv:2");
        Assert.False(File.Exists(folder.File("m.safetensors")));
    }

    [Fact]
    public void Train_EmptyTsv_OneErrorLine()
    {
        using var folder = new TempFolder();
        string tsv = folder.File("empty.tsv");
        File.WriteAllText(tsv, "\n  \n");
        (int code, _, string error) = CliRunner.Run("train", "--data", tsv, "--output", folder.File("m.safetensors"));

        Assert.Equal(1, code);
        CliRunner.AssertOneErrorLine(error, "empty.tsv");
    }

    [Fact]
    public void Train_ReverseLengthsOnOtherTask_UsageError()
    {
        (int code, _, string error) = CliRunner.Run("train", "--task", "dates", "--min-length", "3");

        Assert.Equal(2, code);
        CliRunner.AssertOneErrorLine(error, "--task reverse only");
    }

    [Fact]
    public void Translate_MissingModel_OneErrorLine()
    {
        (int code, string output, string error) = CliRunner.Run("translate", "no-such-model.safetensors", "a b");

        Assert.Equal(1, code);
        Assert.Equal("", output);
        CliRunner.AssertOneErrorLine(error, "does not exist");
    }

    [Fact]
    public void Translate_CorruptModel_OneErrorLine()
    {
        using var folder = new TempFolder();
        string path = folder.File("bad.safetensors");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        (int code, _, string error) = CliRunner.Run("translate", path, "a b");

        Assert.Equal(1, code);
        CliRunner.AssertOneErrorLine(error, "not a valid model file");
    }

    [Fact]
    public void Translate_EmptyStdin_OneErrorLine()
    {
        (int code, _, string error) = CliRunner.RunWithStdin("\n\n", "translate", _models.Attention);

        Assert.Equal(1, code);
        CliRunner.AssertOneErrorLine(error, "No input");
    }

    [Fact]
    public void Translate_AttentionFolderMissing_NoOutput()
    {
        using var folder = new TempFolder();
        (int code, string output, string error) = CliRunner.Run("translate", _models.Attention, "--attention", folder.File(Path.Combine("missing", "a.svg")), "a b");

        Assert.Equal(1, code);
        Assert.Equal("", output);
        CliRunner.AssertOneErrorLine(error, "does not exist");
    }

    [Fact]
    public void Eval_NoModel_ParseError()
    {
        (int code, _, _) = CliRunner.Run("eval");

        Assert.Equal(2, code);
    }

    [Fact]
    public void Demo_SmallRun_TranslatesShowcaseAndWritesFiles()
    {
        using var folder = new TempFolder();
        string model = folder.File("demo.safetensors"), svg = folder.File("attention.svg");
        (int code, string output, string error) = CliRunner.Run("demo", "--count", "300", "--epochs", "1", "--threads", "1", "--output", model, "--svg", svg);

        Assert.True(code == 0, error);
        Assert.Contains("test exact match", output, StringComparison.Ordinal);
        Assert.Contains(SpanAttention.Data.HindiEnglish.ShowcaseSentence, output, StringComparison.Ordinal);
        Assert.True(File.Exists(model));
        _ = XDocument.Load(svg);
    }

    [Fact]
    public void Demo_BadThreads_UsageError()
    {
        (int code, _, string error) = CliRunner.Run("demo", "--threads", "100000");

        Assert.Equal(2, code);
        CliRunner.AssertOneErrorLine(error, "--threads");
    }
}
