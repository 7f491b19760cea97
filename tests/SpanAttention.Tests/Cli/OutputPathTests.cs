using SpanAttention.Cli;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary>
/// Outputs that would destroy an input (or another output) are refused before any work, whatever path spells
/// them (relative, absolute, through a symbolic link); unwritable outputs fail at once, naming the user's path;
/// unknown options are errors; the task options follow one rule in train and eval.
/// </summary>
public class OutputPathTests : IClassFixture<TinyModels>
{
    private readonly TinyModels _models;

    public OutputPathTests(TinyModels models) => _models = models;

    /// <summary>Runs the tool and checks it refused with one usage-error line naming <paramref name="fragment"/>.</summary>
    private static void AssertRefused((int Code, string Out, string Error) result, string fragment)
    {
        Assert.Equal(ExitCodes.Usage, result.Code);
        string[] lines = CliRunner.Lines(result.Error);
        Assert.Single(lines);
        Assert.StartsWith("spanattn: error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(fragment, lines[0], StringComparison.Ordinal);
    }

    /// <summary>A copy of the tiny attention model in a fresh folder, so a failure to refuse is seen as a changed file.</summary>
    private string CopyModel(TempFolder folder, string name = "m.safetensors")
    {
        string path = folder.File(name);
        File.Copy(_models.Attention, path);
        return path;
    }

    [Fact]
    public void Translate_AttentionSvgOverTheModel_RefusedAndModelUntouched()
    {
        using var folder = new TempFolder();
        string model = CopyModel(folder);
        byte[] before = File.ReadAllBytes(model);

        AssertRefused(CliRunner.Run("translate", model, "1 2 3", "--attention", model), "is the same file as the model file");
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, model);
        AssertRefused(CliRunner.Run("translate", model, "1 2 3", "--attention", relative), "is the same file as the model file");

        Assert.Equal(before, File.ReadAllBytes(model));
    }

    [Fact]
    public void Attend_SvgThroughASymlinkToTheModel_Refused()
    {
        using var folder = new TempFolder();
        string model = CopyModel(folder);
        byte[] before = File.ReadAllBytes(model);
        string link = folder.File("link.svg");
        File.CreateSymbolicLink(link, model);
        Directory.CreateSymbolicLink(folder.File("dir"), folder.Path);

        AssertRefused(CliRunner.Run("attend", model, "1 2 3", "--svg", link), "is the same file as the model file");
        AssertRefused(CliRunner.Run("attend", model, "1 2 3", "--svg", Path.Combine(folder.Path, "dir", "m.safetensors")), "is the same file as the model file");

        Assert.Equal(before, File.ReadAllBytes(model));
    }

    [Fact]
    public void Train_OutputOrCheckpointOverTheData_RefusedAndDataUntouched()
    {
        using var folder = new TempFolder();
        string data = folder.File("good.tsv");
        File.WriteAllLines(data, Enumerable.Range(0, 40).Select(i => $"a{i % 7} b{i % 5}\tb{i % 5} a{i % 7}"));
        byte[] before = File.ReadAllBytes(data);
        string[] train = ["train", "--data", data, "--epochs", "1", "--embedding-size", "8", "--hidden-size", "8", "--threads", "1"];

        AssertRefused(CliRunner.Run([.. train, "-o", data]), "is the same file as the data file");
        AssertRefused(CliRunner.Run([.. train, "-o", folder.File("m.safetensors"), "--checkpoint", data]), "is the same file as the data file");
        AssertRefused(CliRunner.Run([.. train, "-o", folder.File("m.safetensors"), "--checkpoint", folder.File("m.safetensors")]), "the checkpoint");

        Assert.Equal(before, File.ReadAllBytes(data));
        Assert.Equal([data], Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void Train_ResumeFromTheBestModelFile_Refused()
    {
        using var folder = new TempFolder();
        string model = CopyModel(folder);
        byte[] before = File.ReadAllBytes(model);

        AssertRefused(CliRunner.Run([.. TinyModels.Train(model), "--resume", model]), "is the same file as the checkpoint to resume");

        Assert.Equal(before, File.ReadAllBytes(model));
    }

    [Fact]
    public void Demo_SvgOverTheModelOutput_Refused()
    {
        using var folder = new TempFolder();
        string same = folder.File("x.out");

        AssertRefused(CliRunner.Run("demo", "--output", same, "--svg", same), "is the same file as the model file");

        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void Train_UnwritableOutput_FailsBeforeTrainingNamingThePath()
    {
        if (!Directory.Exists("/proc/self"))
        {
            return; // the unwritable folder used here is Linux's /proc
        }
        (int code, string output, string error) = CliRunner.Run(TinyModels.Train("/proc/m.safetensors"));

        Assert.Equal(ExitCodes.Failure, code);
        Assert.Equal("", output);
        string line = Assert.Single(CliRunner.Lines(error));
        Assert.StartsWith("spanattn: error: cannot write the model file '/proc/m.safetensors'", line, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", line, StringComparison.Ordinal);
        Assert.DoesNotContain("epoch", error, StringComparison.Ordinal);   // refused before the first epoch
    }

    [Fact]
    public void Translate_UnknownOption_IsAnErrorButTextAfterDoubleDashIsTranslated()
    {
        AssertRefused(CliRunner.Run("translate", _models.Attention, "1 2 3", "--frobnicate"), "unknown option '--frobnicate'");
        AssertRefused(CliRunner.Run("translate", _models.Attention, "-x", "1 2"), "unknown option '-x'");

        (int code, string output, string error) = CliRunner.Run("translate", _models.Attention, "--", "--frobnicate 1", "2 3");

        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal(2, CliRunner.Lines(output).Length);
        Assert.DoesNotContain("error", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Eval_NegativeCountOrLengths_RejectedLikeTrain()
    {
        foreach (string[] options in new[] { new[] { "--count", "-5" }, ["--min-length", "-2"], ["--max-length", "-1"] })
        {
            (int trainCode, _, string trainError) = CliRunner.Run(TinyModels.With(TinyModels.Train("unused.safetensors"), options[0], options[1]));
            (int evalCode, _, string evalError) = CliRunner.Run(["eval", _models.Attention, "--task", "reverse", .. options]);

            Assert.Equal(ExitCodes.Usage, trainCode);
            Assert.Equal(ExitCodes.Usage, evalCode);
            Assert.Equal(CliRunner.Lines(trainError)[0], CliRunner.Lines(evalError)[0]);
            Assert.Contains(options[0], CliRunner.Lines(evalError)[0], StringComparison.Ordinal);
        }
        Assert.False(File.Exists("unused.safetensors"));
    }
}
