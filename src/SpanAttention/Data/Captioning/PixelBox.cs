namespace SpanAttention.Data.Captioning;

/// <summary>
/// An axis-aligned box in pixel coordinates: columns <see cref="X0"/> ≤ x &lt; <see cref="X1"/>, rows
/// <see cref="Y0"/> ≤ y &lt; <see cref="Y1"/> (the lower corner inclusive, the upper exclusive, like a span's
/// range), x to the right and y down from the top-left pixel (0, 0).
/// </summary>
/// <param name="X0">First column inside the box.</param>
/// <param name="Y0">First row inside the box.</param>
/// <param name="X1">One past the last column inside the box.</param>
/// <param name="Y1">One past the last row inside the box.</param>
internal readonly record struct PixelBox(int X0, int Y0, int X1, int Y1)
{
    /// <summary>Number of columns, <c>X1 - X0</c>.</summary>
    public int Width => X1 - X0;

    /// <summary>Number of rows, <c>Y1 - Y0</c>.</summary>
    public int Height => Y1 - Y0;

    /// <summary>Number of pixels inside.</summary>
    public int Area => Width * Height;

    /// <summary>Whether pixel (x, y) lies inside.</summary>
    /// <param name="x">Column.</param>
    /// <param name="y">Row.</param>
    /// <returns>True inside.</returns>
    public bool Contains(int x, int y) => x >= X0 && x < X1 && y >= Y0 && y < Y1;

    /// <summary>Whether the two boxes share at least one pixel.</summary>
    /// <param name="other">The other box.</param>
    /// <returns>True when they overlap.</returns>
    public bool Overlaps(PixelBox other) => X0 < other.X1 && other.X0 < X1 && Y0 < other.Y1 && other.Y0 < Y1;
}
