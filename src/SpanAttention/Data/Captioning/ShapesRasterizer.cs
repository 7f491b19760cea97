namespace SpanAttention.Data.Captioning;

/// <summary>
/// Draws <c>shapes</c> objects into an RGB image, anti-aliased: each pixel's coverage is the fraction of a 4x4 grid
/// of sample points inside the shape, and the pixel becomes <c>(1 - coverage) · pixel + coverage · colour</c>.
/// </summary>
internal static class ShapesRasterizer
{
    /// <summary>Sample points per pixel along each axis.</summary>
    private const int Samples = 4;

    /// <summary>Colour of each <see cref="ShapeColor"/> as (R, G, B) in [0, 1].</summary>
    internal static readonly float[,] Palette =
    {
        { 1.00f, 0.10f, 0.10f },   // red
        { 0.10f, 0.80f, 0.10f },   // green
        { 0.15f, 0.30f, 1.00f },   // blue
        { 1.00f, 0.90f, 0.10f },   // yellow
        { 0.10f, 0.90f, 0.90f },   // cyan
        { 0.90f, 0.10f, 0.90f },   // magenta
    };

    /// <summary>Draws one object over what the image holds.</summary>
    /// <param name="obj">The object; its box must lie inside the image.</param>
    /// <param name="pixels">The image, (3, size, size).</param>
    /// <param name="size">Side of the square image.</param>
    public static void Draw(in ShapeObject obj, Span<float> pixels, int size)
    {
        PixelBox box = obj.Box;
        if (box.X0 < 0 || box.Y0 < 0 || box.X1 > size || box.Y1 > size)
        {
            throw new ArgumentOutOfRangeException(nameof(obj), $"object box {box} is outside the {size}x{size} image.");
        }
        if (pixels.Length != 3 * size * size)
        {
            throw new ArgumentException($"pixels has {pixels.Length} values; (3, {size}, {size}) needs {3 * size * size}.", nameof(pixels));
        }
        int color = (int)obj.Description.Color;
        int plane = size * size;
        for (int y = box.Y0; y < box.Y1; y++)
        {
            for (int x = box.X0; x < box.X1; x++)
            {
                float coverage = Coverage(obj, x, y);
                if (coverage == 0f)
                {
                    continue;
                }
                for (int c = 0; c < 3; c++)
                {
                    ref float p = ref pixels[c * plane + y * size + x];
                    p = (1f - coverage) * p + coverage * Palette[color, c];
                }
            }
        }
    }

    /// <summary>Fraction of the sample points of pixel (x, y) inside the object.</summary>
    /// <param name="obj">The object.</param>
    /// <param name="x">Column.</param>
    /// <param name="y">Row.</param>
    /// <returns>Coverage in [0, 1].</returns>
    internal static float Coverage(in ShapeObject obj, int x, int y)
    {
        int inside = 0;
        for (int sy = 0; sy < Samples; sy++)
        {
            float v = y + (sy + 0.5f) / Samples - obj.CenterY;
            for (int sx = 0; sx < Samples; sx++)
            {
                float u = x + (sx + 0.5f) / Samples - obj.CenterX;
                if (Inside(obj.Description.Kind, u, v, obj.HalfSize))
                {
                    inside++;
                }
            }
        }
        return inside / (float)(Samples * Samples);
    }

    /// <summary>Whether offset (u, v) from the centre is inside a shape of half-size r.</summary>
    internal static bool Inside(ShapeKind kind, float u, float v, float r) => kind switch
    {
        ShapeKind.Circle => u * u + v * v <= r * r,
        ShapeKind.Square => MathF.Abs(u) <= r && MathF.Abs(v) <= r,
        ShapeKind.Diamond => MathF.Abs(u) + MathF.Abs(v) <= r,
        ShapeKind.Triangle => v >= -r && v <= r && MathF.Abs(u) <= 0.5f * (v + r),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown shape."),
    };
}
