using System.Globalization;
using System.Text;
using System.Xml;

namespace SpanAttention.Visualization;

/// <summary>
/// The figure of Show, Attend and Tell as a standalone SVG: the image once per generated word, that word's attention
/// over the encoder's grid upsampled to the image, smoothed (<see cref="AttentionMap"/>) and laid over it, the word
/// below as its caption.
/// </summary>
/// <remarks>
/// <para>The image is embedded once, as a PNG data URI (<see cref="PngEncoder"/>) in <c>&lt;defs&gt;</c>, and every
/// panel shows it through <c>&lt;use&gt;</c>. A panel's overlay is an RGBA PNG of the image's size: pixel p has colour
/// <see cref="ColorScale"/>(m_p) and opacity <see cref="MaxOpacity"/> · m_p, where m_p is the smoothed map divided by
/// its largest value, so every panel's most attended pixel is equally visible and unattended pixels are clear.
/// Each panel's <c>data-max-weight</c> holds the largest raw grid weight of the word, since the normalisation hides
/// how peaked the attention is.</para>
/// <para>The grid's cell (i, j) is alignment entry i·gw + j (row-major), covering the image evenly as in
/// <see cref="Evaluation.Grounding"/>.</para>
/// </remarks>
internal static class ImageAttentionFigure
{
    /// <summary>Opacity of the overlay at a panel's most attended pixel.</summary>
    public const double MaxOpacity = 0.75;

    /// <summary>Weights may exceed [0, 1] by this much (float rounding of a softmax).</summary>
    public const float Tolerance = 1e-4f;

    private const double PanelSide = 160, Gap = 12, Margin = 12, FontSize = 14, MaxRowWidth = 1000;
    private const string Ns = "http://www.w3.org/2000/svg", XLink = "http://www.w3.org/1999/xlink";

    /// <summary>Checks that the image, the words and the alignment describe a figure.</summary>
    /// <param name="pixels">(C, H, W) in [0, 1], C = 1 or 3.</param>
    /// <param name="channels">C.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="words">The T generated words; T ≥ 1.</param>
    /// <param name="alignment">(T, gh·gw) row-major, finite, in [0, 1].</param>
    /// <param name="gridHeight">gh ≥ 1.</param>
    /// <param name="gridWidth">gw ≥ 1.</param>
    /// <exception cref="HeatmapInputException">A size, a word or a weight is wrong; the message names it.</exception>
    public static void Validate(ReadOnlySpan<float> pixels, int channels, int height, int width, IReadOnlyList<string> words, ReadOnlySpan<float> alignment, int gridHeight, int gridWidth)
    {
        ArgumentNullException.ThrowIfNull(words);
        if (channels is not (1 or 3))
        {
            throw new HeatmapInputException($"The image has {channels} channels; the figure draws 1 (grey) or 3 (RGB).");
        }
        if (height < 1 || width < 1 || pixels.Length != (long)channels * height * width)
        {
            throw new HeatmapInputException($"The image has {pixels.Length} values; (C, H, W) = ({channels}, {height}, {width}) needs {(long)channels * height * width}.");
        }
        if (gridHeight < 1 || gridWidth < 1)
        {
            throw new HeatmapInputException($"The attention grid is {gridHeight} x {gridWidth}; both sides must be at least 1.");
        }
        if (words.Count == 0)
        {
            throw new HeatmapInputException("The figure has no words (T = 0).");
        }
        long cells = (long)gridHeight * gridWidth;
        if (alignment.Length != words.Count * cells)
        {
            throw new HeatmapInputException($"The alignment has {alignment.Length} weights; {words.Count} words over a {gridHeight} x {gridWidth} grid need {words.Count * cells}.");
        }
        for (int t = 0; t < words.Count; t++)
        {
            if (words[t] is null)
            {
                throw new HeatmapInputException($"Word {t} is null.");
            }
        }
        for (int k = 0; k < alignment.Length; k++)
        {
            float w = alignment[k];
            if (!float.IsFinite(w) || w < -Tolerance || w > 1 + Tolerance)
            {
                int t = (int)(k / cells), cell = (int)(k % cells);
                throw new HeatmapInputException(
                    $"The weight of word {t} ('{words[t]}') on cell ({cell / gridWidth}, {cell % gridWidth}) is {w.ToString("R", CultureInfo.InvariantCulture)}, not a finite value in [0, 1].");
            }
        }
    }

    /// <summary>The figure as SVG text.</summary>
    /// <inheritdoc cref="WriteSvg"/>
    /// <returns>A standalone SVG document.</returns>
    public static string ToSvgString(ReadOnlySpan<float> pixels, int channels, int height, int width, IReadOnlyList<string> words, ReadOnlySpan<float> alignment, int gridHeight, int gridWidth, string? title = null) =>
        Encoding.UTF8.GetString(ToSvgBytes(pixels, channels, height, width, words, alignment, gridHeight, gridWidth, title));

    /// <summary>Writes the figure to an SVG file atomically (a temporary file in the same folder, then a rename).</summary>
    /// <param name="path">The file to create or replace; its folder must exist.</param>
    /// <param name="pixels">(C, H, W) in [0, 1].</param>
    /// <param name="channels">C, 1 or 3.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="words">The T generated words.</param>
    /// <param name="alignment">(T, gh·gw) row-major attention weights.</param>
    /// <param name="gridHeight">gh.</param>
    /// <param name="gridWidth">gw.</param>
    /// <param name="title">An optional line above the panels (e.g. the whole caption).</param>
    /// <exception cref="HeatmapInputException">See <see cref="Validate"/> (checked before any file is touched).</exception>
    public static void WriteSvg(string path, ReadOnlySpan<float> pixels, int channels, int height, int width, IReadOnlyList<string> words, ReadOnlySpan<float> alignment, int gridHeight, int gridWidth, string? title = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] svg = ToSvgBytes(pixels, channels, height, width, words, alignment, gridHeight, gridWidth, title);
        IO.AtomicFile.WriteAllBytes(path, svg);
    }

    /// <summary>The overlay of one word: (H, W, 4) RGBA bytes (see the remarks of <see cref="ImageAttentionFigure"/>).</summary>
    /// <param name="grid">(gh, gw) weights of the word.</param>
    /// <param name="gridHeight">gh.</param>
    /// <param name="gridWidth">gw.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <returns>RGBA bytes, row-major.</returns>
    internal static byte[] Overlay(ReadOnlySpan<float> grid, int gridHeight, int gridWidth, int height, int width)
    {
        float[] map = AttentionMap.ForImage(grid, gridHeight, gridWidth, height, width);
        float max = 0;
        foreach (float v in map)
        {
            max = MathF.Max(max, v);
        }
        var rgba = new byte[map.Length * 4];
        for (int p = 0; p < map.Length; p++)
        {
            double m = max > 0 ? Math.Clamp(map[p] / max, 0f, 1f) : 0;
            (byte r, byte g, byte b) = ColorScale.Rgb(m);
            rgba[4 * p] = r;
            rgba[(4 * p) + 1] = g;
            rgba[(4 * p) + 2] = b;
            rgba[(4 * p) + 3] = (byte)Math.Round(MaxOpacity * m * 255);
        }
        return rgba;
    }

    internal static byte[] ToSvgBytes(ReadOnlySpan<float> pixels, int channels, int height, int width, IReadOnlyList<string> words, ReadOnlySpan<float> alignment, int gridHeight, int gridWidth, string? title)
    {
        Validate(pixels, channels, height, width, words, alignment, gridHeight, gridWidth);
        int t = words.Count, cells = gridHeight * gridWidth;
        string? caption = title is null ? null : AttentionHeatmap.Sanitize(title);

        // Layout (px): panels of the image scaled so its longer side is PanelSide, in rows no wider than MaxRowWidth.
        double scale = PanelSide / Math.Max(height, width);
        double panelWidth = width * scale, panelHeight = height * scale;
        int columns = Math.Clamp((int)((MaxRowWidth - (2 * Margin) + Gap) / (panelWidth + Gap)), 1, t);
        int rows = (t + columns - 1) / columns;
        double top = Margin + (caption is null ? 0 : FontSize * 2);
        double cellHeight = panelHeight + (FontSize * 2);
        double figureWidth = (2 * Margin) + (columns * panelWidth) + ((columns - 1) * Gap);
        double figureHeight = top + (rows * cellHeight) + ((rows - 1) * Gap) + Margin;
        if (caption is not null)
        {
            figureWidth = Math.Max(figureWidth, (2 * Margin) + (caption.Length * FontSize * 0.6));
        }

        using var buffer = new MemoryStream();
        var settings = new XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = true, IndentChars = "  " };
        using (XmlWriter xml = XmlWriter.Create(buffer, settings))
        {
            xml.WriteStartDocument();
            xml.WriteStartElement("svg", Ns);
            xml.WriteAttributeString("xmlns", "xlink", null, XLink);
            xml.WriteAttributeString("width", F(figureWidth));
            xml.WriteAttributeString("height", F(figureHeight));
            xml.WriteAttributeString("viewBox", $"0 0 {F(figureWidth)} {F(figureHeight)}");
            xml.WriteAttributeString("font-family", "DejaVu Sans, Noto Sans, Arial, sans-serif");
            xml.WriteAttributeString("font-size", F(FontSize));
            xml.WriteElementString("title", Ns, caption ?? "Attention over the image, one panel per word");

            xml.WriteStartElement("defs", Ns);
            xml.WriteStartElement("image", Ns);
            xml.WriteAttributeString("id", "photo");
            xml.WriteAttributeString("width", F(panelWidth));
            xml.WriteAttributeString("height", F(panelHeight));
            xml.WriteAttributeString("preserveAspectRatio", "none");
            xml.WriteAttributeString("style", "image-rendering:pixelated");
            Href(xml, PngEncoder.Encode(PngEncoder.ToBytes(pixels, channels, height, width), width, height, channels));
            xml.WriteEndElement(); // image
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

            for (int k = 0; k < t; k++)
            {
                ReadOnlySpan<float> row = alignment.Slice(k * cells, cells);
                float peak = 0;
                foreach (float w in row)
                {
                    peak = MathF.Max(peak, w);
                }
                double x = Margin + ((k % columns) * (panelWidth + Gap)), y = top + ((k / columns) * (cellHeight + Gap));
                xml.WriteStartElement("g", Ns);
                xml.WriteAttributeString("class", "panel");
                xml.WriteAttributeString("transform", $"translate({F(x)} {F(y)})");
                xml.WriteAttributeString("data-word", AttentionHeatmap.Sanitize(words[k]));
                xml.WriteAttributeString("data-max-weight", peak.ToString("0.####", CultureInfo.InvariantCulture));

                xml.WriteStartElement("use", Ns);
                xml.WriteAttributeString("xlink", "href", XLink, "#photo");
                xml.WriteEndElement();

                xml.WriteStartElement("image", Ns);
                xml.WriteAttributeString("class", "attention");
                xml.WriteAttributeString("width", F(panelWidth));
                xml.WriteAttributeString("height", F(panelHeight));
                xml.WriteAttributeString("preserveAspectRatio", "none");
                Href(xml, PngEncoder.Encode(Overlay(row, gridHeight, gridWidth, height, width), width, height, 4));
                xml.WriteEndElement();

                xml.WriteStartElement("rect", Ns);
                xml.WriteAttributeString("width", F(panelWidth));
                xml.WriteAttributeString("height", F(panelHeight));
                xml.WriteAttributeString("fill", "none");
                xml.WriteAttributeString("stroke", "#888888");
                xml.WriteEndElement();

                Text(xml, panelWidth / 2, panelHeight + (FontSize * 1.4), AttentionHeatmap.Sanitize(words[k]), "middle", "word");
                xml.WriteEndElement(); // g
            }

            xml.WriteEndElement(); // svg
            xml.WriteEndDocument();
        }
        return buffer.ToArray();
    }

    /// <summary>A PNG as the element's <c>xlink:href</c> (read by SVG 1.1 and SVG 2 renderers alike; the data is not repeated in <c>href</c>).</summary>
    private static void Href(XmlWriter xml, byte[] png) =>
        xml.WriteAttributeString("xlink", "href", XLink, "data:image/png;base64," + Convert.ToBase64String(png));

    private static void Text(XmlWriter xml, double x, double y, string text, string anchor, string? cssClass)
    {
        xml.WriteStartElement("text", Ns);
        if (cssClass is not null)
        {
            xml.WriteAttributeString("class", cssClass);
        }
        xml.WriteAttributeString("x", F(x));
        xml.WriteAttributeString("y", F(y));
        xml.WriteAttributeString("text-anchor", anchor);
        xml.WriteString(text);
        xml.WriteEndElement();
    }

    private static string F(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
