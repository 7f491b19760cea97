using System.Text.RegularExpressions;
using SpanAttention.Cli;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary>What <c>train</c> says about the attention it builds: the header of a model without attention, and the
/// scorers that cannot read a bidirectional encoder.</summary>
public class TrainHeaderAndScorerTests : IClassFixture<TinyModels>
{
    private readonly TinyModels _models;

    public TrainHeaderAndScorerTests(TinyModels models) => _models = models;

    [Fact]
    public void Train_DecoderNone_HeaderNamesNoScorer()
    {
        Assert.Equal(0, _models.NoneResult.Code);
        string header = CliRunner.Lines(_models.NoneResult.Error).Single(l => l.Contains("; model ", StringComparison.Ordinal));
        Assert.Contains(" None (no attention) ", header, StringComparison.Ordinal);
        Assert.DoesNotContain("Additive", header, StringComparison.Ordinal);
        Assert.DoesNotContain("None/", header, StringComparison.Ordinal);

        string attention = CliRunner.Lines(_models.TrainResult.Error).Single(l => l.Contains("; model ", StringComparison.Ordinal));
        Assert.Contains(" Bahdanau/Additive ", attention, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dot")]
    [InlineData("scaled-dot")]
    public void Train_DotScorerWithBidirectional_OneClearUsageError(string scorer)
    {
        using var folder = new TempFolder();
        string model = folder.File("m.safetensors");
        (int code, string output, string error) = CliRunner.Run([.. TinyModels.Train(model), "--bidirectional", "--scorer", scorer]);

        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, $"--scorer {scorer} does not work with --bidirectional");
        Assert.Contains("--scorer general or --scorer additive, or a unidirectional encoder", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Seq2SeqConfig", error, StringComparison.Ordinal);
        Assert.DoesNotContain("training on", error, StringComparison.Ordinal); // refused before any data is built
        Assert.Equal("", output);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Theory]
    [InlineData("general", "bahdanau")]
    [InlineData("dot", "none")]
    public void Train_BidirectionalWithOtherScorerOrNoAttention_Trains(string scorer, string decoder)
    {
        using var folder = new TempFolder();
        string model = folder.File("m.safetensors");
        string[] args = TinyModels.With(TinyModels.With([.. TinyModels.Train(model), "--bidirectional"], "--scorer", scorer), "--decoder", decoder);
        (int code, _, string error) = CliRunner.Run(TinyModels.With(args, "--count", "200"));

        Assert.True(code == 0, error);
        Assert.True(File.Exists(model));
    }

    [Fact]
    public void TrainHelp_Scorer_SaysWhichScorersFitABidirectionalEncoder()
    {
        (int code, string help, _) = CliRunner.Run("train", "--help");

        Assert.Equal(0, code);
        string flat = Regex.Replace(help, @"\s+", " ");
        Assert.Contains("dot and scaled-dot need keys as wide as the query (H), so they do not work with --bidirectional (2H-wide keys): use general or additive there.", flat, StringComparison.Ordinal);
    }
}
