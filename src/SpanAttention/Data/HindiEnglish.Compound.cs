namespace SpanAttention.Data;

/// <summary>
/// The compound grammar of the <c>hi-en-long</c> and <c>hi-en-longer</c> tasks: sentences of one to four parts joined by
/// और / लेकिन / क्योंकि (and / but / because), where a part is a clause, a जब ... तब pair (when ... ), or a relative
/// clause जो ... वह (the ... who ...); clauses draw on the whole lexicon, all six tenses and time phrases, and a
/// lone clause may be a yes/no question (क्या ...). Sources run from 3 to about 60 tokens.
/// </summary>
public static partial class HindiEnglish
{
    /// <summary>The compound corpus with held-out sentences at every length (random split, <see cref="ShowcaseSentence"/> in test).</summary>
    public const string LongName = "hi-en-long";

    /// <summary>The compound corpus split by length: training and validation sources up to <see cref="LongestTrained"/>
    /// tokens, test sources longer (up to <see cref="LongestTested"/>): what happens past the trained length.</summary>
    public const string LongerName = "hi-en-longer";

    /// <summary>The longest source (in tokens) in the training and validation splits of <see cref="LongerName"/>.</summary>
    public const int LongestTrained = 25;

    /// <summary>The longest source (in tokens) in the test split of <see cref="LongerName"/>.</summary>
    public const int LongestTested = 40;

    /// <summary>Creates <see cref="LongName"/> (random split) or, with <paramref name="byLength"/>, <see cref="LongerName"/>.</summary>
    /// <param name="options">Size, split fractions and seed; when null, the defaults with <see cref="HindiEnglishOptions.CompoundCount"/> sentences. For the length split the test fraction is
    /// the share of sentences of 26-40 tokens kept (the rest are drawn up to 25 tokens).</param>
    /// <param name="byLength">Split by length instead of at random.</param>
    /// <returns>The dataset, word-level on both sides.</returns>
    public static Dataset CreateCompound(HindiEnglishOptions? options = null, bool byLength = false)
    {
        options ??= new HindiEnglishOptions { Count = HindiEnglishOptions.CompoundCount };
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Count, 1_000_000);
        if (!byLength)
        {
            IReadOnlyList<SentencePair> pairs = GenerateCompound(options.Count, options.Seed, p => SourceLength(p) >= ShortestCompound, withShowcase: true);
            return Dataset.Split(LongName, pairs, Tokenization.Word, Tokenization.Word,
                options.ValidationFraction, options.TestFraction, options.Seed, [ShowcaseSentence]);
        }
        int tested = Math.Max(1, (int)Math.Round(options.Count * options.TestFraction));
        var rng = new Random(options.Seed);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        var test = new List<SentencePair>(tested);
        var trained = new List<SentencePair>(options.Count - tested);
        while (test.Count < tested || trained.Count < options.Count - tested)
        {
            SentencePair pair = SampleCompound(rng);
            int length = SourceLength(pair);
            List<SentencePair>? into = length < ShortestCompound ? null : length <= LongestTrained ? trained : length <= LongestTested ? test : null;
            if (into is not null && into.Count < (into == test ? tested : options.Count - tested))
            {
                int before = seen.Count;
                Add(pair, [], seen);
                if (seen.Count > before)
                {
                    into.Add(pair);
                }
            }
        }
        double validationShare = options.ValidationFraction / (1 - options.TestFraction);
        Dataset shortOnes = Dataset.Split(LongerName, trained, Tokenization.Word, Tokenization.Word, validationShare, 0, options.Seed);
        return new Dataset(LongerName, Tokenization.Word, Tokenization.Word, shortOnes.Train, shortOnes.Validation, test);
    }

    /// <summary>Generates <paramref name="count"/> distinct compound pairs whose source passes <paramref name="keep"/>.</summary>
    internal static IReadOnlyList<SentencePair> GenerateCompound(int count, int seed, Func<SentencePair, bool> keep, bool withShowcase)
    {
        var rng = new Random(seed);
        var pairs = new List<SentencePair>(count);
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        if (withShowcase)
        {
            Add(Render(Showcase), pairs, seen);
        }
        while (pairs.Count < count)
        {
            SentencePair pair = SampleCompound(rng);
            if (keep(pair))
            {
                Add(pair, pairs, seen);
            }
        }
        return pairs;
    }

    internal static int SourceLength(SentencePair pair) => pair.Source.Split(' ').Length;

    /// <summary>The shortest source the compound corpora keep ("मैं सोया" has 2 tokens).</summary>
    private const int ShortestCompound = 3;

    /// <summary>Draws one sentence: 1 part (40 %), 2 (30 %), 3 (20 %) or 4 (10 %), joined by और, लेकिन or क्योंकि.</summary>
    internal static SentencePair SampleCompound(Random rng)
    {
        double r = rng.NextDouble();
        int parts = r < 0.4 ? 1 : r < 0.7 ? 2 : r < 0.9 ? 3 : 4;
        if (parts == 1 && rng.NextDouble() < 0.25)
        {
            Clause q = SampleFullClause(rng, ergativeAllowed: true);
            if (CanAsk(q))
            {
                return Render(q, question: true);
            }
        }
        var hi = new List<string>();
        var en = new List<string>();
        for (int i = 0; i < parts; i++)
        {
            if (i > 0)
            {
                (string h, string e) = rng.Next(3) switch { 0 => ("और", "and"), 1 => ("लेकिन", "but"), _ => ("क्योंकि", "because") };
                hi.Add(h);
                en.Add(e);
            }
            SentencePair part = SamplePart(rng);
            hi.Add(part.Source);
            en.Add(part.Target);
        }
        return Finish(hi, en);
    }

    /// <summary>One part: a clause (70 %), जब A तब B → "when A B" (15 %, both in one past or present tense), or
    /// जो S A वह B → "S who A B" (15 %).</summary>
    private static SentencePair SamplePart(Random rng)
    {
        double r = rng.NextDouble();
        if (r < 0.7)
        {
            return Render(SampleFullClause(rng, ergativeAllowed: true));
        }
        if (r < 0.85)
        {
            // Both clauses in one tense, and not the future or the perfect: English says "when they buy", not "when they will buy".
            Clause first = SampleFullClause(rng, ergativeAllowed: true);
            while (first.Tense is Tense.Future or Tense.Perfect)
            {
                first = SampleFullClause(rng, ergativeAllowed: true);
            }
            Clause second = SampleFullClause(rng, ergativeAllowed: true);
            while (second.Tense != first.Tense)
            {
                second = SampleFullClause(rng, ergativeAllowed: true);
            }
            SentencePair when = Render(first), then = Render(second);
            return new SentencePair($"जब {when.Source} तब {then.Source}", $"when {when.Target} {then.Target}");
        }
        // Relative clause: a noun subject (the correlative वह/वे shows its number) and no ergative in either clause,
        // since जिस लड़के ने / उसने would change the subject's form.
        while (true)
        {
            Clause first = SampleFullClause(rng, ergativeAllowed: false);
            Subject s = Subjects[first.Subject];
            if (s.IsPronoun)
            {
                continue;
            }
            Clause second = SampleFullClause(rng, ergativeAllowed: false) with { Subject = first.Subject };
            if (!IsValid(second))
            {
                continue;
            }
            SentencePair a = Render(first), b = Render(second);
            string correlative = s.PluralAgreement ? "वे" : "वह";
            return new SentencePair($"जो {a.Source} {correlative} {b.Source[(s.Direct.Length + 1)..]}",
                $"{s.English} who {a.Target[(s.English.Length + 1)..]} {b.Target[(s.English.Length + 1)..]}");
        }
    }

    /// <summary>Draws a clause over the whole lexicon and all tenses, with a time phrase 30 % of the time.</summary>
    private static Clause SampleFullClause(Random rng, bool ergativeAllowed)
    {
        while (true)
        {
            int subject = rng.NextDouble() < 0.6 ? rng.Next(Pronouns.Length * 2) : rng.Next(Pronouns.Length * 2, Subjects.Length);
            var tense = (Tense)rng.Next(AllTenses.Length);
            bool negated = rng.NextDouble() < 0.2;
            int time = rng.NextDouble() < 0.3 ? rng.Next(Times.Length) : -1;
            Clause c;
            if (rng.NextDouble() < 0.1)
            {
                c = new Clause(subject, rng.Next(2) == 0 ? Tense.SimplePresent : Tense.SimplePast, negated, -1, -1, -1, -1, -1, rng.Next(CoreAdjectives));
            }
            else
            {
                int v = rng.Next(Verbs.Length);
                Verb verb = Verbs[v];
                int o = -1, oa = -1, pl = -1, pa = -1;
                if (verb.Transitive && rng.NextDouble() < 0.9)
                {
                    o = verb.Objects[rng.Next(verb.Objects.Length)];
                    if (rng.NextDouble() < 0.25)
                    {
                        int[] allowed = Objects[o].Adjectives;
                        oa = allowed[rng.Next(allowed.Length)];
                    }
                }
                if (rng.NextDouble() < (verb.Transitive ? 0.35 : 0.6))
                {
                    pl = verb.Places[rng.Next(verb.Places.Length)];
                    if (rng.NextDouble() < 0.25)
                    {
                        pa = rng.Next(LongAdjective);
                    }
                }
                if (!ergativeAllowed && IsErgative(verb, tense))
                {
                    continue;
                }
                c = new Clause(subject, tense, negated, v, o, oa, pl, pa, -1, time);
            }
            if (IsValid(c))
            {
                return c;
            }
        }
    }
}
