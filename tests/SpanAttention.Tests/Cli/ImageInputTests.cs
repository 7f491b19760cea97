using SpanAttention.Cli;
using SpanAttention.Cli.Images;
using SpanAttention.Visualization;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary>
/// Image input of the CLI: PNG/JPEG decoding to (C, H, W) floats, resizing, the caption TSV, and one typed error per bad
/// case naming the file, the line and what is wrong.
/// </summary>
/// <remarks>TestData/images/gradient.jpg and grey.jpg were written by PIL (quality 95; the colour one without chroma
/// subsampling) from x·255/15 (R and grey), y·255/11 (G) and 128 (B) on a 16 x 12 grid; PIL's own decoder reads
/// gradient.jpg back within 4 levels of those values.</remarks>
public sealed class ImageInputTests : IDisposable
{
    private static readonly ImageShape Rgb8 = new(3, 5, 7);
    private readonly string _folder = Directory.CreateTempSubdirectory("images-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static byte[] RandomBytes(int n, int seed)
    {
        var bytes = new byte[n];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private string Png(string name, byte[] pixels, int width, int height, int channels)
    {
        string path = Path.Combine(_folder, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, PngEncoder.Encode(pixels, width, height, channels));
        return path;
    }

    private string Tsv(params string[] lines)
    {
        string path = Path.Combine(_folder, "captions.tsv");
        File.WriteAllLines(path, lines);
        return path;
    }

    private static string TestImage(string name) => Path.Combine(AppContext.BaseDirectory, "TestData", "images", name);

    [Fact]
    public void Load_RgbPngAtTheModelsSize_PlanarBytesOver255()
    {
        byte[] pixels = RandomBytes(5 * 7 * 3, 3);
        float[] image = ImageFiles.Load(Png("a.png", pixels, 7, 5, 3), Rgb8);
        Assert.Equal(3 * 5 * 7, image.Length);
        for (int p = 0; p < 35; p++)
        {
            for (int c = 0; c < 3; c++)
            {
                Assert.Equal(pixels[(p * 3) + c] / 255f, image[(c * 35) + p]);
            }
        }
    }

    [Fact]
    public void Load_OpaqueRgbaPng_DropsTheAlpha()
    {
        byte[] rgba = RandomBytes(2 * 2 * 4, 4);
        for (int p = 0; p < 4; p++)
        {
            rgba[(p * 4) + 3] = 255;
        }
        float[] image = ImageFiles.Load(Png("rgba.png", rgba, 2, 2, 4), new ImageShape(3, 2, 2));
        Assert.Equal(rgba[4 + 1] / 255f, image[4 + 1]); // G of pixel 1
    }

    [Fact]
    public void Taps_ShrinkAveragesCoveredPixels_GrowInterpolates()
    {
        Assert.Equal([[(0, 0.5f), (1, 0.5f)], [(2, 0.5f), (3, 0.5f)]], ImageResize.Taps(4, 2));
        (int Index, float Weight)[][] three = ImageResize.Taps(3, 2); // [0, 1.5) and [1.5, 3)
        Assert.Equal([0, 1], three[0].Select(t => t.Index));
        Assert.Equal(2 / 3f, three[0][0].Weight, 6);
        Assert.Equal(1 / 3f, three[0][1].Weight, 6);
        Assert.Equal([1, 2], three[1].Select(t => t.Index));
        Assert.Equal([[(0, 1f)], [(0, 0.75f), (1, 0.25f)], [(0, 0.25f), (1, 0.75f)], [(1, 1f)]], ImageResize.Taps(2, 4));
    }

    [Fact]
    public void Load_LargerPng_AveragedDownToTheModelsSize()
    {
        // Grey 4 x 2 [[0, 40, 80, 120], [200, 240, 160, 0]] to 2 x 1: each output averages a 2 x 2 block.
        byte[] grey = [0, 40, 80, 120, 200, 240, 160, 0];
        float[] image = ImageFiles.Load(Png("g.png", grey, 4, 2, 1), new ImageShape(1, 1, 2));
        Assert.Equal(120 / 255f, image[0], 6);
        Assert.Equal(90 / 255f, image[1], 6);
    }

    [Fact]
    public void Load_Jpeg_DecodedNearTheGradient()
    {
        const float Tolerance = 8 / 255f; // JPEG's loss (4 levels through PIL) plus another decoder's rounding
        float[] image = ImageFiles.Load(TestImage("gradient.jpg"), new ImageShape(3, 12, 16));
        for (int y = 0; y < 12; y++)
        {
            for (int x = 0; x < 16; x++)
            {
                Assert.True(Math.Abs(image[(y * 16) + x] - (x * 255 / 15 / 255f)) < Tolerance, $"R at ({x}, {y})");
                Assert.True(Math.Abs(image[192 + (y * 16) + x] - (y * 255 / 11 / 255f)) < Tolerance, $"G at ({x}, {y})");
                Assert.True(Math.Abs(image[384 + (y * 16) + x] - (128 / 255f)) < Tolerance, $"B at ({x}, {y})");
            }
        }
        Assert.Equal(12 * 16, ImageFiles.Load(TestImage("grey.jpg"), new ImageShape(1, 12, 16)).Length);
    }

    [Fact]
    public void LoadTsv_RelativePaths_ResolvedAgainstTheTsvsFolder()
    {
        Png(Path.Combine("sub", "a.png"), RandomBytes(105, 1), 7, 5, 3);
        Png("b.png", RandomBytes(4 * 4 * 3, 2), 4, 4, 3);
        string tsv = Tsv("sub/a.png\ta red circle", "", $"{Path.Combine(_folder, "b.png")}\t  two   words ");
        string before = Environment.CurrentDirectory;
        IReadOnlyList<CaptionedImage> images = ImageCaptionFile.Load(tsv, Rgb8);
        Assert.Equal(before, Environment.CurrentDirectory);
        Assert.Equal(2, images.Count);
        Assert.Equal(Path.Combine(_folder, "sub", "a.png"), images[0].Path);
        Assert.Equal(["a", "red", "circle"], images[0].Words);
        Assert.Equal(3, images[1].Line);
        Assert.Equal(["two", "words"], images[1].Words);
        Assert.Equal(105, images[1].Pixels.Length); // 4 x 4 resized to 7 x 5
    }

    private static string ErrorOf(string tsv, ImageShape? shape = null)
    {
        var e = Assert.Throws<ImageInputException>(() => ImageCaptionFile.Load(tsv, shape ?? Rgb8));
        string? line = Program.Describe(e); // an expected error: one line, exit code 1
        Assert.NotNull(line);
        Assert.DoesNotContain('\n', line);
        return e.Message;
    }

    [Fact]
    public void LoadTsv_LineProblems_NameTheLineAndWhatIsWrong()
    {
        Png("a.png", RandomBytes(105, 1), 7, 5, 3);
        Assert.EndsWith("captions.tsv line 2: no tab; every line is image_path<TAB>caption.", ErrorOf(Tsv("a.png\tok", "a.png a caption")));
        Assert.Contains("line 1: 2 tabs", ErrorOf(Tsv("a.png\tone\ttwo")));
        Assert.Contains("line 1: the caption is empty", ErrorOf(Tsv("a.png\t   ")));
        Assert.Contains("line 1: the image path is empty", ErrorOf(Tsv("\tcaption")));
        Assert.Contains("has no lines", ErrorOf(Tsv("", "  ")));
    }

    [Fact]
    public void LoadTsv_ImageProblems_NameTheFileAndWhatIsWrong()
    {
        Assert.Contains("line 1: image 'gone.png': the file does not exist", ErrorOf(Tsv("gone.png\tx")));

        File.WriteAllText(Path.Combine(_folder, "notes.png"), "hello");
        Assert.Contains("image 'notes.png': not an image (neither a PNG nor a JPEG file; it starts with bytes 68656C6C6F)", ErrorOf(Tsv("notes.png\tx")));
        File.WriteAllBytes(Path.Combine(_folder, "empty.jpg"), []);
        Assert.Contains("the file is empty", ErrorOf(Tsv("empty.jpg\tx")));

        byte[] png = PngEncoder.Encode(RandomBytes(105, 1), 7, 5, 3);
        File.WriteAllBytes(Path.Combine(_folder, "short.png"), png[..20]);
        Assert.Contains("image 'short.png': corrupt PNG", ErrorOf(Tsv("short.png\tx")));
        byte[] garbled = (byte[])png.Clone();
        for (int i = 41; i < garbled.Length - 12; i++)
        {
            garbled[i] ^= 0x5A; // the IDAT payload (after signature 8 + IHDR 25 + IDAT length and type 8)
        }
        File.WriteAllBytes(Path.Combine(_folder, "garbled.png"), garbled);
        Assert.Contains("image 'garbled.png': corrupt PNG", ErrorOf(Tsv("garbled.png\tx")));

        Png("grey.png", RandomBytes(35, 5), 7, 5, 1);
        Assert.Contains("image 'grey.png': wrong channels: the image is grey; the model reads RGB", ErrorOf(Tsv("grey.png\tx")));
        Png("rgb.png", RandomBytes(105, 5), 7, 5, 3);
        Assert.Contains("image 'rgb.png': wrong channels: the image is colour (RGB); the model reads grey", ErrorOf(Tsv("rgb.png\tx"), new ImageShape(1, 5, 7)));

        byte[] rgba = RandomBytes(2 * 2 * 4, 6);
        for (int p = 0; p < 4; p++)
        {
            rgba[(p * 4) + 3] = p == 3 ? (byte)0 : (byte)255;
        }
        Png("clear.png", rgba, 2, 2, 4);
        Assert.Contains("image 'clear.png': has transparent pixels (pixel (1, 1) has alpha 0)", ErrorOf(Tsv("clear.png\tx")));
    }

    [Fact]
    public void LoadTsv_MissingTsv_Named()
    {
        Assert.Contains("does not exist", ErrorOf(Path.Combine(_folder, "none.tsv")));
        Assert.Contains("is a folder", ErrorOf(_folder));
    }
}
