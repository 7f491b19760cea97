using SpanAttention.Cli;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary><c>train --task shapes|digits</c>: a captioning model that trains, reports and saves its image configuration; the options it refuses.</summary>
public sealed class CaptioningCliTests
{
    private static string[] Train(string model, string task) =>
        ["train", "--task", task, "--count", "120", "--epochs", "1", "--embedding-size", "8", "--hidden-size", "16", "--batch-size", "32",
         "--conv-channels", "4,8,8", "--threads", "1", "-o", model];

    [Theory]
    [InlineData("shapes", "compositional exact match", 3, 48, 48, 6, 6)]
    [InlineData("digits", "held-out (second draw) exact match", 1, 24, 112, 1, 14)]
    public void Train_CaptioningTask_SavesImageConfigAndReports(string task, string report, int channels, int height, int width, int gh, int gw)
    {
        using var folder = new TempFolder();
        string model = folder.File("c.safetensors");
        (int code, string output, string error) = CliRunner.Run(Train(model, task));

        Assert.True(code == 0, error);
        string header = CliRunner.Lines(error).Single(l => l.Contains("; model ", StringComparison.Ordinal));
        Assert.Contains($"model CNN conv 4-8-8 grid {gh}x{gw} + Gru decoder E=8 H=16 Bahdanau/Additive V=0->", header, StringComparison.Ordinal);
        Assert.Contains("held-out exact match", output, StringComparison.Ordinal);
        Assert.Contains(report, output, StringComparison.Ordinal);
        Seq2SeqConfig config = Seq2SeqModelFile.Load(model).Model.Config;
        Assert.Equal(EncoderKind.Image, config.Encoder);
        Assert.Equal((channels, height, width, gh, gw), (config.ImageChannels, config.ImageHeight, config.ImageWidth, config.GridHeight, config.GridWidth));
        Assert.Equal([4, 8, 8], config.ConvChannels);
        Assert.Equal(Enumerable.Repeat(0.5f, channels), config.PixelMean);
        Assert.Equal(Enumerable.Repeat(0.5f, channels), config.PixelStd);
    }

    [Theory]
    [InlineData("--task hi-en --grid 3x3", "--conv-channels and --grid apply to the captioning tasks (--task shapes or digits) only, and to --images.")]
    [InlineData("--task shapes --encoder transformer", "--encoder, --layers and --bidirectional do not apply to --task shapes: its encoder is a CNN (--conv-channels, --grid).")]
    [InlineData("--task shapes --grid 7", "--grid must be ROWSxCOLUMNS with each in 1..64 (e.g. 6x6), got '7'.")]
    [InlineData("--task shapes --conv-channels 8,x", "--conv-channels must be a comma-separated list of 1 to 8 channel counts in 1..1024 (e.g. 16,32,64), got '8,x'.")]
    [InlineData("--task digits --grid 4x14", "GridHeight x GridWidth must be within the last feature map (3 x 14) and at most 64 a side, got 4 x 14.")]
    public void Train_BadCaptioningOption_OneClearUsageError(string extra, string message)
    {
        using var folder = new TempFolder();
        string model = folder.File("c.safetensors");
        (int code, string output, string error) = CliRunner.Run(["train", .. extra.Split(' '), "--epochs", "1", "-o", model]);

        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, message);
        Assert.Equal("", output);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }
}
