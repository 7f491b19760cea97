using SpanAttention.Cli;
using SpanAttention.Cli.Commands;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary><c>eval --buckets</c> and <c>--bucket-width</c>: the buckets asked for, labelled with the lengths they hold, and one error line for a bad value.</summary>
public class EvalBucketTests : IClassFixture<TinyModels>
{
    private readonly TinyModels _models;

    public EvalBucketTests(TinyModels models) => _models = models;

    /// <summary>The header line of the exact-match-by-length table (the tiny models' sources have 3 to 6 tokens).</summary>
    private static string ExactMatchHeader(string output)
    {
        string[] lines = CliRunner.Lines(output);
        int title = Array.FindIndex(lines, l => l.StartsWith("exact match % by source length", StringComparison.Ordinal));
        Assert.True(title >= 0, output);
        return lines[title + 1];
    }

    [Fact]
    public void Eval_BucketEdges_LabelsShowTheLengthsHeld()
    {
        (int code, string output, string error) = CliRunner.Run("eval", _models.Attention, _models.None, "--buckets", "4,5");

        Assert.True(code == 0, error);
        string header = ExactMatchHeader(output);
        Assert.Contains("3-4 (n=", header, StringComparison.Ordinal); // bucket 1-4, shortest source 3
        Assert.Contains("5 (n=", header, StringComparison.Ordinal);
        Assert.Contains("6 (n=", header, StringComparison.Ordinal);   // bucket 6+, longest source 6
        Assert.DoesNotContain("1-4", header, StringComparison.Ordinal);
        Assert.DoesNotContain("+", header, StringComparison.Ordinal);
    }

    [Fact]
    public void Eval_BucketWidth_EqualBucketsFromOne()
    {
        (int code, string output, string error) = CliRunner.Run("eval", _models.Attention, "--bucket-width", "2");

        Assert.True(code == 0, error);
        string header = ExactMatchHeader(output);
        Assert.Contains("3-4 (n=", header, StringComparison.Ordinal);
        Assert.Contains("5-6 (n=", header, StringComparison.Ordinal);
        Assert.DoesNotContain("1-2", header, StringComparison.Ordinal); // no source that short: no column
    }

    [Theory]
    [InlineData("--buckets", "10,5", "--buckets must be strictly increasing, got 10,5")]
    [InlineData("--buckets", "10,10", "--buckets must be strictly increasing, got 10,10")]
    [InlineData("--buckets", "10,x", "--buckets: 'x' is not a whole number of at least 1")]
    [InlineData("--buckets", "0,10", "--buckets: '0' is not a whole number of at least 1")]
    [InlineData("--buckets", "", "--buckets: '' is not a whole number of at least 1")]
    [InlineData("--bucket-width", "0", "--bucket-width must be between 1 and 100000, got 0.")]
    public void Eval_BadBucketValue_OneUsageErrorLine(string option, string value, string message)
    {
        (int code, string output, string error) = CliRunner.Run("eval", _models.Attention, option, value);

        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, message);
        Assert.Equal("", output);
    }

    [Fact]
    public void Eval_BucketsAndWidthTogether_OneUsageErrorLine()
    {
        (int code, _, string error) = CliRunner.Run("eval", _models.Attention, "--buckets", "10,20", "--bucket-width", "5");

        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, "give either --buckets or --bucket-width, not both.");
    }

    [Fact]
    public void BucketChoice_Parse_NegativeWidthRefusedAndEdgesKept()
    {
        UsageException e = Assert.Throws<UsageException>(() => BucketChoice.Parse(null, -3));
        Assert.Contains("--bucket-width must be between 1 and 100000, got -3.", e.Message, StringComparison.Ordinal);

        BucketChoice edges = BucketChoice.Parse(" 10, 20 ,30,40", null);
        Assert.Equal([1, 11, 21, 31, 41], edges.For(60).Select(b => b.Min));
        Assert.Equal(["1-10", "11-20", "21-30", "31-40", "41+"], edges.For(60).Select(b => b.Label));
        Assert.Equal(5, BucketChoice.Parse(null, null).For(25).Count);
    }
}
