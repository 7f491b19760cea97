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

        string fromEnd = lines.Single(l => l.StartsWith("steps to end k", StringComparison.Ordinal));
        int firstK = Array.IndexOf(lines, fromEnd) + 2;
        Assert.Equal(["0", "1", "2", "3", "4", "5"], lines.Skip(firstK).Take(6).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]));
        Assert.Contains("trained weights", output, StringComparison.Ordinal);

        XDocument svg = XDocument.Load(plot);
        XElement[] series = [.. svg.Descendants(Ns + "polyline").Where(p => (string?)p.Attribute("class") == "series")];
        // Two panels, by position j and by steps to the end k, each with one line per model.
        Assert.Equal(["attn.safetensors", "none.safetensors", "attn.safetensors", "none.safetensors"], series.Select(l => (string)l.Attribute("data-label")!));
        Assert.All(series, l => Assert.Equal(6, ((string)l.Attribute("points")!).Split(' ', StringSplitOptions.RemoveEmptyEntries).Length));
        Assert.Equal([plot], Directory.GetFiles(folder.Path));                         // no temporary file left behind
    }

    [Fact]
    public void Eval_GradientFlowAtInitialisation_MeasuresFreshWeightsOfTheSeed()
    {
        using var folder = new TempFolder();
        string plot = folder.File("flow.svg");

        (int code, string trained, string error) = CliRunner.Run("eval", _models.Attention, "--gradient-flow", plot);
        Assert.True(code == 0, error);
        (code, string fresh, error) = CliRunner.Run("eval", _models.Attention, "--gradient-flow", plot, "--at-initialisation");
        Assert.True(code == 0, error);
        (code, string otherSeed, error) = CliRunner.Run("eval", _models.Attention, "--gradient-flow", plot, "--at-initialisation", "--seed", "2");
        Assert.True(code == 0, error);

        Assert.Contains("freshly initialised weights (seed 1)", fresh, StringComparison.Ordinal);
        Assert.Contains("freshly initialised weights (seed 2)", otherSeed, StringComparison.Ordinal);
        static string Norms(string output) => string.Join('\n', CliRunner.Lines(output).SkipWhile(l => !l.StartsWith("position j", StringComparison.Ordinal)).Take(5));
        Assert.NotEqual(Norms(trained), Norms(fresh));
    }

    [Fact]
    public void Eval_AtInitialisationWithoutGradientFlow_OneUsageErrorLine()
    {
        (int code, string output, string error) = CliRunner.Run("eval", _models.Attention, "--at-initialisation");

        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, "--at-initialisation applies to --gradient-flow only");
        Assert.Equal("", output);
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
