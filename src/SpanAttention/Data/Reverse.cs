namespace SpanAttention.Data;

/// <summary>
/// The built-in <c>reverse</c> task: random sequences of symbols (the letters a, b, c, ...), target = the
/// same sequence reversed; word level (symbols are space-separated). Long sequences stress what a single
/// fixed context vector can hold; attention only has to look at one source position per step.
/// </summary>
public static class Reverse
{
    /// <summary>Dataset name.</summary>
    public const string Name = "reverse";

    /// <summary>The longest symbol alphabet.</summary>
    public const int MaxSymbols = 26;

    /// <summary>Generates the corpus and splits it (disjoint by source sequence).</summary>
    /// <param name="options">Size, lengths, alphabet, splits and seed; defaults when null.</param>
    /// <returns>The dataset, word-level on both sides.</returns>
    public static Dataset Create(ReverseOptions? options = null)
    {
        options ??= new ReverseOptions();
        IReadOnlyList<SentencePair> pairs = Generate(options);
        return Dataset.Split(Name, pairs, Tokenization.Word, Tokenization.Word,
            options.ValidationFraction, options.TestFraction, options.Seed);
    }

    /// <summary>Generates <see cref="ReverseOptions.Count"/> pairs with distinct sources.</summary>
    /// <param name="options">Options.</param>
    /// <returns>The pairs.</returns>
    public static IReadOnlyList<SentencePair> Generate(ReverseOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Count, 1, nameof(options));
        if (options.Symbols is < 2 or > MaxSymbols)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"Symbols must be in [2, {MaxSymbols}], got {options.Symbols}.");
        }
        if (options.MinLength < 1 || options.MaxLength < options.MinLength)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"Length range {options.MinLength}..{options.MaxLength} is invalid (need 1 <= min <= max).");
        }
        double distinct = 0;
        for (int l = options.MinLength; l <= options.MaxLength && distinct < 1e9; l++)
        {
            distinct += Math.Pow(options.Symbols, l);
        }
        if (options.Count > distinct / 2)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"{options.Count} sequences requested but only {distinct} distinct ones exist; ask for at most half.");
        }
        var rng = new Random(options.Seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pairs = new List<SentencePair>(options.Count);
        var symbols = new string[options.MaxLength];
        while (pairs.Count < options.Count)
        {
            int length = rng.Next(options.MinLength, options.MaxLength + 1);
            for (int i = 0; i < length; i++)
            {
                symbols[i] = ((char)('a' + rng.Next(options.Symbols))).ToString();
            }
            string source = string.Join(' ', symbols, 0, length);
            if (!seen.Add(source))
            {
                continue;
            }
            Array.Reverse(symbols, 0, length);
            pairs.Add(new SentencePair(source, string.Join(' ', symbols, 0, length)));
        }
        return pairs;
    }
}

/// <summary>Size, lengths, alphabet, splits and seed of the <c>reverse</c> corpus.</summary>
public sealed record ReverseOptions
{
    /// <summary>The stress setting: sequences of 30 to 40 symbols.</summary>
    public static ReverseOptions Stress { get; } = new() { MinLength = 30, MaxLength = 40 };

    /// <summary>Distinct source sequences (default 10000).</summary>
    public int Count { get; init; } = 10000;

    /// <summary>Shortest sequence (default 5).</summary>
    public int MinLength { get; init; } = 5;

    /// <summary>Longest sequence (default 20).</summary>
    public int MaxLength { get; init; } = 20;

    /// <summary>Alphabet size, 2..26 (default 20: the letters a to t).</summary>
    public int Symbols { get; init; } = 20;

    /// <summary>Fraction held out for validation (default 0.1).</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Fraction held out for test (default 0.1).</summary>
    public double TestFraction { get; init; } = 0.1;

    /// <summary>Generation and split seed (default 1).</summary>
    public int Seed { get; init; } = 1;
}
