using System.CommandLine;
using SpanAttention.Cli.Rendering;

namespace SpanAttention.Cli;

/// <summary>Options several commands share, declared once so their names, defaults and help read the same everywhere.</summary>
internal static class CommonOptions
{
    /// <summary><c>--color auto|always|never</c> (default auto: colour on a terminal unless NO_COLOR is set).</summary>
    public static Option<string> Color() => new Option<string>("--color")
    {
        Description = "Colour in the terminal heatmap: auto (a terminal without NO_COLOR), always or never.",
        DefaultValueFactory = _ => "auto",
    }.AcceptOnlyFromAmong("auto", "always", "never");

    /// <summary><c>--format text|markdown</c> for tables (default text).</summary>
    public static Option<TableFormat> Format() => new("--format")
    {
        Description = "Table style: text or markdown.",
        DefaultValueFactory = _ => TableFormat.Text,
    };

    /// <summary>The colour mode a command should draw with, given its <c>--color</c> value.</summary>
    public static ColorMode ResolveColor(CliContext context, string? choice) =>
        Terminal.Resolve(choice ?? "auto", context.Color);

    /// <summary><c>--max-source-length N</c>: the longest input line accepted, in tokens (default <see cref="Inference.DecodeLimits.DefaultMaxSourceLength"/>).</summary>
    public static Option<int> MaxSourceLength() => new("--max-source-length")
    {
        Description = $"Longest input accepted, in tokens (default {Inference.DecodeLimits.DefaultMaxSourceLength}; decoding memory grows with its square).",
        DefaultValueFactory = _ => Inference.DecodeLimits.DefaultMaxSourceLength,
    };

    /// <summary>The range <c>--max-source-length</c> accepts.</summary>
    public static void CheckMaxSourceLength(int value) => Commands.TrainCommand.CheckRange(value, 1, 100_000, "--max-source-length");
}
