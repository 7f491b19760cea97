using SpanAttention.Inference;
using SpanAttention.Tests.Cli;
using SpanAttention.Tests.IO;
using Xunit;

namespace SpanAttention.Tests.Api;

/// <summary>The documented maximum source length: longer inputs are one typed error naming the input and the limit.</summary>
public sealed class InputLimitTests
{
    /// <summary>A line of <paramref name="tokens"/> known hi-en words.</summary>
    private static string Line(int tokens) => string.Join(' ', Enumerable.Repeat("खाना", tokens));

    [Fact]
    public void Decode_InputOverTheLimit_InputTooLongNamingInputAndLimit()
    {
        using var model = TranslationModel.Load(ModelFileCompatibilityTests.FixturePath);

        var e = Assert.Throws<InputTooLongException>(() => model.Decode(["मैं खाना खा रहा हूँ", Line(DecodeLimits.DefaultMaxSourceLength + 1)]));

        Assert.Equal(1, e.Index);
        Assert.Equal(DecodeLimits.DefaultMaxSourceLength + 1, e.Length);
        Assert.Equal(DecodeLimits.DefaultMaxSourceLength, e.Limit);
        Assert.Contains("Input 2 has 1025 tokens, more than the limit of 1024", e.Message, StringComparison.Ordinal);
        Assert.Throws<InputTooLongException>(() => model.NBest(Line(11), 2, new DecodingOptions { BeamWidth = 2, MaxSourceLength = 10 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Decode("मैं", new DecodingOptions { MaxSourceLength = 0 }));
    }

    [Fact]
    public void Decode_InputAtTheLimit_Translates()
    {
        using var model = TranslationModel.Load(ModelFileCompatibilityTests.FixturePath);

        Translation t = model.Decode(Line(10), new DecodingOptions { MaxSourceLength = 10 });

        Assert.Equal(10, t.SourceTokens.Count);
    }

    [Fact]
    public void MaxOutputLength_IsTwiceTheSourcePlusTen()
    {
        Assert.Equal(10, DecodeLimits.MaxOutputLength(0));
        Assert.Equal(2 * 1025 + 10, DecodeLimits.MaxOutputLength(1025));
        Assert.Equal(int.MaxValue, DecodeLimits.MaxOutputLength(int.MaxValue));
    }

    [Fact]
    public void TranslateCommand_LineOverTheLimit_OneErrorLineNamingLineAndLimit()
    {
        string stdin = $"मैं खाना खा रहा हूँ\n{Line(30)}\n";
        (int code, string stdout, string stderr) = CliRunner.RunWithStdin(stdin, "translate", ModelFileCompatibilityTests.FixturePath, "--max-source-length", "20");

        Assert.Equal(SpanAttention.Cli.ExitCodes.Failure, code);
        Assert.Equal("", stdout);
        string line = Assert.Single(CliRunner.Lines(stderr));
        Assert.Equal("spanattn: error: input 2 has 30 tokens, more than the limit of 20: split it, or raise the limit with --max-source-length.", line);

        (int ok, string output, _) = CliRunner.Run("translate", ModelFileCompatibilityTests.FixturePath, "--max-source-length", "30", Line(30));
        Assert.Equal(SpanAttention.Cli.ExitCodes.Success, ok);
        Assert.Single(CliRunner.Lines(output));
    }
}
