using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SpanAttention.Data;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Data;

public class VocabularyTests
{
    private static Vocabulary Sample() => Vocabulary.Build(
        [["b", "a", "c"], ["a", "b", "a"], ["d"]], Tokenization.Word, minCount: 1);

    [Fact]
    public void Build_Corpus_SpecialsFirstThenByCountThenOrdinal()
    {
        Vocabulary v = Sample();
        // a:3, b:2, c:1, d:1 (c < d ordinally)
        Assert.Equal(["<pad>", "<sos>", "<eos>", "<unk>", "a", "b", "c", "d"], v.Tokens);
        Assert.Equal(Vocabulary.PadId, v.GetId("<pad>"));
        Assert.Equal(3, Vocabulary.UnkId);
    }

    [Fact]
    public void Build_MinCount_DropsRareTokensToUnk()
    {
        Vocabulary v = Vocabulary.Build([["b", "a", "c"], ["a", "b", "a"], ["d"]], Tokenization.Word, minCount: 2);
        Assert.Equal(["<pad>", "<sos>", "<eos>", "<unk>", "a", "b"], v.Tokens);
        Assert.Equal(Vocabulary.UnkId, v.GetId("c"));
        Vocabulary capped = Vocabulary.Build([["b", "a", "c"], ["a", "b", "a"]], Tokenization.Word, maxSize: 5);
        Assert.Equal(["<pad>", "<sos>", "<eos>", "<unk>", "a"], capped.Tokens);
    }

    [Fact]
    public void Encode_UnknownTokens_MapToUnkAndAreReported()
    {
        Vocabulary v = Sample();
        var unknown = new List<string>();
        int[] ids = v.Encode(["a", "zebra", "d", "<unk>"], unknown);
        Assert.Equal([4, Vocabulary.UnkId, 7, Vocabulary.UnkId], ids);
        Assert.Equal(["zebra"], unknown); // a literal <unk> is not "unknown"
    }

    [Fact]
    public void Decode_SpecialIds_SkipsPadAndSosAndStopsAtEos()
    {
        Vocabulary v = Sample();
        Assert.Equal(["a", "<unk>", "b"], v.Decode([Vocabulary.SosId, 4, Vocabulary.UnkId, 5, Vocabulary.EosId, 6, 0, 0]));
        Assert.Equal(["a", "c"], v.Decode([4, Vocabulary.EosId, 6], stopAtEos: false));
        Assert.Equal("a b", v.DecodeText([4, 5, Vocabulary.EosId]));
        Assert.Throws<ArgumentOutOfRangeException>(() => v.Decode([99]));
    }

    [Fact]
    public void ToJson_FromJson_RoundTripsTokensAndTokenization()
    {
        Vocabulary v = Vocabulary.FromTokens(["मैं", "खाना", " ", "\"quoted\"", "back\\slash", "é"], Tokenization.Character);
        Vocabulary back = Vocabulary.FromJson(v.ToJson());
        Assert.Equal(v.Tokens, back.Tokens);
        Assert.Equal(Tokenization.Character, back.Tokenization);
        Assert.Equal(v.ToJson(), back.ToJson());
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[1, 2]")]
    [InlineData("{\"format\":\"spanattention-vocabulary\",\"version\":1,\"tokenization\":\"word\"}")]
    [InlineData("{\"format\":\"other\",\"version\":1,\"tokenization\":\"word\",\"tokens\":[\"<pad>\",\"<sos>\",\"<eos>\",\"<unk>\"]}")]
    [InlineData("{\"format\":\"spanattention-vocabulary\",\"version\":2,\"tokenization\":\"word\",\"tokens\":[\"<pad>\",\"<sos>\",\"<eos>\",\"<unk>\"]}")]
    [InlineData("{\"format\":\"spanattention-vocabulary\",\"version\":1,\"tokenization\":\"bpe\",\"tokens\":[\"<pad>\",\"<sos>\",\"<eos>\",\"<unk>\"]}")]
    [InlineData("{\"format\":\"spanattention-vocabulary\",\"version\":1,\"tokenization\":\"word\",\"tokens\":[\"<pad>\",\"<sos>\",\"<eos>\"]}")]
    [InlineData("{\"format\":\"spanattention-vocabulary\",\"version\":1,\"tokenization\":\"word\",\"tokens\":[\"<sos>\",\"<pad>\",\"<eos>\",\"<unk>\"]}")]
    [InlineData("{\"format\":\"spanattention-vocabulary\",\"version\":1,\"tokenization\":\"word\",\"tokens\":[\"<pad>\",\"<sos>\",\"<eos>\",\"<unk>\",\"a\",\"a\"]}")]
    [InlineData("{\"format\":\"spanattention-vocabulary\",\"version\":1,\"tokenization\":\"word\",\"tokens\":[\"<pad>\",\"<sos>\",\"<eos>\",\"<unk>\",\"\"]}")]
    [InlineData("{\"format\":\"spanattention-vocabulary\",\"version\":1,\"tokenization\":\"word\",\"tokens\":[\"<pad>\",\"<sos>\",\"<eos>\",\"<unk>\",7]}")]
    [InlineData("{\"format\":\"spanattention-vocabulary\",\"version\":1,\"tokenization\":\"word\",\"tokens\":[\"<pad>\",\"<sos>\",\"<eos>\",\"<unk>\",\"<pad>\"]}")]
    public void FromJson_Malformed_ThrowsVocabularyFormatException(string json)
    {
        var e = Assert.Throws<VocabularyFormatException>(() => Vocabulary.FromJson(json));
        Assert.StartsWith("Vocabulary", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromTokens_Duplicate_Throws()
    {
        Assert.Throws<VocabularyFormatException>(() => Vocabulary.FromTokens(["a", "b", "a"], Tokenization.Word));
    }

    [Property(MaxTest = 100)]
    public Property EncodeDecode_InVocabularyTokens_RoundTrip()
    {
        Gen<(string[] Vocab, int[] Picks)> cases =
            from size in Gen.Choose(1, 40)
            from n in Gen.Choose(0, 30)
            from picks in Gen.ArrayOf(Gen.Choose(0, size - 1), n)
            select (Enumerable.Range(0, size).Select(i => "t" + (i * 7919 % 1000)).Distinct().ToArray(), picks);
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            Vocabulary v = Vocabulary.FromTokens(c.Vocab, Tokenization.Word);
            string[] tokens = c.Picks.Where(p => p < c.Vocab.Length).Select(p => c.Vocab[p]).ToArray();
            var unknown = new List<string>();
            int[] ids = v.Encode(tokens, unknown);
            return unknown.Count == 0
                && ids.All(id => id >= Vocabulary.SpecialCount && id < v.Count)
                && v.Decode(ids).SequenceEqual(tokens)
                && Vocabulary.FromJson(v.ToJson()).Encode(tokens).SequenceEqual(ids);
        });
    }
}
