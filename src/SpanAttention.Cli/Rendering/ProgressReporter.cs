using System.Globalization;
using System.Text;
using SpanAttention.Training;

namespace SpanAttention.Cli.Rendering;

/// <summary>
/// The live progress line of training, on stderr. On a terminal it is one line redrawn in place
/// (carriage return, at most every <c>minInterval</c>) with a bar, and each finished epoch leaves a line
/// behind; redirected to a file or pipe, only the finished epochs are written, one line each, so logs stay
/// readable.
/// </summary>
internal sealed class ProgressReporter : IProgress<TrainingProgress>
{
    private const int BarWidth = 24;
    private readonly TextWriter _writer;
    private readonly bool _interactive;
    private readonly TimeSpan _minInterval;
    private TimeSpan? _lastDraw;
    private int _lastLength;

    /// <param name="writer">Usually stderr.</param>
    /// <param name="interactive">Whether <paramref name="writer"/> is a terminal (redraw in place).</param>
    /// <param name="minInterval">The least time between two redraws (default 100 ms).</param>
    public ProgressReporter(TextWriter writer, bool interactive, TimeSpan? minInterval = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _writer = writer;
        _interactive = interactive;
        _minInterval = minInterval ?? TimeSpan.FromMilliseconds(100);
    }

    /// <summary>Reports a step (<see cref="Update"/>) or, when <see cref="TrainingProgress.Completed"/> is set, a finished epoch (<see cref="EpochDone"/>).</summary>
    public void Report(TrainingProgress value)
    {
        if (value.Completed is null)
        {
            Update(value);
        }
        else
        {
            EpochDone(value);
        }
    }

    /// <summary>Reports progress within an epoch (redrawn on a terminal, throttled; nothing otherwise).</summary>
    public void Update(TrainingProgress progress)
    {
        if (!_interactive || (_lastDraw is TimeSpan last && progress.Elapsed - last < _minInterval))
        {
            return;
        }
        _lastDraw = progress.Elapsed;
        Redraw(Format(progress, withBar: true));
    }

    /// <summary>Reports a finished epoch: a line that stays.</summary>
    public void EpochDone(TrainingProgress progress)
    {
        string line = Format(progress, withBar: _interactive);
        if (_interactive)
        {
            Redraw(line);
            _writer.WriteLine();
            _lastLength = 0;
        }
        else
        {
            _writer.WriteLine(line);
        }
        if (progress.Divergence is string divergence)
        {
            _writer.WriteLine($"warning: training looks divergent: {divergence}.");
        }
        _writer.Flush();
    }

    /// <summary>One progress line, e.g. <c>epoch  3/20 [██████░░░░] 15% loss 0.4312 held-out 93.1% 12,345 tok/s 0:42 left</c>.</summary>
    public static string Format(TrainingProgress p, bool withBar)
    {
        var culture = CultureInfo.InvariantCulture;
        int digits = p.Epochs.ToString(culture).Length;
        var line = new StringBuilder();
        line.Append("epoch ").Append(p.Epoch.ToString(culture).PadLeft(digits)).Append('/').Append(p.Epochs.ToString(culture));
        if (withBar)
        {
            int filled = (int)Math.Round(p.Fraction * BarWidth);
            line.Append(" [").Append('█', filled).Append('░', BarWidth - filled).Append(']');
        }
        line.Append(' ').Append((p.Fraction * 100).ToString("0", culture).PadLeft(3)).Append('%');
        line.Append(" loss ").Append(p.Loss.ToString("0.0000", culture));
        if (p.HeldOutAccuracy is double accuracy)
        {
            line.Append(" held-out ").Append((accuracy * 100).ToString("0.0", culture)).Append('%');
        }
        line.Append(' ').Append(p.TokensPerSecond.ToString("N0", culture)).Append(" tok/s");
        line.Append(' ').Append(Duration(p.Elapsed)).Append(" elapsed");
        if (p.Remaining is TimeSpan left && p.Fraction < 1)
        {
            line.Append(", ").Append(Duration(left)).Append(" left");
        }
        return line.ToString();
    }

    /// <summary><c>m:ss</c>, or <c>h:mm:ss</c> from an hour.</summary>
    public static string Duration(TimeSpan t)
    {
        var culture = CultureInfo.InvariantCulture;
        long seconds = (long)Math.Round(Math.Max(0, t.TotalSeconds));
        return seconds >= 3600
            ? $"{(seconds / 3600).ToString(culture)}:{(seconds / 60 % 60).ToString("00", culture)}:{(seconds % 60).ToString("00", culture)}"
            : $"{(seconds / 60).ToString(culture)}:{(seconds % 60).ToString("00", culture)}";
    }

    private void Redraw(string line)
    {
        // Carriage return, the line, and spaces over whatever the previous line had beyond it.
        int pad = Math.Max(0, _lastLength - line.Length);
        _writer.Write('\r');
        _writer.Write(line);
        _writer.Write(new string(' ', pad));
        _writer.Flush();
        _lastLength = line.Length;
    }
}
