using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary><c>--weights fp32|bf16|int8</c> on translate and eval.</summary>
public class WeightsOptionCliTests : IClassFixture<TinyModels>
{
    private readonly TinyModels _models;

    public WeightsOptionCliTests(TinyModels models) => _models = models;

    [Fact]
    public void Translate_EachWeightFormat_TranslatesEveryLine()
    {
        foreach (string format in new[] { "fp32", "bf16", "int8" })
        {
            (int code, string output, string error) = CliRunner.Run("translate", _models.Attention, "a b c", "d e f", "--weights", format);
            Assert.True(code == 0, $"{format}: {error}");
            Assert.Equal(2, output.Count(c => c == '\n'));
        }
        (_, string fp32, _) = CliRunner.Run("translate", _models.Attention, "a b c", "d e f");
        (_, string explicitFp32, _) = CliRunner.Run("translate", _models.Attention, "a b c", "d e f", "--weights", "fp32");
        Assert.Equal(fp32, explicitFp32);
    }

    [Fact]
    public void Eval_Int8Weights_ScoresTheTestSplit()
    {
        (int code, string output, string error) = CliRunner.Run("eval", _models.Attention, "--weights", "int8", "--limit", "20");
        Assert.True(code == 0, error);
        Assert.Contains("exact", output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Translate_UnknownWeightFormat_IsAUsageErrorListingTheFormats()
    {
        (int code, _, string error) = CliRunner.Run("translate", _models.Attention, "a b c", "--weights", "fp16");
        Assert.Equal(2, code);
        Assert.Contains("fp16", error, StringComparison.Ordinal);
        Assert.Contains("bf16", error, StringComparison.Ordinal);   // the accepted values are listed
    }
}
