using SpanAttention.Data.Captioning;
using SpanAttention.Seq2Seq;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary><c>train --features FILE</c> and <c>eval --features FILE</c>: captioning from precomputed feature grids, and the refusals.</summary>
public sealed class TrainFeaturesCliTests : IDisposable
{
    private static readonly string[] Places = ["top-left", "top-middle", "top-right", "bottom-left", "bottom-middle", "bottom-right"];
    private static readonly string[] Colours = ["red", "green", "blue", "grey"];

    private readonly string _folder = Directory.CreateTempSubdirectory("train-features-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>
    /// <paramref name="count"/> 2 x 3 grids of D = <paramref name="featureSize"/> features: per cell four colour features
    /// (small noise, and 2 on the colour of the one bright cell) and a one-hot of the cell's place (features 4..9, as a
    /// CNN's receptive field tells where it looks); the caption names the bright cell's colour and place ("red top-left"),
    /// which only attention to that cell can read.
    /// </summary>
    private string FeaturesFile(int count, int featureSize = 10, string name = "features.safetensors")
    {
        var random = new Random(5);
        const int positions = 6;
        var features = new float[count * positions * featureSize];
        var captions = new string[count][];
        for (int n = 0; n < count; n++)
        {
            int cell = random.Next(positions), colour = random.Next(Colours.Length);
            for (int p = 0; p < positions; p++)
            {
                Span<float> at = features.AsSpan(((n * positions) + p) * featureSize, featureSize);
                for (int d = 0; d < Colours.Length; d++)
                {
                    at[d] = (float)(0.1 * random.NextDouble()) + (p == cell && d == colour ? 2f : 0f);
                }
                at[Colours.Length + p] = 1f;
            }
            captions[n] = [Colours[colour], Places[cell]];
        }
        string path = Path.Combine(_folder, name);
        FeatureGridFile.Write(path, new FeatureGrids(2, 3, featureSize, features, captions));
        return path;
    }

    private static string[] Small(string features, string model) =>
        ["train", "--features", features, "--embedding-size", "16", "--hidden-size", "32", "--epochs", "25", "--batch-size", "8", "--lr", "0.01", "--lr-decay", "1",
         "--patience", "0", "--threads", "1", "--output", model];

    [Fact]
    public void Train_FeaturesFile_LearnsTheGridsAndEvalScoresThem()
    {
        string features = FeaturesFile(240);
        string model = Path.Combine(_folder, "m.safetensors");

        (int code, string output, string error) = CliRunner.Run(Small(features, model));

        Assert.True(code == 0, error);
        Assert.Contains("training on features.safetensors (seed 1): 2 x 3 feature grids of 10 features (L = 6 positions)", error, StringComparison.Ordinal);
        Assert.Contains("(24 images)", output, StringComparison.Ordinal);         // 240 grids: 192 / 24 / 24
        string trainLog = error + output;
        using (CaptionModel loaded = CaptionModel.Load(model))
        {
            Assert.Equal(EncoderKind.Features, loaded.Config.Encoder);
            Assert.Equal(10, loaded.Config.FeatureSize);
            Assert.Null(loaded.Preprocessing);
        }
        (code, string table, error) = CliRunner.Run("eval", model, "--features", features);
        Assert.True(code == 0, error);
        string row = table.Split('\n').Single(l => l.StartsWith("m.safetensors", StringComparison.Ordinal));
        string[] cells = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("240", cells[2]);
        double exact = double.Parse(cells[3].TrimEnd('%'), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(exact >= 90, $"exact match {exact} % on 24 colour x place captions (chance 4 %): {row}\n{trainLog}");
    }

    [Theory]
    [InlineData("--task shapes", "give one of --task, --data, --images or --features")]
    [InlineData("--grid 2x3", "--conv-channels and --grid do not apply to --features")]
    [InlineData("--bidirectional", "do not apply to --features")]
    public void Train_FeaturesBadOption_OneUsageLineNothingWritten(string extra, string fragment)
    {
        string features = FeaturesFile(10);
        string model = Path.Combine(_folder, "m.safetensors");

        (int code, string output, string error) = CliRunner.Run([.. Small(features, model), .. extra.Split(' ')]);

        Assert.Equal(2, code);
        CliRunner.AssertOneErrorLine(error, fragment);
        Assert.Equal("", output);
        Assert.False(File.Exists(model));
    }

    [Fact]
    public void Train_FeaturesFileMissingBrokenOrTooSmall_OneErrorLineNamingTheFile()
    {
        string model = Path.Combine(_folder, "m.safetensors");
        string missing = Path.Combine(_folder, "missing.safetensors");
        (int code, _, string error) = CliRunner.Run(Small(missing, model));
        Assert.NotEqual(0, code);
        CliRunner.AssertOneErrorLine(error, "missing.safetensors");

        string broken = Path.Combine(_folder, "broken.safetensors");
        File.WriteAllText(broken, "not a safetensors file");
        (code, _, error) = CliRunner.Run(Small(broken, model));
        Assert.Equal(1, code);
        CliRunner.AssertOneErrorLine(error, $"features file '{broken}': not a valid safetensors file");

        string two = FeaturesFile(2, name: "two.safetensors");
        (code, _, error) = CliRunner.Run(Small(two, model));
        Assert.Equal(1, code);
        CliRunner.AssertOneErrorLine(error, "2 feature grid(s); training needs at least 3");
        Assert.False(File.Exists(model));
    }

    [Fact]
    public void Train_OutputIsTheFeaturesFile_RefusedAndTheFileKept()
    {
        string features = FeaturesFile(10);
        byte[] before = File.ReadAllBytes(features);

        (int code, string output, string error) = CliRunner.Run(Small(features, features));

        Assert.Equal(2, code);
        CliRunner.AssertOneErrorLine(error, "features file");
        Assert.Equal("", output);
        Assert.Equal(before, File.ReadAllBytes(features));
    }

    [Fact]
    public void Eval_FeaturesOfAnotherWidth_OneErrorLineNamingBothWidths()
    {
        string features = FeaturesFile(30);
        string model = Path.Combine(_folder, "m.safetensors");
        (int code, _, string error) = CliRunner.Run([.. Small(features, model).Select(a => a == "25" ? "1" : a)]);
        Assert.True(code == 0, error);

        string wider = FeaturesFile(5, featureSize: 12, name: "wider.safetensors");
        (code, string output, error) = CliRunner.Run("eval", model, "--features", wider);

        Assert.Equal(1, code);
        CliRunner.AssertOneErrorLine(error, $"model '{model}' reads grids of 10 features per cell; '{wider}' has 12.");
        Assert.Equal("", output);
    }
}
