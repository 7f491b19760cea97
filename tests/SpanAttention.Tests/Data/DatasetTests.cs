using SpanAttention.Data;
using Xunit;

namespace SpanAttention.Tests.Data;

public class DatasetTests
{
    private static SentencePair[] Pairs(int n) =>
        Enumerable.Range(0, n).Select(i => new SentencePair($"s{i}", $"t{i}")).ToArray();

    [Fact]
    public void Split_Fractions_SizesAndDisjointCover()
    {
        Dataset d = Dataset.Split("x", Pairs(100), Tokenization.Word, Tokenization.Character, 0.2, 0.1, seed: 9);
        Assert.Equal((70, 20, 10), (d.Train.Count, d.Validation.Count, d.Test.Count));
        Assert.Equal(100, d.Train.Concat(d.Validation).Concat(d.Test).Select(p => p.Source).Distinct().Count());
        Assert.Equal(Tokenization.Character, d.TargetTokenization);
    }

    [Fact]
    public void Split_ForcedTestSource_LandsInTestAndCountsTowardsItsSize()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            Dataset d = Dataset.Split("x", Pairs(50), Tokenization.Word, Tokenization.Word, 0.1, 0.1, seed, ["s7"]);
            Assert.Contains(new SentencePair("s7", "t7"), d.Test);
            Assert.Equal(5, d.Test.Count);
            Assert.DoesNotContain(d.Train, p => p.Source == "s7");
        }
    }

    [Fact]
    public void Split_SameSeed_SameOrder_DifferentSeed_DifferentOrder()
    {
        Dataset a = Dataset.Split("x", Pairs(60), Tokenization.Word, Tokenization.Word, 0.1, 0.1, 1);
        Dataset b = Dataset.Split("x", Pairs(60), Tokenization.Word, Tokenization.Word, 0.1, 0.1, 1);
        Dataset c = Dataset.Split("x", Pairs(60), Tokenization.Word, Tokenization.Word, 0.1, 0.1, 2);
        Assert.Equal(a.Train, b.Train);
        Assert.Equal(a.Test, b.Test);
        Assert.NotEqual(a.Train, c.Train);
    }

    [Fact]
    public void Split_TinyOrBadFractions_KeepsTrainingNonEmptyOrThrows()
    {
        Dataset d = Dataset.Split("x", Pairs(2), Tokenization.Word, Tokenization.Word, 0.5, 0.4, 1);
        Assert.Single(d.Train);
        Assert.Throws<ArgumentOutOfRangeException>(() => Dataset.Split("x", Pairs(5), Tokenization.Word, Tokenization.Word, 0.6, 0.5, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Dataset.Split("x", Pairs(5), Tokenization.Word, Tokenization.Word, -0.1, 0, 1));
    }

    [Fact]
    public void BuiltInDatasets_Names_CreateEachAndRejectUnknown()
    {
        Assert.Equal(["hi-en", "hi-en-long", "hi-en-longer", "dates", "reverse"], BuiltInDatasets.Names);
        Assert.Equal("hi-en", BuiltInDatasets.Default);
        Assert.True(BuiltInDatasets.Contains("HI-EN"));
        Assert.False(BuiltInDatasets.Contains("fr-en"));
        Assert.Equal(Tokenization.Character, BuiltInDatasets.Create("dates").SourceTokenization);
        var e = Assert.Throws<ArgumentException>(() => BuiltInDatasets.Create("fr-en"));
        Assert.Contains("hi-en, hi-en-long, hi-en-longer, dates, reverse", e.Message, StringComparison.Ordinal);
    }
}
