using SpanAttention.Cli;

namespace SpanAttention.Tests.Cli;

/// <summary>Runs <c>spanattn</c> in-process and captures what it printed.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Error) Run(params string[] args)
    {
        using var stdout = new StringWriter { NewLine = "\n" };
        using var stderr = new StringWriter { NewLine = "\n" };
        int code = Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs it with <paramref name="stdin"/> as standard input.</summary>
    public static (int Code, string Out, string Error) RunWithStdin(string stdin, params string[] args)
    {
        using var stdout = new StringWriter { NewLine = "\n" };
        using var stderr = new StringWriter { NewLine = "\n" };
        int code = Program.Run(args, stdout, stderr, stdin: new StringReader(stdin));
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Asserts that stderr is exactly one <c>spanattn: error:</c> line holding <paramref name="fragment"/>,
    /// without a tab or a stack trace.</summary>
    public static void AssertOneErrorLine(string error, string fragment)
    {
        string[] lines = Lines(error);
        Xunit.Assert.Single(lines);
        Xunit.Assert.StartsWith("spanattn: error: ", lines[0], StringComparison.Ordinal);
        Xunit.Assert.Contains(fragment, lines[0], StringComparison.Ordinal);
        Xunit.Assert.DoesNotContain("\t", lines[0], StringComparison.Ordinal);
        Xunit.Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    /// <summary>The non-empty lines of a text.</summary>
    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>A temporary folder deleted at the end of the test.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "spanattn-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
