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
public static class HindiEnglish
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

    internal enum Tense { PresentProgressive, PastProgressive, SimplePresent, SimplePast }

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

    private sealed record Verb(string Stem, string PastMasculine, string PastFeminine, string PastMasculinePlural, string PastFemininePlural,
        string English, string EnglishThird, string EnglishIng, string EnglishPast, int[] Objects, int[] Places)
    {
        public bool Transitive => Objects.Length > 0;
    }

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
    ];

    private static readonly Adjective[] Adjectives =
    [
        new("अच्छा", "अच्छे", "अच्छी", "good"),
        new("बड़ा", "बड़े", "बड़ी", "big"),
        new("छोटा", "छोटे", "छोटी", "small"),
    ];

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
    ];

    private static readonly Verb[] Verbs =
    [
        new("खा", "खाया", "खाई", "खाए", "खाईं", "eat", "eats", "eating", "ate", [0, 1], [0, 1, 2]),
        new("पी", "पिया", "पी", "पिए", "पीं", "drink", "drinks", "drinking", "drank", [2, 3, 4], [0, 1, 2]),
        new("पढ़", "पढ़ा", "पढ़ी", "पढ़े", "पढ़ीं", "read", "reads", "reading", "read", [5, 6, 7, 8], [0, 1, 2, 4, 5, 6]),
        new("लिख", "लिखा", "लिखी", "लिखे", "लिखीं", "write", "writes", "writing", "wrote", [7, 8], [0, 1, 3]),
        new("देख", "देखा", "देखी", "देखे", "देखीं", "watch", "watches", "watching", "watched", [9], [0, 1]),
        new("सो", "सोया", "सोई", "सोए", "सोईं", "sleep", "sleeps", "sleeping", "slept", [], [0, 1, 4, 5]),
        new("खेल", "खेला", "खेली", "खेले", "खेलीं", "play", "plays", "playing", "played", [], [0, 1, 2, 4]),
        new("दौड़", "दौड़ा", "दौड़ी", "दौड़े", "दौड़ीं", "run", "runs", "running", "ran", [], [2, 4]),
        new("नाच", "नाचा", "नाची", "नाचे", "नाचीं", "dance", "dances", "dancing", "danced", [], [0, 1, 2, 4]),
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
        }
        foreach (string s in (string[])["रहा", "रही", "रहे", "हूँ", "हो", "है", "हैं", "था", "थी", "थे", "थीं", "ता", "ती", "ते", "तीं", "ने", "नहीं"])
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
                foreach (Adjective a in Adjectives)
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
    /// <c>Predicate</c> the adjective; otherwise Object/Place are -1 when absent, and their adjectives -1 when bare.</summary>
    internal readonly record struct Clause(int Subject, Tense Tense, bool Negated, int Verb, int Object, int ObjectAdjective,
        int Place, int PlaceAdjective, int Predicate);

    private static readonly Clause Showcase = new(0, Tense.PresentProgressive, false, 0, 0, -1, -1, -1, -1);

    /// <summary>Whether a clause is one the grammar allows.</summary>
    internal static bool IsValid(in Clause c)
    {
        Subject s = Subjects[c.Subject];
        if (c.Verb < 0)
        {
            // Copula: present or past only, subjects without an attributive adjective.
            return c.Tense is Tense.SimplePresent or Tense.SimplePast && !s.HasAdjective && c.Predicate >= 0;
        }
        Verb v = Verbs[c.Verb];
        if (v.Transitive && c.Tense == Tense.SimplePast && s.Ergative is null)
        {
            return false; // उसने would hide he/she
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
        return c.PlaceAdjective < 0 || c.Place >= 0;
    }

    /// <summary>Every valid clause (a few hundred thousand), in a fixed order.</summary>
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
            int subject = SampleSubject(rng);
            var tense = (Tense)rng.Next(4);
            bool negated = rng.NextDouble() < 0.25;
            Clause c;
            if (rng.NextDouble() < 0.12)
            {
                tense = rng.Next(2) == 0 ? Tense.SimplePresent : Tense.SimplePast;
                c = new Clause(subject, tense, negated, -1, -1, -1, -1, -1, rng.Next(Adjectives.Length));
            }
            else
            {
                int v = rng.Next(Verbs.Length);
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
                        pa = rng.Next(Adjectives.Length);
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

    private static int SampleSubject(Random rng)
    {
        int pronounForms = Pronouns.Length * 2;
        if (rng.NextDouble() < 0.6)
        {
            return rng.Next(pronounForms);
        }
        // Nouns: each noun form is followed by its three adjective variants; pick bare 75% of the time.
        int nounForms = (Subjects.Length - pronounForms) / (1 + Adjectives.Length);
        int baseIndex = pronounForms + (rng.Next(nounForms) * (1 + Adjectives.Length));
        return rng.NextDouble() < 0.75 ? baseIndex : baseIndex + 1 + rng.Next(Adjectives.Length);
    }

    /// <summary>Renders a clause into its Hindi sentence and English translation.</summary>
    internal static SentencePair Render(in Clause c)
    {
        Subject s = Subjects[c.Subject];
        var hi = new List<string>(12);
        var en = new List<string>(12);
        bool past = c.Tense is Tense.PastProgressive or Tense.SimplePast;

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
            en.Add(s.English);
            en.Add(past ? EnglishBePast(s) : EnglishBePresent(s));
            if (c.Negated)
            {
                en.Add("not");
            }
            en.Add(a.English);
            return Finish(hi, en);
        }

        Verb v = Verbs[c.Verb];
        bool ergative = v.Transitive && c.Tense == Tense.SimplePast;

        // Hindi: S [place] [object] [नहीं] verb-complex   (SOV)
        hi.Add(ergative ? s.Ergative! : s.Direct);
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
                break;
        }

        // English: S verb-phrase [object] [place]   (SVO)
        en.Add(s.English);
        switch (c.Tense)
        {
            case Tense.PresentProgressive:
            case Tense.PastProgressive:
                en.Add(c.Tense == Tense.PresentProgressive ? EnglishBePresent(s) : EnglishBePast(s));
                if (c.Negated)
                {
                    en.Add("not");
                }
                en.Add(v.EnglishIng);
                break;
            case Tense.SimplePresent:
                if (c.Negated)
                {
                    en.Add(s.EnglishPerson == EnglishPerson.ThirdSingular ? "does" : "do");
                    en.Add("not");
                    en.Add(v.English);
                }
                else
                {
                    en.Add(s.EnglishPerson == EnglishPerson.ThirdSingular ? v.EnglishThird : v.English);
                }
                break;
            case Tense.SimplePast:
                if (c.Negated)
                {
                    en.Add("did");
                    en.Add("not");
                    en.Add(v.English);
                }
                else
                {
                    en.Add(v.EnglishPast);
                }
                break;
        }
        if (c.Object >= 0)
        {
            ObjectNoun o = Objects[c.Object];
            if (o.Countable)
            {
                en.Add("a"); // no adjective or object noun starts with a vowel sound, so never "an"
            }
            if (c.ObjectAdjective >= 0)
            {
                en.Add(Adjectives[c.ObjectAdjective].English);
            }
            en.Add(o.English);
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
        return Finish(hi, en);
    }

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

    /// <summary>Fraction held out for validation (default 0.1).</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Fraction held out for test (default 0.1).</summary>
    public double TestFraction { get; init; } = 0.1;

    /// <summary>Generation and split seed (default 1).</summary>
    public int Seed { get; init; } = 1;
}
