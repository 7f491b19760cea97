using SpanAttention.Cli;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary><c>train --context-gate</c> and <c>--attention-reg</c>: saved in the model, shown in the header; the combinations refused.</summary>
public sealed class AttentionOptionsCliTests
{
    [Fact]
    public void Train_GateAndPenalty_SavedInTheModelAndNamedInTheHeader()
    {
        using var folder = new TempFolder();
        string model = folder.File("g.safetensors");
        (int code, string output, string error) = CliRunner.Run([.. TinyModels.Train(model), "--context-gate", "--attention-reg", "0.5"]);

        Assert.True(code == 0, error);
        string header = CliRunner.Lines(error).Single(l => l.Contains("; model ", StringComparison.Ordinal));
        Assert.Contains(" gate attention-reg=0.5", header, StringComparison.Ordinal);
        Assert.Contains("held-out exact match", output, StringComparison.Ordinal);
        Seq2SeqConfig config = Seq2SeqModelFile.Load(model).Model.Config;
        Assert.True(config.ContextGate);
        Assert.Equal(0.5f, config.AttentionRegularization);
        (int translated, string text, string translateError) = CliRunner.Run("translate", model, "a b c");
        Assert.True(translated == 0, translateError);
        Assert.Single(CliRunner.Lines(text));
    }

    [Theory]
    [InlineData("--context-gate --decoder luong", "--context-gate applies to --decoder bahdanau only")]
    [InlineData("--context-gate --decoder none", "--context-gate applies to --decoder bahdanau only")]
    [InlineData("--attention-reg 1 --decoder none", "--attention-reg needs an attention decoder")]
    [InlineData("--attention-reg -1", "--attention-reg must be between 0 and 1000000, got -1.")]
    public void Train_BadCombination_OneClearUsageError(string extra, string message)
    {
        using var folder = new TempFolder();
        string model = folder.File("g.safetensors");
        (int code, string output, string error) = CliRunner.Run([.. TinyModels.Train(model), .. extra.Split(' ')]);

        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, message);
        Assert.DoesNotContain("training on", error, StringComparison.Ordinal);               // refused before any data is built
        Assert.Equal("", output);
        Assert.Empty(Directory.GetFiles(folder.Path));
    }
}
