namespace SpanAttention.Data.Captioning;

/// <summary>
/// One drawn object of a <c>shapes</c> scene: its description and where exactly it was drawn. Coordinates are
/// continuous pixel units, pixel (x, y) covering [x, x+1) × [y, y+1); the object lies within
/// [CenterX - HalfSize, CenterX + HalfSize] × [CenterY - HalfSize, CenterY + HalfSize].
/// </summary>
/// <param name="Description">Size, colour, shape, grid cell.</param>
/// <param name="CenterX">Centre column (continuous).</param>
/// <param name="CenterY">Centre row (continuous).</param>
/// <param name="HalfSize">Half the side of the object's bounding square.</param>
internal readonly record struct ShapeObject(ShapeDescription Description, float CenterX, float CenterY, float HalfSize)
{
    /// <summary>The pixels the object may cover: every pixel it touches, none it does not reach.</summary>
    public PixelBox Box => new(
        (int)MathF.Floor(CenterX - HalfSize), (int)MathF.Floor(CenterY - HalfSize),
        (int)MathF.Ceiling(CenterX + HalfSize), (int)MathF.Ceiling(CenterY + HalfSize));
}
