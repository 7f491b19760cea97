namespace SpanAttention.Data;

/// <summary>
/// A named parallel corpus split three ways. Splits are disjoint by source text: every pair sharing a
/// source sentence lands in the same split, so held-out sources are never seen in training.
/// </summary>
public sealed class Dataset
{
    /// <summary>Creates a dataset from already-split pairs.</summary>
    /// <param name="name">Short name ("hi-en", "dates", a file name).</param>
    /// <param name="sourceTokenization">How sources are tokenised.</param>
    /// <param name="targetTokenization">How targets are tokenised.</param>
    /// <param name="train">Training pairs.</param>
    /// <param name="validation">Validation pairs (model selection, early stopping).</param>
    /// <param name="test">Held-out test pairs.</param>
    public Dataset(string name, Tokenization sourceTokenization, Tokenization targetTokenization,
        IReadOnlyList<SentencePair> train, IReadOnlyList<SentencePair> validation, IReadOnlyList<SentencePair> test)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(test);
        Name = name;
        SourceTokenization = sourceTokenization;
        TargetTokenization = targetTokenization;
        Train = train;
        Validation = validation;
        Test = test;
    }

    /// <summary>Short name of the dataset.</summary>
    public string Name { get; }

    /// <summary>How sources are tokenised.</summary>
    public Tokenization SourceTokenization { get; }

    /// <summary>How targets are tokenised.</summary>
    public Tokenization TargetTokenization { get; }

    /// <summary>Training pairs, in a seed-determined order.</summary>
    public IReadOnlyList<SentencePair> Train { get; }

    /// <summary>Validation pairs.</summary>
    public IReadOnlyList<SentencePair> Validation { get; }

    /// <summary>Held-out test pairs.</summary>
    public IReadOnlyList<SentencePair> Test { get; }

    /// <summary>Builds the source vocabulary from the training split.</summary>
    /// <param name="minCount">Minimum training count for a token to get its own id.</param>
    /// <returns>The vocabulary.</returns>
    public Vocabulary BuildSourceVocabulary(int minCount = 1) =>
        Vocabulary.Build(Tokenize(Train, SourceTokenization, source: true), SourceTokenization, minCount);

    /// <summary>Builds the target vocabulary from the training split.</summary>
    /// <param name="minCount">Minimum training count for a token to get its own id.</param>
    /// <returns>The vocabulary.</returns>
    public Vocabulary BuildTargetVocabulary(int minCount = 1) =>
        Vocabulary.Build(Tokenize(Train, TargetTokenization, source: false), TargetTokenization, minCount);

    private static IEnumerable<IReadOnlyList<string>> Tokenize(IReadOnlyList<SentencePair> pairs, Tokenization mode, bool source)
    {
        foreach (SentencePair pair in pairs)
        {
            yield return Tokenizer.Tokenize(source ? pair.Source : pair.Target, mode);
        }
    }

    /// <summary>
    /// Splits pairs into train / validation / test, deterministically from <paramref name="seed"/> and
    /// disjoint by source text (pairs with the same source stay together).
    /// </summary>
    /// <param name="name">Dataset name.</param>
    /// <param name="pairs">All pairs.</param>
    /// <param name="sourceTokenization">How sources are tokenised.</param>
    /// <param name="targetTokenization">How targets are tokenised.</param>
    /// <param name="validationFraction">Fraction of distinct sources for validation, in [0, 1).</param>
    /// <param name="testFraction">Fraction of distinct sources for test, in [0, 1).</param>
    /// <param name="seed">Shuffle seed.</param>
    /// <param name="forcedTestSources">Sources that must be in the test split (they count towards its size).</param>
    /// <returns>The split dataset. Train gets at least one source when there are at least two.</returns>
    public static Dataset Split(string name, IReadOnlyList<SentencePair> pairs, Tokenization sourceTokenization, Tokenization targetTokenization,
        double validationFraction, double testFraction, int seed, IReadOnlyCollection<string>? forcedTestSources = null)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (validationFraction is < 0 or >= 1 || double.IsNaN(validationFraction))
        {
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "Must be in [0, 1).");
        }
        if (testFraction is < 0 or >= 1 || double.IsNaN(testFraction) || validationFraction + testFraction >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "Must be in [0, 1) with validation + test < 1.");
        }

        // Group by source, in first-seen order (deterministic), then shuffle the groups.
        var groupIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var groups = new List<List<SentencePair>>();
        foreach (SentencePair pair in pairs)
        {
            if (!groupIndex.TryGetValue(pair.Source, out int g))
            {
                g = groups.Count;
                groupIndex.Add(pair.Source, g);
                groups.Add([]);
            }
            groups[g].Add(pair);
        }
        var rng = new Random(seed);
        int[] order = new int[groups.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        rng.Shuffle(order);

        int n = groups.Count;
        int nTest = (int)Math.Round(n * testFraction);
        int nValidation = (int)Math.Round(n * validationFraction);
        if (n >= 2 && nTest + nValidation >= n)
        {
            nValidation = Math.Max(0, n - 1 - nTest);
        }

        var test = new List<SentencePair>();
        var validation = new List<SentencePair>();
        var train = new List<SentencePair>();
        var taken = new bool[n];
        int testGroups = 0;
        if (forcedTestSources is not null)
        {
            foreach (string source in forcedTestSources)
            {
                if (groupIndex.TryGetValue(source, out int g) && !taken[g])
                {
                    taken[g] = true;
                    test.AddRange(groups[g]);
                    testGroups++;
                }
            }
        }
        int validationGroups = 0;
        foreach (int g in order)
        {
            if (taken[g])
            {
                continue;
            }
            if (testGroups < nTest)
            {
                test.AddRange(groups[g]);
                testGroups++;
            }
            else if (validationGroups < nValidation)
            {
                validation.AddRange(groups[g]);
                validationGroups++;
            }
            else
            {
                train.AddRange(groups[g]);
            }
        }
        return new Dataset(name, sourceTokenization, targetTokenization, train, validation, test);
    }
}
