using System.Text.RegularExpressions;
using SpanAttention.Cli;
using SpanAttention.IO;
using SpanAttention.Parameters;
using SpanAttention.Seq2Seq;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary>What <c>train</c> says about the attention it builds: the header of a model without attention, and the
/// dot scorers over keys of another width than the query (a learned key projection).</summary>
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

    [Fact]
    public void Train_Header_PrintsTheLearningRateSchedule()
    {
        string schedule = CliRunner.Lines(_models.TrainResult.Error).Single(l => l.StartsWith("schedule: ", StringComparison.Ordinal));
        Assert.Equal("schedule: Adam, lr 0.01 x 0.8 per epoch (epoch 1 0.01, epoch 2 0.008), batch 32, clip 5, up to 1 epochs (patience 3)", schedule);

        var constant = new SpanAttention.Training.TrainingOptions { Config = new Seq2SeqConfig(), LearningRate = 1e-3f, LearningRateDecay = 1f, Epochs = 4 };
        Assert.Equal("schedule: Adam, lr 0.001 constant, batch 64, clip 5, up to 4 epochs", TrainingRun.DescribeSchedule(constant));
        Assert.Equal(0.8f, new SpanAttention.Training.TrainingOptions { Config = new Seq2SeqConfig() }.LearningRateDecay);   // the library default matches the CLI's
    }

    [Theory]
    [InlineData("dot", "--bidirectional")]
    [InlineData("scaled-dot", "--bidirectional")]
    [InlineData("scaled-dot", "--encoder transformer")]
    public void Train_DotScorerWithWiderOrNarrowerKeys_TrainsWithKeyProjection(string scorer, string encoder)
    {
        using var folder = new TempFolder();
        string model = folder.File("m.safetensors");
        string[] args = TinyModels.With([.. TinyModels.Train(model), .. encoder.Split(' ')], "--scorer", scorer);
        (int code, _, string error) = CliRunner.Run(TinyModels.With(args, "--count", "200"));

        Assert.True(code == 0, error);
        Seq2SeqModel loaded = Seq2SeqModelFile.Load(model).Model;
        ParameterSlot projection = loaded.Layout["decoder.attention.key_proj.weight"];
        Assert.Equal([32, loaded.Config.EncoderOutputSize], projection.Shape);       // [H, Denc]: 2H = 64 or E = 16 wide keys to H = 32
        (int translated, _, string translateError) = CliRunner.Run("translate", model, "a b c");   // loads and decodes (prepared weights)
        Assert.True(translated == 0, translateError);
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
    public void TrainHelp_Scorer_SaysEveryScorerFitsEveryEncoder()
    {
        (int code, string help, _) = CliRunner.Run("train", "--help");

        Assert.Equal(0, code);
        string flat = Regex.Replace(help, @"\s+", " ");
        Assert.Contains("each works with every encoder and decoder.", flat, StringComparison.Ordinal);
        Assert.Contains("dot and scaled-dot first map each key to H with a learned projection (decoder.attention.key_proj.weight", flat, StringComparison.Ordinal);
    }
}
