using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using SpanAttention.Data;
using Xunit;

namespace SpanAttention.Tests.Data;

public class HindiEnglishDefaultCorpusTests
{
    /// <summary>
    /// The default hi-en corpus (6000 pairs, seed 1) is what it was before the compound grammar was added: its SHA-256
    /// was computed from the one-clause grammar alone. The demo's accuracy was measured on exactly these sentences.
    /// </summary>
    [Fact]
    public void Generate_Default_IsTheOneClauseCorpusUnchanged()
    {
        IReadOnlyList<SentencePair> pairs = HindiEnglish.Generate(6000, 1);
        string text = string.Join('\n', pairs.Select(p => p.Source + "\t" + p.Target));
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        Assert.True(hash == "0cb425e5c9bf5a305f21ee81c4ede7380e46b10a1fd20efee157c75d16951beb", hash);
    }
}

/// <summary>The compound grammar of hi-en-long / hi-en-longer: constructions, agreement, one translation per source, lengths, splits.</summary>
public class HindiEnglishCompoundTests
{
    private static readonly Lazy<Dataset> Long = new(() => HindiEnglish.CreateCompound());

    private static readonly Lazy<Dataset> Longer = new(() => HindiEnglish.CreateCompound(byLength: true));

    private static IEnumerable<SentencePair> Pairs(Dataset d) => d.Train.Concat(d.Validation).Concat(d.Test);

    private static int Length(string text) => text.Split(' ').Length;

    /// <summary>New tenses and lexicon of one clause, hand-checked (the whole one-clause grammar is in <c>EnumerateAll</c>).</summary>
    public static TheoryData<string, string> HandChecked => new()
    {
        { "मैं खाना खाऊँगा", "i will eat food" },
        { "मैं खाना खाऊँगी", "i will eat food" },
        { "तुम गाना गाओगे", "you will sing a song" },
        { "वह किताब पढ़ेगी", "she will read a book" },
        { "वह नहीं सोएगा", "he will not sleep" },
        { "हम पानी पिएँगे", "we will drink water" },
        { "लड़कियाँ बगीचे में नाचेंगी", "the girls will dance in the garden" },
        { "मैंने खाना खाया है", "i have eaten food" },
        { "लड़की ने चिट्ठी लिखी है", "the girl has written a letter" },
        { "हमने अख़बार नहीं पढ़ा है", "we have not read a newspaper" },
        { "मैंने पुरानी घड़ी ख़रीदी", "i bought an old watch" },
        { "उन्होंने नया गाना सुना है", "they have listened to a new song" },
        { "बहनें पुराने स्कूल में खाना बना रही हैं", "the sisters are making food in the old school" },
    };

    [Theory]
    [MemberData(nameof(HandChecked))]
    public void EnumerateAll_NewTenseOrWord_HasThatTranslation(string hindi, string english)
    {
        string? found = HindiEnglish.EnumerateAll().Where(p => p.Source == hindi).Select(p => p.Target).FirstOrDefault();
        Assert.True(found is not null, $"'{hindi}' is not in the grammar.");
        Assert.Equal(english, found);
    }

    [Theory]
    [InlineData("वह खाना खाया है")]       // the perfect needs the ergative, and उसने would hide he/she
    [InlineData("मैंने खाया है")]          // the perfect only with its object
    [InlineData("मैं लंबा हूँ")]            // लंबा of a person means tall
    [InlineData("मैं खाना खाएगा")]         // wrong person
    public void EnumerateAll_Ungrammatical_IsNeverProduced(string hindi)
    {
        Assert.DoesNotContain(HindiEnglish.EnumerateAll(), p => p.Source == hindi);
    }

    [Fact]
    public void CreateCompound_Default_EveryConstructionAtEveryLengthWithOneTranslationInNfc()
    {
        Dataset d = Long.Value;
        var all = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (SentencePair p in Pairs(d))
        {
            Assert.True(all.TryAdd(p.Source, p.Target), $"'{p.Source}' twice");
        }
        Assert.Equal(HindiEnglishOptions.CompoundCount, all.Count);
        var lowerWords = new Regex("^[a-z]+( [a-z]+)*$");
        Assert.All(all, kv =>
        {
            Assert.Equal(kv.Key, Nfc.Managed(kv.Key));
            Assert.Matches(lowerWords, kv.Value);
        });
        // Sources from 3 to past 40 tokens, with many at each length up to 40.
        int[] lengths = [.. all.Keys.Select(Length)];
        Assert.Equal(3, lengths.Min());
        Assert.True(lengths.Max() > 40, $"longest {lengths.Max()}");
        for (int n = 5; n <= 40; n++)
        {
            Assert.True(lengths.Count(l => l == n) >= 20, $"{lengths.Count(l => l == n)} sources of {n} tokens");
        }
        string hi = string.Join('\n', all.Keys), en = string.Join('\n', all.Values);
        foreach (string s in (string[])[" और ", " लेकिन ", " क्योंकि ", "जब ", " तब ", "जो ", " वह ", " वे ", "क्या ", " कल ", " रात को ", " है"])
        {
            Assert.Contains(s, hi, StringComparison.Ordinal);
        }
        foreach (string s in (string[])[" and ", " but ", " because ", "when ", " who ", " will ", " have ", " has ", " tomorrow", " yesterday", " every day", " an old "])
        {
            Assert.Contains(s, en, StringComparison.Ordinal);
        }
        // The showcase pair stays in the test split.
        Assert.Contains(new SentencePair(HindiEnglish.ShowcaseSentence, HindiEnglish.ShowcaseTranslation), d.Test);
    }

    [Fact]
    public void CreateCompound_Sentences_AgreeInPersonAndNumberWithArticlesRight()
    {
        string[] bad =
        [
            "i is", "i are", "i were", "he are", "she are", "he am", "we is", "they is", "you is", "we was", "they was", "you was",
            "i eats", "we eats", "they eats", "you eats", "he eat", "she eat", "the boy eat", "the boys eats",
            "does not eats", "did not ate", "he do not", "she do not", "i does", "they does", "a food", "a water", "the food",
            "i has", "he have", "she have", "the boy have", "the boys has", "will eats", "will ate", "have ate", "has ate",
            "a a", "the the", "a old", "an good", "an new", "a eat",
        ];
        var pattern = new Regex($"(^| )({string.Join('|', bad)})( |$)");
        Assert.All(bad, b => Assert.Matches(pattern, $"x {b} y"));
        // (A question's English is checked below: "does he eat" is right there.)
        Assert.Empty(Pairs(Long.Value).Where(p => !p.Source.StartsWith("क्या ", StringComparison.Ordinal))
            .Select(p => pattern.Match(p.Target)).Where(m => m.Success).Select(m => m.Value).Distinct());
        string[] badQuestions = ["does he eats", "does she eats", "do he", "do she", "does i", "does you", "does we", "does they", "is i", "am he", "are he", "are she", "was you", "were he", "has i", "have he", "did he ate"];
        var questionPattern = new Regex($"^({string.Join('|', badQuestions)})( |$)");
        Assert.All(badQuestions, b => Assert.Matches(questionPattern, $"{b} y"));
        // A question: क्या, then a statement whose English moved its auxiliary before the subject.
        var auxiliaries = new HashSet<string>(["am", "is", "are", "was", "were", "do", "does", "did", "will", "have", "has"]);
        SentencePair[] questions = [.. Pairs(Long.Value).Where(p => p.Source.StartsWith("क्या ", StringComparison.Ordinal))];
        Assert.True(questions.Length > 100, $"{questions.Length} questions");
        Assert.All(questions, q => Assert.Contains(q.Target.Split(' ')[0], auxiliaries));
        Assert.DoesNotContain(questions, q => questionPattern.IsMatch(q.Target));
        // A relative clause: जो + subject ..., वह/वे ... -> "the ... who ...".
        SentencePair[] relatives = [.. Pairs(Long.Value).Where(p => p.Source.StartsWith("जो ", StringComparison.Ordinal) && !p.Source.Contains(" और ", StringComparison.Ordinal))];
        Assert.NotEmpty(relatives);
        Assert.All(relatives, r => Assert.StartsWith("the ", r.Target, StringComparison.Ordinal));
        Assert.All(relatives, r => Assert.Contains(" who ", r.Target, StringComparison.Ordinal));
    }

    [Fact]
    public void CreateCompound_ByLength_TrainsUpTo25AndTests26To40()
    {
        Dataset d = Longer.Value;
        Assert.Equal(HindiEnglish.LongerName, d.Name);
        Assert.Equal(HindiEnglishOptions.CompoundCount, d.Train.Count + d.Validation.Count + d.Test.Count);
        Assert.Equal(HindiEnglishOptions.CompoundCount / 10, d.Test.Count);
        Assert.Equal(HindiEnglishOptions.CompoundCount / 10, d.Validation.Count);
        Assert.All(d.Train.Concat(d.Validation), p => Assert.InRange(Length(p.Source), 3, HindiEnglish.LongestTrained));
        Assert.All(d.Test, p => Assert.InRange(Length(p.Source), HindiEnglish.LongestTrained + 1, HindiEnglish.LongestTested));
        Assert.Equal(d.Train.Count + d.Validation.Count + d.Test.Count, Pairs(d).Select(p => p.Source).Distinct(StringComparer.Ordinal).Count());
        // Same seed, same corpus; the built-in name builds it too.
        Assert.Equal(d.Test, HindiEnglish.CreateCompound(byLength: true).Test);
        Assert.Equal(d.Test, BuiltInDatasets.Create(HindiEnglish.LongerName).Test);
        Assert.True(BuiltInDatasets.Contains("HI-EN-LONG"));
    }
}
