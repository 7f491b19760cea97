using Xunit;
using Xunit.Sdk;

namespace SpanAttention.Tests.Support;

/// <summary>Deterministic random data and tolerance-aware comparisons shared by all tests.</summary>
internal static class Numerics
{
    /// <summary>Sizes every kernel test sweeps: 0..70, so every SIMD remainder runs, plus primes and larger shapes.</summary>
    public static IEnumerable<int> Sizes()
    {
        for (int n = 0; n <= 70; n++)
        {
            yield return n;
        }
        foreach (int n in new[] { 97, 127, 131, 257, 509, 1021, 1024, 4099 })
        {
            yield return n;
        }
    }

    /// <summary>Sizes as xunit theory data.</summary>
    public static TheoryData<int> SizeData()
    {
        var data = new TheoryData<int>();
        foreach (int n in Sizes())
        {
            data.Add(n);
        }
        return data;
    }

    /// <summary>An array of uniform values in [-scale, scale) from a fixed seed.</summary>
    public static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        }
        return x;
    }

    /// <summary>
    /// Asserts |expected - actual| &lt;= atol + rtol·|expected| element by element, naming the first index that fails.
    /// </summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float rtol, float atol, string what = "")
    {
        if (expected.Length != actual.Length)
        {
            throw new XunitException($"{what}: length {actual.Length}, expected {expected.Length}");
        }
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i];
            float a = actual[i];
            if (float.IsNaN(a) || !(MathF.Abs(e - a) <= atol + rtol * MathF.Abs(e)))
            {
                throw new XunitException($"{what}: element {i} of {expected.Length} is {a:R}, expected {e:R} (|diff| {MathF.Abs(e - a):R}, rtol {rtol}, atol {atol})");
            }
        }
    }

    /// <summary>Asserts every element is exactly equal (bit patterns of ±0 aside).</summary>
    public static void AssertEqual(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what = "") =>
        AssertClose(expected, actual, 0f, 0f, what);
}
