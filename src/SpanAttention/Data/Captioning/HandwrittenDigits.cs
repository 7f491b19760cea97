using System.IO.Compression;

namespace SpanAttention.Data.Captioning;

/// <summary>
/// The UCI optical handwritten digits (Alpaydin and Kaynak, CC BY 4.0): 1,797 labelled 8x8 images with grey levels
/// 0..16, embedded in the library as <c>Resources/digits.bin</c> (written by <c>tools/make_digits.py</c>, which
/// documents the layout; attribution in <c>Resources/DIGITS-ATTRIBUTION.md</c>).
/// </summary>
/// <remarks>
/// The train/test split is by image and fixed: of each digit's images, in the file's order, the last fifth
/// (rounded down) is the test set, the rest the training set; so test strings are drawn in handwriting no training
/// string contains.
/// </remarks>
internal sealed class HandwrittenDigits
{
    /// <summary>Side of one image, pixels.</summary>
    public const int Side = 8;

    /// <summary>Highest grey level (ink); 0 is background.</summary>
    public const int MaxLevel = 16;

    /// <summary>Number of images in the UCI data.</summary>
    public const int UciCount = 1797;

    private const string ResourceName = "SpanAttention.Data.Captioning.digits.bin";

    private static readonly Lazy<HandwrittenDigits> LazyUci = new(LoadEmbedded);

    private HandwrittenDigits(byte[] labels, byte[] pixels)
    {
        Labels = labels;
        Pixels = pixels;
        var train = new List<int>();
        var test = new List<int>();
        for (int digit = 0; digit < 10; digit++)
        {
            int[] ofDigit = Enumerable.Range(0, labels.Length).Where(i => labels[i] == digit).ToArray();
            int trainCount = ofDigit.Length - ofDigit.Length / 5;
            train.AddRange(ofDigit[..trainCount]);
            test.AddRange(ofDigit[trainCount..]);
        }
        train.Sort();
        test.Sort();
        TrainImages = [.. train];
        TestImages = [.. test];
    }

    /// <summary>The embedded UCI data (read once).</summary>
    public static HandwrittenDigits Uci => LazyUci.Value;

    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>Label 0..9 of each image.</summary>
    public byte[] Labels { get; }

    /// <summary>(N, 8, 8) grey levels 0..16, row-major.</summary>
    public byte[] Pixels { get; }

    /// <summary>Indices of the training images, ascending.</summary>
    public int[] TrainImages { get; }

    /// <summary>Indices of the test images, ascending.</summary>
    public int[] TestImages { get; }

    /// <summary>The 64 grey levels of image <paramref name="index"/>, row-major.</summary>
    /// <param name="index">0..Count-1.</param>
    /// <returns>The image.</returns>
    public ReadOnlySpan<byte> Image(int index) => Pixels.AsSpan(index * Side * Side, Side * Side);

    /// <summary>Decodes the layout <c>tools/make_digits.py</c> writes (gzip of magic "UCID", version 1, N, labels, pixels).</summary>
    /// <param name="stream">The gzip stream.</param>
    /// <param name="name">Name of the input for messages.</param>
    /// <returns>The digits.</returns>
    /// <exception cref="DatasetFormatException">The data is not in that layout or holds a value out of range.</exception>
    internal static HandwrittenDigits Decode(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] raw;
        try
        {
            using var gzip = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            using var buffer = new MemoryStream();
            gzip.CopyTo(buffer);
            raw = buffer.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new DatasetFormatException(name, 0, "not gzip data.", e);
        }
        if (raw.Length < 7 || raw[0] != 'U' || raw[1] != 'C' || raw[2] != 'I' || raw[3] != 'D')
        {
            throw new DatasetFormatException(name, 0, "does not start with the magic 'UCID'.");
        }
        if (raw[4] != 1)
        {
            throw new DatasetFormatException(name, 0, $"format version {raw[4]}; only version 1 is known.");
        }
        int n = raw[5] | (raw[6] << 8);
        if (n < 1 || raw.Length != 7 + n + n * Side * Side)
        {
            throw new DatasetFormatException(name, 0, $"{raw.Length} bytes; a header for {n} images needs {7 + n + n * Side * Side}.");
        }
        byte[] labels = raw[7..(7 + n)];
        byte[] pixels = raw[(7 + n)..];
        for (int i = 0; i < n; i++)
        {
            if (labels[i] > 9)
            {
                throw new DatasetFormatException(name, 0, $"image {i} has label {labels[i]}; labels are 0..9.");
            }
        }
        for (int i = 0; i < pixels.Length; i++)
        {
            if (pixels[i] > MaxLevel)
            {
                throw new DatasetFormatException(name, 0, $"image {i / (Side * Side)} has grey level {pixels[i]}; levels are 0..{MaxLevel}.");
            }
        }
        return new HandwrittenDigits(labels, pixels);
    }

    private static HandwrittenDigits LoadEmbedded()
    {
        using Stream stream = typeof(HandwrittenDigits).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the embedded resource {ResourceName} is missing from the SpanAttention assembly.");
        HandwrittenDigits digits = Decode(stream, ResourceName);
        return digits.Count == UciCount ? digits
            : throw new DatasetFormatException(ResourceName, 0, $"{digits.Count} images; the UCI data has {UciCount}.");
    }
}
