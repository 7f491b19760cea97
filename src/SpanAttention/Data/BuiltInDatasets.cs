namespace SpanAttention.Data;

/// <summary>The datasets that ship with SpanAttention, by name: <c>hi-en</c> (the default), <c>hi-en-long</c>,
/// <c>hi-en-longer</c> (compound sentences, split at random or by length), <c>dates</c>, <c>reverse</c>.</summary>
public static class BuiltInDatasets
{
    /// <summary>The default task.</summary>
    public const string Default = HindiEnglish.Name;

    /// <summary>All built-in names.</summary>
    public static IReadOnlyList<string> Names { get; } = [HindiEnglish.Name, HindiEnglish.LongName, HindiEnglish.LongerName, Dates.Name, Reverse.Name];

    /// <summary>Whether <paramref name="name"/> is a built-in dataset (case-insensitive).</summary>
    /// <param name="name">A name.</param>
    /// <returns>True for the names in <see cref="Names"/>.</returns>
    public static bool Contains(string? name)
    {
        foreach (string known in Names)
        {
            if (string.Equals(name, known, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Creates a built-in dataset with its default size and the given seed.</summary>
    /// <param name="name">One of <see cref="Names"/> (case-insensitive).</param>
    /// <param name="seed">Generation and split seed.</param>
    /// <returns>The dataset.</returns>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static Dataset Create(string name, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Equals(HindiEnglish.Name, StringComparison.OrdinalIgnoreCase))
        {
            return HindiEnglish.Create(new HindiEnglishOptions { Seed = seed });
        }
        if (name.Equals(HindiEnglish.LongName, StringComparison.OrdinalIgnoreCase) || name.Equals(HindiEnglish.LongerName, StringComparison.OrdinalIgnoreCase))
        {
            return HindiEnglish.CreateCompound(new HindiEnglishOptions { Seed = seed, Count = HindiEnglishOptions.CompoundCount },
                byLength: name.Equals(HindiEnglish.LongerName, StringComparison.OrdinalIgnoreCase));
        }
        if (name.Equals(Dates.Name, StringComparison.OrdinalIgnoreCase))
        {
            return Dates.Create(new DatesOptions { Seed = seed });
        }
        if (name.Equals(Reverse.Name, StringComparison.OrdinalIgnoreCase))
        {
            return Reverse.Create(new ReverseOptions { Seed = seed });
        }
        throw new ArgumentException($"Unknown dataset '{name}'; the built-in ones are {string.Join(", ", Names)}.", nameof(name));
    }
}
