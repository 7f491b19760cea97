using System.Text;
using SpanAttention.Data;
using Xunit;

namespace SpanAttention.Tests.Data;

public sealed class TsvDatasetTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "spanattention-tsv-" + Guid.NewGuid().ToString("N"));

    public TsvDatasetTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Read_AnkiExportWithBomCrlfAndExtraColumns_ReadsTwoColumns()
    {
        byte[] body = Encoding.UTF8.GetBytes("Go.\tजाओ।\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272\r\n\r\nHi.\tनमस्ते।\r\n");
        string path = Write("hin.txt", [0xEF, 0xBB, 0xBF, .. body]);
        IReadOnlyList<SentencePair> pairs = TsvDataset.Read(path);
        Assert.Equal([new SentencePair("Go.", "जाओ।"), new SentencePair("Hi.", "नमस्ते।")], pairs);
    }

    [Fact]
    public void Parse_DecomposedText_IsNormalisedToNfc()
    {
        IReadOnlyList<SentencePair> pairs = TsvDataset.Parse(new StringReader("\uFEFFe\u0301\tx\n"));
        Assert.Equal("\u00E9", pairs[0].Source);
    }

    [Theory]
    [InlineData("a\tb\n\nno tab here\n", 3, "no tab")]
    [InlineData("a\tb\n\tb\n", 2, "source")]
    [InlineData("a\tb\nc\t  \td\n", 2, "target")]
    [InlineData("a\tb\r\nc\t\r\n", 2, "target")]
    public void Parse_MalformedLine_ThrowsNamingTheLine(string text, int line, string what)
    {
        var e = Assert.Throws<DatasetFormatException>(() => TsvDataset.Parse(new StringReader(text), "data.tsv"));
        Assert.Equal(line, e.LineNumber);
        Assert.Equal("data.tsv", e.FileName);
        Assert.Contains($"data.tsv:{line}:", e.Message, StringComparison.Ordinal);
        Assert.Contains(what, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n  \r\n\n")]
    public void Parse_NoPairs_ThrowsForTheWholeFile(string text)
    {
        var e = Assert.Throws<DatasetFormatException>(() => TsvDataset.Parse(new StringReader(text), "empty.tsv"));
        Assert.Equal(0, e.LineNumber);
        Assert.StartsWith("empty.tsv: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_EmptyFileAndInvalidUtf8_ThrowDatasetFormatException()
    {
        Assert.Contains("empty", Assert.Throws<DatasetFormatException>(() => TsvDataset.Read(Write("e.tsv", []))).Message, StringComparison.Ordinal);
        var bad = Assert.Throws<DatasetFormatException>(() => TsvDataset.Read(Write("b.tsv", [(byte)'a', (byte)'\t', 0xFF, 0xFE, (byte)'\n'])));
        Assert.Contains("UTF-8", bad.Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => TsvDataset.Read(Path.Combine(_dir, "missing.tsv")));
    }

    [Fact]
    public void Load_RepeatedSources_SplitDisjointAndDeterministic()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 200; i++)
        {
            sb.Append($"source {i % 50}\ttarget {i}\n"); // each source has 4 translations
        }
        string path = Write("rep.tsv", Encoding.UTF8.GetBytes(sb.ToString()));
        Dataset a = TsvDataset.Load(path, Tokenization.Word, validationFraction: 0.2, testFraction: 0.2, seed: 3);
        Dataset b = TsvDataset.Load(path, Tokenization.Word, validationFraction: 0.2, testFraction: 0.2, seed: 3);
        Assert.Equal(a.Train, b.Train);
        Assert.Equal(200, a.Train.Count + a.Validation.Count + a.Test.Count);
        Assert.Equal(40, a.Test.Count); // 10 sources x 4 pairs
        var train = a.Train.Select(p => p.Source).ToHashSet();
        Assert.DoesNotContain(a.Validation, p => train.Contains(p.Source));
        Assert.DoesNotContain(a.Test, p => train.Contains(p.Source));
        Assert.Equal("rep.tsv", a.Name);
    }
}
