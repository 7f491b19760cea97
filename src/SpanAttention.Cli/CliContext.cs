using SpanAttention.Cli.Rendering;

namespace SpanAttention.Cli;

/// <summary>What a command writes to and knows about its terminal. Commands never touch <see cref="Console"/>
/// directly, so the tests can drive them in-process.</summary>
/// <param name="Out">Standard output: the command's results.</param>
/// <param name="Error">Standard error: errors, warnings and progress.</param>
/// <param name="Color">How colour may be used on <see cref="Out"/> (plain when redirected or NO_COLOR is set).</param>
/// <param name="ErrorIsTerminal">Whether <see cref="Error"/> is a terminal, so progress can be redrawn in place.</param>
internal sealed record CliContext(TextWriter Out, TextWriter Error, ColorMode Color, bool ErrorIsTerminal = false)
{
    /// <summary>Standard input (sentences for <c>translate</c>); empty unless the caller provides one.</summary>
    public TextReader In { get; init; } = TextReader.Null;

    /// <summary>Writes a warning line to stderr (<c>spanattn: warning: ...</c>).</summary>
    public void Warn(string message) => Error.WriteLine($"{Program.ToolName}: warning: {message}");
}
