namespace SpanAttention.Visualization;

/// <summary>
/// The colour scale of every heatmap (SVG and terminal): viridis, from dark purple at weight 0 through
/// blue and green to yellow at weight 1. Perceptually uniform, readable in grey and by most colour-blind
/// readers, and visible on both light and dark backgrounds.
/// </summary>
public static class ColorScale
{
    // Five samples of matplotlib's viridis at 0, 0.25, 0.5, 0.75, 1; linear interpolation between them.
    private static readonly (byte R, byte G, byte B)[] Stops =
    [
        (0x44, 0x01, 0x54),
        (0x3B, 0x52, 0x8B),
        (0x21, 0x91, 0x8C),
        (0x5E, 0xC9, 0x62),
        (0xFD, 0xE7, 0x25),
    ];

    /// <summary>The colour of a weight.</summary>
    /// <param name="weight">The weight; clamped to [0, 1] (NaN counts as 0).</param>
    /// <returns>The red, green and blue components.</returns>
    public static (byte R, byte G, byte B) Rgb(double weight)
    {
        double w = double.IsNaN(weight) ? 0 : Math.Clamp(weight, 0, 1);
        double position = w * (Stops.Length - 1);
        int i = Math.Min((int)position, Stops.Length - 2);
        double t = position - i;
        (byte R, byte G, byte B) a = Stops[i], b = Stops[i + 1];
        return (Lerp(a.R, b.R, t), Lerp(a.G, b.G, t), Lerp(a.B, b.B, t));
    }

    /// <summary>The colour of a weight as <c>#rrggbb</c>.</summary>
    /// <param name="weight">The weight; clamped to [0, 1].</param>
    /// <returns>The colour, lower-case hex.</returns>
    public static string Hex(double weight)
    {
        (byte r, byte g, byte b) = Rgb(weight);
        return $"#{r:x2}{g:x2}{b:x2}";
    }

    private static byte Lerp(byte a, byte b, double t) => (byte)Math.Round(a + ((b - a) * t));
}
