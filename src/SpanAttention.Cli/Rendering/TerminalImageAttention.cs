using System.Globalization;
using System.Text;
using SpanAttention.Visualization;

namespace SpanAttention.Cli.Rendering;

/// <summary>
/// The terminal version of the captioning attention figure: for every generated word, the encoder's (gh, gw) grid as a
/// block of cells two characters wide, shaded by the word's weight on each cell relative to its largest weight (so
/// every word's most attended cell is full), the word above it. Panels stand side by side and wrap at
/// <see cref="LineWidth"/> columns.
/// </summary>
/// <remarks>Plain mode (pipes, NO_COLOR) uses <see cref="TerminalHeatmap.Shades"/> by fifths of the relative weight;
/// colour modes paint the cell's background with <see cref="ColorScale"/>. Grid row i of the panel is image row band i,
/// so the drawing reads like the image.</remarks>
internal static class TerminalImageAttention
{
    /// <summary>Widest line of panels, in terminal columns.</summary>
    public const int LineWidth = 80;

    private const int Separator = 2;

    /// <summary>Renders every word's panel, then a legend line.</summary>
    /// <param name="words">The T generated words.</param>
    /// <param name="alignment">(T, gh·gw) row-major weights.</param>
    /// <param name="gridHeight">gh.</param>
    /// <param name="gridWidth">gw.</param>
    /// <param name="color">Colour use.</param>
    /// <returns>Lines of text, each ending with a newline.</returns>
    /// <exception cref="HeatmapInputException">The counts or weights are wrong.</exception>
    public static string Render(IReadOnlyList<string> words, ReadOnlySpan<float> alignment, int gridHeight, int gridWidth, ColorMode color)
    {
        ArgumentNullException.ThrowIfNull(words);
        if (gridHeight < 1 || gridWidth < 1)
        {
            throw new HeatmapInputException($"The attention grid is {gridHeight} x {gridWidth}; both sides must be at least 1.");
        }
        int cells = gridHeight * gridWidth, t = words.Count;
        if (t == 0 || alignment.Length != (long)t * cells)
        {
            throw new HeatmapInputException($"The alignment has {alignment.Length} weights; {t} words over a {gridHeight} x {gridWidth} grid need {(long)t * cells} (and T ≥ 1).");
        }
        foreach (float w in alignment)
        {
            if (!float.IsFinite(w) || w < 0)
            {
                throw new HeatmapInputException($"An attention weight is {w.ToString("R", CultureInfo.InvariantCulture)}, not a finite non-negative value.");
            }
        }

        int panelWidth = 2 * gridWidth;
        int perLine = Math.Max(1, (LineWidth + Separator) / (panelWidth + Separator));
        var text = new StringBuilder();
        for (int first = 0; first < t; first += perLine)
        {
            int last = Math.Min(t, first + perLine);
            for (int k = first; k < last; k++)
            {
                string word = words[k] ?? "";
                string label = DisplayWidth.Of(word) > panelWidth ? Truncate(word, panelWidth) : word;
                text.Append(DisplayWidth.PadRight(label, k + 1 < last ? panelWidth + Separator : 0));
            }
            TrimEnd(text).Append('\n');
            for (int i = 0; i < gridHeight; i++)
            {
                for (int k = first; k < last; k++)
                {
                    ReadOnlySpan<float> row = alignment.Slice(k * cells, cells);
                    float max = 0;
                    foreach (float w in row)
                    {
                        max = MathF.Max(max, w);
                    }
                    for (int j = 0; j < gridWidth; j++)
                    {
                        float relative = max > 0 ? row[(i * gridWidth) + j] / max : 0;
                        AppendCell(text, relative, color);
                    }
                    if (k + 1 < last)
                    {
                        text.Append(' ', Separator);
                    }
                }
                text.Append('\n');
            }
            text.Append('\n');
        }
        text.Append(color == ColorMode.Plain
            ? "share of the word's largest weight: · <0.2  ░ <0.4  ▒ <0.6  ▓ <0.8  █ ≥0.8\n"
            : "colour: share of the word's largest weight (ColorScale, 0 to 1)\n");
        return text.ToString();
    }

    private static void AppendCell(StringBuilder text, float relative, ColorMode color)
    {
        if (color == ColorMode.Plain)
        {
            text.Append(TerminalHeatmap.Shade(relative), 2);
            return;
        }
        (byte r, byte g, byte b) = ColorScale.Rgb(relative);
        if (color == ColorMode.TrueColor)
        {
            text.Append(CultureInfo.InvariantCulture, $"\u001b[48;2;{r};{g};{b}m");
        }
        else
        {
            int index = 16 + (36 * Cube(r)) + (6 * Cube(g)) + Cube(b);
            text.Append(CultureInfo.InvariantCulture, $"\u001b[48;5;{index}m");
        }
        text.Append("  \u001b[0m");
    }

    private static int Cube(byte component) => (int)Math.Round(component / 255.0 * 5.0);

    private static string Truncate(string word, int width)
    {
        var result = new StringBuilder();
        foreach (Rune rune in word.EnumerateRunes())
        {
            string next = result.ToString() + rune.ToString();
            if (DisplayWidth.Of(next) > width - 1)
            {
                break;
            }
            result.Append(rune.ToString());
        }
        return result.Append('…').ToString();
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
