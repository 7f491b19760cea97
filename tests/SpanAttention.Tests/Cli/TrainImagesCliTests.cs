using SpanAttention.Data;
using SpanAttention.Visualization;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary><c>train --images FILE.tsv</c>: a captioning model trained on the user's own PNG files, and its refusals.</summary>
public sealed class TrainImagesCliTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("train-images-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Writes <paramref name="count"/> built-in shapes scenes as PNG files under pictures/ and a TSV of relative paths.</summary>
    private string ShapesTsv(int count)
    {
        CaptionDataset shapes = CaptionDataset.BuiltIn(CaptionDataset.ShapesName, seed: 3, count: 0);
        Directory.CreateDirectory(Path.Combine(_folder, "pictures"));
        var lines = new List<string>();
        int h = shapes.Height, w = shapes.Width;
        for (int i = 0; i < count; i++)
        {
            ImageCaption scene = shapes.Train[i];
            var bytes = new byte[h * w * 3];
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    for (int c = 0; c < 3; c++)
                    {
                        bytes[(((y * w) + x) * 3) + c] = (byte)Math.Round(255 * Math.Clamp(scene.Pixels[(((c * h) + y) * w) + x], 0f, 1f));
                    }
                }
            }
            File.WriteAllBytes(Path.Combine(_folder, "pictures", $"{i}.png"), PngEncoder.Encode(bytes, w, h, 3));
            lines.Add($"pictures/{i}.png\t{scene.Caption}");
        }
        string tsv = Path.Combine(_folder, "captions.tsv");
        File.WriteAllLines(tsv, lines);
        return tsv;
    }

    private static string[] Small(string tsv, string model) =>
        ["train", "--images", tsv, "--image-size", "3x24x24", "--conv-channels", "4,8", "--grid", "3x3", "--embedding-size", "8", "--hidden-size", "16",
         "--epochs", "2", "--batch-size", "8", "--threads", "1", "--output", model];

    [Fact]
    public void Train_ImagesTsv_SavesACaptioningModelThatCaptionAndEvalRead()
    {
        string tsv = ShapesTsv(40);
        string model = Path.Combine(_folder, "m.safetensors");

        (int code, string output, string error) = CliRunner.Run(Small(tsv, model));

        Assert.True(code == 0, error);
        Assert.Contains("training on captions.tsv", error, StringComparison.Ordinal);
        Assert.Contains("(4 images)", output, StringComparison.Ordinal);           // 40 lines: 32 / 4 / 4
        Assert.True(File.Exists(model));
        using (CaptionModel loaded = CaptionModel.Load(model))
        {
            Assert.Equal((3, 24, 24), (loaded.Preprocessing!.Channels, loaded.Preprocessing.Height, loaded.Preprocessing.Width));
        }
        (code, string caption, error) = CliRunner.Run("caption", model, Path.Combine(_folder, "pictures", "0.png"));
        Assert.True(code == 0, error);
        Assert.NotEmpty(caption.Trim());
        (code, string table, error) = CliRunner.Run("eval", model, "--images", tsv);
        Assert.True(code == 0, error);
        Assert.Contains("40", table, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_ImagesSplit_DependsOnTheSeedOnly()
    {
        string tsv = ShapesTsv(30);
        string a = Path.Combine(_folder, "a.safetensors"), b = Path.Combine(_folder, "b.safetensors");

        (int codeA, _, string errorA) = CliRunner.Run(Small(tsv, a));
        (int codeB, _, string errorB) = CliRunner.Run(Small(tsv, b));

        Assert.True(codeA == 0 && codeB == 0, errorA + errorB);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
    }

    [Theory]
    [InlineData("--task shapes", "give one of --task, --data, --images or --features")]
    [InlineData("--image-size 3x24", "--image-size must be CHANNELSxROWSxCOLUMNS")]
    [InlineData("--image-size 2x24x24", "--image-size must be CHANNELSxROWSxCOLUMNS")]
    [InlineData("--lr 0", "--lr")]
    public void Train_ImagesBadOption_OneUsageLineNothingWritten(string extra, string fragment)
    {
        string tsv = ShapesTsv(5);
        string model = Path.Combine(_folder, "m.safetensors");

        (int code, string output, string error) = CliRunner.Run([.. Small(tsv, model).Where(a => a != "--image-size" && a != "3x24x24"), .. extra.Split(' ')]);

        Assert.Equal(2, code);
        CliRunner.AssertOneErrorLine(error, fragment);
        Assert.Equal("", output);
        Assert.False(File.Exists(model));
    }

    [Fact]
    public void Train_OutputIsTheImageTsv_RefusedAndTheFileKept()
    {
        string tsv = ShapesTsv(5);
        byte[] before = File.ReadAllBytes(tsv);

        (int code, string output, string error) = CliRunner.Run(Small(tsv, tsv));

        Assert.Equal(2, code);
        CliRunner.AssertOneErrorLine(error, "image TSV");
        Assert.Equal("", output);
        Assert.Equal(before, File.ReadAllBytes(tsv));
    }

    [Fact]
    public void Train_ImageSizeWithoutImages_OneUsageLine()
    {
        (int code, _, string error) = CliRunner.Run("train", "--task", "dates", "--image-size", "3x24x24");

        Assert.Equal(2, code);
        CliRunner.AssertOneErrorLine(error, "--image-size applies to --images only");
    }

    [Fact]
    public void Train_ImagesTsvWithTwoImagesOrABadLine_OneErrorLineNamingTheFile()
    {
        string tsv = ShapesTsv(2);
        string model = Path.Combine(_folder, "m.safetensors");
        (int code, _, string error) = CliRunner.Run(Small(tsv, model));
        Assert.Equal(1, code);
        CliRunner.AssertOneErrorLine(error, "2 captioned image(s); training needs at least 3");

        File.AppendAllLines(tsv, ["pictures/missing.png\ta red circle"]);
        (code, _, error) = CliRunner.Run(Small(tsv, model));
        Assert.NotEqual(0, code);
        CliRunner.AssertOneErrorLine(error, "missing.png");
        Assert.False(File.Exists(model));
    }
}
