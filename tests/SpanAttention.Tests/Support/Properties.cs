using FsCheck;
using FsCheck.Fluent;

namespace SpanAttention.Tests.Support;

/// <summary>
/// Runs FsCheck 3 properties inside xunit facts (FsCheck.Xunit is not on the package source).
/// A failure throws with FsCheck's report, which includes the replay seed.
/// </summary>
internal static class Properties
{
    /// <summary>Checks <paramref name="property"/> on <paramref name="maxTest"/> random cases; throws on the first falsified one.</summary>
    public static void Check(Property property, int maxTest = 100) =>
        FsCheck.Check.One(Config.QuickThrowOnFailure.WithMaxTest(maxTest), property);

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
