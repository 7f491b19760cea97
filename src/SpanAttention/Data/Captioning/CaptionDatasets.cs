namespace SpanAttention.Data.Captioning;

/// <summary>
/// The built-in captioning tasks, generated in memory without any download: <c>shapes</c>
/// (<see cref="ShapeScenes"/>) and <c>digits</c> (added with its data). docs/captioning-data.md describes
/// both: grammar, splits, sizes and the licence of the digit images.
/// </summary>
internal static class CaptionDatasets
{
    /// <summary>Examples of the <c>shapes</c> task.</summary>
    /// <param name="seed">Any value.</param>
    /// <param name="count">Number of examples.</param>
    /// <param name="split">Train, HeldOut or Compositional.</param>
    /// <param name="imageSize">Image side in pixels.</param>
    /// <returns>The examples, (3, size, size) each.</returns>
    public static ImageExample[] Shapes(int seed, int count, CaptionSplit split, int imageSize = ShapeScenes.DefaultImageSize) =>
        ShapeScenes.Generate(seed, count, split, imageSize);
}
