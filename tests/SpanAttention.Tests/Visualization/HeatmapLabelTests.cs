using System.Globalization;
using System.Xml.Linq;
using SpanAttention.Visualization;
using Xunit;

namespace SpanAttention.Tests.Visualization;

/// <summary>The source labels of the SVG heatmap: rotated for plain text, upright (and staggered) for labels with combining marks.</summary>
public class HeatmapLabelTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static XElement[] SourceLabels(string[] source, string[] target)
    {
        var weights = new float[source.Length * target.Length];
        Array.Fill(weights, 1f / source.Length);
        XDocument document = XDocument.Parse(AttentionHeatmap.ToSvgString(source, target, weights));
        return [.. document.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "source").Elements(Svg + "text")];
    }

    private static double X(XElement e) => double.Parse((string)e.Attribute("x")!, CultureInfo.InvariantCulture);

    private static double Y(XElement e) => double.Parse((string)e.Attribute("y")!, CultureInfo.InvariantCulture);

    [Fact]
    public void Devanagari_LabelsUprightCentredAndStaggered()
    {
        string[] source = ["मैं", "खाना", "खा", "रहा", "हूँ", "<eos>"];
        XElement[] labels = SourceLabels(source, ["i", "am", "eating", "food"]);

        Assert.Equal(source, labels.Select(l => l.Value));
        Assert.All(labels, l => Assert.Null(l.Attribute("transform"))); // no rotation: marks stay on their base
        Assert.All(labels, l => Assert.Equal("middle", (string?)l.Attribute("text-anchor")));
        // Labels wider than a cell alternate between two rows; labels in one row are two cells apart.
        Assert.NotEqual(Y(labels[0]), Y(labels[1]));
        Assert.Equal(Y(labels[0]), Y(labels[2]));
        Assert.Equal(64, X(labels[2]) - X(labels[0]), 3);
        Assert.All(labels, l => Assert.True(Y(l) > 0));
    }

    [Fact]
    public void Devanagari_LowestRowLeavesRoomForBelowBaseSigns()
    {
        // The ू of हूँ hangs about a third of the font size below the baseline; it must not touch the grid.
        string[] source = ["मैं", "खाना", "खा", "रहा", "हूँ", "<eos>"];
        var weights = new float[source.Length * 2];
        Array.Fill(weights, 1f / source.Length);
        XDocument document = XDocument.Parse(AttentionHeatmap.ToSvgString(source, ["i", "am"], weights));
        double gridTop = document.Descendants(Svg + "rect").Where(r => r.Attribute("data-weight") is not null)
            .Min(r => double.Parse((string)r.Attribute("y")!, CultureInfo.InvariantCulture));
        XElement[] labels = [.. document.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "source").Elements(Svg + "text")];

        Assert.True(gridTop - labels.Max(Y) >= 10, $"lowest label baseline {labels.Max(Y)}, grid top {gridTop}");
    }

    [Fact]
    public void LatinLabels_StillRotated()
    {
        XElement[] labels = SourceLabels(["the", "cat", "<eos>"], ["a", "b"]);

        Assert.All(labels, l => Assert.StartsWith("rotate(-45 ", (string?)l.Attribute("transform"), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("हूँ", true)]   // vowel sign uu and candrabindu: non-spacing marks
    [InlineData("मैं", true)]
    [InlineData("का", true)]   // aa matra: a spacing combining mark
    [InlineData("abc", false)]
    [InlineData("<eos>", false)]
    public void HasCombiningMarks_DevanagariSignsAreMarks(string label, bool expected)
    {
        Assert.Equal(expected, AttentionHeatmap.HasCombiningMarks([label]));
    }
}
