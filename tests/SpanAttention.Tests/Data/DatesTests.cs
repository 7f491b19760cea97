using System.Globalization;
using System.Text.RegularExpressions;
using SpanAttention.Data;
using Xunit;

namespace SpanAttention.Tests.Data;

public class DatesTests
{
    private static readonly string[] DayNames = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

    // An independent oracle: each source shape maps to exactly one .NET exact-parse pattern.
    private static readonly (Regex Shape, string Pattern)[] Shapes =
    [
        (new(@"^[a-z]+day \d{1,2} [a-z]+ \d{4}$"), "dddd d MMMM yyyy"),
        (new(@"^[A-Z][a-z]+day, [A-Z][a-z]+ \d{1,2}, \d{4}$"), "dddd, MMMM d, yyyy"),
        (new(@"^[a-z]{3}, \d{1,2} [a-z]+ \d{4}$"), "ddd, d MMMM yyyy"),
        (new(@"^\d{1,2}/\d{1,2}/\d{2}$"), "d/M/yy"),
        (new(@"^\d{2}/\d{2}/\d{4}$"), "dd/MM/yyyy"),
        (new(@"^[A-Z][a-z]+ \d{1,2}, \d{4}$"), "MMMM d, yyyy"),
        (new(@"^\d{1,2} [A-Z][a-z]+ \d{4}$"), "d MMMM yyyy"),
        (new(@"^\d{2}\.\d{2}\.\d{4}$"), "dd.MM.yyyy"),
        (new(@"^\d{1,2} [a-z]+ \d{2}$"), "d MMMM yy"),
        (new(@"^\d{4} [a-z]+ \d{1,2}$"), "yyyy MMMM d"),
        (new(@"^\d{1,2} [a-z]{3} \d{4}$"), "d MMM yyyy"),
        (new(@"^\d{4}/\d{2}/\d{2}$"), "yyyy/MM/dd"),
        (new(@"^\d{1,2}(st|nd|rd|th) [a-z]+ \d{4}$"), "ordinal"),
    ];

    private static DateTime ParseSource(string source)
    {
        var matches = Shapes.Where(s => s.Shape.IsMatch(source)).ToArray();
        Assert.True(matches.Length == 1, $"'{source}' matches {matches.Length} shapes.");
        string pattern = matches[0].Pattern;
        string text = source;
        if (pattern == "ordinal")
        {
            Match m = Regex.Match(source, @"^(\d+)(st|nd|rd|th) (.*)$");
            int day = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            string expected = day % 100 is 11 or 12 or 13 ? "th" : (day % 10) switch { 1 => "st", 2 => "nd", 3 => "rd", _ => "th" };
            Assert.Equal(expected, m.Groups[2].Value);
            text = $"{day} {m.Groups[3].Value}";
            pattern = "d MMMM yyyy";
        }
        // Title-case every word so the parse never depends on case-insensitive name matching.
        text = Regex.Replace(text, @"\b[a-z]", x => x.Value.ToUpperInvariant());
        return DateTime.ParseExact(text, pattern, CultureInfo.InvariantCulture, DateTimeStyles.None);
    }

    [Fact]
    public void Generate_Default_EveryTargetIsTheSourcesDateInIso()
    {
        IReadOnlyList<SentencePair> pairs = Dates.Generate(new DatesOptions());
        Assert.Equal(12000, pairs.Count);
        var patternsSeen = new HashSet<string>();
        foreach (SentencePair p in pairs)
        {
            DateTime date = ParseSource(p.Source);
            Assert.Equal(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), p.Target);
            DateTime target = DateTime.ParseExact(p.Target, "yyyy-MM-dd", CultureInfo.InvariantCulture);
            Assert.InRange(target.Year, 1950, 2049);
            string lower = p.Source.ToLowerInvariant();
            string day = DayNames[(int)target.DayOfWeek];
            foreach (string other in DayNames)
            {
                // Full or abbreviated weekday names, when present, are the date's own.
                if (other != day)
                {
                    Assert.DoesNotMatch($@"\b{other[..3]}", lower);
                }
            }
            patternsSeen.Add(Shapes.First(s => s.Shape.IsMatch(p.Source)).Pattern);
        }
        Assert.Equal(Shapes.Length, patternsSeen.Count);
    }

    [Fact]
    public void Generate_ExamplesFromTheIssue_HaveTheExpectedShapes()
    {
        Assert.Equal(new DateTime(2018, 5, 9), ParseSource("wednesday 9 may 2018"));
        Assert.Equal(new DateTime(2018, 5, 9), ParseSource("9/5/18"));
        Assert.Equal(new DateTime(2018, 5, 9), ParseSource("May 9, 2018"));
        Assert.Equal("2018-05-09", Dates.Iso(new DateTime(2018, 5, 9)));
        Assert.Equal(["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"],
            new[] { 1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31 }.Select(Dates.Ordinal));
    }

    [Fact]
    public void Generate_WideYearRange_UsesNoTwoDigitYears()
    {
        IReadOnlyList<SentencePair> pairs = Dates.Generate(new DatesOptions { Count = 2000, MinYear = 1800, MaxYear = 2200, Seed = 3 });
        Assert.All(pairs, p => Assert.Matches(@"\d{4}", p.Source));
        Assert.All(pairs, p => Assert.DoesNotMatch(@"^\d{1,2}/\d{1,2}/\d{2}$|^\d{1,2} [a-z]+ \d{2}$", p.Source));
        Assert.All(pairs, p => Assert.InRange(int.Parse(p.Target[..4], CultureInfo.InvariantCulture), 1800, 2200));
    }

    [Fact]
    public void Create_SameSeed_SameSplits_DisjointBySource()
    {
        var options = new DatesOptions { Count = 1000, Seed = 5 };
        Dataset a = Dates.Create(options);
        Dataset b = Dates.Create(options);
        Assert.Equal(a.Train, b.Train);
        Assert.Equal(a.Test, b.Test);
        Assert.Equal(Tokenization.Character, a.SourceTokenization);
        var train = a.Train.Select(p => p.Source).ToHashSet();
        Assert.DoesNotContain(a.Test, p => train.Contains(p.Source));
        Assert.NotEqual(a.Train, Dates.Create(options with { Seed = 6 }).Train);
    }

    [Fact]
    public void Generate_TooManyForTheRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Dates.Generate(new DatesOptions { Count = 100_000, MinYear = 2000, MaxYear = 2000 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Dates.Generate(new DatesOptions { MinYear = 2010, MaxYear = 2000 }));
    }
}
