using System.Globalization;
using System.Security;
using System.Text;
using SpanAttention.Training;

namespace SpanAttention.Cli.Rendering;

/// <summary>
/// The training curves as a standalone SVG: two panels over the same epoch axis, the loss (training and held-out,
/// cross-entropy in nats per target token) above and the held-out accuracy (exact match and token accuracy, %) below.
/// Every curve is one <c>&lt;path class="curve"&gt;</c> with a dot per epoch; the best epoch is marked by a dashed line.
/// </summary>
/// <remarks>
/// The loss axis turns logarithmic when the losses span more than two decades (a diverging run), and says so in its
/// label; non-finite values are left out of a curve. Plain SVG 1.1: no script, no external font, no CSS file.
/// </remarks>
internal static class TrainingCurves
{
    private const double Width = 760, PanelHeight = 250, Left = 78, Right = 168, Top = 46, Gap = 62, Bottom = 52;
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <summary>One curve: its legend text, colour and dash pattern, and its value at each epoch.</summary>
    private sealed record Curve(string Label, string Color, string? Dash, double[] Values);

    /// <summary>Renders <paramref name="history"/> (at least one epoch, in order) as an SVG document.</summary>
    /// <param name="history">The epochs, as <see cref="TrainingResult.History"/> has them.</param>
    /// <param name="title">The heading (e.g. the task and the model).</param>
    public static string Svg(IReadOnlyList<EpochReport> history, string title)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentOutOfRangeException.ThrowIfZero(history.Count, nameof(history));
        double[] epochs = [.. history.Select(h => (double)h.Epoch)];
        Curve[] losses =
        [
            new("training loss", "#1f77b4", null, [.. history.Select(h => h.TrainLoss)]),
            new("held-out loss", "#ff7f0e", "6 3", [.. history.Select(h => h.HeldOutLoss)]),
        ];
        Curve[] accuracies =
        [
            new("exact match", "#2ca02c", null, [.. history.Select(h => 100 * h.ExactMatch)]),
            new("token accuracy", "#9467bd", "6 3", [.. history.Select(h => 100 * h.TokenAccuracy)]),
        ];
        int best = -1;
        for (int i = 0; i < history.Count; i++)
        {
            best = history[i].IsBest ? history[i].Epoch : best;
        }

        double height = Top + PanelHeight + Gap + PanelHeight + Bottom;
        var svg = new StringBuilder();
        svg.Append(C, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(C, $"<text x=\"{Width / 2}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{Escape(title)}</text>\n");

        // The epoch axis reaches a little past the first and last epoch, so their dots and the best-epoch marker (often
        // the last epoch) stay off the panel frame.
        (double lo, double hi) = (epochs[0], epochs[^1]);
        double pad = hi > lo ? Math.Max(0.15, 0.04 * (hi - lo)) : 0.5;
        var x = new Axis(lo - pad, hi + pad, Left, Width - Right, logarithmic: false, integers: true);

        double[] lossValues = [.. losses.SelectMany(c => c.Values).Where(v => double.IsFinite(v) && v > 0)];
        double lossMin = lossValues.Length > 0 ? lossValues.Min() : 0.1, lossMax = lossValues.Length > 0 ? lossValues.Max() : 1;
        bool log = lossMax / lossMin > 100;
        var lossY = log
            ? new Axis(lossMin, lossMax, Top + PanelHeight, Top, logarithmic: true, integers: false)
            : new Axis(0, lossMax, Top + PanelHeight, Top, logarithmic: false, integers: false);
        Panel(svg, x, lossY, losses, epochs, best, Top, log ? "loss (nats per token, log scale)" : "loss (nats per token)");

        double accuracyTop = Top + PanelHeight + Gap;
        // Headroom above 100 %: a converged run's curves run along the top and would hide in the frame.
        var accuracyY = new Axis(0, 100, accuracyTop + PanelHeight, accuracyTop, logarithmic: false, integers: false, headroom: 0.05);
        Panel(svg, x, accuracyY, accuracies, epochs, best, accuracyTop, "held-out accuracy (%)");

        svg.Append(C, $"<text x=\"{(Left + Width - Right) / 2}\" y=\"{height - 12}\" text-anchor=\"middle\" font-size=\"13\">epoch</text>\n");
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>One panel: frame, grid and ticks on both axes, the y label, the curves, the best-epoch marker and the legend.</summary>
    private static void Panel(StringBuilder svg, Axis x, Axis y, Curve[] curves, double[] epochs, int best, double top, string yLabel)
    {
        double bottom = top + PanelHeight, left = Left, right = Width - Right;
        svg.Append(C, $"<g class=\"panel\">\n<rect x=\"{left}\" y=\"{top}\" width=\"{right - left}\" height=\"{PanelHeight}\" fill=\"none\" stroke=\"#444\"/>\n");
        foreach (double t in y.Ticks())
        {
            double py = y.Map(t);
            svg.Append(C, $"<line x1=\"{left}\" y1=\"{F(py)}\" x2=\"{right}\" y2=\"{F(py)}\" stroke=\"#e4e4e4\"/>");
            svg.Append(C, $"<line x1=\"{left - 5}\" y1=\"{F(py)}\" x2=\"{left}\" y2=\"{F(py)}\" stroke=\"#444\"/>");
            svg.Append(C, $"<text x=\"{left - 8}\" y=\"{F(py + 4)}\" text-anchor=\"end\">{Axis.Label(t)}</text>\n");
        }
        foreach (double t in x.Ticks())
        {
            double px = x.Map(t);
            svg.Append(C, $"<line x1=\"{F(px)}\" y1=\"{bottom}\" x2=\"{F(px)}\" y2=\"{bottom + 5}\" stroke=\"#444\"/>");
            svg.Append(C, $"<text x=\"{F(px)}\" y=\"{bottom + 18}\" text-anchor=\"middle\">{Axis.Label(t)}</text>\n");
        }
        double mid = (top + bottom) / 2;
        svg.Append(C, $"<text x=\"20\" y=\"{F(mid)}\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 20 {F(mid)})\">{Escape(yLabel)}</text>\n");
        if (best > 0)
        {
            double px = x.Map(best);
            svg.Append(C, $"<line class=\"best\" x1=\"{F(px)}\" y1=\"{top}\" x2=\"{F(px)}\" y2=\"{bottom}\" stroke=\"#d62728\" stroke-dasharray=\"2 3\"/>\n");
        }
        for (int k = 0; k < curves.Length; k++)
        {
            Curve curve = curves[k];
            var d = new StringBuilder();
            var dots = new StringBuilder();
            for (int i = 0; i < epochs.Length; i++)
            {
                double v = curve.Values[i];
                if (!double.IsFinite(v) || (y.Logarithmic && v <= 0))
                {
                    continue;
                }
                double px = x.Map(epochs[i]), py = y.Map(v);
                d.Append(C, $"{(d.Length == 0 ? "M" : " L")}{F(px)},{F(py)}");
                dots.Append(C, $"<circle cx=\"{F(px)}\" cy=\"{F(py)}\" r=\"2.5\" fill=\"{curve.Color}\"/>");
            }
            string dash = curve.Dash is null ? "" : $" stroke-dasharray=\"{curve.Dash}\"";
            svg.Append(C, $"<path class=\"curve\" data-label=\"{Escape(curve.Label)}\" d=\"{d}\" fill=\"none\" stroke=\"{curve.Color}\" stroke-width=\"2\"{dash}/>\n{dots}\n");
            double ly = top + 16 + (20 * k);
            svg.Append(C, $"<line x1=\"{right + 14}\" y1=\"{F(ly)}\" x2=\"{right + 40}\" y2=\"{F(ly)}\" stroke=\"{curve.Color}\" stroke-width=\"2\"{dash}/>");
            svg.Append(C, $"<text x=\"{right + 46}\" y=\"{F(ly + 4)}\">{Escape(curve.Label)}</text>\n");
        }
        if (best > 0)
        {
            double ly = top + 16 + (20 * curves.Length);
            svg.Append(C, $"<line x1=\"{right + 14}\" y1=\"{F(ly)}\" x2=\"{right + 40}\" y2=\"{F(ly)}\" stroke=\"#d62728\" stroke-dasharray=\"2 3\"/>");
            svg.Append(C, $"<text x=\"{right + 46}\" y=\"{F(ly + 4)}\">best epoch ({best})</text>\n");
        }
        svg.Append("</g>\n");
    }

    private static string F(double v) => v.ToString("0.##", C);

    private static string Escape(string text) => SecurityElement.Escape(text);

    /// <summary>A linear or base-10 logarithmic axis from data values to pixels, with "nice" ticks (1, 2 or 5 times a power of ten).</summary>
    private sealed class Axis
    {
        private readonly double _min, _max, _from, _to;
        private readonly double _top; // the value mapped to the far end: _max plus the headroom
        private readonly bool _integers;

        /// <summary>An axis over data values <paramref name="min"/>..<paramref name="max"/> (widened to nice bounds) drawn from pixel <paramref name="from"/> to <paramref name="to"/>.</summary>
        /// <param name="min">The smallest value shown.</param>
        /// <param name="max">The largest value with a tick.</param>
        /// <param name="from">The pixel coordinate of <paramref name="min"/>.</param>
        /// <param name="to">The pixel coordinate of the far end.</param>
        /// <param name="logarithmic">Base-10 logarithmic instead of linear.</param>
        /// <param name="integers">Ticks on whole numbers only (epochs).</param>
        /// <param name="headroom">Extra room above <paramref name="max"/>, as a fraction of the range (of decades on a log axis): mapped, but without ticks.</param>
        public Axis(double min, double max, double from, double to, bool logarithmic, bool integers, double headroom = 0)
        {
            Logarithmic = logarithmic;
            _integers = integers;
            if (logarithmic)
            {
                (min, max) = (Math.Pow(10, Math.Floor(Math.Log10(min))), Math.Pow(10, Math.Ceiling(Math.Log10(max))));
            }
            else if (!integers)
            {
                max = max <= min ? min + 1 : NiceCeiling(max);
            }
            (_min, _max, _from, _to) = (min, max, from, to);
            _top = logarithmic ? max * Math.Pow(max / min, headroom) : max + (headroom * (max - min));
        }

        public bool Logarithmic { get; }

        public double Map(double v)
        {
            double t = Logarithmic ? (Math.Log10(v) - Math.Log10(_min)) / (Math.Log10(_top) - Math.Log10(_min)) : (v - _min) / (_top - _min);
            return _from + (t * (_to - _from));
        }

        public IEnumerable<double> Ticks()
        {
            if (Logarithmic)
            {
                for (double t = _min; t <= _max * 1.0001; t *= 10)
                {
                    yield return t;
                }
                yield break;
            }
            double step = NiceStep((_max - _min) / 6);
            if (_integers)
            {
                step = Math.Max(1, Math.Round(step));
            }
            for (double t = Math.Ceiling(_min / step) * step; t <= _max + (step * 1e-9); t += step)
            {
                yield return Math.Round(t, 10);
            }
        }

        public static string Label(double v) =>
            v != 0 && (Math.Abs(v) >= 1e5 || Math.Abs(v) < 1e-3) ? v.ToString("0.#e0", C) : v.ToString("0.###", C);

        private static double NiceStep(double raw)
        {
            double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
            double f = raw / power;
            return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
        }

        private static double NiceCeiling(double v)
        {
            double step = NiceStep(v / 6);
            return Math.Ceiling(v / step) * step;
        }
    }
}
