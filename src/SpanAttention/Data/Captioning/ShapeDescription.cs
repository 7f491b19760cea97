namespace SpanAttention.Data.Captioning;

/// <summary>
/// What a caption says about one object of a <c>shapes</c> scene: its size, colour, shape and the cell of the
/// 3x3 grid it stands in (row 0 top .. 2 bottom, column 0 left .. 2 right).
/// </summary>
/// <param name="Size">Small or large.</param>
/// <param name="Color">Colour.</param>
/// <param name="Kind">Shape.</param>
/// <param name="Row">Grid row, 0..2 from the top.</param>
/// <param name="Column">Grid column, 0..2 from the left.</param>
internal readonly record struct ShapeDescription(ShapeSize Size, ShapeColor Color, ShapeKind Kind, int Row, int Column)
{
    /// <summary>The cell in reading order, <c>3 * Row + Column</c> (0..8): the canonical order of a scene's objects.</summary>
    public int Cell => 3 * Row + Column;
}
