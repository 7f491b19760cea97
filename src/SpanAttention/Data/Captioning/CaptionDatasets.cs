namespace SpanAttention.Data.Captioning;

/// <summary>
/// The built-in captioning tasks, generated in memory without any download: <c>shapes</c>
/// (<see cref="ShapeScenes"/>) and <c>digits</c> (<see cref="DigitStrings"/>). docs/captioning-data.md describes
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

    /// <summary>Examples of the <c>digits</c> task.</summary>
    /// <param name="seed">Any value.</param>
    /// <param name="count">Number of examples.</param>
    /// <param name="split">Train or HeldOut (unseen handwriting).</param>
    /// <param name="minLength">Shortest string, 1..6.</param>
    /// <param name="maxLength">Longest string, 1..6.</param>
    /// <returns>The examples, (1, 24, 112) each.</returns>
    public static ImageExample[] Digits(int seed, int count, CaptionSplit split, int minLength = 1, int maxLength = DigitStrings.MaxLength) =>
        DigitStrings.Generate(seed, count, split, minLength, maxLength);
}
