using System.CommandLine;
using SpanAttention.Cli;
using SpanAttention.Cli.Rendering;
using SpanAttention.IO;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary>The top-level handler: each kind of exception a command may throw, turned into one line and an exit code.</summary>
public class ErrorHandlingTests
{
    private static (int Code, string Out, string Error) RunThrowing(Exception exception)
    {
        var o = new StringWriter { NewLine = "\n" };
        var e = new StringWriter { NewLine = "\n" };
        var context = new CliContext(o, e, ColorMode.Plain);
        Command Boom(CliContext c)
        {
            var command = new Command("boom", "Fails on purpose.");
            command.SetAction((Func<ParseResult, int>)(_ =>
            {
                c.Out.Write("partial");
                throw exception;
            }));
            return command;
        }
        int code = Program.Run(["boom"], context, [Boom]);
        return (code, o.ToString(), e.ToString());
    }

    public static TheoryData<Exception, int, string> Expected() => new()
    {
        { new CliException("vocabulary of 'a.safetensors' does not match the data"), ExitCodes.Failure, "spanattn: error: vocabulary of 'a.safetensors' does not match the data" },
        { new UsageException("--beam must be at least 1"), ExitCodes.Usage, "spanattn: error: --beam must be at least 1" },
        { new CliException("custom", 3), 3, "spanattn: error: custom" },
        { new ModelFileException("Tensor 'x' is missing from the file."), ExitCodes.Failure, "spanattn: error: model file: Tensor 'x' is missing from the file." },
        { new FormatException("train.tsv line 17: expected source<TAB>target"), ExitCodes.Failure, "spanattn: error: train.tsv line 17: expected source<TAB>target" },
        { new InvalidDataException("bad\ndata"), ExitCodes.Failure, "spanattn: error: bad data" },
        { new FileNotFoundException("Could not find file", "/x/y.tsv"), ExitCodes.Failure, "spanattn: error: file not found: '/x/y.tsv'" },
        { new UnauthorizedAccessException("Access to the path '/root/a' is denied."), ExitCodes.Failure, "spanattn: error: permission denied: Access to the path '/root/a' is denied." },
        { new DirectoryNotFoundException("Could not find a part of the path '/no/such'."), ExitCodes.Failure, "spanattn: error: Could not find a part of the path '/no/such'." },
        { new IOException("No space left on device"), ExitCodes.Failure, "spanattn: error: No space left on device" },
    };

    [Theory]
    [MemberData(nameof(Expected))]
    public void Run_ExpectedException_OneLineNoStackTrace(Exception exception, int expectedCode, string expectedLine)
    {
        (int code, _, string error) = RunThrowing(exception);

        Assert.Equal(expectedCode, code);
        Assert.Equal(expectedLine + "\n", error);
    }

    [Fact]
    public void Run_Bug_InternalErrorExitCodeWithoutStackTrace()
    {
        (int code, _, string error) = RunThrowing(new InvalidOperationException("index went wrong"));

        Assert.Equal(ExitCodes.InternalError, code);
        string[] lines = CliRunner.Lines(error);
        Assert.Equal("spanattn: internal error: InvalidOperationException: index went wrong", lines[0]);
        Assert.Contains("SPANATTN_DEBUG=1", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownTokens_Message_CountsAndLimitsNames()
    {
        var unknown = new UnknownTokens();
        Assert.Null(unknown.Message());

        unknown.Add("चाय");
        unknown.Add("दूध");
        unknown.Add("चाय");
        Assert.Equal("3 unknown tokens mapped to <unk>: 'चाय' (2), 'दूध'", unknown.Message());

        for (int i = 0; i < 10; i++)
        {
            unknown.Add($"w{i}");
        }
        Assert.EndsWith("'w5' and 4 more", unknown.Message(), StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownTokens_WarnIfAny_OneWarningLine()
    {
        var e = new StringWriter { NewLine = "\n" };
        var context = new CliContext(TextWriter.Null, e, ColorMode.Plain);
        var unknown = new UnknownTokens();
        unknown.WarnIfAny(context);
        unknown.Add("x");
        unknown.WarnIfAny(context);

        Assert.Equal("spanattn: warning: 1 unknown token mapped to <unk>: 'x'\n", e.ToString());
    }
}
