using System.Globalization;
using System.Text;
using System.Text.Json;
using SpanAttention.Cli.Rendering;
using SpanAttention.IO;
using SpanAttention.Training;

namespace SpanAttention.Cli;

/// <summary>
/// <c>--log FILE</c> of <c>train</c> and <c>demo</c>: the per-epoch history as JSON lines (<c>.jsonl</c>) or CSV
/// (<c>.csv</c>), one row per epoch, and beside it the curves as SVG (the same name with <c>.svg</c>). Both are rewritten
/// atomically after every epoch, so an interrupted run leaves complete files up to its last epoch, and a resumed run's
/// files hold the epochs of the run it continues too.
/// </summary>
/// <remarks>
/// Columns: <c>epoch</c>; <c>step</c> (optimisation steps so far); <c>train_loss</c> and <c>held_out_loss</c> (mean
/// cross-entropy per target token, nats); <c>exact_match</c> and <c>token_accuracy</c> (held-out, fractions in [0, 1]);
/// <c>tokens_per_second</c> (training throughput of the epoch); <c>learning_rate</c>; <c>elapsed_seconds</c> (training
/// and validation time since the run began); <c>best</c> (whether the epoch was the best so far and saved).
/// </remarks>
internal sealed class TrainingLog
{
    /// <summary>The column names, in order.</summary>
    public static readonly string[] Columns =
        ["epoch", "step", "train_loss", "held_out_loss", "exact_match", "token_accuracy", "tokens_per_second", "learning_rate", "elapsed_seconds", "best"];

    private readonly string _title;

    private TrainingLog(string path, bool csv, string title)
    {
        Path = path;
        PlotPath = System.IO.Path.ChangeExtension(path, ".svg");
        Csv = csv;
        _title = title;
    }

    /// <summary>The history file.</summary>
    public string Path { get; }

    /// <summary>The SVG plot beside it.</summary>
    public string PlotPath { get; }

    /// <summary>Whether the history is CSV (else JSON lines).</summary>
    public bool Csv { get; }

    /// <summary>The log for <paramref name="path"/>, its format from the extension.</summary>
    /// <exception cref="UsageException">The extension is neither <c>.jsonl</c> nor <c>.csv</c>.</exception>
    public static TrainingLog For(string path, string title)
    {
        string ext = System.IO.Path.GetExtension(path);
        return ext.ToLowerInvariant() switch
        {
            ".jsonl" => new TrainingLog(path, csv: false, title),
            ".csv" => new TrainingLog(path, csv: true, title),
            _ => throw new UsageException($"--log '{path}': the file name must end in .jsonl (JSON lines) or .csv; the plot goes beside it as .svg."),
        };
    }

    /// <summary>Writes the history and its plot, each atomically.</summary>
    public void Write(IReadOnlyList<EpochReport> history)
    {
        byte[] table = Encoding.UTF8.GetBytes(Csv ? ToCsv(history) : ToJsonLines(history));
        AtomicFile.WriteAllBytes(Path, table);
        if (history.Count > 0)
        {
            AtomicFile.WriteAllBytes(PlotPath, Encoding.UTF8.GetBytes(TrainingCurves.Svg(history, _title)));
        }
    }

    /// <summary>A header line and one line per epoch; numbers in invariant culture, round-trip precision.</summary>
    public static string ToCsv(IReadOnlyList<EpochReport> history)
    {
        var text = new StringBuilder(string.Join(',', Columns)).Append('\n');
        foreach (EpochReport e in history)
        {
            text.AppendJoin(',', Row(e).Select(v => v switch
            {
                bool b => b ? "true" : "false",
                double d => d.ToString("R", CultureInfo.InvariantCulture),
                _ => Convert.ToString(v, CultureInfo.InvariantCulture),
            })).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>One JSON object per line, one line per epoch (a non-finite number is written as null).</summary>
    public static string ToJsonLines(IReadOnlyList<EpochReport> history)
    {
        var text = new StringBuilder();
        foreach (EpochReport e in history)
        {
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                object[] row = Row(e);
                for (int i = 0; i < Columns.Length; i++)
                {
                    switch (row[i])
                    {
                        case bool b:
                            json.WriteBoolean(Columns[i], b);
                            break;
                        case double d when !double.IsFinite(d):
                            json.WriteNull(Columns[i]);
                            break;
                        case double d:
                            json.WriteNumber(Columns[i], d);
                            break;
                        case long l:
                            json.WriteNumber(Columns[i], l);
                            break;
                        case int n:
                            json.WriteNumber(Columns[i], n);
                            break;
                    }
                }
                json.WriteEndObject();
            }
            text.Append(Encoding.UTF8.GetString(buffer.ToArray())).Append('\n');
        }
        return text.ToString();
    }

    private static object[] Row(EpochReport e) =>
        [e.Epoch, e.Step, e.TrainLoss, e.HeldOutLoss, e.ExactMatch, e.TokenAccuracy, e.TokensPerSecond, e.LearningRate, e.Elapsed.TotalSeconds, e.IsBest];

    /// <summary>Passes every report on, and after each finished epoch rewrites the log from the session's history.</summary>
    public sealed class Writer(IProgress<TrainingProgress> inner, TrainingLog log, TrainingSession session) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Completed is not null)
            {
                log.Write(session.History);
            }
            inner.Report(value);
        }
    }
}
