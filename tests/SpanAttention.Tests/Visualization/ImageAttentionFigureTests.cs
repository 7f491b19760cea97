using System.Xml.Linq;
using SpanAttention.Visualization;
using StbImageSharp;
using Xunit;

namespace SpanAttention.Tests.Visualization;

/// <summary>The Show-Attend-Tell figure: one panel per word with its caption, the embedded image, overlays whose opacity follows the weights.</summary>
public class ImageAttentionFigureTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private static readonly XNamespace XLink = "http://www.w3.org/1999/xlink";

    private static float[] Image(int channels, int height, int width, int seed)
    {
        var random = new Random(seed);
        var pixels = new float[channels * height * width];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = random.Next(256) / 255f;
        }
        return pixels;
    }

    /// <summary>Three words over a 6x6 grid on a 96x96 RGB image: word 0 puts 0.7 on cell (1, 1) and 0.3 on (4, 4).</summary>
    private static (float[] Pixels, string[] Words, float[] Alignment) Case()
    {
        string[] words = ["a", "red", "circle"];
        var alignment = new float[3 * 36];
        alignment[(1 * 6) + 1] = 0.7f;
        alignment[(4 * 6) + 4] = 0.3f;
        Array.Fill(alignment, 1f / 36, 36, 36);          // word 1: uniform
        alignment[72 + 35] = 1f;                         // word 2: the bottom-right cell
        return (Image(3, 96, 96, 1), words, alignment);
    }

    private static byte[] DataUri(string uri)
    {
        const string Prefix = "data:image/png;base64,";
        Assert.StartsWith(Prefix, uri);
        return Convert.FromBase64String(uri[Prefix.Length..]);
    }

    [Fact]
    public void ToSvgString_ThreeWords_OnePanelPerWordWithItsCaption()
    {
        (float[] pixels, string[] words, float[] alignment) = Case();
        XDocument svg = XDocument.Parse(ImageAttentionFigure.ToSvgString(pixels, 3, 96, 96, words, alignment, 6, 6, "a red circle"));
        XElement[] panels = svg.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == "panel").ToArray();
        Assert.Equal(3, panels.Length);
        Assert.Equal(words, panels.Select(p => p.Elements(Svg + "text").Single(t => (string?)t.Attribute("class") == "word").Value));
        Assert.Equal(words, panels.Select(p => (string?)p.Attribute("data-word")));
        Assert.Equal(["0.7", "0.0278", "1"], panels.Select(p => (string?)p.Attribute("data-max-weight")));
        foreach (XElement panel in panels)
        {
            Assert.Equal("#photo", (string?)panel.Element(Svg + "use")!.Attribute(XLink + "href"));
            Assert.Single(panel.Elements(Svg + "image"), i => (string?)i.Attribute("class") == "attention");
        }
        Assert.Equal("a red circle", svg.Root!.Element(Svg + "title")!.Value);
        Assert.Single(svg.Descendants(Svg + "image"), i => (string?)i.Attribute("id") == "photo");
    }

    [Fact]
    public void ToSvgString_EmbeddedPhoto_DecodesToTheImage()
    {
        (float[] pixels, string[] words, float[] alignment) = Case();
        XDocument svg = XDocument.Parse(ImageAttentionFigure.ToSvgString(pixels, 3, 96, 96, words, alignment, 6, 6));
        XElement photo = svg.Descendants(Svg + "image").Single(i => (string?)i.Attribute("id") == "photo");
        ImageResult decoded = ImageResult.FromMemory(DataUri((string)photo.Attribute(XLink + "href")!), ColorComponents.RedGreenBlue);
        Assert.Equal(PngEncoder.ToBytes(pixels, 3, 96, 96), decoded.Data);
    }

    [Fact]
    public void ToSvgString_GreyImage_EmbeddedAsGrey()
    {
        float[] pixels = Image(1, 24, 112, 2);
        var alignment = new float[2 * 3 * 14];
        alignment[0] = alignment[42 + 13] = 1;
        XDocument svg = XDocument.Parse(ImageAttentionFigure.ToSvgString(pixels, 1, 24, 112, ["4", "2"], alignment, 3, 14));
        XElement photo = svg.Descendants(Svg + "image").Single(i => (string?)i.Attribute("id") == "photo");
        ImageResult decoded = ImageResult.FromMemory(DataUri((string)photo.Attribute(XLink + "href")!), ColorComponents.Default);
        Assert.Equal(ColorComponents.Grey, decoded.SourceComp);
        Assert.Equal(PngEncoder.ToBytes(pixels, 1, 24, 112), decoded.Data);
    }

    [Fact]
    public void Overlay_OpacityFollowsTheWeights()
    {
        (float[] pixels, string[] words, float[] alignment) = Case();
        XDocument svg = XDocument.Parse(ImageAttentionFigure.ToSvgString(pixels, 3, 96, 96, words, alignment, 6, 6));
        XElement first = svg.Descendants(Svg + "image").First(i => (string?)i.Attribute("class") == "attention");
        ImageResult overlay = ImageResult.FromMemory(DataUri((string)first.Attribute(XLink + "href")!), ColorComponents.RedGreenBlueAlpha);
        byte Alpha(int x, int y) => overlay.Data[(((y * 96) + x) * 4) + 3];

        // Cell (1, 1) is [16, 32)², centred on pixel edge 24: pixels 23 and 24 hold the panel's peak, opacity 0.75.
        Assert.Equal(191, Alpha(23, 23));
        Assert.Equal(191, Alpha(24, 24));
        Assert.Equal((0xFD, 0xE7, 0x25), (overlay.Data[(((23 * 96) + 23) * 4)], overlay.Data[(((23 * 96) + 23) * 4) + 1], overlay.Data[(((23 * 96) + 23) * 4) + 2]));

        // Cell (4, 4) mirrors cell (1, 1) through the image centre, so its peak is 0.3 / 0.7 of it: round(191.25 · 3/7) = 82.
        Assert.Equal(82, Alpha(72, 72));
        Assert.Equal(82, Alpha(71, 71));

        // Two cells away from both (beyond bilinear's one cell and the smoothing's one cell): clear.
        Assert.Equal(0, Alpha(95, 0));
        Assert.Equal(0, Alpha(0, 95));
        Assert.True(Alpha(23, 23) > Alpha(40, 23) && Alpha(40, 23) > Alpha(50, 23), "opacity falls away from the attended cell");
    }

    [Fact]
    public void Overlay_UniformAttention_EvenlyAtTheMaximum()
    {
        var grid = new float[36];
        Array.Fill(grid, 1f / 36);
        byte[] rgba = ImageAttentionFigure.Overlay(grid, 6, 6, 48, 48);
        for (int p = 0; p < 48 * 48; p++)
        {
            Assert.Equal(191, rgba[(4 * p) + 3]);
        }
    }

    [Fact]
    public void WriteSvg_BadAlignment_NamesItAndWritesNothing()
    {
        (float[] pixels, string[] words, float[] alignment) = Case();
        string path = Path.Combine(Path.GetTempPath(), $"figure-{Guid.NewGuid():N}.svg");
        var e = Assert.Throws<HeatmapInputException>(() => ImageAttentionFigure.WriteSvg(path, pixels, 3, 96, 96, words, alignment.AsSpan(0, 100), 6, 6));
        Assert.Contains("need 108", e.Message);
        alignment[40] = 1.5f;
        e = Assert.Throws<HeatmapInputException>(() => ImageAttentionFigure.WriteSvg(path, pixels, 3, 96, 96, words, alignment, 6, 6));
        Assert.Contains("word 1 ('red') on cell (0, 4) is 1.5", e.Message);
        e = Assert.Throws<HeatmapInputException>(() => ImageAttentionFigure.WriteSvg(path, pixels, 2, 96, 96, words, alignment, 6, 6));
        Assert.Contains("2 channels", e.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void WriteSvg_ValidInput_WritesTheSameDocument()
    {
        (float[] pixels, string[] words, float[] alignment) = Case();
        string path = Path.Combine(Path.GetTempPath(), $"figure-{Guid.NewGuid():N}.svg");
        try
        {
            ImageAttentionFigure.WriteSvg(path, pixels, 3, 96, 96, words, alignment, 6, 6, "a red circle");
            Assert.Equal(ImageAttentionFigure.ToSvgString(pixels, 3, 96, 96, words, alignment, 6, 6, "a red circle"), File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
