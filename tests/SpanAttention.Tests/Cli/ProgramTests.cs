using System.Text;
using System.Text.Json;
using SpanAttention.Cli;
using SpanAttention.IO;
using SpanAttention.Tests.IO;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary>The command line driven in-process: help, parse errors, every error path of <c>info</c>, and its output.</summary>
public class ProgramTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("-?")]
    public void Run_Help_PrintsCommandsAndReturnsZero(string flag)
    {
        (int code, string output, string error) = CliRunner.Run(flag);

        Assert.Equal(0, code);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        Assert.Contains("info", output, StringComparison.Ordinal);
        Assert.Equal("", error);
    }

    [Fact]
    public void Run_NoArgumentsWithoutDemo_PrintsOverviewAndReturnsZero()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var context = new CliContext(stdout, stderr, SpanAttention.Cli.Rendering.ColorMode.Plain);

        int code = Program.Run([], context, [SpanAttention.Cli.Commands.InfoCommand.Create]);

        Assert.Equal(0, code);
        Assert.Contains("Commands:", stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Run_InfoHelp_DescribesArgumentAndOptions()
    {
        (int code, string output, string error) = CliRunner.Run("info", "--help");

        Assert.Equal(0, code);
        Assert.Contains("info <model>", output, StringComparison.Ordinal);
        Assert.Contains("--format", output, StringComparison.Ordinal);
        Assert.Equal("", error);
    }

    [Fact]
    public void Run_UnknownOption_OneErrorLineNamingTheHelpExitCode2()
    {
        using var folder = new TempFolder();
        string model = WriteModel(folder.File("m.safetensors"));

        (int code, string output, string error) = CliRunner.Run("info", model, "--bogus");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", output);
        string first = CliRunner.Lines(error)[0];
        Assert.StartsWith("spanattn: error: ", first, StringComparison.Ordinal);
        Assert.Contains("--bogus", first, StringComparison.Ordinal);
        Assert.EndsWith("(see 'spanattn info --help')", first, StringComparison.Ordinal);
        Assert.Single(CliRunner.Lines(error));
        Assert.DoesNotContain('\t', error);
    }

    [Fact]
    public void Run_UnknownCommand_OneErrorLineNamingTheRootHelp()
    {
        (int code, string output, string error) = CliRunner.Run("frobnicate");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", output);
        Assert.StartsWith("spanattn: error: ", error, StringComparison.Ordinal);
        Assert.Single(CliRunner.Lines(error), l => l.StartsWith("spanattn: error:", StringComparison.Ordinal));
        Assert.Contains("frobnicate", CliRunner.Lines(error)[0], StringComparison.Ordinal);
        Assert.EndsWith("(see 'spanattn --help')", CliRunner.Lines(error)[0], StringComparison.Ordinal);
        Assert.Single(CliRunner.Lines(error));
    }

    [Fact]
    public void Run_InfoWithoutModel_UsageError()
    {
        (int code, _, string error) = CliRunner.Run("info");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("spanattn: error: ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_InfoBadFormatValue_UsageError()
    {
        using var folder = new TempFolder();
        string model = WriteModel(folder.File("m.safetensors"));

        (int code, _, string error) = CliRunner.Run("info", model, "--format", "html");

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("html", CliRunner.Lines(error)[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Run_InfoMissingFile_OneLineErrorNamingThePath()
    {
        using var folder = new TempFolder();
        string missing = folder.File("nope.safetensors");

        (int code, string output, string error) = CliRunner.Run("info", missing);

        AssertOneLineError(code, output, error);
        Assert.Contains(missing, error, StringComparison.Ordinal);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_InfoOnFolder_OneLineError()
    {
        using var folder = new TempFolder();

        (int code, string output, string error) = CliRunner.Run("info", folder.Path);

        AssertOneLineError(code, output, error);
        Assert.Contains("is a folder", error, StringComparison.Ordinal);
    }

    public static TheoryData<string, byte[], string> CorruptFiles()
    {
        byte[] valid = ModelBytes();
        return new()
        {
            { "empty", [], "fewer than the 8-byte" },
            { "text file", Encoding.UTF8.GetBytes("this is not a model, just some text\n"), "exceeds the limit" },
            { "truncated", valid[..(valid.Length - 5)], "data buffer" },
            { "header cut", valid[..20], "runs past the end" },
            { "JSON array header", SafeTensorsReaderTests.Craft("[1, 2, 3]", 0), "start with '{'" },
            { "broken JSON", SafeTensorsReaderTests.Craft("{\"a\": {\"dtype\": ", 0), "not valid JSON" },
        };
    }

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void Run_InfoCorruptModelFile_OneLineErrorNoStackTrace(string what, byte[] content, string expected)
    {
        using var folder = new TempFolder();
        string path = folder.File(what.Replace(' ', '-') + ".safetensors");
        File.WriteAllBytes(path, content);

        (int code, string output, string error) = CliRunner.Run("info", path);

        AssertOneLineError(code, output, error);
        Assert.StartsWith($"spanattn: error: '{path}' is not a valid model file: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_Info_ListsTensorsShapesCountsAndMetadata()
    {
        using var folder = new TempFolder();
        string path = WriteModel(folder.File("model.safetensors"));

        (int code, string output, string error) = CliRunner.Run("info", path);

        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Contains("tensors: 3, parameters: 41", output, StringComparison.Ordinal);
        string[] lines = CliRunner.Lines(output);
        Assert.Contains(lines, l => l.StartsWith("encoder.embedding.weight", StringComparison.Ordinal) && l.Contains("F32", StringComparison.Ordinal) && l.Contains("[5, 4]", StringComparison.Ordinal) && l.TrimEnd().EndsWith(" 20", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("decoder.out.weight", StringComparison.Ordinal) && l.Contains("[3, 6]", StringComparison.Ordinal) && l.TrimEnd().EndsWith(" 18", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("decoder.out.bias", StringComparison.Ordinal) && l.Contains("[3]", StringComparison.Ordinal));
        // Per module: encoder 1 tensor / 20, decoder 2 tensors / 21.
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["encoder", "1", "20"]);
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["decoder", "2", "21"]);
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["total", "3", "41"]);
        // Metadata: a JSON object value is listed field by field; plain values as they are (Devanagari intact).
        Assert.Contains("  config.cell: gru", lines);
        Assert.Contains("  config.hidden: 6", lines);
        Assert.Contains("  example: मैं खाना खा रहा हूँ", lines);
    }

    [Fact]
    public void Run_InfoMarkdown_PrintsMarkdownTables()
    {
        using var folder = new TempFolder();
        string path = WriteModel(folder.File("model.safetensors"));

        (int code, string output, _) = CliRunner.Run("info", path, "--format", "markdown");

        Assert.Equal(0, code);
        Assert.Contains("| encoder.embedding.weight | F32   | [5, 4] |         20 |", output, StringComparison.Ordinal);
        Assert.Contains("| ------------------------ | ----- | ------ | ---------: |", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_InfoWithoutMetadata_SaysNone()
    {
        using var folder = new TempFolder();
        string path = folder.File("plain.safetensors");
        using (FileStream stream = File.Create(path))
        {
            SafeTensorsWriter.Write(stream, [new SafeTensor("w", [2], new float[] { 1, 2 })]);
        }

        (int code, string output, _) = CliRunner.Run("info", path);

        Assert.Equal(0, code);
        Assert.Contains("metadata: none", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_ExpectedErrors_OneLineMessages()
    {
        Assert.Equal("model file: bad header", Program.Describe(new ModelFileException("bad header")));
        Assert.Equal("file not found: 'x.tsv'", Program.Describe(new FileNotFoundException("gone", "x.tsv")));
        Assert.Equal("line 3: two columns expected", Program.Describe(new FormatException("line 3:\ntwo columns expected")));
        Assert.Equal("nope", Program.Describe(new CliException("nope")));
        Assert.Equal("permission denied: denied", Program.Describe(new UnauthorizedAccessException("denied")));
        Assert.Equal("disk full", Program.Describe(new IOException("disk full")));
        Assert.Equal("bad weights", Program.Describe(new SpanAttention.Visualization.HeatmapInputException("bad weights")));
        Assert.Equal("bad corpus", Program.Describe(new SpanAttention.Evaluation.EvaluationInputException("bad corpus")));
    }

    [Fact]
    public void Describe_Bugs_AreNotExpected()
    {
        Assert.Null(Program.Describe(new InvalidOperationException("bug")));
        Assert.Null(Program.Describe(new NullReferenceException()));
        Assert.Null(Program.Describe(new IndexOutOfRangeException()));
    }

    [Fact]
    public void UsageException_HasUsageExitCode()
    {
        Assert.Equal(ExitCodes.Usage, new UsageException("x").ExitCode);
        Assert.Equal(ExitCodes.Failure, new CliException("x").ExitCode);
    }

    private static void AssertOneLineError(int code, string output, string error)
    {
        Assert.NotEqual(0, code);
        Assert.Equal("", output);
        string[] lines = CliRunner.Lines(error);
        Assert.Single(lines);
        Assert.StartsWith("spanattn: error: ", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", error, StringComparison.Ordinal);
    }

    private static byte[] ModelBytes()
    {
        var metadata = new Dictionary<string, string>
        {
            ["config"] = JsonSerializer.Serialize(new Dictionary<string, object> { ["cell"] = "gru", ["hidden"] = 6 }),
            ["example"] = "मैं खाना खा रहा हूँ",
        };
        using var stream = new MemoryStream();
        SafeTensorsWriter.Write(
            stream,
            [
                new SafeTensor("encoder.embedding.weight", [5, 4], new float[20]),
                new SafeTensor("decoder.out.weight", [3, 6], new float[18]),
                new SafeTensor("decoder.out.bias", [3], new float[3]),
            ],
            metadata);
        return stream.ToArray();
    }

    private static string WriteModel(string path)
    {
        File.WriteAllBytes(path, ModelBytes());
        return path;
    }
}
