using System.IO.Compression;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SpanAttention.Data;
using SpanAttention.Data.Captioning;
using Xunit;

namespace SpanAttention.Tests.Data.Captioning;

public class DigitStringsTests
{
    private static readonly HandwrittenDigits Uci = HandwrittenDigits.Uci;

    [Fact]
    public void Uci_EmbeddedData_IsTheUciFile()
    {
        Assert.Equal(1797, Uci.Count);
        // Per-digit counts and the first and last rows of sklearn's digits.csv.gz.
        Assert.Equal([178, 182, 177, 183, 181, 182, 181, 179, 174, 180], Enumerable.Range(0, 10).Select(d => Uci.Labels.Count(l => l == d)));
        Assert.Equal([0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0], Uci.Image(0)[..16].ToArray());
        Assert.Equal(0, Uci.Labels[0]);
        Assert.Equal([0, 0, 0, 12, 13, 5, 0, 0], Uci.Image(1)[..8].ToArray());
        Assert.Equal(1, Uci.Labels[1]);
        Assert.All(Uci.Pixels, p => Assert.InRange(p, (byte)0, (byte)HandwrittenDigits.MaxLevel));
    }

    [Fact]
    public void Split_ByImage_DisjointCompleteAFifthOfEachDigitForTest()
    {
        Assert.Empty(Uci.TrainImages.Intersect(Uci.TestImages));
        Assert.Equal(Enumerable.Range(0, Uci.Count), Uci.TrainImages.Concat(Uci.TestImages).Order());
        for (int d = 0; d < 10; d++)
        {
            int all = Uci.Labels.Count(l => l == d);
            Assert.Equal(all / 5, Uci.TestImages.Count(i => Uci.Labels[i] == d));
        }
    }

    [Fact]
    public void Generate_SameSeed_SameExamples_OtherSeedOtherExamples()
    {
        ImageExample[] a = DigitStrings.Generate(4, 30, CaptionSplit.Train);
        ImageExample[] b = DigitStrings.Generate(4, 30, CaptionSplit.Train);
        ImageExample[] c = DigitStrings.Generate(5, 30, CaptionSplit.Train);
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i].Pixels, b[i].Pixels);
            Assert.Equal(a[i].Tokens, b[i].Tokens);
            Assert.Equal(a[i].Boxes, b[i].Boxes);
        }
        Assert.True(Enumerable.Range(0, 30).Count(i => a[i].Key != c[i].Key) > 25);
    }

    [Fact]
    public void Generate_Splits_UseOnlyTheirOwnHandwriting()
    {
        var test = Uci.TestImages.ToHashSet();
        ImageExample[] train = DigitStrings.Generate(1, 2000, CaptionSplit.Train);
        ImageExample[] heldOut = DigitStrings.Generate(1, 500, CaptionSplit.HeldOut);
        Assert.All(train, e => Assert.DoesNotContain(e.ObjectSources!, test.Contains));
        Assert.All(heldOut, e => Assert.All(e.ObjectSources!, i => Assert.Contains(i, test)));
        Assert.Equal(Uci.TestImages.Length, heldOut.SelectMany(e => e.ObjectSources!).Distinct().Count(), 1.0 * Uci.TestImages.Length / 20);
        for (int n = 1; n <= DigitStrings.MaxLength; n++)
        {
            Assert.InRange(train.Count(e => e.Tokens.Length == n), 250, 420);
        }
        foreach (ImageExample e in train.Take(300).Concat(heldOut.Take(100)))
        {
            AssertImageMatchesCaption(e);
        }
    }

    [Property(MaxTest = 40)]
    public Property Generate_AnyLengthsAndSeed_StringsInRangeShowingTheirDigits() =>
        Prop.ForAll(
            (from min in Gen.Choose(1, 6) from extra in Gen.Choose(0, 5) from seed in Gen.Choose(int.MinValue, int.MaxValue) from split in Gen.Choose(0, 1)
             select (min, extra, seed, split)).ToArbitrary(),
            c =>
            {
                (int min, int extra, int seed, int split) = c;
                int max = Math.Min(DigitStrings.MaxLength, min + extra);
                foreach (ImageExample e in DigitStrings.Generate(seed, 10, (CaptionSplit)split, min, max))
                {
                    Assert.InRange(e.Tokens.Length, min, max);
                    AssertImageMatchesCaption(e);
                }
            });

    /// <summary>
    /// Tokens are the labels of the images used; boxes lie inside the image, left to right, apart; every lit pixel is
    /// in exactly one box; each box holds its source image's ink times the weights of 2x bilinear upsampling
    /// (2 per row and column, 1.75 at the edges) and its non-zero pixels reach all four sides of the box.
    /// </summary>
    private static void AssertImageMatchesCaption(ImageExample e)
    {
        Assert.Equal((1, DigitStrings.Height, DigitStrings.Width), (e.Channels, e.Height, e.Width));
        int n = e.Tokens.Length;
        Assert.Equal(n, e.Boxes.Length);
        Assert.Equal(Enumerable.Range(0, n), e.TokenObjects);
        Assert.Equal(e.ObjectSources!.Select(i => Uci.Labels[i].ToString()), e.Tokens);
        Assert.True(e.Pixels.All(p => p is >= 0f and <= 1f));
        for (int k = 0; k < n; k++)
        {
            PixelBox b = e.Boxes[k];
            Assert.True(b.X0 >= 0 && b.Y0 >= 0 && b.X1 <= e.Width && b.Y1 <= e.Height, $"box {b} outside the image.");
            Assert.True(b.Width <= DigitStrings.GlyphSide && b.Height <= DigitStrings.GlyphSide);
            Assert.True(k == 0 || e.Boxes[k - 1].X1 <= b.X0, $"box {k} does not follow box {k - 1}.");
            double mass = 0, expected = 0;
            bool left = false, right = false, top = false, bottom = false;
            for (int y = b.Y0; y < b.Y1; y++)
            {
                for (int x = b.X0; x < b.X1; x++)
                {
                    float v = e.Pixels[y * e.Width + x];
                    mass += v;
                    if (v > 0)
                    {
                        left |= x == b.X0;
                        right |= x == b.X1 - 1;
                        top |= y == b.Y0;
                        bottom |= y == b.Y1 - 1;
                    }
                }
            }
            ReadOnlySpan<byte> image = Uci.Image(e.ObjectSources![k]);
            for (int p = 0; p < image.Length; p++)
            {
                expected += Weight(p / 8) * Weight(p % 8) * image[p] / HandwrittenDigits.MaxLevel;
            }
            Assert.Equal(expected, mass, 1e-3);
            Assert.True(left && right && top && bottom, $"box {b} of digit {k} is not tight.");
        }
        for (int y = 0; y < e.Height; y++)
        {
            for (int x = 0; x < e.Width; x++)
            {
                int inside = e.Boxes.Count(b => b.Contains(x, y));
                Assert.True(inside <= 1 && (e.Pixels[y * e.Width + x] == 0 || inside == 1), $"pixel ({x}, {y}) is in {inside} boxes.");
            }
        }
    }

    /// <summary>The total weight of source row (or column) j over the 16 outputs: 0.25 + 0.75 + 0.75 + 0.25, less the 0.25 that falls outside at an edge.</summary>
    private static double Weight(int j) => j is 0 or 7 ? 1.75 : 2.0;

    [Fact]
    public void Generate_BadArguments_ArgumentOutOfRangeNamingTheArgument()
    {
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => DigitStrings.Generate(1, 0, CaptionSplit.Train)).ParamName);
        Assert.Equal("split", Assert.Throws<ArgumentOutOfRangeException>(() => DigitStrings.Generate(1, 1, CaptionSplit.Compositional)).ParamName);
        Assert.Equal("maxLength", Assert.Throws<ArgumentOutOfRangeException>(() => DigitStrings.Generate(1, 1, CaptionSplit.Train, 1, 7)).ParamName);
        Assert.Equal("maxLength", Assert.Throws<ArgumentOutOfRangeException>(() => DigitStrings.Generate(1, 1, CaptionSplit.Train, 1, 0)).ParamName);
        Assert.Equal("minLength", Assert.Throws<ArgumentOutOfRangeException>(() => DigitStrings.Generate(1, 1, CaptionSplit.Train, 0, 3)).ParamName);
        Assert.Equal("minLength", Assert.Throws<ArgumentOutOfRangeException>(() => DigitStrings.Generate(1, 1, CaptionSplit.Train, 4, 3)).ParamName);
    }

    [Fact]
    public void CaptionDatasets_Digits_IsTheGenerator()
    {
        ImageExample[] a = CaptionDatasets.Digits(2, 5, CaptionSplit.HeldOut, 6, 6);
        Assert.Equal(DigitStrings.Generate(2, 5, CaptionSplit.HeldOut, 6, 6).Select(e => e.Key), a.Select(e => e.Key));
        Assert.All(a, e => Assert.Equal(6, e.Tokens.Length));
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(raw);
        }
        return buffer.ToArray();
    }

    private static byte[] Valid(int n = 2) => [(byte)'U', (byte)'C', (byte)'I', (byte)'D', 1, (byte)n, 0, .. new byte[n], .. new byte[n * 64]];

    [Fact]
    public void Decode_WellFormed_ReadsLabelsAndPixels()
    {
        byte[] raw = Valid();
        raw[8] = 7;          // label of image 1
        raw[9 + 64] = 16;    // image 1, pixel 0
        HandwrittenDigits d = HandwrittenDigits.Decode(new MemoryStream(Gzip(raw)), "x");
        Assert.Equal(2, d.Count);
        Assert.Equal(7, d.Labels[1]);
        Assert.Equal(16, d.Image(1)[0]);
    }

    [Theory]
    [InlineData("notgzip", "x: not gzip data.")]
    [InlineData("magic", "x: does not start with the magic 'UCID'.")]
    [InlineData("version", "x: format version 2; only version 1 is known.")]
    [InlineData("short", "x: 135 bytes; a header for 2 images needs 137.")]
    [InlineData("label", "x: image 1 has label 10; labels are 0..9.")]
    [InlineData("level", "x: image 1 has grey level 17; levels are 0..16.")]
    public void Decode_Corrupt_DatasetFormatExceptionSayingWhat(string corruption, string message)
    {
        byte[] raw = Valid();
        switch (corruption)
        {
            case "magic": raw[0] = (byte)'X'; break;
            case "version": raw[4] = 2; break;
            case "short": raw = raw[..^2]; break;
            case "label": raw[8] = 10; break;
            case "level": raw[7 + 2 + 64 + 5] = 17; break;
        }
        byte[] data = corruption == "notgzip" ? raw : Gzip(raw);
        var e = Assert.Throws<DatasetFormatException>(() => HandwrittenDigits.Decode(new MemoryStream(data), "x"));
        Assert.Equal(message, e.Message);
    }
}
