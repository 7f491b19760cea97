using System.Globalization;
using System.Text;
using static SpanAttention.Cli.Rendering.SvgPanel;

namespace SpanAttention.Cli.Rendering;

/// <summary>
/// Line plots over a shared x axis of whole numbers (a source length, a source position) as a standalone SVG: one or
/// more panels stacked, each with its own y axis, and in each panel one <c>&lt;polyline class="series"&gt;</c> per
/// series (e.g. per model) with a dot per point. Series keep their colour from panel to panel.
/// </summary>
internal static class LinePlot
{
    private const double Width = 760, PanelHeight = 240, Left = 78, Right = 200, Top = 46, Gap = 62, Bottom = 52;
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <summary>One line: its legend text and its points (x ascending).</summary>
    public sealed record Series(string Label, IReadOnlyList<(double X, double Y)> Points);

    /// <summary>One panel: its y label, its series, and its y range.</summary>
    /// <param name="YLabel">The y-axis label.</param>
    /// <param name="Lines">The series drawn in it.</param>
    /// <param name="YMax">The top of a linear axis from 0 (e.g. 100 for a percentage); null: from the data.</param>
    /// <param name="Logarithmic">A base-10 logarithmic y axis (values ≤ 0 are left out of the lines).</param>
    public sealed record Panel(string YLabel, IReadOnlyList<Series> Lines, double? YMax = null, bool Logarithmic = false);

    /// <summary>Renders the panels (at least one) as an SVG document.</summary>
    public static string Svg(string title, string xLabel, IReadOnlyList<Panel> panels)
    {
        ArgumentNullException.ThrowIfNull(panels);
        ArgumentOutOfRangeException.ThrowIfZero(panels.Count, nameof(panels));
        double[] xs = [.. panels.SelectMany(p => p.Lines).SelectMany(s => s.Points).Select(p => p.X)];
        (double lo, double hi) = xs.Length > 0 ? (xs.Min(), xs.Max()) : (0, 1);
        double pad = hi > lo ? Math.Max(0.3, 0.03 * (hi - lo)) : 0.5;
        var x = new SvgAxis(lo - pad, hi + pad, Left, Width - Right, logarithmic: false, integers: true);

        double height = Top + (panels.Count * PanelHeight) + ((panels.Count - 1) * Gap) + Bottom;
        var svg = new StringBuilder();
        Begin(svg, Width, height, title);
        for (int k = 0; k < panels.Count; k++)
        {
            double top = Top + (k * (PanelHeight + Gap));
            Draw(svg, x, panels[k], top);
        }
        XLabel(svg, Left, Width - Right, height - 12, xLabel);
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static void Draw(StringBuilder svg, SvgAxis x, Panel panel, double top)
    {
        double bottom = top + PanelHeight, right = Width - Right;
        double[] ys = [.. panel.Lines.SelectMany(s => s.Points).Select(p => p.Y).Where(v => double.IsFinite(v) && (!panel.Logarithmic || v > 0))];
        SvgAxis y = panel.Logarithmic
            ? new SvgAxis(ys.Length > 0 ? ys.Min() : 0.1, ys.Length > 0 ? ys.Max() : 1, bottom, top, logarithmic: true, integers: false, headroom: 0.03)
            : new SvgAxis(0, panel.YMax ?? (ys.Length > 0 ? ys.Max() : 1), bottom, top, logarithmic: false, integers: false, headroom: 0.05);
        Frame(svg, x, y, Left, right, top, bottom, panel.YLabel);
        for (int k = 0; k < panel.Lines.Count; k++)
        {
            Series series = panel.Lines[k];
            string color = Color(k);
            var points = new StringBuilder();
            var dots = new StringBuilder();
            foreach ((double px0, double py0) in series.Points)
            {
                if (!double.IsFinite(py0) || (panel.Logarithmic && py0 <= 0))
                {
                    continue;
                }
                double px = x.Map(px0), py = y.Map(py0);
                points.Append(C, $"{(points.Length == 0 ? "" : " ")}{F(px)},{F(py)}");
                dots.Append(C, $"<circle cx=\"{F(px)}\" cy=\"{F(py)}\" r=\"2.5\" fill=\"{color}\"/>");
            }
            svg.Append(C, $"<polyline class=\"series\" data-label=\"{Escape(series.Label)}\" points=\"{points}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>\n{dots}\n");
            LegendEntry(svg, right, top, k, color, null, series.Label);
        }
        svg.Append("</g>\n");
    }
}
