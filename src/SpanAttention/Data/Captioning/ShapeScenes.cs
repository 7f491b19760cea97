using SpanAttention.Seq2Seq;

namespace SpanAttention.Data.Captioning;

/// <summary>
/// The built-in <c>shapes</c> captioning task: square RGB images (48x48 by default) on a black background with one
/// to three objects of a shape, colour and size, each in its own cell of a 3x3 grid (so objects never overlap),
/// captioned by <see cref="ShapesGrammar"/>. Deterministic from a seed.
/// </summary>
/// <remarks>
/// <para>A scene is generated as: the number of objects n uniform in 1..3; n distinct cells; for each object a
/// size (uniform), a colour-shape pair (uniform over the pairs the split allows), and a centre jittered uniformly
/// within its cell so that the object keeps half a pixel from the cell's edges.</para>
/// <para>Splits. The scene key is the caption (it names every object's size, colour, shape and cell, so it is the
/// scene up to jitter). A fixed tenth of all keys (by a hash of the key, independent of seed and counts) is
/// reserved for <see cref="CaptionSplit.HeldOut"/>: training never draws them and the held-out split draws only
/// them. The colour-shape pairs of <see cref="CompositionalPairs"/> never occur in <see cref="CaptionSplit.Train"/>
/// or <see cref="CaptionSplit.HeldOut"/>; every <see cref="CaptionSplit.Compositional"/> scene has at least one of
/// them. Each split draws from its own stream of the seed, so one split does not change when another's count does.</para>
/// </remarks>
internal static class ShapeScenes
{
    /// <summary>Task name.</summary>
    public const string Name = "shapes";

    /// <summary>Default image side, pixels.</summary>
    public const int DefaultImageSize = 48;

    /// <summary>Smallest image side (a small object is then about 4 px across).</summary>
    public const int MinImageSize = 30;

    /// <summary>Largest image side.</summary>
    public const int MaxImageSize = 256;

    /// <summary>Most examples one call generates.</summary>
    public const int MaxCount = 1_000_000;

    /// <summary>One key in this many is reserved for the held-out split.</summary>
    public const int HeldOutShare = 10;

    /// <summary>Half-size of a small and a large object as a fraction of the grid cell's side.</summary>
    internal const float SmallHalfSize = 0.22f, LargeHalfSize = 0.40f;

    /// <summary>
    /// The colour-shape pairs held out of training for the compositional split: one per shape, four different
    /// colours, so every shape and every colour still occurs in training with others.
    /// </summary>
    internal static readonly (ShapeKind Kind, ShapeColor Color)[] CompositionalPairs =
    [
        (ShapeKind.Circle, ShapeColor.Green),
        (ShapeKind.Square, ShapeColor.Yellow),
        (ShapeKind.Triangle, ShapeColor.Blue),
        (ShapeKind.Diamond, ShapeColor.Red),
    ];

    private static readonly (ShapeKind Kind, ShapeColor Color)[] AllPairs = Pairs(includeHeldOut: true);
    private static readonly (ShapeKind Kind, ShapeColor Color)[] TrainPairs = Pairs(includeHeldOut: false);

    /// <summary>Whether a colour-shape pair is held out of training.</summary>
    /// <param name="kind">Shape.</param>
    /// <param name="color">Colour.</param>
    /// <returns>True for the pairs of <see cref="CompositionalPairs"/>.</returns>
    public static bool IsCompositionalPair(ShapeKind kind, ShapeColor color) => Array.IndexOf(CompositionalPairs, (kind, color)) >= 0;

    /// <summary>Whether a scene key belongs to the reserved held-out tenth (a fixed hash, FNV-1a then SplitMix64's mixer).</summary>
    /// <param name="key">A scene key (the caption).</param>
    /// <returns>True when only the held-out split may contain it.</returns>
    public static bool IsHeldOutKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        ulong h = 0xCBF29CE484222325UL;
        foreach (char ch in key)
        {
            h = (h ^ ch) * 0x100000001B3UL;
        }
        return SplitMix64.Mix(h) % HeldOutShare == 0;
    }

    /// <summary>Generates <paramref name="count"/> examples of one split.</summary>
    /// <param name="seed">Any value; the same seed, split and size give the same examples.</param>
    /// <param name="count">Number of examples, 1..<see cref="MaxCount"/>.</param>
    /// <param name="split">Which split.</param>
    /// <param name="imageSize">Image side, <see cref="MinImageSize"/>..<see cref="MaxImageSize"/>.</param>
    /// <returns>The examples: (3, size, size) pixels, caption, one box per object.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A count, split or size out of range.</exception>
    public static ImageExample[] Generate(int seed, int count, CaptionSplit split, int imageSize = DefaultImageSize)
    {
        if (count is < 1 or > MaxCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"the shapes task generates 1 to {MaxCount} examples per call.");
        }
        if (split is not (CaptionSplit.Train or CaptionSplit.HeldOut or CaptionSplit.Compositional))
        {
            throw new ArgumentOutOfRangeException(nameof(split), split, "the shapes task has the splits Train, HeldOut and Compositional.");
        }
        if (imageSize is < MinImageSize or > MaxImageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, $"the shapes image side must be {MinImageSize} to {MaxImageSize} pixels.");
        }
        var random = new SplitMix64(SplitMix64.Mix(unchecked((ulong)seed)) ^ (SplitMix64.Golden * (ulong)(split + 1)));
        var examples = new ImageExample[count];
        Span<ShapeObject> objects = stackalloc ShapeObject[ShapesGrammar.MaxObjects];
        Span<ShapeDescription> descriptions = stackalloc ShapeDescription[ShapesGrammar.MaxObjects];
        for (int i = 0; i < count;)
        {
            int n = Scene(random, split, imageSize, objects);
            for (int k = 0; k < n; k++)
            {
                descriptions[k] = objects[k].Description;
            }
            string[] tokens = ShapesGrammar.Caption(descriptions[..n], out int[] tokenObjects);
            string key = string.Join(' ', tokens);
            if (split != CaptionSplit.Compositional && IsHeldOutKey(key) != (split == CaptionSplit.HeldOut))
            {
                continue;   // the key belongs to the other of train / held-out
            }
            examples[i++] = Render(objects[..n], imageSize, tokens, tokenObjects, key);
        }
        return examples;
    }

    /// <summary>Draws the objects of one scene, in canonical order (reading order of their cells).</summary>
    /// <returns>The number of objects written to <paramref name="objects"/>.</returns>
    private static int Scene(SplitMix64 random, CaptionSplit split, int imageSize, Span<ShapeObject> objects)
    {
        int n = 1 + random.Next(ShapesGrammar.MaxObjects);
        Span<int> cells = stackalloc int[9];
        for (int c = 0; c < 9; c++)
        {
            cells[c] = c;
        }
        for (int k = 0; k < n; k++)   // partial Fisher-Yates: the first n cells are a uniform n-subset
        {
            int j = k + random.Next(9 - k);
            (cells[k], cells[j]) = (cells[j], cells[k]);
        }
        cells[..n].Sort();
        int novel = split == CaptionSplit.Compositional ? random.Next(n) : -1;
        float cell = imageSize / 3f;
        for (int k = 0; k < n; k++)
        {
            var size = (ShapeSize)random.Next(2);
            (ShapeKind kind, ShapeColor color) = k == novel ? CompositionalPairs[random.Next(CompositionalPairs.Length)]
                : split == CaptionSplit.Compositional ? AllPairs[random.Next(AllPairs.Length)]
                : TrainPairs[random.Next(TrainPairs.Length)];
            int row = cells[k] / 3, column = cells[k] % 3;
            float half = (size == ShapeSize.Small ? SmallHalfSize : LargeHalfSize) * cell;
            float slack = 0.5f * cell - half - 0.5f;   // keeps the box half a pixel inside the cell
            float cx = (column + 0.5f) * cell + (float)(2 * random.NextDouble() - 1) * slack;
            float cy = (row + 0.5f) * cell + (float)(2 * random.NextDouble() - 1) * slack;
            objects[k] = new ShapeObject(new ShapeDescription(size, color, kind, row, column), cx, cy, half);
        }
        return n;
    }

    /// <summary>Rasterises a scene whose caption is known.</summary>
    private static ImageExample Render(ReadOnlySpan<ShapeObject> objects, int imageSize, string[] tokens, int[] tokenObjects, string key)
    {
        var pixels = new float[3 * imageSize * imageSize];
        var boxes = new PixelBox[objects.Length];
        for (int k = 0; k < objects.Length; k++)
        {
            ShapesRasterizer.Draw(objects[k], pixels, imageSize);
            boxes[k] = objects[k].Box;
        }
        return new ImageExample(3, imageSize, imageSize, pixels, tokens, boxes, tokenObjects, key);
    }

    private static (ShapeKind, ShapeColor)[] Pairs(bool includeHeldOut)
    {
        var pairs = new List<(ShapeKind, ShapeColor)>();
        foreach (ShapeKind kind in Enum.GetValues<ShapeKind>())
        {
            foreach (ShapeColor color in Enum.GetValues<ShapeColor>())
            {
                if (includeHeldOut || !IsCompositionalPair(kind, color))
                {
                    pairs.Add((kind, color));
                }
            }
        }
        return [.. pairs];
    }
}
