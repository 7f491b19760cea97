using System.CommandLine;
using System.Globalization;
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

    /// <summary>
    /// A decimal-number option such as <c>--lr 3e-3</c>: read in invariant culture with a point as the only decimal
    /// separator and no thousands separator, so <c>--clip 1,5</c> is refused instead of being read as 15.
    /// </summary>
    public static Option<float> Number(string name, string description, float defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            string token = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(" ", result.Tokens.Select(t => t.Value));
            if (float.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) && float.IsFinite(value))
            {
                return value;
            }
            result.AddError($"{name} '{token}': not a number; write it with a point as the decimal separator, e.g. 1.5 or 3e-3.");
            return defaultValue;
        },
    };

    /// <summary><c>--format text|markdown</c> for tables (default text).</summary>
    public static Option<string> Format() => new Option<string>("--format")
    {
        Description = "Table style: text or markdown.",
        DefaultValueFactory = _ => "text",
    }.AcceptOnlyFromAmong("text", "markdown");

    /// <summary>The table format of a <see cref="Format"/> value.</summary>
    public static TableFormat ParseFormat(string? value) => value == "markdown" ? TableFormat.Markdown : TableFormat.Text;

    /// <summary>The default of <c>--threads</c>: two training threads when the machine has two processors or more.</summary>
    public static int DefaultThreads => Math.Min(2, Environment.ProcessorCount);

    /// <summary><c>--threads N</c> of <c>train</c> and <c>demo</c>: 1 up to the machine's processor count.</summary>
    public static Option<int> Threads() => new("--threads")
    {
        Description = $"Training threads, 1 to the processor count ({Environment.ProcessorCount} here). The trainer runs at most 2: with 2 or more each batch is split in two halves trained concurrently, and a value above 2 is used as 2 (with a warning). Default: {DefaultThreads}.",
        DefaultValueFactory = _ => DefaultThreads,
    };

    /// <summary>
    /// The trainer's thread count for a <see cref="Threads"/> value, after checking it against
    /// <paramref name="processorCount"/>; a value above what the trainer runs is accepted with one warning saying so.
    /// </summary>
    public static int ResolveThreads(CliContext context, int value, int processorCount)
    {
        Commands.TrainCommand.CheckRange(value, 1, processorCount, "--threads");
        int used = TrainerThreads(value);
        if (used < value)
        {
            context.Warn($"--threads {value}: the trainer runs at most {used} threads (each trains half of every batch); using {used}.");
        }
        return used;
    }

    /// <summary>The library trainer's thread count for a <see cref="Threads"/> value: it runs 1 or 2 (two half-batches).</summary>
    public static int TrainerThreads(int value) => Math.Min(2, value);

    /// <summary>The colour mode a command should draw with, given its <c>--color</c> value.</summary>
    public static ColorMode ResolveColor(CliContext context, string? choice) =>
        Terminal.Resolve(choice ?? "auto", context.Color);

    /// <summary><c>--max-source-length N</c>: the longest input line accepted, in tokens (default <see cref="Inference.DecodeLimits.DefaultMaxSourceLength"/>).</summary>
    public static Option<int> MaxSourceLength() => new("--max-source-length")
    {
        Description = $"Longest input accepted, in tokens (default {Inference.DecodeLimits.DefaultMaxSourceLength}; decoding memory grows with its square).",
        DefaultValueFactory = _ => Inference.DecodeLimits.DefaultMaxSourceLength,
    };

    /// <summary><c>--weights fp32|bf16|int8</c>: how the decoding weights are stored (<see cref="Seq2Seq.InferenceWeightFormat"/>).</summary>
    public static Option<string> Weights()
    {
        var option = new Option<string>("--weights")
        {
            Description = "Decoding weights: fp32 (exact, default), bf16 or int8 (per-row scales): narrower weights decode faster, with results within their rounding error.",
            DefaultValueFactory = _ => "fp32",
        };
        option.AcceptOnlyFromAmong("fp32", "bf16", "int8");
        return option;
    }

    /// <summary>The format a <c>--weights</c> value names.</summary>
    public static Seq2Seq.InferenceWeightFormat ParseWeights(string? value) => value switch
    {
        null or "fp32" => Seq2Seq.InferenceWeightFormat.Float32,
        "bf16" => Seq2Seq.InferenceWeightFormat.BFloat16,
        "int8" => Seq2Seq.InferenceWeightFormat.Int8,
        _ => throw new UsageException($"--weights must be fp32, bf16 or int8, got '{value}'."),
    };

    /// <summary>The range <c>--max-source-length</c> accepts.</summary>
    public static void CheckMaxSourceLength(int value) => Commands.TrainCommand.CheckRange(value, 1, 100_000, "--max-source-length");
}
