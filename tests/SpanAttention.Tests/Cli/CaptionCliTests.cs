using SpanAttention.Cli;
using SpanAttention.Data;
using SpanAttention.Data.Captioning;
using SpanAttention.Tests.Support;
using SpanAttention.Visualization;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary><c>caption MODEL IMAGE...</c>: captions PNG files as the library does, and the inputs it refuses with one line.</summary>
public sealed class CaptionCliTests
{
    /// <summary>A seeded shapes model and <paramref name="count"/> held-out scenes written as PNG files (at 48 x 48, and one at 96 x 96).</summary>
    internal static (string Model, string[] Images, float[][] Pixels) Setup(TempFolder folder, int count = 2)
    {
        string model = folder.File("shapes.safetensors");
        CaptionModelFiles.Write(model);
        ImageExample[] scenes = CaptionDatasets.Shapes(7, count, CaptionSplit.HeldOut);
        var images = new string[count];
        for (int i = 0; i < count; i++)
        {
            images[i] = folder.File($"scene{i}.png");
            File.WriteAllBytes(images[i], PngEncoder.Encode(PngEncoder.ToBytes(scenes[i].Pixels, 3, 48, 48), 48, 48, 3));
        }
        return (model, images, [.. scenes.Select(s => s.Pixels)]);
    }

    [Fact]
    public void Caption_PngFiles_OneLinePerImageAsTheLibraryCaptions()
    {
        using var folder = new TempFolder();
        (string model, string[] images, float[][] pixels) = Setup(folder);
        (int code, string output, string error) = CliRunner.Run(["caption", model, .. images]);

        Assert.True(code == 0, error);
        using var library = CaptionModel.Load(model);
        // the PNG holds the pixels rounded to bytes: caption what the file holds
        string[] expected = [.. pixels.Select(p => library.Caption([.. p.Select(v => MathF.Round(v * 255f) / 255f)]))];
        Assert.Equal(expected, CliRunner.Lines(output));
        Assert.Equal("", error);
    }

    [Fact]
    public void Caption_BeamNBest_PrintsNumberScoreCaptionBestFirst()
    {
        using var folder = new TempFolder();
        (string model, string[] images, _) = Setup(folder, 1);
        (int code, string output, string error) = CliRunner.Run("caption", model, images[0], "--beam", "3", "--nbest", "2", "--max-length", "6");

        Assert.True(code == 0, error);
        string[] lines = CliRunner.Lines(output);
        Assert.InRange(lines.Length, 1, 2);
        Assert.All(lines, l => Assert.StartsWith("1\t", l, StringComparison.Ordinal));
        double[] scores = [.. lines.Select(l => double.Parse(l.Split('\t')[1], System.Globalization.CultureInfo.InvariantCulture))];
        Assert.Equal(scores.OrderDescending(), scores);
    }

    [Fact]
    public void Caption_CorruptWrongChannelOrMissingImage_OneLineNamingTheFileAndNothingPrinted()
    {
        using var folder = new TempFolder();
        (string model, string[] images, _) = Setup(folder, 1);
        string corrupt = folder.File("corrupt.png");
        File.WriteAllBytes(corrupt, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]);
        string grey = folder.File("grey.png");
        File.WriteAllBytes(grey, PngEncoder.Encode(new byte[16], 4, 4, 1));

        foreach ((string bad, string message) in new[]
        {
            (corrupt, $"image '{corrupt}': corrupt PNG"),
            (grey, $"image '{grey}': wrong channels: the image is grey; the model reads RGB (3 channels)."),
            (folder.File("none.png"), $"image '{folder.File("none.png")}': the file does not exist."),
        })
        {
            (int code, string output, string error) = CliRunner.Run("caption", model, images[0], bad);
            Assert.Equal(ExitCodes.Failure, code);
            CliRunner.AssertOneErrorLine(error, message);
            Assert.Equal("", output);
        }
    }

    [Theory]
    [InlineData("--nbest 2", "--nbest 2 needs beam search: add --beam K with K >= 2")]
    [InlineData("--beam 2 --nbest 3", "--nbest 3 is more than --beam 2")]
    [InlineData("--beam 0", "--beam must be")]
    public void Caption_BadOptions_UsageError(string options, string message)
    {
        using var folder = new TempFolder();
        (string model, string[] images, _) = Setup(folder, 1);
        (int code, string output, string error) = CliRunner.Run(["caption", model, images[0], .. options.Split(' ')]);
        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, message);
        Assert.Equal("", output);
    }

    [Fact]
    public void Caption_TextModel_OneLineSayingItIsNotACaptioningModel()
    {
        using var folder = new TempFolder();
        (_, string[] images, _) = Setup(folder, 1);
        string text = folder.File("text.safetensors");
        CaptionModelFiles.WriteTextModel(text);

        (int code, string output, string error) = CliRunner.Run("caption", text, images[0]);
        Assert.Equal(ExitCodes.Failure, code);
        CliRunner.AssertOneErrorLine(error, $"'{text}' is not a valid captioning model file: {text}: this is a text model (its recurrent encoder reads token ids)");
        Assert.Equal("", output);
    }

    [Fact]
    public void Translate_CaptioningModel_OneLineSayingToUseCaption()
    {
        using var folder = new TempFolder();
        (string model, _, _) = Setup(folder, 1);
        (int code, string output, string error) = CliRunner.Run("translate", model, "a b");
        Assert.Equal(ExitCodes.Failure, code);
        CliRunner.AssertOneErrorLine(error, $"'{model}' is a captioning model (it reads images, not text): use 'spanattn caption {model} IMAGE...', or attend, eval and info.");
        Assert.Equal("", output);
    }
}
