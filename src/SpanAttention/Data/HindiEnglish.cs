namespace SpanAttention.Data;

/// <summary>
/// The built-in <c>hi-en</c> task: a synthetic Hindi → English corpus generated from a small, hand-checked
/// grammar (word-level tokens, Devanagari in NFC, lower-case English without punctuation).
/// </summary>
/// <remarks>
/// <para>What the grammar covers (see docs/datasets.md for the full lexicon):</para>
/// <list type="bullet">
/// <item>SOV → SVO: <c>मैं घर में खाना खा रहा हूँ</c> → <c>i am eating food in the house</c>.</item>
/// <item>Present and past progressive, simple present (habitual) and simple past, with the participle and
/// auxiliary agreeing in gender and number (रहा/रही/रहे, हूँ/हो/है/हैं, था/थी/थे/थीं).</item>
/// <item>The ergative simple past of transitive verbs (<c>मैंने खाना खाया</c> → <c>i ate food</c>; the verb
/// agrees with the object), never with वह, whose gender the ergative would hide.</item>
/// <item>Postpositions → prepositions (<c>मेज़ पर</c> → <c>on the table</c>), with oblique nouns and adjectives.</item>
/// <item>Negation: नहीं → not / do not / does not / did not as the tense requires; the negated habitual
/// drops its auxiliary (<c>वह खाना नहीं खाती</c>).</item>
/// <item>Adjectives अच्छा/अच्छी/अच्छे (and बड़ा, छोटा) agreeing with their noun, attributive and predicative.</item>
/// </list>
/// <para>Every Hindi sentence has exactly one English translation: वह becomes "he" or "she" from the verb's
/// gender agreement, तुम and आप both become "you", and the generator refuses to emit a source twice with
/// different targets.</para>
/// </remarks>
public static partial class HindiEnglish
{
    /// <summary>The demo sentence; it is always in the corpus, in the held-out test split.</summary>
    public const string ShowcaseSentence = "मैं खाना खा रहा हूँ";

    /// <summary>The translation of <see cref="ShowcaseSentence"/>.</summary>
    public const string ShowcaseTranslation = "i am eating food";

    /// <summary>Dataset name.</summary>
    public const string Name = "hi-en";

    /// <summary>Generates the corpus and splits it (disjoint by source, <see cref="ShowcaseSentence"/> in test).</summary>
    /// <param name="options">Size, split fractions and seed; defaults when null.</param>
    /// <returns>The dataset, word-level on both sides.</returns>
    public static Dataset Create(HindiEnglishOptions? options = null)
    {
        options ??= new HindiEnglishOptions();
        IReadOnlyList<SentencePair> pairs = Generate(options.Count, options.Seed);
        return Dataset.Split(Name, pairs, Tokenization.Word, Tokenization.Word,
            options.ValidationFraction, options.TestFraction, options.Seed, [ShowcaseSentence]);
    }

    /// <summary>Generates <paramref name="count"/> distinct pairs (the showcase pair first), deterministically from <paramref name="seed"/>.</summary>
    /// <param name="count">Number of distinct source sentences, ≥ 1.</param>
    /// <param name="seed">Random seed.</param>
    /// <returns>The pairs.</returns>
    public static IReadOnlyList<SentencePair> Generate(int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 100_000);
        var rng = new Random(seed);
        var pairs = new List<SentencePair>(count);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        Add(Render(Showcase), pairs, seen);
        while (pairs.Count < count)
        {
            Add(Render(Sample(rng)), pairs, seen);
        }
        return pairs;
    }

    private static void Add(SentencePair pair, List<SentencePair> pairs, Dictionary<string, string> seen)
    {
        if (seen.TryGetValue(pair.Source, out string? target))
        {
            if (target != pair.Target)
            {
                throw new InvalidOperationException($"hi-en grammar is ambiguous: '{pair.Source}' -> '{target}' and '{pair.Target}'.");
            }
            return;
        }
        seen.Add(pair.Source, pair.Target);
        pairs.Add(pair);
    }

    // ----------------------------------------------------------------------------------------------
    // Lexicon
    // ----------------------------------------------------------------------------------------------

    internal enum Gender { Masculine, Feminine }

    /// <summary>Which Hindi present auxiliary the subject takes: हूँ, हो, है, हैं.</summary>
    internal enum HindiPerson { First, Familiar, Singular, Plural }

    /// <summary>Which English verb forms the subject takes: I am/was, he is/was/eats, they are/were/eat.</summary>
    internal enum EnglishPerson { I, ThirdSingular, Plural }

    /// <summary>The tenses; <c>Future</c> and <c>Perfect</c> (the present perfect of a transitive verb with its object,
    /// ergative subject: <c>मैंने खाना खाया है</c> → <c>i have eaten food</c>) are drawn only by the compound grammar.</summary>
    internal enum Tense { PresentProgressive, PastProgressive, SimplePresent, SimplePast, Future, Perfect }

    private sealed record Pronoun(string Direct, string? Ergative, string EnglishMasculine, string EnglishFeminine, HindiPerson Person, bool PluralAgreement, EnglishPerson English);

    private sealed record Noun(string Singular, string SingularOblique, string? Plural, string? PluralOblique, Gender Gender, string English, string? EnglishPlural);

    private sealed record Adjective(string MasculineSingular, string MasculineOther, string Feminine, string English)
    {
        // Direct masculine singular: अच्छा; masculine plural or any oblique masculine: अच्छे; feminine: अच्छी.
        public string Agree(Gender gender, bool pluralOrOblique) =>
            gender == Gender.Feminine ? Feminine : pluralOrOblique ? MasculineOther : MasculineSingular;
    }

    /// <summary>An object noun; <c>Adjectives</c> lists the adjective indices that read naturally with it.</summary>
    private sealed record ObjectNoun(string Hindi, Gender Gender, string English, bool Countable, int[] Adjectives);

    private sealed record Place(string Oblique, Gender Gender, string Postposition, string Preposition, string English);

    /// <summary>A verb. <c>Future</c> holds the subjunctive forms the future adds गा/गी/गे to, by <see cref="HindiPerson"/>
    /// (मैं खाऊँ-, तुम खाओ-, वह खाए-, वे खाएँ-).</summary>
    private sealed record Verb(string Stem, string PastMasculine, string PastFeminine, string PastMasculinePlural, string PastFemininePlural,
        string English, string EnglishThird, string EnglishIng, string EnglishPast, int[] Objects, int[] Places, string[] Future, string EnglishParticiple)
    {
        public bool Transitive => Objects.Length > 0;
    }

    /// <summary>The subjunctive forms of a consonant-final stem: पढ़ूँ, पढ़ो, पढ़े, पढ़ें.</summary>
    private static string[] ConsonantFuture(string stem) => [stem + "ूँ", stem + "ो", stem + "े", stem + "ें"];

    private static readonly Pronoun[] Pronouns =
    [
        new("मैं", "मैंने", "i", "i", HindiPerson.First, false, EnglishPerson.I),
        new("तुम", "तुमने", "you", "you", HindiPerson.Familiar, true, EnglishPerson.Plural),
        new("आप", "आपने", "you", "you", HindiPerson.Plural, true, EnglishPerson.Plural),
        new("वह", null, "he", "she", HindiPerson.Singular, false, EnglishPerson.ThirdSingular),
        new("हम", "हमने", "we", "we", HindiPerson.Plural, true, EnglishPerson.Plural),
        new("वे", "उन्होंने", "they", "they", HindiPerson.Plural, true, EnglishPerson.Plural),
    ];

    private static readonly Noun[] Nouns =
    [
        new("लड़का", "लड़के", "लड़के", "लड़कों", Gender.Masculine, "boy", "boys"),
        new("लड़की", "लड़की", "लड़कियाँ", "लड़कियों", Gender.Feminine, "girl", "girls"),
        new("बच्चा", "बच्चे", "बच्चे", "बच्चों", Gender.Masculine, "child", "children"),
        new("औरत", "औरत", "औरतें", "औरतों", Gender.Feminine, "woman", "women"),
        // आदमी has the same direct plural, so only the singular is used: no "the man"/"the men" ambiguity.
        new("आदमी", "आदमी", null, null, Gender.Masculine, "man", null),
        new("बहन", "बहन", "बहनें", "बहनों", Gender.Feminine, "sister", "sisters"),
        new("भाई", "भाई", null, null, Gender.Masculine, "brother", null), // plural भाई as well: singular only
        new("दोस्त", "दोस्त", null, null, Gender.Masculine, "friend", null), // plural दोस्त as well: singular only
    ];

    private static readonly Adjective[] Adjectives =
    [
        new("अच्छा", "अच्छे", "अच्छी", "good"),
        new("बड़ा", "बड़े", "बड़ी", "big"),
        new("छोटा", "छोटे", "छोटी", "small"),
        // Only the compound grammar uses the ones below (attributive on objects and places, and predicative).
        new("नया", "नए", "नई", "new"),          // 3
        new("पुराना", "पुराने", "पुरानी", "old"),  // 4
        new("लंबा", "लंबे", "लंबी", "long"),     // 5
    ];

    /// <summary>The adjectives (and, below, nouns, objects, places and verbs) the one-clause <c>hi-en</c> sampler draws
    /// from; the ones after them belong to the compound grammar, so the default corpus stays as it was.</summary>
    private const int CoreAdjectives = 3, CoreNouns = 5, CoreVerbs = 9;

    private static readonly ObjectNoun[] Objects =
    [
        new("खाना", Gender.Masculine, "food", false, [0]),       // 0
        new("रोटी", Gender.Feminine, "bread", false, [0]),       // 1
        new("पानी", Gender.Masculine, "water", false, [0]),      // 2
        new("चाय", Gender.Feminine, "tea", false, [0]),          // 3
        new("दूध", Gender.Masculine, "milk", false, [0]),        // 4
        new("किताब", Gender.Feminine, "book", true, [0, 1, 2]),        // 5
        new("अख़बार", Gender.Masculine, "newspaper", true, [0]),  // 6
        new("चिट्ठी", Gender.Feminine, "letter", true, [0]),      // 7
        new("कहानी", Gender.Feminine, "story", true, [0]),       // 8
        new("फ़िल्म", Gender.Feminine, "movie", true, [0]),       // 9
        new("गाना", Gender.Masculine, "song", true, [0, 3, 4, 5]),   // 10
        new("कमीज़", Gender.Feminine, "shirt", true, [0, 3, 4]),   // 11
        new("फल", Gender.Masculine, "fruit", true, [0, 1, 2]),      // 12
        new("घड़ी", Gender.Feminine, "watch", true, [0, 1, 2, 3, 4]), // 13
        new("कविता", Gender.Feminine, "poem", true, [0, 3, 4, 5]),  // 14
    ];

    private static readonly Place[] Places =
    [
        new("घर", Gender.Masculine, "में", "in", "house"),       // 0
        new("कमरे", Gender.Masculine, "में", "in", "room"),      // 1 (कमरा, oblique)
        new("बगीचे", Gender.Masculine, "में", "in", "garden"),   // 2 (बगीचा, oblique)
        new("मेज़", Gender.Feminine, "पर", "on", "table"),       // 3
        new("छत", Gender.Feminine, "पर", "on", "roof"),         // 4
        new("बिस्तर", Gender.Masculine, "पर", "on", "bed"),      // 5
        new("कुर्सी", Gender.Feminine, "पर", "on", "chair"),     // 6
        new("स्कूल", Gender.Masculine, "में", "in", "school"),   // 7
        new("बाज़ार", Gender.Masculine, "में", "in", "market"),  // 8
        new("दफ़्तर", Gender.Masculine, "में", "in", "office"),  // 9
        new("शहर", Gender.Masculine, "में", "in", "city"),      // 10
    ];

    private static readonly Verb[] Verbs =
    [
        new("खा", "खाया", "खाई", "खाए", "खाईं", "eat", "eats", "eating", "ate", [0, 1], [0, 1, 2], ["खाऊँ", "खाओ", "खाए", "खाएँ"], "eaten"),
        new("पी", "पिया", "पी", "पिए", "पीं", "drink", "drinks", "drinking", "drank", [2, 3, 4], [0, 1, 2], ["पिऊँ", "पियो", "पिए", "पिएँ"], "drunk"),
        new("पढ़", "पढ़ा", "पढ़ी", "पढ़े", "पढ़ीं", "read", "reads", "reading", "read", [5, 6, 7, 8], [0, 1, 2, 4, 5, 6], ConsonantFuture("पढ़"), "read"),
        new("लिख", "लिखा", "लिखी", "लिखे", "लिखीं", "write", "writes", "writing", "wrote", [7, 8], [0, 1, 3], ConsonantFuture("लिख"), "written"),
        new("देख", "देखा", "देखी", "देखे", "देखीं", "watch", "watches", "watching", "watched", [9], [0, 1], ConsonantFuture("देख"), "watched"),
        new("सो", "सोया", "सोई", "सोए", "सोईं", "sleep", "sleeps", "sleeping", "slept", [], [0, 1, 4, 5], ["सोऊँ", "सोओ", "सोए", "सोएँ"], "slept"),
        new("खेल", "खेला", "खेली", "खेले", "खेलीं", "play", "plays", "playing", "played", [], [0, 1, 2, 4], ConsonantFuture("खेल"), "played"),
        new("दौड़", "दौड़ा", "दौड़ी", "दौड़े", "दौड़ीं", "run", "runs", "running", "ran", [], [2, 4], ConsonantFuture("दौड़"), "run"),
        new("नाच", "नाचा", "नाची", "नाचे", "नाचीं", "dance", "dances", "dancing", "danced", [], [0, 1, 2, 4], ConsonantFuture("नाच"), "danced"),
        // Only the compound grammar uses the ones below.
        new("बना", "बनाया", "बनाई", "बनाए", "बनाईं", "make", "makes", "making", "made", [0, 1, 3], [0, 1, 2, 7], ["बनाऊँ", "बनाओ", "बनाए", "बनाएँ"], "made"),
        new("ख़रीद", "ख़रीदा", "ख़रीदी", "ख़रीदे", "ख़रीदीं", "buy", "buys", "buying", "bought", [5, 6, 11, 12, 13], [8, 10], ConsonantFuture("ख़रीद"), "bought"),
        new("गा", "गाया", "गाई", "गाए", "गाईं", "sing", "sings", "singing", "sang", [10], [0, 1, 2, 7], ["गाऊँ", "गाओ", "गाए", "गाएँ"], "sung"),
        new("सुन", "सुना", "सुनी", "सुने", "सुनीं", "listen to", "listens to", "listening to", "listened to", [8, 10, 14], [0, 1, 7], ConsonantFuture("सुन"), "listened to"),
    ];

    /// <summary>A time phrase and the tenses it reads naturally with (कल is "yesterday" in the past and "tomorrow" in the future).</summary>
    private sealed record TimePhrase(string Hindi, string English, Tense[] Tenses);

    private static readonly Tense[] AllTenses = Enum.GetValues<Tense>();
    private static readonly Tense[] Past = [Tense.PastProgressive, Tense.SimplePast];

    /// <summary>Time phrases: after the subject in Hindi, at the end in English. Only the compound grammar uses them.</summary>
    private static readonly TimePhrase[] Times =
    [
        new("आज", "today", AllTenses),
        new("कल", "yesterday", Past),
        new("कल", "tomorrow", [Tense.Future]),
        new("अभी", "now", [Tense.PresentProgressive]),
        new("रोज़", "every day", [Tense.SimplePresent]),
        new("सुबह", "in the morning", [Tense.PresentProgressive, Tense.PastProgressive, Tense.SimplePresent, Tense.SimplePast, Tense.Future]),
        new("शाम को", "in the evening", [Tense.PresentProgressive, Tense.PastProgressive, Tense.SimplePresent, Tense.SimplePast, Tense.Future]),
        new("रात को", "at night", [Tense.PresentProgressive, Tense.PastProgressive, Tense.SimplePresent, Tense.SimplePast, Tense.Future]),
    ];

    /// <summary>Every Hindi string of the lexicon (tests check each is NFC).</summary>
    internal static IEnumerable<string> LexiconStrings()
    {
        foreach (Pronoun p in Pronouns)
        {
            yield return p.Direct;
            if (p.Ergative is not null)
            {
                yield return p.Ergative;
            }
        }
        foreach (Noun n in Nouns)
        {
            yield return n.Singular;
            yield return n.SingularOblique;
            if (n.Plural is not null)
            {
                yield return n.Plural;
                yield return n.PluralOblique!;
            }
        }
        foreach (Adjective a in Adjectives)
        {
            yield return a.MasculineSingular;
            yield return a.MasculineOther;
            yield return a.Feminine;
        }
        foreach (ObjectNoun o in Objects)
        {
            yield return o.Hindi;
        }
        foreach (Place p in Places)
        {
            yield return p.Oblique;
            yield return p.Postposition;
        }
        foreach (Verb v in Verbs)
        {
            yield return v.Stem;
            yield return v.PastMasculine;
            yield return v.PastFeminine;
            yield return v.PastMasculinePlural;
            yield return v.PastFemininePlural;
            foreach (string f in v.Future)
            {
                yield return f;
            }
        }
        foreach (TimePhrase t in Times)
        {
            yield return t.Hindi;
        }
        foreach (string s in (string[])["रहा", "रही", "रहे", "हूँ", "हो", "है", "हैं", "था", "थी", "थे", "थीं", "ता", "ती", "ते", "तीं", "ने", "नहीं", "गा", "गी", "गे", "क्या", "और", "लेकिन", "क्योंकि", "जब", "तब", "जो", "वह", "वे"])
        {
            yield return s;
        }
    }

    // ----------------------------------------------------------------------------------------------
    // Subjects: every pronoun in both genders, every noun in each number with or without an adjective.
    // ----------------------------------------------------------------------------------------------

    /// <summary>A rendered subject noun phrase with its agreement features.</summary>
    internal sealed record Subject(string Direct, string? Ergative, string English, Gender Gender, bool PluralAgreement,
        HindiPerson HindiPerson, EnglishPerson EnglishPerson, bool IsPronoun, bool HasAdjective);

    internal static readonly Subject[] Subjects = BuildSubjects();

    private static Subject[] BuildSubjects()
    {
        var subjects = new List<Subject>();
        foreach (Pronoun p in Pronouns)
        {
            subjects.Add(new(p.Direct, p.Ergative, p.EnglishMasculine, Gender.Masculine, p.PluralAgreement, p.Person, p.English, true, false));
            subjects.Add(new(p.Direct, p.Ergative, p.EnglishFeminine, Gender.Feminine, p.PluralAgreement, p.Person, p.English, true, false));
        }
        foreach (Noun n in Nouns)
        {
            for (int plural = 0; plural < 2; plural++)
            {
                bool pl = plural == 1;
                if (pl && n.Plural is null)
                {
                    continue;
                }
                string direct = pl ? n.Plural! : n.Singular;
                string oblique = pl ? n.PluralOblique! : n.SingularOblique;
                string english = pl ? n.EnglishPlural! : n.English;
                HindiPerson hp = pl ? HindiPerson.Plural : HindiPerson.Singular;
                EnglishPerson ep = pl ? EnglishPerson.Plural : EnglishPerson.ThirdSingular;
                subjects.Add(new(direct, $"{oblique} ने", $"the {english}", n.Gender, pl, hp, ep, false, false));
                foreach (Adjective a in Adjectives.AsSpan(0, CoreAdjectives))
                {
                    subjects.Add(new($"{a.Agree(n.Gender, pl)} {direct}", $"{a.Agree(n.Gender, true)} {oblique} ने",
                        $"the {a.English} {english}", n.Gender, pl, hp, ep, false, true));
                }
            }
        }
        return [.. subjects];
    }

    // ----------------------------------------------------------------------------------------------
    // Clauses
    // ----------------------------------------------------------------------------------------------

    /// <summary>One sentence's choices. Verb = -1 makes a copular clause "subject is adjective" with
    /// <c>Predicate</c> the adjective; otherwise Object/Place are -1 when absent, and their adjectives -1 when bare.
    /// <c>Time</c> is a time phrase, -1 when absent.</summary>
    internal readonly record struct Clause(int Subject, Tense Tense, bool Negated, int Verb, int Object, int ObjectAdjective,
        int Place, int PlaceAdjective, int Predicate, int Time = -1);

    private static readonly Clause Showcase = new(0, Tense.PresentProgressive, false, 0, 0, -1, -1, -1, -1);

    /// <summary>Whether a clause is one the grammar allows.</summary>
    internal static bool IsValid(in Clause c)
    {
        Subject s = Subjects[c.Subject];
        if (c.Verb < 0)
        {
            // Copula: present or past only, subjects without an attributive adjective, no time phrase.
            // (Only good/big/small: नया/पुराना/लंबा said of a person mean other things.)
            return c.Tense is Tense.SimplePresent or Tense.SimplePast && !s.HasAdjective && c.Predicate is >= 0 and < CoreAdjectives && c.Time < 0;
        }
        Verb v = Verbs[c.Verb];
        if (IsErgative(v, c.Tense) && s.Ergative is null)
        {
            return false; // उसने would hide he/she
        }
        if (c.Verb >= CoreVerbs && v.Transitive && c.Object < 0)
        {
            return false; // "you were making", "i listened to": these verbs need their object
        }
        if (c.Tense == Tense.Perfect && (!v.Transitive || c.Object < 0))
        {
            return false; // the perfect only as "मैंने खाना खाया है": a transitive verb with its object
        }
        if (c.Time >= 0 && Array.IndexOf(Times[c.Time].Tenses, c.Tense) < 0)
        {
            return false;
        }
        if (c.Object >= 0 && Array.IndexOf(v.Objects, c.Object) < 0)
        {
            return false;
        }
        if (c.ObjectAdjective >= 0 && (c.Object < 0 || Array.IndexOf(Objects[c.Object].Adjectives, c.ObjectAdjective) < 0))
        {
            return false; // only natural pairs: good food, a big book; not "a big movie"
        }
        if (c.Place >= 0 && Array.IndexOf(v.Places, c.Place) < 0)
        {
            return false;
        }
        return c.PlaceAdjective < 0 || (c.Place >= 0 && c.PlaceAdjective != LongAdjective); // not "the long house"
    }

    private const int LongAdjective = 5;

    /// <summary>Whether the subject takes the ergative ने: a transitive verb in the simple past or the perfect.</summary>
    private static bool IsErgative(Verb v, Tense tense) => v.Transitive && tense is Tense.SimplePast or Tense.Perfect;

    /// <summary>Every valid clause without a time phrase (about a million), in a fixed order.</summary>
    internal static IEnumerable<Clause> EnumerateClauses()
    {
        for (int s = 0; s < Subjects.Length; s++)
        {
            foreach (Tense tense in Enum.GetValues<Tense>())
            {
                for (int neg = 0; neg < 2; neg++)
                {
                    for (int p = 0; p < Adjectives.Length; p++)
                    {
                        var copula = new Clause(s, tense, neg == 1, -1, -1, -1, -1, -1, p);
                        if (IsValid(copula))
                        {
                            yield return copula;
                        }
                    }
                    for (int v = 0; v < Verbs.Length; v++)
                    {
                        for (int o = -1; o < Objects.Length; o++)
                        {
                            for (int oa = -1; oa < Adjectives.Length; oa++)
                            {
                                for (int pl = -1; pl < Places.Length; pl++)
                                {
                                    for (int pa = -1; pa < Adjectives.Length; pa++)
                                    {
                                        var c = new Clause(s, tense, neg == 1, v, o, oa, pl, pa, -1);
                                        if (IsValid(c))
                                        {
                                            yield return c;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Every (Hindi, English) pair the grammar can produce.</summary>
    internal static IEnumerable<SentencePair> EnumerateAll()
    {
        foreach (Clause c in EnumerateClauses())
        {
            yield return Render(c);
        }
    }

    /// <summary>Draws a clause with a natural mix: mostly short sentences, some places, adjectives and negation.</summary>
    internal static Clause Sample(Random rng)
    {
        while (true)
        {
            int subject = SampleSubject(rng, CoreSubjects);
            var tense = (Tense)rng.Next(4); // the four tenses before Future and Perfect
            bool negated = rng.NextDouble() < 0.25;
            Clause c;
            if (rng.NextDouble() < 0.12)
            {
                tense = rng.Next(2) == 0 ? Tense.SimplePresent : Tense.SimplePast;
                c = new Clause(subject, tense, negated, -1, -1, -1, -1, -1, rng.Next(CoreAdjectives));
            }
            else
            {
                int v = rng.Next(CoreVerbs);
                Verb verb = Verbs[v];
                int o = -1, oa = -1, pl = -1, pa = -1;
                if (verb.Transitive && rng.NextDouble() < 0.9)
                {
                    o = verb.Objects[rng.Next(verb.Objects.Length)];
                    if (rng.NextDouble() < 0.2)
                    {
                        int[] allowed = Objects[o].Adjectives;
                        oa = allowed[rng.Next(allowed.Length)];
                    }
                }
                if (rng.NextDouble() < (verb.Transitive ? 0.3 : 0.6))
                {
                    pl = verb.Places[rng.Next(verb.Places.Length)];
                    if (rng.NextDouble() < 0.2)
                    {
                        pa = rng.Next(CoreAdjectives);
                    }
                }
                c = new Clause(subject, tense, negated, v, o, oa, pl, pa, -1);
            }
            if (IsValid(c))
            {
                return c;
            }
        }
    }

    /// <summary>The subjects made from the first <see cref="CoreNouns"/> nouns (and the pronouns before them).</summary>
    private static readonly int CoreSubjects = Pronouns.Length * 2
        + ((1 + CoreAdjectives) * Nouns.AsSpan(0, CoreNouns).ToArray().Sum(n => n.Plural is null ? 1 : 2));

    /// <summary>Draws a subject among the first <paramref name="subjects"/>: a pronoun 60 % of the time, else a noun, bare 75 % of the time.</summary>
    private static int SampleSubject(Random rng, int subjects)
    {
        int pronounForms = Pronouns.Length * 2;
        if (rng.NextDouble() < 0.6)
        {
            return rng.Next(pronounForms);
        }
        // Nouns: each noun form is followed by its adjective variants.
        int nounForms = (subjects - pronounForms) / (1 + CoreAdjectives);
        int baseIndex = pronounForms + (rng.Next(nounForms) * (1 + CoreAdjectives));
        return rng.NextDouble() < 0.75 ? baseIndex : baseIndex + 1 + rng.Next(CoreAdjectives);
    }

    /// <summary>Renders a clause into its Hindi sentence and English translation.</summary>
    /// <param name="c">A valid clause.</param>
    /// <param name="question">A yes/no question: क्या before the Hindi, the English auxiliary before the subject
    /// (<c>क्या तुम खाना खा रहे हो</c> → <c>are you eating food</c>). Only for clauses <see cref="CanAsk"/> allows.</param>
    internal static SentencePair Render(in Clause c, bool question = false)
    {
        Subject s = Subjects[c.Subject];
        var hi = new List<string>(16);
        var en = new List<string>(16);
        bool past = c.Tense is Tense.PastProgressive or Tense.SimplePast;
        if (question)
        {
            hi.Add("क्या");
        }

        if (c.Verb < 0)
        {
            // Copula: "मैं अच्छा हूँ" -> "i am good"; "वे अच्छी नहीं थीं" -> "they were not good".
            Adjective a = Adjectives[c.Predicate];
            hi.Add(s.Direct);
            hi.Add(a.Agree(s.Gender, s.PluralAgreement));
            if (c.Negated)
            {
                hi.Add("नहीं");
            }
            hi.Add(past ? HindiPast(s) : HindiPresent(s));
            string be = past ? EnglishBePast(s) : EnglishBePresent(s);
            en.AddRange(question ? [be, s.English] : [s.English, be]);
            if (c.Negated)
            {
                en.Add("not");
            }
            en.Add(a.English);
            return Finish(hi, en);
        }

        Verb v = Verbs[c.Verb];
        bool ergative = IsErgative(v, c.Tense);

        // Hindi: S [time] [place] [object] [नहीं] verb-complex   (SOV)
        hi.Add(ergative ? s.Ergative! : s.Direct);
        if (c.Time >= 0)
        {
            hi.Add(Times[c.Time].Hindi);
        }
        if (c.Place >= 0)
        {
            Place p = Places[c.Place];
            if (c.PlaceAdjective >= 0)
            {
                hi.Add(Adjectives[c.PlaceAdjective].Agree(p.Gender, pluralOrOblique: true));
            }
            hi.Add(p.Oblique);
            hi.Add(p.Postposition);
        }
        if (c.Object >= 0)
        {
            ObjectNoun o = Objects[c.Object];
            if (c.ObjectAdjective >= 0)
            {
                hi.Add(Adjectives[c.ObjectAdjective].Agree(o.Gender, pluralOrOblique: false));
            }
            hi.Add(o.Hindi);
        }
        if (c.Negated)
        {
            hi.Add("नहीं");
        }
        switch (c.Tense)
        {
            case Tense.PresentProgressive:
            case Tense.PastProgressive:
                hi.Add(v.Stem);
                hi.Add(s.Gender == Gender.Feminine ? "रही" : s.PluralAgreement ? "रहे" : "रहा");
                hi.Add(c.Tense == Tense.PresentProgressive ? HindiPresent(s) : HindiPast(s));
                break;
            case Tense.SimplePresent:
                // Habitual participle; the negated form drops the auxiliary and nasalises the feminine plural.
                hi.Add(v.Stem + (s.Gender == Gender.Feminine
                    ? (c.Negated && s.PluralAgreement ? "तीं" : "ती")
                    : s.PluralAgreement ? "ते" : "ता"));
                if (!c.Negated)
                {
                    hi.Add(HindiPresent(s));
                }
                break;
            case Tense.SimplePast:
            case Tense.Perfect:
                if (ergative)
                {
                    // The verb agrees with the (singular, direct) object; with no object it is masculine singular.
                    bool feminineObject = c.Object >= 0 && Objects[c.Object].Gender == Gender.Feminine;
                    hi.Add(feminineObject ? v.PastFeminine : v.PastMasculine);
                }
                else
                {
                    hi.Add(s.Gender == Gender.Feminine
                        ? (s.PluralAgreement ? v.PastFemininePlural : v.PastFeminine)
                        : (s.PluralAgreement ? v.PastMasculinePlural : v.PastMasculine));
                }
                if (c.Tense == Tense.Perfect)
                {
                    hi.Add("है"); // agrees with the singular object
                }
                break;
            case Tense.Future:
                // Subjunctive by person + गा/गी/गे by gender and number: खाऊँगा, खाओगी, खाएँगे.
                hi.Add(v.Future[(int)s.HindiPerson] + (s.Gender == Gender.Feminine ? "गी" : s.PluralAgreement ? "गे" : "गा"));
                break;
        }

        // English: S verb-phrase [object] [place] [time]   (SVO); a question puts the auxiliary first.
        bool third = s.EnglishPerson == EnglishPerson.ThirdSingular;
        (string? auxiliary, string main) = c.Tense switch
        {
            Tense.PresentProgressive => (EnglishBePresent(s), v.EnglishIng),
            Tense.PastProgressive => (EnglishBePast(s), v.EnglishIng),
            Tense.SimplePresent => c.Negated || question ? (third ? "does" : "do", v.English) : (null, third ? v.EnglishThird : v.English),
            Tense.SimplePast => c.Negated || question ? ("did", v.English) : (null, v.EnglishPast),
            Tense.Future => ("will", v.English),
            _ => (third ? "has" : "have", v.EnglishParticiple),
        };
        if (question)
        {
            en.Add(auxiliary!);
            en.Add(s.English);
        }
        else
        {
            en.Add(s.English);
            if (auxiliary is not null)
            {
                en.Add(auxiliary);
            }
        }
        if (c.Negated)
        {
            en.Add("not");
        }
        en.Add(main);
        if (c.Object >= 0)
        {
            ObjectNoun o = Objects[c.Object];
            string next = c.ObjectAdjective >= 0 ? Adjectives[c.ObjectAdjective].English : o.English;
            if (o.Countable)
            {
                en.Add(next[0] is 'a' or 'e' or 'i' or 'o' or 'u' ? "an" : "a"); // no word here starts with a silent or consonant-sounding vowel
            }
            en.Add(next);
            if (c.ObjectAdjective >= 0)
            {
                en.Add(o.English);
            }
        }
        if (c.Place >= 0)
        {
            Place p = Places[c.Place];
            en.Add(p.Preposition);
            en.Add("the");
            if (c.PlaceAdjective >= 0)
            {
                en.Add(Adjectives[c.PlaceAdjective].English);
            }
            en.Add(p.English);
        }
        if (c.Time >= 0)
        {
            en.Add(Times[c.Time].English);
        }
        return Finish(hi, en);
    }

    /// <summary>Whether a clause can be asked as a yes/no question: not negated, and not a transitive verb without its
    /// object (<c>क्या तुम खा रहे हो</c> would also read "what are you eating").</summary>
    internal static bool CanAsk(in Clause c) => !c.Negated && (c.Verb < 0 || !Verbs[c.Verb].Transitive || c.Object >= 0);

    private static SentencePair Finish(List<string> hi, List<string> en) => new(string.Join(' ', hi), string.Join(' ', en));

    private static string HindiPresent(Subject s) => s.HindiPerson switch
    {
        HindiPerson.First => "हूँ",
        HindiPerson.Familiar => "हो",
        HindiPerson.Singular => "है",
        _ => "हैं",
    };

    private static string HindiPast(Subject s) => s.Gender == Gender.Feminine
        ? (s.PluralAgreement ? "थीं" : "थी")
        : (s.PluralAgreement ? "थे" : "था");

    private static string EnglishBePresent(Subject s) => s.EnglishPerson switch
    {
        EnglishPerson.I => "am",
        EnglishPerson.ThirdSingular => "is",
        _ => "are",
    };

    private static string EnglishBePast(Subject s) => s.EnglishPerson == EnglishPerson.Plural ? "were" : "was";
}

/// <summary>Size, splits and seed of the <c>hi-en</c> corpus.</summary>
public sealed record HindiEnglishOptions
{
    /// <summary>Distinct source sentences in the corpus (default 6000).</summary>
    public int Count { get; init; } = 6000;

    /// <summary>The default size of the compound corpora (<see cref="HindiEnglish.LongName"/>, <see cref="HindiEnglish.LongerName"/>).</summary>
    public const int CompoundCount = 20000;

    /// <summary>Fraction held out for validation (default 0.1).</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Fraction held out for test (default 0.1).</summary>
    public double TestFraction { get; init; } = 0.1;

    /// <summary>Generation and split seed (default 1).</summary>
    public int Seed { get; init; } = 1;
}
