using System.Text.RegularExpressions;
using SpanAttention.Cli;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;
using SpanAttention.Transformer;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary><c>train --encoder transformer</c>: a model that trains, saves and translates; the options it refuses.</summary>
public sealed class TransformerEncoderCliTests
{
    [Fact]
    public void Train_EncoderTransformer_HeaderSavedConfigAndTranslate()
    {
        using var folder = new TempFolder();
        string model = folder.File("t.safetensors");
        string[] args = [.. TinyModels.Train(model), "--encoder", "transformer", "--layers", "2", "--heads", "2", "--ff-size", "24", "--activation", "gelu", "--decoder", "luong"];
        (int code, string output, string error) = CliRunner.Run(args);

        Assert.True(code == 0, error);
        string header = CliRunner.Lines(error).Single(l => l.Contains("; model ", StringComparison.Ordinal));
        Assert.Contains("model Transformer x2 heads=2 F=24 gelu + Gru decoder E=16 H=32 Luong/Additive ", header, StringComparison.Ordinal);
        Assert.Contains("held-out exact match", output, StringComparison.Ordinal);
        Seq2SeqConfig config = Seq2SeqModelFile.Load(model).Model.Config;
        Assert.Equal(EncoderKind.Transformer, config.Encoder);
        Assert.Equal((2, 2, 24, FeedForwardActivation.Gelu), (config.EncoderLayers, config.Heads, config.FeedForwardSize, config.Activation));

        (int translated, string text, string translateError) = CliRunner.Run("translate", model, "a b c");
        Assert.True(translated == 0, translateError);
        Assert.Single(CliRunner.Lines(text));
    }

    [Theory]
    [InlineData("--heads 2", "--heads, --ff-size and --activation apply to --encoder transformer only.")]
    [InlineData("--ff-size 32", "--heads, --ff-size and --activation apply to --encoder transformer only.")]
    [InlineData("--encoder transformer --bidirectional", "--bidirectional applies to --encoder recurrent only")]
    [InlineData("--encoder transformer --heads 3", "--embedding-size 16 is not divisible by --heads 3")]
    [InlineData("--encoder transformer --heads 0", "--heads must be between 1 and 256, got 0.")]
    [InlineData("--encoder transformer --ff-size -1", "--ff-size must be between 1 and 16384, got -1.")]
    public void Train_BadTransformerCombination_OneClearUsageError(string extra, string message)
    {
        using var folder = new TempFolder();
        string model = folder.File("t.safetensors");
        (int code, string output, string error) = CliRunner.Run([.. TinyModels.Train(model), .. extra.Split(' ')]);

        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, message);
        Assert.DoesNotContain("training on", error, StringComparison.Ordinal);               // refused before any data is built
        Assert.Equal("", output);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void Train_TransformerDotWithEqualWidths_Trains()
    {
        using var folder = new TempFolder();
        string model = folder.File("t.safetensors");
        string[] args = TinyModels.With([.. TinyModels.Train(model), "--encoder", "transformer", "--scorer", "dot"], "--hidden-size", "16");
        (int code, _, string error) = CliRunner.Run(TinyModels.With(args, "--count", "200"));

        Assert.True(code == 0, error);
        Assert.True(File.Exists(model));
    }

    [Fact]
    public void TrainHelp_ListsTheTransformerOptions()
    {
        (int code, string help, _) = CliRunner.Run("train", "--help");

        Assert.Equal(0, code);
        string flat = Regex.Replace(help, @"\s+", " ");
        Assert.Contains("--encoder", flat, StringComparison.Ordinal);
        Assert.Contains("Encoder: recurrent (--cell, --layers, --bidirectional) or transformer", flat, StringComparison.Ordinal);
        Assert.Contains("--heads", flat, StringComparison.Ordinal);
        Assert.Contains("--ff-size", flat, StringComparison.Ordinal);
        Assert.Contains("--activation", flat, StringComparison.Ordinal);
    }
}
