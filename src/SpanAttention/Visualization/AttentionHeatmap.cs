using System.Globalization;
using System.Text;
using System.Xml;

namespace SpanAttention.Visualization;

/// <summary>
/// The attention matrix of one translated sentence as a standalone SVG image: one square per
/// (target, source) pair coloured by its weight (<see cref="ColorScale"/>), source tokens across the
/// top, target tokens down the left, and a colour-scale legend. Hovering a square shows its pair and
/// weight (an SVG <c>&lt;title&gt;</c>).
/// </summary>
/// <remarks>
/// <para>Weights are (T, S) row-major: row t holds the attention of target step t over the S source
/// tokens, as the decoder produces them (each row sums to 1 for softmax attention; that is not required).</para>
/// <para>Tokens are written as XML text, so <c>&lt;</c>, <c>&amp;</c> and quotes are escaped; characters XML 1.0
/// cannot hold (most C0 controls, lone surrogates) become U+FFFD. The text is UTF-8 without a byte-order
/// mark; Devanagari and other scripts render with whatever font the viewer has (a font list naming Noto
/// Sans Devanagari is given). Label widths are estimated (about 0.6 em per character), so very long
/// tokens may be cramped.</para>
/// </remarks>
public static class AttentionHeatmap
{
    /// <summary>How far outside [0, 1] a weight may lie (rounding in a softmax) before it is rejected.</summary>
    public const float Tolerance = 1e-3f;

    private const double Cell = 32;         // side of one square, px
    private const double FontSize = 14;     // label font size, px
    private const double CharWidth = 8.5;   // estimated advance of one label character at FontSize, px
    private const double Margin = 16;       // outer margin, px
    private const double LabelGap = 6;      // between a label and the grid, px
    private const double BelowBase = 5;     // room under an upright label's baseline for below-base vowel signs (ु ू ृ), px
    private const double LegendGap = 24;    // between the grid and the legend bar, px
    private const double LegendWidth = 14;  // width of the legend bar, px
    // Devanagari labels need a font that has it: Debian/Ubuntu fonts-noto-core (Noto Sans Devanagari) or fonts-lohit-deva.
    private const string FontFamily = "'Noto Sans', 'Noto Sans Devanagari', 'Lohit Devanagari', 'DejaVu Sans', sans-serif";

    /// <summary>Checks that the tokens and weights describe a heatmap.</summary>
    /// <param name="sourceTokens">The S source tokens (the columns); S ≥ 1, none null.</param>
    /// <param name="targetTokens">The T target tokens (the rows); T ≥ 1, none null.</param>
    /// <param name="weights">The attention weights: (T, S) row-major, finite, in [0, 1] within <see cref="Tolerance"/>.</param>
    /// <exception cref="HeatmapInputException">A count, a token or a weight is wrong; the message names it.</exception>
    public static void Validate(IReadOnlyList<string> sourceTokens, IReadOnlyList<string> targetTokens, ReadOnlySpan<float> weights)
    {
        ArgumentNullException.ThrowIfNull(sourceTokens);
        ArgumentNullException.ThrowIfNull(targetTokens);
        int s = sourceTokens.Count, t = targetTokens.Count;
        if (s == 0)
        {
            throw new HeatmapInputException("The heatmap has no source tokens (S = 0).");
        }
        if (t == 0)
        {
            throw new HeatmapInputException("The heatmap has no target tokens (T = 0).");
        }
        for (int i = 0; i < s; i++)
        {
            if (sourceTokens[i] is null)
            {
                throw new HeatmapInputException($"Source token {i} is null.");
            }
        }
        for (int i = 0; i < t; i++)
        {
            if (targetTokens[i] is null)
            {
                throw new HeatmapInputException($"Target token {i} is null.");
            }
        }
        if (weights.Length != (long)t * s)
        {
            throw new HeatmapInputException($"The weights have {weights.Length} values, but T x S = {t} x {s} = {(long)t * s}.");
        }
        for (int i = 0; i < weights.Length; i++)
        {
            float w = weights[i];
            if (!float.IsFinite(w) || w < -Tolerance || w > 1 + Tolerance)
            {
                throw new HeatmapInputException(
                    $"The weight of target {i / s} ('{targetTokens[i / s]}') on source {i % s} ('{sourceTokens[i % s]}') is {w.ToString("R", CultureInfo.InvariantCulture)}, not a finite value in [0, 1].");
            }
        }
    }

    /// <summary>The heatmap as SVG text.</summary>
    /// <param name="sourceTokens">The S source tokens (the columns).</param>
    /// <param name="targetTokens">The T target tokens (the rows).</param>
    /// <param name="weights">The attention weights: (T, S) row-major.</param>
    /// <param name="title">An optional caption above the image (e.g. the source sentence).</param>
    /// <returns>A standalone SVG document (with its XML declaration).</returns>
    /// <exception cref="HeatmapInputException">See <see cref="Validate"/>.</exception>
    public static string ToSvgString(IReadOnlyList<string> sourceTokens, IReadOnlyList<string> targetTokens, ReadOnlySpan<float> weights, string? title = null)
    {
        return Encoding.UTF8.GetString(ToSvgBytes(sourceTokens, targetTokens, weights, title));
    }

    /// <summary>
    /// Writes the heatmap to an SVG file atomically: to a temporary file in the same folder, then renamed
    /// over <paramref name="path"/>, so a failure never leaves a partial file behind.
    /// </summary>
    /// <param name="path">The file to create or replace; its folder must exist.</param>
    /// <param name="sourceTokens">The S source tokens (the columns).</param>
    /// <param name="targetTokens">The T target tokens (the rows).</param>
    /// <param name="weights">The attention weights: (T, S) row-major.</param>
    /// <param name="title">An optional caption above the image.</param>
    /// <exception cref="HeatmapInputException">See <see cref="Validate"/> (checked before any file is touched).</exception>
    /// <exception cref="IOException">The file cannot be written (e.g. <see cref="DirectoryNotFoundException"/>).</exception>
    /// <exception cref="UnauthorizedAccessException">No permission to write there.</exception>
    public static void WriteSvg(string path, IReadOnlyList<string> sourceTokens, IReadOnlyList<string> targetTokens, ReadOnlySpan<float> weights, string? title = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] svg = ToSvgBytes(sourceTokens, targetTokens, weights, title);
        WriteAtomically(path, svg);
    }

    /// <summary>Writes bytes to <paramref name="path"/> through a temporary file in the same folder and a rename.</summary>
    internal static void WriteAtomically(string path, byte[] bytes) => IO.AtomicFile.WriteAllBytes(path, bytes);

    internal static byte[] ToSvgBytes(IReadOnlyList<string> sourceTokens, IReadOnlyList<string> targetTokens, ReadOnlySpan<float> weights, string? title)
    {
        Validate(sourceTokens, targetTokens, weights);
        int s = sourceTokens.Count, t = targetTokens.Count;
        string[] source = Sanitize(sourceTokens);
        string[] target = Sanitize(targetTokens);
        string? caption = title is null ? null : Sanitize(title);

        // Layout (px). Source labels are rotated -45°, so they need height and some width to the right. Labels with
        // combining marks (Devanagari vowel signs, a candrabindu) are drawn upright instead: renderers that place
        // such marks correctly on a horizontal line misplace them on a rotated one (librsvg 2.54 draws a rotated
        // हूँ as separate glyphs), so those columns get horizontal labels, staggered over two rows when wide.
        double sourceLabel = MaxLabelWidth(source), targetLabel = MaxLabelWidth(target);
        bool upright = HasCombiningMarks(source);
        int uprightRows = Math.Clamp((int)Math.Ceiling((sourceLabel + 4) / Cell), 1, 4); // adjacent labels in one row are rows·Cell apart
        double diagonal = upright ? (uprightRows * (FontSize + LabelGap)) - FontSize + BelowBase : sourceLabel * Math.Sqrt(0.5);
        double captionHeight = caption is null ? 0 : FontSize * 2;
        double gridX = Margin + targetLabel + LabelGap;
        double gridY = Margin + captionHeight + diagonal + FontSize;
        double gridWidth = s * Cell, gridHeight = t * Cell;
        double legendX = gridX + gridWidth + LegendGap;
        double legendHeight = Math.Max(gridHeight, 4 * Cell);
        double captionWidth = caption is null ? 0 : Margin + MaxLabelWidth([caption]);
        double overhang = upright ? sourceLabel / 2 : diagonal;
        double width = Math.Max(Math.Max(legendX + LegendWidth + (5 * CharWidth), gridX + gridWidth + overhang), captionWidth) + Margin;
        double height = gridY + Math.Max(gridHeight, legendHeight) + Margin;

        using var buffer = new MemoryStream();
        var settings = new XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = true, IndentChars = "  " };
        using (XmlWriter xml = XmlWriter.Create(buffer, settings))
        {
            const string Ns = "http://www.w3.org/2000/svg";
            xml.WriteStartDocument();
            xml.WriteStartElement("svg", Ns);
            xml.WriteAttributeString("width", F(width));
            xml.WriteAttributeString("height", F(height));
            xml.WriteAttributeString("viewBox", $"0 0 {F(width)} {F(height)}");
            xml.WriteAttributeString("font-family", FontFamily);
            xml.WriteAttributeString("font-size", F(FontSize));

            xml.WriteElementString("title", Ns, caption ?? "Attention weights");
            xml.WriteStartElement("defs", Ns);
            xml.WriteStartElement("linearGradient", Ns);
            xml.WriteAttributeString("id", "scale");
            xml.WriteAttributeString("x1", "0");
            xml.WriteAttributeString("y1", "1");
            xml.WriteAttributeString("x2", "0");
            xml.WriteAttributeString("y2", "0");
            for (int i = 0; i <= 8; i++)
            {
                double w = i / 8.0;
                xml.WriteStartElement("stop", Ns);
                xml.WriteAttributeString("offset", F(w));
                xml.WriteAttributeString("stop-color", ColorScale.Hex(w));
                xml.WriteEndElement();
            }
            xml.WriteEndElement(); // linearGradient
            xml.WriteEndElement(); // defs

            xml.WriteStartElement("rect", Ns);
            xml.WriteAttributeString("width", "100%");
            xml.WriteAttributeString("height", "100%");
            xml.WriteAttributeString("fill", "#ffffff");
            xml.WriteEndElement();

            if (caption is not null)
            {
                Text(xml, Margin, Margin + FontSize, caption, "start", null);
            }

            // Source tokens across the top: rotated, or upright (alternate columns one row higher when labels are wide).
            xml.WriteStartElement("g", Ns);
            xml.WriteAttributeString("class", "source");
            for (int j = 0; j < s; j++)
            {
                double x = gridX + ((j + 0.5) * Cell), y = gridY - LabelGap;
                if (upright)
                {
                    Text(xml, x, y - BelowBase - ((j % uprightRows) * (FontSize + LabelGap)), source[j], "middle", null);
                }
                else
                {
                    Text(xml, x, y, source[j], "start", $"rotate(-45 {F(x)} {F(y)})");
                }
            }
            xml.WriteEndElement();

            // Target tokens down the left, right-aligned against the grid.
            xml.WriteStartElement("g", Ns);
            xml.WriteAttributeString("class", "target");
            for (int i = 0; i < t; i++)
            {
                Text(xml, gridX - LabelGap, gridY + ((i + 0.5) * Cell) + (FontSize * 0.35), target[i], "end", null);
            }
            xml.WriteEndElement();

            // One square per (target, source) pair.
            xml.WriteStartElement("g", Ns);
            xml.WriteAttributeString("class", "cells");
            for (int i = 0; i < t; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    float w = weights[(i * s) + j];
                    xml.WriteStartElement("rect", Ns);
                    xml.WriteAttributeString("x", F(gridX + (j * Cell)));
                    xml.WriteAttributeString("y", F(gridY + (i * Cell)));
                    xml.WriteAttributeString("width", F(Cell));
                    xml.WriteAttributeString("height", F(Cell));
                    xml.WriteAttributeString("fill", ColorScale.Hex(w));
                    xml.WriteAttributeString("data-weight", w.ToString("0.####", CultureInfo.InvariantCulture));
                    xml.WriteElementString("title", Ns, $"{target[i]} ← {source[j]}: {w.ToString("0.000", CultureInfo.InvariantCulture)}");
                    xml.WriteEndElement();
                }
            }
            xml.WriteEndElement();

            // Legend: the colour scale from 0 (bottom) to 1 (top).
            xml.WriteStartElement("g", Ns);
            xml.WriteAttributeString("class", "legend");
            xml.WriteStartElement("rect", Ns);
            xml.WriteAttributeString("x", F(legendX));
            xml.WriteAttributeString("y", F(gridY));
            xml.WriteAttributeString("width", F(LegendWidth));
            xml.WriteAttributeString("height", F(legendHeight));
            xml.WriteAttributeString("fill", "url(#scale)");
            xml.WriteAttributeString("stroke", "#888888");
            xml.WriteEndElement();
            foreach (double tick in (ReadOnlySpan<double>)[0, 0.5, 1])
            {
                double y = gridY + ((1 - tick) * legendHeight) + (FontSize * 0.35);
                Text(xml, legendX + LegendWidth + 4, y, tick.ToString("0.0", CultureInfo.InvariantCulture), "start", null);
            }
            xml.WriteEndElement();

            xml.WriteEndElement(); // svg
            xml.WriteEndDocument();
        }
        return buffer.ToArray();
    }

    private static void Text(XmlWriter xml, double x, double y, string text, string anchor, string? transform)
    {
        xml.WriteStartElement("text", "http://www.w3.org/2000/svg");
        xml.WriteAttributeString("x", F(x));
        xml.WriteAttributeString("y", F(y));
        xml.WriteAttributeString("text-anchor", anchor);
        if (transform is not null)
        {
            xml.WriteAttributeString("transform", transform);
        }
        xml.WriteString(text);
        xml.WriteEndElement();
    }

    private static string F(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>Whether a label holds a combining mark (a vowel sign, virama, candrabindu...): such labels are not rotated.</summary>
    internal static bool HasCombiningMarks(string[] labels)
    {
        foreach (string label in labels)
        {
            foreach (Rune rune in label.EnumerateRunes())
            {
                if (Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark)
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static double MaxLabelWidth(string[] labels)
    {
        double max = 0;
        foreach (string label in labels)
        {
            int characters = 0;
            foreach (Rune rune in label.EnumerateRunes())
            {
                UnicodeCategory category = Rune.GetUnicodeCategory(rune);
                if (category is not (UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format))
                {
                    characters++;
                }
            }
            max = Math.Max(max, characters * CharWidth);
        }
        return max;
    }

    private static string[] Sanitize(IReadOnlyList<string> tokens)
    {
        var result = new string[tokens.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = Sanitize(tokens[i]);
        }
        return result;
    }

    /// <summary>Replaces what XML 1.0 cannot hold (C0 controls other than tab/newline/CR, lone surrogates, U+FFFE/U+FFFF) by U+FFFD.</summary>
    internal static string Sanitize(string text)
    {
        StringBuilder? builder = null;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            bool pair = char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            bool valid = pair || XmlConvert.IsXmlChar(c);
            if (builder is null && valid)
            {
                if (pair)
                {
                    i++;
                }
                continue;
            }
            builder ??= new StringBuilder(text, 0, i, text.Length);
            if (pair)
            {
                builder.Append(c).Append(text[++i]);
            }
            else
            {
                builder.Append(valid ? c : '\uFFFD');
            }
        }
        return builder?.ToString() ?? text;
    }
}
