using System.Globalization;
using System.Text;
using SpanAttention.Visualization;

namespace SpanAttention.Cli.Rendering;

/// <summary>
/// The attention matrix of one sentence drawn in the terminal: source tokens across the top, target
/// tokens down the left, one block per (target, source) pair. In colour each block is a background of
/// <see cref="ColorScale"/>; in <see cref="ColorMode.Plain"/> (pipes, NO_COLOR) the weight is a shading
/// character, in fifths: · below 0.2, ░ below 0.4, ▒ below 0.6, ▓ below 0.8, █ from 0.8.
/// </summary>
/// <remarks>Columns are padded by <see cref="DisplayWidth"/> so Devanagari headers line up in terminals that
/// follow wcwidth (see its remarks for conjuncts).</remarks>
internal static class TerminalHeatmap
{
    /// <summary>The plain-mode shading, one character per fifth of [0, 1].</summary>
    public static readonly char[] Shades = ['·', '░', '▒', '▓', '█'];

    /// <summary>Renders the heatmap as lines of text (each ending with a newline), with a legend line.</summary>
    /// <param name="sourceTokens">The S source tokens (columns).</param>
    /// <param name="targetTokens">The T target tokens (rows).</param>
    /// <param name="weights">(T, S) row-major, finite, in [0, 1].</param>
    /// <param name="color">Colour use.</param>
    /// <returns>The drawing.</returns>
    /// <exception cref="HeatmapInputException">The counts or weights are wrong (see <see cref="AttentionHeatmap.Validate"/>).</exception>
    public static string Render(IReadOnlyList<string> sourceTokens, IReadOnlyList<string> targetTokens, ReadOnlySpan<float> weights, ColorMode color)
    {
        AttentionHeatmap.Validate(sourceTokens, targetTokens, weights);
        int s = sourceTokens.Count, t = targetTokens.Count;
        int labelWidth = 0;
        foreach (string token in targetTokens)
        {
            labelWidth = Math.Max(labelWidth, DisplayWidth.Of(token));
        }
        var columnWidth = new int[s];
        for (int j = 0; j < s; j++)
        {
            columnWidth[j] = Math.Max(2, DisplayWidth.Of(sourceTokens[j]));
        }

        var text = new StringBuilder();
        text.Append(' ', labelWidth);
        for (int j = 0; j < s; j++)
        {
            text.Append(' ').Append(DisplayWidth.PadRight(sourceTokens[j], columnWidth[j]));
        }
        TrimEnd(text).Append('\n');

        for (int i = 0; i < t; i++)
        {
            text.Append(DisplayWidth.PadRight(targetTokens[i], labelWidth));
            for (int j = 0; j < s; j++)
            {
                text.Append(' ');
                AppendCell(text, weights[(i * s) + j], columnWidth[j], color);
            }
            text.Append('\n');
        }

        AppendLegend(text, color);
        return text.ToString();
    }

    /// <summary>The shade of a weight in plain mode: its fifth of [0, 1].</summary>
    public static char Shade(float weight) => Shades[Level(weight)];

    private static int Level(float weight) => Math.Clamp((int)MathF.Floor(Math.Clamp(weight, 0f, 1f) * 5f), 0, 4);

    private static void AppendCell(StringBuilder text, float weight, int width, ColorMode color)
    {
        if (color == ColorMode.Plain)
        {
            text.Append(Shade(weight), width);
            return;
        }
        AppendBackground(text, weight, color);
        text.Append(' ', width).Append("\u001b[0m");
    }

    private static void AppendBackground(StringBuilder text, double weight, ColorMode color)
    {
        (byte r, byte g, byte b) = ColorScale.Rgb(weight);
        if (color == ColorMode.TrueColor)
        {
            text.Append(CultureInfo.InvariantCulture, $"\u001b[48;2;{r};{g};{b}m");
        }
        else
        {
            // The 6x6x6 cube of the 256-colour palette: index 16 + 36 r + 6 g + b, each in 0..5.
            int index = 16 + (36 * Cube(r)) + (6 * Cube(g)) + Cube(b);
            text.Append(CultureInfo.InvariantCulture, $"\u001b[48;5;{index}m");
        }
    }

    private static int Cube(byte component) => (int)Math.Round(component / 255.0 * 5.0);

    private static void AppendLegend(StringBuilder text, ColorMode color)
    {
        if (color == ColorMode.Plain)
        {
            text.Append("weight: · <0.2  ░ <0.4  ▒ <0.6  ▓ <0.8  █ ≥0.8\n");
            return;
        }
        text.Append("weight: 0 ");
        for (int k = 0; k <= 10; k++)
        {
            AppendBackground(text, k / 10.0, color);
            text.Append("  \u001b[0m");
        }
        text.Append(" 1\n");
    }

    private static StringBuilder TrimEnd(StringBuilder text)
    {
        int end = text.Length;
        while (end > 0 && text[end - 1] == ' ')
        {
            end--;
        }
        return text.Remove(end, text.Length - end);
    }
}
