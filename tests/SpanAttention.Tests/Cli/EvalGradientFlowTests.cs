using System.Xml.Linq;
using SpanAttention.Cli;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary><c>eval --gradient-flow</c>: a table on stdout and an SVG with one line per model, written atomically, bad paths refused in one line.</summary>
public class EvalGradientFlowTests : IClassFixture<TinyModels>
{
    private static readonly XNamespace Ns = "http://www.w3.org/2000/svg";
    private readonly TinyModels _models;

    public EvalGradientFlowTests(TinyModels models) => _models = models;

    [Fact]
    public void Eval_GradientFlow_OneLinePerModelAndATableRowPerPosition()
    {
        using var folder = new TempFolder();
        string plot = folder.File("flow.svg");

        (int code, string output, string error) = CliRunner.Run("eval", _models.Attention, _models.None, "--gradient-flow", plot);

        Assert.True(code == 0, error);
        Assert.Contains($"gradient-flow plot: {plot}", output, StringComparison.Ordinal);
        string[] lines = CliRunner.Lines(output);
        string header = lines.Single(l => l.StartsWith("position j", StringComparison.Ordinal));
        Assert.Contains("attn.safetensors ‖dL/dx_j‖", header, StringComparison.Ordinal);
        Assert.Contains("none.safetensors ‖dL/dx_j‖", header, StringComparison.Ordinal);
        int first = Array.IndexOf(lines, header) + 2;                                   // under the dashed rule
        Assert.Equal(["1", "2", "3", "4", "5", "6"], lines.Skip(first).Take(6).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]));  // sources of 3-6 tokens

        XDocument svg = XDocument.Load(plot);
        XElement[] series = [.. svg.Descendants(Ns + "polyline").Where(p => (string?)p.Attribute("class") == "series")];
        Assert.Equal(["attn.safetensors", "none.safetensors"], series.Select(l => (string)l.Attribute("data-label")!));
        Assert.All(series, l => Assert.Equal(6, ((string)l.Attribute("points")!).Split(' ', StringSplitOptions.RemoveEmptyEntries).Length));
        Assert.Equal([plot], Directory.GetFiles(folder.Path));                         // no temporary file left behind
    }

    [Fact]
    public void Eval_GradientFlowOverAModel_OneUsageErrorLineAndTheModelKept()
    {
        byte[] before = File.ReadAllBytes(_models.Attention);

        (int code, string output, string error) = CliRunner.Run("eval", _models.Attention, "--gradient-flow", _models.Attention);

        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, "is the same file as the model file");
        Assert.Equal("", output);
        Assert.Equal(before, File.ReadAllBytes(_models.Attention));
    }

    [Fact]
    public void Eval_GradientFlowSameAsPlotOrInAMissingFolder_OneErrorLine()
    {
        using var folder = new TempFolder();
        string plot = folder.File("p.svg");
        (int code, string output, string error) = CliRunner.Run("eval", _models.Attention, "--plot", plot, "--gradient-flow", plot);
        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, "is the same file as the plot file");
        Assert.Equal("", output);

        string missing = Path.Combine(_models.Folder, "no-such-folder", "g.svg");
        (code, output, error) = CliRunner.Run("eval", _models.Attention, "--gradient-flow", missing);
        Assert.NotEqual(0, code);
        CliRunner.AssertOneErrorLine(error, "does not exist");
        Assert.Equal("", output);
    }
}
