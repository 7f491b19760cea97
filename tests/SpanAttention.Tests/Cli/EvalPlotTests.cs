using System.Xml.Linq;
using SpanAttention.Cli;
using SpanAttention.Cli.Rendering;
using SpanAttention.Evaluation;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary><c>eval --plot</c>: exact match and BLEU-4 against source length, one line per model, written atomically, bad paths refused in one line.</summary>
public class EvalPlotTests : IClassFixture<TinyModels>
{
    private static readonly XNamespace Ns = "http://www.w3.org/2000/svg";
    private readonly TinyModels _models;

    public EvalPlotTests(TinyModels models) => _models = models;

    private static XElement[] Panels(XDocument svg) => [.. svg.Descendants(Ns + "g").Where(g => (string?)g.Attribute("class") == "panel")];

    private static XElement[] Lines(XElement panel) => [.. panel.Descendants(Ns + "polyline").Where(p => (string?)p.Attribute("class") == "series")];

    private static string[][] Points(XElement line) =>
        [.. ((string)line.Attribute("points")!).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split(','))];

    /// <summary>A report over sources of the given lengths where the sentences whose length is in <paramref name="wrong"/> are mistranslated.</summary>
    private static EvaluationReport Report(int[] lengths, Func<int, bool> wrong, IReadOnlyList<LengthBucket> buckets)
    {
        var references = new List<IReadOnlyList<string>>();
        var outputs = new List<IReadOnlyList<string>>();
        foreach (int n in lengths)
        {
            string[] reference = [.. Enumerable.Range(0, n).Select(i => "w" + i)];
            references.Add(reference);
            outputs.Add(wrong(n) ? ["x"] : reference);
        }
        return EvaluationReport.Compute(lengths, outputs, references, buckets);
    }

    [Fact]
    public void LengthPlot_TwoModels_OnePolylinePerModelInEachPanelWithAPointPerBucket()
    {
        IReadOnlyList<LengthBucket> buckets = LengthBucket.FromUpperBounds([10, 20, 30]);
        EvaluationReport attention = Report([5, 8, 12, 19, 25, 33], n => n > 30, buckets);   // 4 buckets hold sentences
        EvaluationReport none = Report([5, 8, 12, 19], n => n > 10, buckets);              // 2 buckets

        XDocument svg = XDocument.Parse(EvaluationView.LengthPlot([("attention <a>", attention), ("none", none)], "hi-en & co"));

        XElement[] panels = Panels(svg);
        Assert.Equal(2, panels.Length);
        foreach (XElement panel in panels)
        {
            XElement[] lines = Lines(panel);
            Assert.Equal(["attention <a>", "none"], lines.Select(l => (string)l.Attribute("data-label")!));
            Assert.Equal(4, Points(lines[0]).Length);
            Assert.Equal(2, Points(lines[1]).Length);
        }
        // Exact match of none: 100 % at lengths 5-8, 0 % at 12-19: the second point lies lower (a larger y) than the first.
        string[][] noneExact = Points(Lines(panels[0])[1]);
        Assert.True(double.Parse(noneExact[1][1], System.Globalization.CultureInfo.InvariantCulture) > double.Parse(noneExact[0][1], System.Globalization.CultureInfo.InvariantCulture));
        // The x of a point is the middle of the lengths its bucket holds: 5-8 -> 6.5 sits left of 12-19 -> 15.5, and both models share it.
        Assert.Equal(noneExact[0][0], Points(Lines(panels[0])[0])[0][0]);
        string[] texts = [.. svg.Descendants(Ns + "text").Select(t => t.Value)];
        Assert.Contains("exact match (%)", texts);
        Assert.Contains("BLEU-4", texts);
        Assert.Contains("source length (tokens; a point per length bucket)", texts);
        Assert.Contains("hi-en & co", texts);
        Assert.Contains("100", texts);
    }

    [Fact]
    public void Eval_Plot_WritesOneLinePerModelGiven()
    {
        using var folder = new TempFolder();
        string plot = folder.File("by-length.svg");

        (int code, string output, string error) = CliRunner.Run("eval", _models.Attention, _models.None, "--bucket-width", "1", "--plot", plot);

        Assert.True(code == 0, error);
        Assert.Contains($"plot: {plot}", output, StringComparison.Ordinal);
        XDocument svg = XDocument.Load(plot);
        XElement[] panels = Panels(svg);
        Assert.Equal(2, panels.Length);
        foreach (XElement panel in panels)
        {
            XElement[] lines = Lines(panel);
            Assert.Equal(["attn.safetensors", "none.safetensors"], lines.Select(l => (string)l.Attribute("data-label")!));
            Assert.All(lines, l => Assert.Equal(4, Points(l).Length)); // sources of 3, 4, 5 and 6 tokens, one bucket each
        }
        Assert.Equal([plot], Directory.GetFiles(folder.Path)); // no temporary file left behind
    }

    [Fact]
    public void Eval_PlotOverAModel_OneUsageErrorLineAndTheModelKept()
    {
        byte[] before = File.ReadAllBytes(_models.Attention);

        (int code, string output, string error) = CliRunner.Run("eval", _models.Attention, "--plot", _models.Attention);

        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, "is the same file as the model file");
        Assert.Equal("", output);
        Assert.Equal(before, File.ReadAllBytes(_models.Attention));
    }

    [Fact]
    public void Eval_PlotInAMissingFolder_OneErrorLine()
    {
        string plot = Path.Combine(_models.Folder, "no-such-folder", "p.svg");

        (int code, string output, string error) = CliRunner.Run("eval", _models.Attention, "--plot", plot);

        Assert.NotEqual(0, code);
        CliRunner.AssertOneErrorLine(error, "does not exist");
        Assert.Equal("", output);
    }
}
