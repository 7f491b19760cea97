using SpanAttention.Data.Captioning;

namespace SpanAttention.Data;

/// <summary>One image and its caption.</summary>
/// <param name="pixels">(C, H, W) row-major pixel values (in [0, 1] for the built-in tasks); not copied.</param>
/// <param name="caption">The caption, space-separated words.</param>
public sealed class ImageCaption(float[] pixels, string caption)
{
    /// <summary>(C, H, W) row-major pixel values.</summary>
    public float[] Pixels { get; } = pixels;

    /// <summary>The caption.</summary>
    public string Caption { get; } = caption;
}

/// <summary>
/// A captioning dataset: images of one size (C, H, W) with their captions, in train, validation and test splits, for
/// <see cref="Training.TrainingSession(CaptionDataset, Training.TrainingOptions)"/>. The built-in tasks are
/// <see cref="BuiltIn"/>: <c>shapes</c> and <c>digits</c> (docs/captioning-data.md).
/// </summary>
public sealed class CaptionDataset
{
    /// <summary>Task name of the shapes scenes.</summary>
    public const string ShapesName = ShapeScenes.Name;

    /// <summary>Task name of the handwritten digit strings.</summary>
    public const string DigitsName = DigitStrings.Name;

    /// <summary>The built-in task names.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = [ShapesName, DigitsName];

    /// <summary>Wraps the splits (not copied); every image must be C·H·W values.</summary>
    /// <param name="name">The dataset's name.</param>
    /// <param name="channels">C ≥ 1.</param>
    /// <param name="height">H ≥ 1.</param>
    /// <param name="width">W ≥ 1.</param>
    /// <param name="train">Training images.</param>
    /// <param name="validation">Validation images (scored after every epoch).</param>
    /// <param name="test">Test images.</param>
    /// <param name="testName">What the test split is, for reports (e.g. "compositional").</param>
    /// <exception cref="ArgumentException">An image has the wrong number of values, or a caption is empty.</exception>
    public CaptionDataset(string name, int channels, int height, int width, IReadOnlyList<ImageCaption> train, IReadOnlyList<ImageCaption> validation,
        IReadOnlyList<ImageCaption> test, string testName = "test")
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        Name = name;
        Channels = channels;
        Height = height;
        Width = width;
        Train = Check(train, nameof(train));
        Validation = Check(validation, nameof(validation));
        Test = Check(test, nameof(test));
        TestName = testName;
        static SentencePair[] Pairs(IReadOnlyList<ImageCaption> split) => [.. split.Select((x, i) => new SentencePair($"image {i}", x.Caption))];
        Captions = new Dataset(name, Tokenization.Word, Tokenization.Word, Pairs(Train), Pairs(Validation), Pairs(Test));
    }

    private IReadOnlyList<ImageCaption> Check(IReadOnlyList<ImageCaption> split, string what)
    {
        ArgumentNullException.ThrowIfNull(split, what);
        int size = Channels * Height * Width;
        for (int i = 0; i < split.Count; i++)
        {
            ImageCaption x = split[i] ?? throw new ArgumentException($"{what}[{i}] is null.", what);
            if (x.Pixels is null || x.Pixels.Length != size)
            {
                throw new ArgumentException($"{what}[{i}] has {x.Pixels?.Length ?? 0} pixel values; a {Channels} x {Height} x {Width} image has {size}.", what);
            }
            if (string.IsNullOrWhiteSpace(x.Caption))
            {
                throw new ArgumentException($"{what}[{i}] has an empty caption.", what);
            }
        }
        return split;
    }

    /// <summary>The dataset's name.</summary>
    public string Name { get; }

    /// <summary>C.</summary>
    public int Channels { get; }

    /// <summary>H: pixel rows.</summary>
    public int Height { get; }

    /// <summary>W: pixel columns.</summary>
    public int Width { get; }

    /// <summary>Training images.</summary>
    public IReadOnlyList<ImageCaption> Train { get; }

    /// <summary>Validation images.</summary>
    public IReadOnlyList<ImageCaption> Validation { get; }

    /// <summary>Test images.</summary>
    public IReadOnlyList<ImageCaption> Test { get; }

    /// <summary>What the test split is (e.g. "compositional" for shapes).</summary>
    public string TestName { get; }

    /// <summary>
    /// The captions as a <see cref="Dataset"/> of word-tokenised pairs (source "image i", target the caption), split by
    /// split and in the images' order: the target vocabulary and every caption-side report come from it.
    /// </summary>
    public Dataset Captions { get; }

    /// <summary>
    /// A built-in task, deterministic from the seed. <c>shapes</c>: 3 x 48 x 48 scenes, train from the training split,
    /// validation and test the held-out scenes and the compositional split (unseen colour-shape pairs), a tenth of the
    /// count each. <c>digits</c>: 1 x 24 x 112 strings of 1 to 6 handwritten digits, validation and test from unseen
    /// handwriting.
    /// </summary>
    /// <param name="name"><c>shapes</c> or <c>digits</c>.</param>
    /// <param name="seed">Any value.</param>
    /// <param name="count">Training images; 0 for the default (12,000 shapes, 12,000 digit strings).</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="ArgumentException">Unknown name, or a count out of range.</exception>
    public static CaptionDataset BuiltIn(string name, int seed, int count = 0)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int n = count > 0 ? count : DefaultCount;
        (ImageExample[] validation, ImageExample[] test, string testName) = HeldOutExamples(name, seed, count);
        static ImageCaption[] Of(ImageExample[] xs) => [.. xs.Select(x => new ImageCaption(x.Pixels, x.Caption))];
        return name switch
        {
            ShapesName => new CaptionDataset(name, 3, ShapeScenes.DefaultImageSize, ShapeScenes.DefaultImageSize,
                Of(CaptionDatasets.Shapes(seed, n, CaptionSplit.Train)), Of(validation), Of(test), testName),
            _ => new CaptionDataset(name, 1, DigitStrings.Height, DigitStrings.Width,
                Of(CaptionDatasets.Digits(seed, n, CaptionSplit.Train)), Of(validation), Of(test), testName),
        };
    }

    /// <summary>
    /// The validation and test splits of <see cref="BuiltIn"/> with everything the generator knows (the box of the
    /// object each caption word names), for grounding: <c>shapes</c> the held-out scenes and the compositional split,
    /// <c>digits</c> two draws of unseen handwriting; a tenth of the count each, at least 100.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    internal static (ImageExample[] Validation, ImageExample[] Test, string TestName) HeldOutExamples(string name, int seed, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int held = Math.Max(100, (count > 0 ? count : DefaultCount) / 10);
        return name switch
        {
            ShapesName => (CaptionDatasets.Shapes(seed, held, CaptionSplit.HeldOut), CaptionDatasets.Shapes(seed, held, CaptionSplit.Compositional), "compositional"),
            DigitsName => (CaptionDatasets.Digits(seed, held, CaptionSplit.HeldOut), CaptionDatasets.Digits(seed + 1, held, CaptionSplit.HeldOut), "held-out (second draw)"),
            _ => throw new ArgumentException($"unknown captioning task '{name}'; the built-in ones are {string.Join(", ", BuiltInNames)}.", nameof(name)),
        };
    }

    /// <summary>Training images of a built-in task when no count is given.</summary>
    public const int DefaultCount = 12_000;
}
