using System.Text;
using System.Xml.Linq;
using SpanAttention.Visualization;
using Xunit;

namespace SpanAttention.Tests.Visualization;

/// <summary>The SVG heatmap: well-formed XML, one cell per pair, escaped tokens, validation, atomic writes.</summary>
public class AttentionHeatmapTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static float[] Weights(int t, int s)
    {
        // Rows are softmax-like: positive, summing to 1.
        var w = new float[t * s];
        for (int i = 0; i < t; i++)
        {
            float sum = 0;
            for (int j = 0; j < s; j++)
            {
                w[(i * s) + j] = 1 + ((i + (2 * j)) % 5);
                sum += w[(i * s) + j];
            }
            for (int j = 0; j < s; j++)
            {
                w[(i * s) + j] /= sum;
            }
        }
        return w;
    }

    private static XElement[] Cells(XDocument document) =>
        document.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "cells").Elements(Svg + "rect").ToArray();

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 4)]
    [InlineData(7, 5)]
    public void ToSvgString_WellFormed_OneRectPerTargetSourcePair(int t, int s)
    {
        string[] source = Enumerable.Range(0, s).Select(j => $"s{j}").ToArray();
        string[] target = Enumerable.Range(0, t).Select(i => $"t{i}").ToArray();
        float[] weights = Weights(t, s);

        XDocument document = XDocument.Parse(AttentionHeatmap.ToSvgString(source, target, weights));

        Assert.Equal(Svg + "svg", document.Root!.Name);
        XElement[] cells = Cells(document);
        Assert.Equal(t * s, cells.Length);
        for (int i = 0; i < t; i++)
        {
            for (int j = 0; j < s; j++)
            {
                XElement cell = cells[(i * s) + j];
                string title = cell.Element(Svg + "title")!.Value;
                Assert.Equal($"t{i} ← s{j}: {weights[(i * s) + j]:0.000}", title);
                Assert.Equal(ColorScale.Hex(weights[(i * s) + j]), (string?)cell.Attribute("fill"));
            }
        }
        Assert.Equal(source, document.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "source").Elements(Svg + "text").Select(e => e.Value));
        Assert.Equal(target, document.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "target").Elements(Svg + "text").Select(e => e.Value));
        Assert.Single(document.Descendants(Svg + "linearGradient"));
    }

    [Fact]
    public void ToSvgString_MarkupInTokens_EscapedAndRoundTrips()
    {
        string[] source = ["<b>", "a&b", "\"q\"", "it's"];
        string[] target = ["x<y", "</svg>"];

        string svg = AttentionHeatmap.ToSvgString(source, target, Weights(2, 4), title: "<script>alert(1)</script>");

        Assert.DoesNotContain("<b>", svg, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", svg, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;", svg, StringComparison.Ordinal);
        Assert.Contains("a&amp;b", svg, StringComparison.Ordinal);
        XDocument document = XDocument.Parse(svg);
        Assert.Equal(8, Cells(document).Length);
        Assert.Contains(document.Descendants(Svg + "text"), e => e.Value == "</svg>");
        Assert.Contains(document.Descendants(Svg + "text"), e => e.Value == "<script>alert(1)</script>");
    }

    [Fact]
    public void ToSvgString_ControlCharacters_ReplacedSoXmlStaysValid()
    {
        string svg = AttentionHeatmap.ToSvgString(["a\u0001b", "\uD800"], ["ok"], [0.5f, 0.5f]);

        XDocument document = XDocument.Parse(svg);
        Assert.Contains(document.Descendants(Svg + "text"), e => e.Value == "a\uFFFDb");
        Assert.Contains(document.Descendants(Svg + "text"), e => e.Value == "\uFFFD");
    }

    [Fact]
    public void WriteSvg_Devanagari_Utf8WithoutBomAndNoTempFileLeft()
    {
        using var folder = new SpanAttention.Tests.Cli.TempFolder();
        string path = folder.File("attention.svg");
        string[] source = ["मैं", "खाना", "खा", "रहा", "हूँ"];
        string[] target = ["i", "am", "eating", "food", "<eos>"];

        AttentionHeatmap.WriteSvg(path, source, target, Weights(5, 5));

        byte[] bytes = File.ReadAllBytes(path);
        Assert.False(bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF, "no byte-order mark");
        string text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        Assert.StartsWith("<?xml version=\"1.0\" encoding=\"utf-8\"?>", text, StringComparison.Ordinal);
        Assert.Contains("खाना", text, StringComparison.Ordinal);
        Assert.Contains("&lt;eos&gt;", text, StringComparison.Ordinal);
        XDocument document = XDocument.Load(path);
        Assert.Equal(25, Cells(document).Length);
        Assert.Equal(["attention.svg"], Directory.GetFiles(folder.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void WriteSvg_ExistingFile_ReplacedWhole()
    {
        using var folder = new SpanAttention.Tests.Cli.TempFolder();
        string path = folder.File("a.svg");
        File.WriteAllText(path, new string('x', 100_000));

        AttentionHeatmap.WriteSvg(path, ["a"], ["b"], [1f]);

        Assert.Single(Cells(XDocument.Load(path)));
        Assert.Single(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void WriteSvg_InvalidWeights_ThrowsAndLeavesNoFile()
    {
        using var folder = new SpanAttention.Tests.Cli.TempFolder();
        string path = folder.File("a.svg");

        Assert.Throws<HeatmapInputException>(() => AttentionHeatmap.WriteSvg(path, ["a", "b"], ["c"], [0.5f, float.NaN]));

        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void WriteSvg_MissingFolder_DirectoryNotFoundAndNothingCreated()
    {
        using var folder = new SpanAttention.Tests.Cli.TempFolder();
        string path = Path.Combine(folder.Path, "missing", "a.svg");

        Assert.Throws<DirectoryNotFoundException>(() => AttentionHeatmap.WriteSvg(path, ["a"], ["b"], [1f]));

        Assert.Empty(Directory.GetFileSystemEntries(folder.Path));
    }

    public static TheoryData<string, string[], string[], float[], string> BadInputs() => new()
    {
        { "too few weights", ["a", "b"], ["x", "y"], [0.5f, 0.5f, 1f], "3 values, but T x S = 2 x 2 = 4" },
        { "too many weights", ["a"], ["x"], [0.5f, 0.5f], "2 values" },
        { "NaN", ["a", "b"], ["x"], [0.5f, float.NaN], "on source 1 ('b') is NaN" },
        { "infinity", ["a"], ["x"], [float.PositiveInfinity], "Infinity" },
        { "negative", ["a", "b"], ["x"], [-0.01f, 1f], "is -0.01" },
        { "above one", ["a", "b"], ["x", "y"], [0.5f, 0.5f, 0f, 1.01f], "target 1 ('y') on source 1 ('b') is 1.01" },
        { "no source", [], ["x"], [], "no source tokens" },
        { "no target", ["a"], [], [], "no target tokens" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Validate_BadInput_TypedErrorNamingTheProblem(string what, string[] source, string[] target, float[] weights, string expected)
    {
        var e = Assert.Throws<HeatmapInputException>(() => AttentionHeatmap.Validate(source, target, weights));
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{what}: {e.Message}");
    }

    [Fact]
    public void Validate_NullToken_Throws() =>
        Assert.Throws<HeatmapInputException>(() => AttentionHeatmap.Validate(["a", null!], ["x"], [0.5f, 0.5f]));

    [Fact]
    public void Validate_RoundingWithinTolerance_Accepted()
    {
        AttentionHeatmap.Validate(["a", "b"], ["x"], [-0.0005f, 1.0005f]);
        XDocument document = XDocument.Parse(AttentionHeatmap.ToSvgString(["a", "b"], ["x"], [-0.0005f, 1.0005f]));
        // drawn as the ends of the colour scale
        Assert.Equal([ColorScale.Hex(0), ColorScale.Hex(1)], Cells(document).Select(c => (string?)c.Attribute("fill")));
    }

    [Fact]
    public void ColorScale_EndsAndClamping()
    {
        Assert.Equal("#440154", ColorScale.Hex(0));
        Assert.Equal("#21918c", ColorScale.Hex(0.5));
        Assert.Equal("#fde725", ColorScale.Hex(1));
        Assert.Equal(ColorScale.Hex(0), ColorScale.Hex(-3));
        Assert.Equal(ColorScale.Hex(1), ColorScale.Hex(7));
        Assert.Equal(ColorScale.Hex(0), ColorScale.Hex(double.NaN));
    }
}
