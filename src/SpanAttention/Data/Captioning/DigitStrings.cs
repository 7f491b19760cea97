using SpanAttention.Seq2Seq;

namespace SpanAttention.Data.Captioning;

/// <summary>
/// The built-in <c>digits</c> captioning task: strings of 1 to 6 handwritten digits (UCI, <see cref="HandwrittenDigits"/>)
/// pasted left to right on a black 24x112 grey image, captioned by the digits, one token each (<c>"3" "0" "7"</c>).
/// Deterministic from a seed.
/// </summary>
/// <remarks>
/// <para>A string is generated as: its length n uniform in [minLength, maxLength]; each digit's class uniform in
/// 0..9 and its image uniform among that class's images of the split; each 8x8 image upsampled bilinearly 2x to
/// 16x16 (ink = grey level / 16); gaps of 0..2 pixels between neighbours, the whole string shifted uniformly
/// within the free width, and each digit shifted uniformly by 0..8 rows.</para>
/// <para>Boxes are tight: the rows and columns of the digit's non-zero pixels. Digits never overlap, so every lit pixel
/// lies in the box of exactly one digit, and token i names object i.</para>
/// <para>Splits are by digit image (<see cref="HandwrittenDigits.TrainImages"/> and
/// <see cref="HandwrittenDigits.TestImages"/>): <see cref="CaptionSplit.HeldOut"/> strings use only handwriting
/// no training string uses. There is no compositional split.</para>
/// </remarks>
internal static class DigitStrings
{
    /// <summary>Task name.</summary>
    public const string Name = "digits";

    /// <summary>Image height H, pixels.</summary>
    public const int Height = 24;

    /// <summary>Image width W, pixels.</summary>
    public const int Width = 112;

    /// <summary>Side of one pasted digit: the 8x8 image upsampled 2x.</summary>
    public const int GlyphSide = 2 * HandwrittenDigits.Side;

    /// <summary>Longest string.</summary>
    public const int MaxLength = 6;

    /// <summary>Widest gap between neighbouring digits, pixels.</summary>
    public const int MaxGap = 2;

    /// <summary>Most examples one call generates.</summary>
    public const int MaxCount = 1_000_000;

    private static readonly string[] DigitWords = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    private static readonly Lazy<float[]> Glyphs = new(() => Upsample(HandwrittenDigits.Uci));

    /// <summary>Generates <paramref name="count"/> digit strings of one split.</summary>
    /// <param name="seed">Any value; the same arguments give the same examples.</param>
    /// <param name="count">Number of examples, 1..<see cref="MaxCount"/>.</param>
    /// <param name="split">Train or HeldOut.</param>
    /// <param name="minLength">Shortest string, 1..<paramref name="maxLength"/>.</param>
    /// <param name="maxLength">Longest string, <paramref name="minLength"/>..<see cref="MaxLength"/>.</param>
    /// <returns>(1, 24, 112) images with their digit captions; <see cref="ImageExample.ObjectSources"/> names the UCI image of each digit.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument out of range.</exception>
    public static ImageExample[] Generate(int seed, int count, CaptionSplit split, int minLength = 1, int maxLength = MaxLength)
    {
        if (count is < 1 or > MaxCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"the digits task generates 1 to {MaxCount} examples per call.");
        }
        if (split is not (CaptionSplit.Train or CaptionSplit.HeldOut))
        {
            throw new ArgumentOutOfRangeException(nameof(split), split, "the digits task has the splits Train and HeldOut.");
        }
        if (maxLength is < 1 or > MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, $"digit strings are 1 to {MaxLength} digits long.");
        }
        if (minLength < 1 || minLength > maxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(minLength), minLength, $"the shortest string must be 1 to maxLength ({maxLength}) digits.");
        }
        HandwrittenDigits digits = HandwrittenDigits.Uci;
        int[] pool = split == CaptionSplit.Train ? digits.TrainImages : digits.TestImages;
        int[][] byClass = new int[10][];
        for (int d = 0; d < 10; d++)
        {
            byClass[d] = pool.Where(i => digits.Labels[i] == d).ToArray();
        }
        float[] glyphs = Glyphs.Value;
        var random = new SplitMix64(SplitMix64.Mix(unchecked((ulong)seed) ^ 0xD1617500UL) ^ (SplitMix64.Golden * (ulong)(split + 1)));
        var examples = new ImageExample[count];
        Span<int> gaps = stackalloc int[MaxLength];
        for (int e = 0; e < count; e++)
        {
            int n = minLength + random.Next(maxLength - minLength + 1);
            var tokens = new string[n];
            var sources = new int[n];
            var tokenObjects = new int[n];
            int used = n * GlyphSide;
            for (int k = 0; k < n; k++)
            {
                int d = random.Next(10);
                tokens[k] = DigitWords[d];
                sources[k] = byClass[d][random.Next(byClass[d].Length)];
                tokenObjects[k] = k;
                gaps[k] = k == 0 ? 0 : random.Next(MaxGap + 1);
                used += gaps[k];
            }
            var pixels = new float[Height * Width];   // (1, H, W)
            var boxes = new PixelBox[n];
            int x = random.Next(Width - used + 1);
            for (int k = 0; k < n; k++)
            {
                x += gaps[k];
                int y = random.Next(Height - GlyphSide + 1);
                boxes[k] = Paste(glyphs.AsSpan(sources[k] * GlyphSide * GlyphSide, GlyphSide * GlyphSide), pixels, x, y);
                x += GlyphSide;
            }
            examples[e] = new ImageExample(1, Height, Width, pixels, tokens, boxes, tokenObjects,
                string.Join(' ', tokens) + " | " + string.Join(' ', sources), sources);
        }
        return examples;
    }

    /// <summary>Copies a (16, 16) glyph into the (24, 112) image at column x, row y; returns the box of its non-zero pixels.</summary>
    private static PixelBox Paste(ReadOnlySpan<float> glyph, Span<float> pixels, int x, int y)
    {
        int x0 = int.MaxValue, y0 = int.MaxValue, x1 = int.MinValue, y1 = int.MinValue;
        for (int gy = 0; gy < GlyphSide; gy++)
        {
            for (int gx = 0; gx < GlyphSide; gx++)
            {
                float v = glyph[gy * GlyphSide + gx];
                if (v == 0f)
                {
                    continue;
                }
                pixels[(y + gy) * Width + x + gx] = v;
                x0 = Math.Min(x0, x + gx);
                x1 = Math.Max(x1, x + gx + 1);
                y0 = Math.Min(y0, y + gy);
                y1 = Math.Max(y1, y + gy + 1);
            }
        }
        return x1 < 0 ? throw new InvalidOperationException("a digit image has no ink.") : new PixelBox(x0, y0, x1, y1);
    }

    /// <summary>
    /// Every image upsampled 2x bilinearly, (N, 16, 16) in [0, 1]: output pixel d samples the source at d/2 - 1/4
    /// (pixel centres aligned), with zero outside the 8x8 image.
    /// </summary>
    internal static float[] Upsample(HandwrittenDigits digits)
    {
        const int S = HandwrittenDigits.Side, G = GlyphSide;
        var glyphs = new float[digits.Count * G * G];
        Span<float> rows = stackalloc float[G * S];   // (16, 8): upsampled along y first
        for (int i = 0; i < digits.Count; i++)
        {
            ReadOnlySpan<byte> image = digits.Image(i);
            for (int d = 0; d < G; d++)
            {
                Tap(d, out int s0, out float f);
                for (int c = 0; c < S; c++)
                {
                    rows[d * S + c] = (1 - f) * Level(image, s0, c) + f * Level(image, s0 + 1, c);
                }
            }
            Span<float> glyph = glyphs.AsSpan(i * G * G, G * G);
            for (int r = 0; r < G; r++)
            {
                for (int d = 0; d < G; d++)
                {
                    Tap(d, out int s0, out float f);
                    float a = s0 >= 0 ? rows[r * S + s0] : 0f;
                    float b = s0 + 1 < S ? rows[r * S + s0 + 1] : 0f;
                    glyph[r * G + d] = (1 - f) * a + f * b;
                }
            }
        }
        return glyphs;
    }

    private static void Tap(int d, out int s0, out float f)
    {
        float s = 0.5f * d - 0.25f;
        s0 = (int)MathF.Floor(s);
        f = s - s0;
    }

    private static float Level(ReadOnlySpan<byte> image, int row, int column) =>
        row is < 0 or >= HandwrittenDigits.Side ? 0f : image[row * HandwrittenDigits.Side + column] / (float)HandwrittenDigits.MaxLevel;
}
