using System.Globalization;
using System.Text;
using SpanAttention.Training;
using static SpanAttention.Cli.Rendering.SvgPanel;

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
        SvgPanel.Begin(svg, Width, height, title);

        // The epoch axis reaches a little past the first and last epoch, so their dots and the best-epoch marker (often
        // the last epoch) stay off the panel frame.
        (double lo, double hi) = (epochs[0], epochs[^1]);
        double pad = hi > lo ? Math.Max(0.15, 0.04 * (hi - lo)) : 0.5;
        var x = new SvgAxis(lo - pad, hi + pad, Left, Width - Right, logarithmic: false, integers: true);

        double[] lossValues = [.. losses.SelectMany(c => c.Values).Where(v => double.IsFinite(v) && v > 0)];
        double lossMin = lossValues.Length > 0 ? lossValues.Min() : 0.1, lossMax = lossValues.Length > 0 ? lossValues.Max() : 1;
        bool log = lossMax / lossMin > 100;
        var lossY = log
            ? new SvgAxis(lossMin, lossMax, Top + PanelHeight, Top, logarithmic: true, integers: false)
            : new SvgAxis(0, lossMax, Top + PanelHeight, Top, logarithmic: false, integers: false);
        Panel(svg, x, lossY, losses, epochs, best, Top, log ? "loss (nats per token, log scale)" : "loss (nats per token)");

        double accuracyTop = Top + PanelHeight + Gap;
        // Headroom above 100 %: a converged run's curves run along the top and would hide in the frame.
        var accuracyY = new SvgAxis(0, 100, accuracyTop + PanelHeight, accuracyTop, logarithmic: false, integers: false, headroom: 0.05);
        Panel(svg, x, accuracyY, accuracies, epochs, best, accuracyTop, "held-out accuracy (%)");

        SvgPanel.XLabel(svg, Left, Width - Right, height - 12, "epoch");
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>One panel: frame, grid and ticks on both axes, the y label, the curves, the best-epoch marker and the legend.</summary>
    private static void Panel(StringBuilder svg, SvgAxis x, SvgAxis y, Curve[] curves, double[] epochs, int best, double top, string yLabel)
    {
        double bottom = top + PanelHeight, right = Width - Right;
        SvgPanel.Frame(svg, x, y, Left, right, top, bottom, yLabel);
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
            svg.Append(C, $"<path class=\"curve\" data-label=\"{Escape(curve.Label)}\" d=\"{d}\" fill=\"none\" stroke=\"{curve.Color}\" stroke-width=\"2\"{DashAttribute(curve.Dash)}/>\n{dots}\n");
            SvgPanel.LegendEntry(svg, right, top, k, curve.Color, curve.Dash, curve.Label);
        }
        if (best > 0)
        {
            SvgPanel.LegendEntry(svg, right, top, curves.Length, "#d62728", "2 3", $"best epoch ({best})", strokeWidth: 1);
        }
        svg.Append("</g>\n");
    }
}
