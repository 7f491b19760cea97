using System.Text.RegularExpressions;
using SpanAttention.Data;
using Xunit;

namespace SpanAttention.Tests.Data;

public class HindiEnglishTests
{
    // The whole grammar (a few hundred thousand pairs), rendered once for the tests that need it.
    private static readonly Lazy<Dictionary<string, string>> All = new(() =>
    {
        var all = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (SentencePair p in HindiEnglish.EnumerateAll())
        {
            if (all.TryGetValue(p.Source, out string? other) && other != p.Target)
            {
                throw new InvalidOperationException($"'{p.Source}' has two translations: '{other}' and '{p.Target}'.");
            }
            all[p.Source] = p.Target;
        }
        return all;
    });

    /// <summary>Hand-checked pairs the grammar must produce, covering each tense, agreement pattern,
    /// negation, the ergative past, postpositions and adjective agreement.</summary>
    public static TheoryData<string, string> HandChecked => new()
    {
        { "मैं खाना खा रहा हूँ", "i am eating food" },
        { "मैं खाना खा रही हूँ", "i am eating food" },
        { "वह खाना खा रही है", "she is eating food" },
        { "वह खाना खा रहा है", "he is eating food" },
        { "मैं खाना नहीं खा रहा हूँ", "i am not eating food" },
        { "हम पानी पी रहे हैं", "we are drinking water" },
        { "वे चाय पी रही थीं", "they were drinking tea" },
        { "तुम किताब पढ़ रहे हो", "you are reading a book" },
        { "आप घर में चिट्ठी लिख रही हैं", "you are writing a letter in the house" },
        { "लड़का मेज़ पर चिट्ठी लिख रहा है", "the boy is writing a letter on the table" },
        { "बच्चे बगीचे में खेल रहे हैं", "the children are playing in the garden" },
        { "मैंने खाना खाया", "i ate food" },
        { "मैंने रोटी नहीं खाई", "i did not eat bread" },
        { "लड़की ने चाय पी", "the girl drank tea" },
        { "लड़कों ने अख़बार पढ़ा", "the boys read a newspaper" },
        { "अच्छे लड़के ने किताब पढ़ी", "the good boy read a book" },
        { "वह खाना नहीं खाता", "he does not eat food" },
        { "वह चाय नहीं पीती", "she does not drink tea" },
        { "हम दूध नहीं पीते", "we do not drink milk" },
        { "वे खाना नहीं खातीं", "they do not eat food" },
        { "वह खाना खाती है", "she eats food" },
        { "वे नहीं सोईं", "they did not sleep" },
        { "मैं बिस्तर पर सोया", "i slept on the bed" },
        { "औरतें छत पर नाच रही थीं", "the women were dancing on the roof" },
        { "अच्छी लड़की घर में किताब पढ़ती है", "the good girl reads a book in the house" },
        { "अच्छा लड़का बड़े कमरे में सो रहा था", "the good boy was sleeping in the big room" },
        { "वह बड़ी किताब पढ़ रहा था", "he was reading a big book" },
        { "मैं अच्छा हूँ", "i am good" },
        { "वह अच्छी है", "she is good" },
        { "लड़के अच्छे नहीं थे", "the boys were not good" },
    };

    [Theory]
    [MemberData(nameof(HandChecked))]
    public void EnumerateAll_HandCheckedPair_IsProducedWithThatTranslation(string hindi, string english)
    {
        Assert.True(All.Value.TryGetValue(hindi, out string? translation), $"'{hindi}' is not in the grammar.");
        Assert.Equal(english, translation);
    }

    [Theory]
    [InlineData("उसने खाना खाया")]          // the ergative hides he/she
    [InlineData("वह खाना खा रहा हैं")]       // wrong auxiliary
    [InlineData("मैं खाना खा रहे हूँ")]       // wrong participle
    [InlineData("लड़की खाना खा रहा है")]      // gender disagreement
    [InlineData("मैं खाना नहीं खाता हूँ")]     // the negated habitual drops the auxiliary
    public void EnumerateAll_UngrammaticalOrAmbiguous_IsNeverProduced(string hindi)
    {
        Assert.False(All.Value.ContainsKey(hindi));
    }

    [Fact]
    public void EnumerateAll_EverySource_HasExactlyOneTranslationAndNfcText()
    {
        Dictionary<string, string> all = All.Value; // building it throws on a second translation
        Assert.InRange(all.Count, 10_000, 2_000_000);
        var lowerWords = new Regex("^[a-z]+( [a-z]+)*$", RegexOptions.Compiled);
        var failures = new List<string>();
        foreach ((string hi, string en) in all)
        {
            if (!ReferenceEquals(hi, Nfc.Managed(hi)) || hi.Contains("  ", StringComparison.Ordinal) || !lowerWords.IsMatch(en))
            {
                failures.Add($"{hi} -> {en}");
            }
        }
        Assert.Empty(failures);
    }

    [Fact]
    public void EnumerateAll_English_AgreesInPersonAndNumber()
    {
        string[] bad =
        [
            "i is", "i are", "i were", "he are", "she are", "he am", "we is", "they is", "you is", "we was", "they was", "you was",
            "i eats", "we eats", "they eats", "you eats", "he eat", "she eat", "the boy eat", "the boys eats",
            "does not eats", "did not ate", "he do not", "she do not", "i does", "they does", "a food", "a water", "the food",
            "a a", "the the", "a old", "an good", "an big", "an small", "an new", "an long", "an book", "an song",
        ];
        var pattern = new Regex($"(^| )({string.Join('|', bad)})( |$)", RegexOptions.Compiled);
        var failures = new List<string>();
        foreach ((_, string en) in All.Value)
        {
            if (pattern.IsMatch(en))
            {
                failures.Add(en);
            }
        }
        Assert.Empty(failures);
        // The checker has teeth: it flags each bad phrase in a sentence.
        Assert.All(bad, b => Assert.Matches(pattern, $"x {b} y"));
    }

    [Fact]
    public void LexiconStrings_Every_IsNfcDevanagari()
    {
        foreach (string s in HindiEnglish.LexiconStrings())
        {
            // (string.IsNormalized always says true under InvariantGlobalization, so use the managed NFC.)
            Assert.Equal(s, Nfc.Managed(s));
            Assert.All(s.Replace(" ", "", StringComparison.Ordinal), ch => Assert.InRange(ch, '\u0900', '\u097F'));
            // No precomposed nukta letters (U+0958..U+095F): they are NFC composition exclusions.
            Assert.DoesNotContain(s, ch => ch is >= '\u0958' and <= '\u095F');
        }
    }

    [Fact]
    public void Create_Default_ShowcaseInTestAndSplitsDisjoint()
    {
        Dataset d = HindiEnglish.Create();
        Assert.Equal(6000, d.Train.Count + d.Validation.Count + d.Test.Count);
        Assert.Contains(new SentencePair(HindiEnglish.ShowcaseSentence, HindiEnglish.ShowcaseTranslation), d.Test);
        Assert.DoesNotContain(d.Train, p => p.Source == HindiEnglish.ShowcaseSentence);
        var train = d.Train.Select(p => p.Source).ToHashSet(StringComparer.Ordinal);
        Assert.DoesNotContain(d.Test, p => train.Contains(p.Source));
        Assert.DoesNotContain(d.Validation, p => train.Contains(p.Source));
        Assert.Equal(Tokenization.Word, d.SourceTokenization);
        Assert.Equal(Tokenization.Word, d.TargetTokenization);
        // Every test word is known from training (so held-out accuracy measures composition, not <unk>).
        Vocabulary src = d.BuildSourceVocabulary();
        Vocabulary tgt = d.BuildTargetVocabulary();
        Assert.All(d.Test, p => Assert.All(Tokenizer.Words(p.Source), w => Assert.True(src.Contains(w), w)));
        Assert.All(d.Test, p => Assert.All(Tokenizer.Words(p.Target), w => Assert.True(tgt.Contains(w), w)));
    }

    [Fact]
    public void Generate_SameSeed_SamePairs_DifferentSeed_DifferentPairs()
    {
        IReadOnlyList<SentencePair> a = HindiEnglish.Generate(500, 7);
        IReadOnlyList<SentencePair> b = HindiEnglish.Generate(500, 7);
        IReadOnlyList<SentencePair> c = HindiEnglish.Generate(500, 8);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(new SentencePair(HindiEnglish.ShowcaseSentence, HindiEnglish.ShowcaseTranslation), a[0]);
        Assert.Equal(500, a.Select(p => p.Source).Distinct(StringComparer.Ordinal).Count());
        Assert.All(a, p => Assert.Equal(All.Value[p.Source], p.Target));
    }

    [Fact]
    public void Generate_SampledCorpus_CoversEveryTenseNegationAndPostposition()
    {
        IReadOnlyList<SentencePair> pairs = HindiEnglish.Generate(6000, 1);
        string en = string.Join('\n', pairs.Select(p => p.Target));
        string hi = string.Join('\n', pairs.Select(p => p.Source));
        foreach (string s in (string[])[" is ", " was ", " were ", " did not ", " does not ", " do not ", " ate ", " on the ", " in the ", " good "])
        {
            Assert.Contains(s, en, StringComparison.Ordinal);
        }
        foreach (string s in (string[])["ने", "नहीं", "पर", "में", "थीं", "अच्छी", "अच्छे", "अच्छा"])
        {
            Assert.Contains(s, hi, StringComparison.Ordinal);
        }
    }
}
