using System.Globalization;
using System.Security;
using System.Text;

namespace SpanAttention.Cli.Rendering;

/// <summary>
/// The parts every SVG plot of the CLI shares: the document head, a panel's frame with grid lines, ticks and
/// axis labels, and legend entries. Plain SVG 1.1: no script, no external font, no CSS file.
/// </summary>
internal static class SvgPanel
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <summary>A pixel coordinate as SVG text: at most two decimals, invariant culture.</summary>
    public static string F(double v) => v.ToString("0.##", C);

    /// <summary>Text escaped for an SVG element or attribute.</summary>
    public static string Escape(string text) => SecurityElement.Escape(text);

    /// <summary>Starts a document of the given size on a white background, with a bold centred title.</summary>
    public static void Begin(StringBuilder svg, double width, double height, string title)
    {
        svg.Append(C, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(C, $"<text x=\"{width / 2}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{Escape(title)}</text>\n");
    }

    /// <summary>
    /// Opens a <c>&lt;g class="panel"&gt;</c> and draws its frame from (<paramref name="left"/>, <paramref name="top"/>) to
    /// (<paramref name="right"/>, <paramref name="bottom"/>), horizontal grid lines and ticks of <paramref name="y"/>, ticks
    /// of <paramref name="x"/>, and the y label (rotated, at the left edge). The caller draws its curves and closes the group.
    /// </summary>
    public static void Frame(StringBuilder svg, SvgAxis x, SvgAxis y, double left, double right, double top, double bottom, string yLabel)
    {
        svg.Append(C, $"<g class=\"panel\">\n<rect x=\"{F(left)}\" y=\"{F(top)}\" width=\"{F(right - left)}\" height=\"{F(bottom - top)}\" fill=\"none\" stroke=\"#444\"/>\n");
        foreach (double t in y.Ticks())
        {
            double py = y.Map(t);
            svg.Append(C, $"<line x1=\"{F(left)}\" y1=\"{F(py)}\" x2=\"{F(right)}\" y2=\"{F(py)}\" stroke=\"#e4e4e4\"/>");
            svg.Append(C, $"<line x1=\"{F(left - 5)}\" y1=\"{F(py)}\" x2=\"{F(left)}\" y2=\"{F(py)}\" stroke=\"#444\"/>");
            svg.Append(C, $"<text x=\"{F(left - 8)}\" y=\"{F(py + 4)}\" text-anchor=\"end\">{SvgAxis.Label(t)}</text>\n");
        }
        foreach (double t in x.Ticks())
        {
            double px = x.Map(t);
            svg.Append(C, $"<line x1=\"{F(px)}\" y1=\"{F(bottom)}\" x2=\"{F(px)}\" y2=\"{F(bottom + 5)}\" stroke=\"#444\"/>");
            svg.Append(C, $"<text x=\"{F(px)}\" y=\"{F(bottom + 18)}\" text-anchor=\"middle\">{SvgAxis.Label(t)}</text>\n");
        }
        double mid = (top + bottom) / 2;
        svg.Append(C, $"<text class=\"y-label\" x=\"20\" y=\"{F(mid)}\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 20 {F(mid)})\">{Escape(yLabel)}</text>\n");
    }

    /// <summary>The x-axis label, centred under the plot area at <paramref name="y"/>.</summary>
    public static void XLabel(StringBuilder svg, double left, double right, double y, string label) =>
        svg.Append(C, $"<text class=\"x-label\" x=\"{F((left + right) / 2)}\" y=\"{F(y)}\" text-anchor=\"middle\" font-size=\"13\">{Escape(label)}</text>\n");

    /// <summary>Legend entry <paramref name="index"/> right of a panel: a short line in the curve's style and its text.</summary>
    public static void LegendEntry(StringBuilder svg, double right, double top, int index, string color, string? dash, string label, double strokeWidth = 2)
    {
        double ly = top + 16 + (20 * index);
        svg.Append(C, $"<line x1=\"{F(right + 14)}\" y1=\"{F(ly)}\" x2=\"{F(right + 40)}\" y2=\"{F(ly)}\" stroke=\"{color}\" stroke-width=\"{F(strokeWidth)}\"{DashAttribute(dash)}/>");
        svg.Append(C, $"<text x=\"{F(right + 46)}\" y=\"{F(ly + 4)}\">{Escape(label)}</text>\n");
    }

    /// <summary>The <c>stroke-dasharray</c> attribute (with a leading space), or nothing for a solid line.</summary>
    public static string DashAttribute(string? dash) => dash is null ? "" : $" stroke-dasharray=\"{dash}\"";

    /// <summary>Colours for successive curves (the matplotlib "tab10" cycle), repeating after ten.</summary>
    public static string Color(int index) => Palette[index % Palette.Length];

    private static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
}
