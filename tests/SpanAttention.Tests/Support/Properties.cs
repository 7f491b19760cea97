using FsCheck;
using FsCheck.Fluent;

namespace SpanAttention.Tests.Support;

/// <summary>
/// Shared pieces of the FsCheck properties. Properties are <c>[Property(MaxTest = N)]</c> methods (FsCheck.Xunit)
/// that return a <see cref="Property"/>; FsCheck calls the method once per case. The seed is random per run, and a
/// failure reports the falsifying case and its seeds: <c>Falsifiable, after 3 tests (0 shrinks) (S,G).</c> and
/// <c>Replay directly at failing step with (S',G',size).</c> Paste the latter as
/// <c>[Property(MaxTest = N, Replay = "(S',G',size)")]</c> to rerun exactly the failing case first.
/// </summary>
internal static class Properties
{
    /// <summary>Checks <paramref name="property"/> on <paramref name="maxTest"/> random cases inside a plain fact; throws on the first falsified one, with the replay seed.</summary>
    /// <remarks>For a property that cannot be a <c>[Property]</c> method of its own; prefer <c>[Property]</c>.</remarks>
    public static void Check(Property property, int maxTest = 100) =>
        FsCheck.Check.One(Config.QuickThrowOnFailure.WithMaxTest(maxTest), property);

    /// <summary>
    /// The conjunction of <paramref name="property"/> over every item (what a <c>[Theory]</c> row per item was).
    /// Each FsCheck case checks every item once, each on its own random input, so <c>MaxTest = N</c> runs
    /// exactly N cases per item. The failing item is named in the report by its label.
    /// </summary>
    public static Property ForEach<T>(IEnumerable<T> items, Func<T, Property> property)
    {
        Property? all = null;
        foreach (T item in items)
        {
            Property one = property(item).Label(item?.ToString() ?? "null");
            all = all is null ? one : all.And(one);
        }
        return all ?? throw new ArgumentException("no items", nameof(items));
    }

    /// <summary>A generator of finite floats with magnitudes spread over many decades, up to <paramref name="maxMagnitude"/>.</summary>
    public static Gen<float> FiniteFloats(float maxMagnitude) =>
        from mantissa in Gen.Choose(-1_000_000, 1_000_000)
        from exponent in Gen.Choose(-30, (int)Math.Ceiling(Math.Log10(maxMagnitude)))
        select (float)Math.Clamp(mantissa / 1e6 * Math.Pow(10, exponent), -maxMagnitude, maxMagnitude);

    /// <summary>A generator of arrays of <paramref name="element"/> whose length is in [minLength, maxLength].</summary>
    public static Gen<float[]> Arrays(Gen<float> element, int minLength, int maxLength) =>
        from n in Gen.Choose(minLength, maxLength)
        from xs in Gen.ArrayOf(element, n)
        select xs;
}
