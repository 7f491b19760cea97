using SpanAttention.Data;
using Xunit;

namespace SpanAttention.Tests.Data;

public class TokenizerTests
{
    [Fact]
    public void Words_DecomposedNukta_NormalisedToNfcAndSplitOnWhitespace()
    {
        // ज + nukta stays two code points in NFC (U+095B is a composition exclusion).
        string text = "  मेज़   पर\tहै \n";
        string[] words = Tokenizer.Words(text);
        Assert.Equal(["मेज़", "पर", "है"], words);
        Assert.All(words, w => Assert.Equal(w, Nfc.Managed(w)));
        // The precomposed U+095B is canonically equivalent and normalises to the same token.
        Assert.Equal("\u092E\u0947\u091C\u093C", Tokenizer.Words("\u092E\u0947\u095B")[0]);
    }

    [Theory]
    [InlineData("e\u0301", "\u00E9")]                             // compose
    [InlineData("\u095B", "\u091C\u093C")]                         // nukta letters are composition exclusions
    [InlineData("\u0928\u093C", "\u0929")]                         // ...but न + nukta composes
    [InlineData("\u0915\u094D\u093C", "\u0915\u093C\u094D")]     // nukta (class 7) sorts before virama (class 9)
    [InlineData("a\u0302\u0323", "\u1EAD")]                        // reorder below-before-above, then compose twice
    [InlineData("\u00C5\u0301", "\u01FA")]                         // a precomposed letter takes a further mark
    [InlineData("C\u0301\u0327", "\u1E08")]
    [InlineData("मैं खाना खा रहा हूँ", "मैं खाना खा रहा हूँ")]         // already NFC: unchanged
    [InlineData("plain ascii", "plain ascii")]
    public void Managed_CanonicalEquivalents_GiveThePythonNfcResult(string input, string expected)
    {
        // Expected values are unicodedata.normalize('NFC', ...) from CPython (Unicode 14).
        Assert.Equal(expected, Nfc.Managed(input));
        Assert.Equal(expected, Tokenizer.Normalize(input)); // platform or managed, same answer
    }

    [Fact]
    public void Characters_Devanagari_KeepsMatrasAndCandrabinduWithTheirConsonant()
    {
        string[] chars = Tokenizer.Characters("हूँ  खा");
        Assert.Equal(["हूँ", " ", "खा"], chars);
        Assert.Equal(["कि", "ता", "ब"], Tokenizer.Characters("किताब"));
    }

    [Fact]
    public void Characters_AsciiDate_OneTokenPerCharWithCollapsedSpaces()
    {
        Assert.Equal(["9", "/", "5", " ", "1", "8"], Tokenizer.Characters(" 9/5   18 "));
        Assert.Equal("9/5 18", Tokenizer.Join(Tokenizer.Characters(" 9/5   18 "), Tokenization.Character));
    }

    [Fact]
    public void Tokenize_EmptyOrWhitespace_GivesNoTokens()
    {
        Assert.Empty(Tokenizer.Tokenize("", Tokenization.Word));
        Assert.Empty(Tokenizer.Tokenize(" \t ", Tokenization.Character));
    }

    [Fact]
    public void TryParse_KnownAndUnknownNames_ParsesWordAndChar()
    {
        Assert.True(Tokenizer.TryParse("word", out Tokenization w));
        Assert.Equal(Tokenization.Word, w);
        Assert.True(Tokenizer.TryParse("Char", out Tokenization c));
        Assert.Equal(Tokenization.Character, c);
        Assert.False(Tokenizer.TryParse("bpe", out _));
        Assert.Equal("char", Tokenizer.ToName(Tokenization.Character));
    }
}
