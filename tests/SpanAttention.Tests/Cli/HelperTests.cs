using SpanAttention.Cli;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary>Input lines.</summary>
public class HelperTests
{
    [Fact]
    public void InputLines_Arguments_TakenAsSentences()
    {
        Assert.Equal(["मैं खाना खा रहा हूँ", "b"], InputLines.Read([" मैं खाना खा रहा हूँ ", "b"], new StringReader("ignored")));
    }

    [Fact]
    public void InputLines_NoArguments_EveryStdinLineTrimmedBlankOnesKept()
    {
        Assert.Equal(["a b", "", "", "c"], InputLines.Read([], new StringReader("a b\n\n  \r\nc\n")));
    }

    [Fact]
    public void InputLines_EmptyInput_CliError()
    {
        Assert.Throws<CliException>(() => InputLines.Read(null, new StringReader("\n \n")));
    }

    [Fact]
    public void InputLines_BlankArgument_UsageError()
    {
        var e = Assert.Throws<UsageException>(() => InputLines.Read(["a", " "], TextReader.Null));
        Assert.Contains("argument 2", e.Message, StringComparison.Ordinal);
    }
}
