using System.Globalization;

namespace SpanAttention.Data;

/// <summary>
/// The built-in <c>dates</c> task: human-readable dates in many formats → ISO 8601 (<c>2018-05-09</c>),
/// character level. The year moves to the front, so the alignment is not monotonic.
/// </summary>
/// <remarks>
/// <para>Numeric formats are always day-first (<c>9/5/18</c> is 9 May); the only month-first formats spell
/// the month out (<c>May 9, 2018</c>), and the only year-first ones put the year first (<c>2018/05/09</c>,
/// <c>2018 may 9</c>). So no format is ambiguous and no format has a month-first twin.</para>
/// <para>Two-digit years (<c>9/5/18</c>, <c>9 may 18</c>) are used only when the year range spans at most
/// 100 years; <c>yy</c> then means the one year of the range ending in yy (default 1950..2049, .NET's
/// own two-digit-year window). Weekday names are computed from the date, so they are always right.</para>
/// </remarks>
public static class Dates
{
    /// <summary>Dataset name.</summary>
    public const string Name = "dates";

    private static readonly string[] DayNames = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

    private static readonly string[] MonthNames =
        ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

    /// <summary>One source format: its pattern name and the function that writes a date in it.</summary>
    /// <param name="Pattern">Human-readable pattern, e.g. "d/m/yy".</param>
    /// <param name="TwoDigitYear">Whether the year is written with two digits.</param>
    /// <param name="Write">Formats a date.</param>
    internal sealed record Format(string Pattern, bool TwoDigitYear, Func<DateTime, string> Write);

    /// <summary>All source formats, in a fixed order.</summary>
    internal static readonly Format[] Formats =
    [
        new("dddd d mmmm yyyy", false, d => $"{DayNames[(int)d.DayOfWeek]} {d.Day} {MonthNames[d.Month - 1]} {d.Year}"),
        new("Dddd, Mmmm d, yyyy", false, d => $"{Capital(DayNames[(int)d.DayOfWeek])}, {Capital(MonthNames[d.Month - 1])} {d.Day}, {d.Year}"),
        new("ddd, d mmmm yyyy", false, d => $"{DayNames[(int)d.DayOfWeek][..3]}, {d.Day} {MonthNames[d.Month - 1]} {d.Year}"),
        new("d/m/yy", true, d => $"{d.Day}/{d.Month}/{d.Year % 100:00}"),
        new("dd/mm/yyyy", false, d => $"{d.Day:00}/{d.Month:00}/{d.Year}"),
        new("Mmmm d, yyyy", false, d => $"{Capital(MonthNames[d.Month - 1])} {d.Day}, {d.Year}"),
        new("d Mmmm yyyy", false, d => $"{d.Day} {Capital(MonthNames[d.Month - 1])} {d.Year}"),
        new("dd.mm.yyyy", false, d => $"{d.Day:00}.{d.Month:00}.{d.Year}"),
        new("d mmmm yy", true, d => $"{d.Day} {MonthNames[d.Month - 1]} {d.Year % 100:00}"),
        new("yyyy mmmm d", false, d => $"{d.Year} {MonthNames[d.Month - 1]} {d.Day}"),
        new("d mmm yyyy", false, d => $"{d.Day} {MonthNames[d.Month - 1][..3]} {d.Year}"),
        new("yyyy/mm/dd", false, d => $"{d.Year}/{d.Month:00}/{d.Day:00}"),
        new("dth mmmm yyyy", false, d => $"{Ordinal(d.Day)} {MonthNames[d.Month - 1]} {d.Year}"),
    ];

    /// <summary>Generates the corpus and splits it (disjoint by source string).</summary>
    /// <param name="options">Size, year range, splits and seed; defaults when null.</param>
    /// <returns>The dataset, character-level on both sides.</returns>
    public static Dataset Create(DatesOptions? options = null)
    {
        options ??= new DatesOptions();
        IReadOnlyList<SentencePair> pairs = Generate(options);
        return Dataset.Split(Name, pairs, Tokenization.Character, Tokenization.Character,
            options.ValidationFraction, options.TestFraction, options.Seed);
    }

    /// <summary>Generates <see cref="DatesOptions.Count"/> pairs with distinct sources.</summary>
    /// <param name="options">Options.</param>
    /// <returns>The pairs: source in a random format, target <c>yyyy-MM-dd</c>.</returns>
    public static IReadOnlyList<SentencePair> Generate(DatesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Count, 1, nameof(options));
        if (options.MinYear < 1 || options.MaxYear > 9999 || options.MinYear > options.MaxYear)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"Year range {options.MinYear}..{options.MaxYear} is invalid (need 1 <= min <= max <= 9999).");
        }
        Format[] formats = FormatsFor(options.MinYear, options.MaxYear);
        var first = new DateTime(options.MinYear, 1, 1);
        int days = (int)(new DateTime(options.MaxYear, 12, 31) - first).TotalDays + 1;
        long capacity = (long)days * formats.Length;
        if (options.Count > capacity / 2)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"{options.Count} dates requested but the range {options.MinYear}..{options.MaxYear} has only {capacity} distinct sources; ask for at most half.");
        }
        var rng = new Random(options.Seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pairs = new List<SentencePair>(options.Count);
        while (pairs.Count < options.Count)
        {
            DateTime date = first.AddDays(rng.Next(days));
            Format format = formats[rng.Next(formats.Length)];
            string source = format.Write(date);
            if (seen.Add(source))
            {
                pairs.Add(new SentencePair(source, Iso(date)));
            }
        }
        return pairs;
    }

    /// <summary>The formats usable for a year range (two-digit years only when the range spans ≤ 100 years).</summary>
    internal static Format[] FormatsFor(int minYear, int maxYear) =>
        maxYear - minYear < 100 ? Formats : Array.FindAll(Formats, f => !f.TwoDigitYear);

    /// <summary>The ISO 8601 calendar date, <c>yyyy-MM-dd</c>.</summary>
    /// <param name="date">A date.</param>
    /// <returns>E.g. "2018-05-09".</returns>
    public static string Iso(DateTime date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Capital(string word) => char.ToUpperInvariant(word[0]) + word[1..];

    /// <summary>1st, 2nd, 3rd, 4th ... 11th, 12th, 13th ... 21st, 22nd, 23rd ... 31st.</summary>
    internal static string Ordinal(int day)
    {
        string suffix = (day % 100) is 11 or 12 or 13 ? "th" : (day % 10) switch
        {
            1 => "st",
            2 => "nd",
            3 => "rd",
            _ => "th",
        };
        return day.ToString(CultureInfo.InvariantCulture) + suffix;
    }
}

/// <summary>Size, year range, splits and seed of the <c>dates</c> corpus.</summary>
public sealed record DatesOptions
{
    /// <summary>Distinct source strings (default 12000).</summary>
    public int Count { get; init; } = 12000;

    /// <summary>First year (default 1950).</summary>
    public int MinYear { get; init; } = 1950;

    /// <summary>Last year (default 2049). Two-digit-year formats are used only when MaxYear - MinYear &lt; 100.</summary>
    public int MaxYear { get; init; } = 2049;

    /// <summary>Fraction held out for validation (default 0.1).</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Fraction held out for test (default 0.1).</summary>
    public double TestFraction { get; init; } = 0.1;

    /// <summary>Generation and split seed (default 1).</summary>
    public int Seed { get; init; } = 1;
}
