using System.Globalization;

namespace SpanAttention.Evaluation;

/// <summary>A range of source lengths, in tokens, both ends included.</summary>
/// <param name="Min">The shortest length in the bucket (≥ 0).</param>
/// <param name="Max">The longest length in the bucket (≥ Min; <see cref="int.MaxValue"/> for open-ended).</param>
public readonly record struct LengthBucket(int Min, int Max)
{
    /// <summary>Whether a source of this length falls in the bucket.</summary>
    /// <param name="length">A source length in tokens.</param>
    /// <returns>Min ≤ length ≤ Max.</returns>
    public bool Contains(int length) => length >= Min && length <= Max;

    /// <summary>The label used in tables: <c>5</c>, <c>1-10</c> or <c>41+</c>.</summary>
    public string Label =>
        Min == Max ? Min.ToString(CultureInfo.InvariantCulture)
        : Max == int.MaxValue ? $"{Min.ToString(CultureInfo.InvariantCulture)}+"
        : $"{Min.ToString(CultureInfo.InvariantCulture)}-{Max.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Consecutive buckets of equal width starting at 1: 1..w, w+1..2w, … up to the one holding <paramref name="longest"/>.</summary>
    /// <param name="width">Lengths per bucket (≥ 1).</param>
    /// <param name="longest">The longest source length to cover (≥ 1).</param>
    /// <returns>The buckets, shortest first.</returns>
    public static IReadOnlyList<LengthBucket> Uniform(int width, int longest)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(longest, 1);
        var buckets = new List<LengthBucket>();
        for (int min = 1; min <= longest; min += width)
        {
            buckets.Add(new LengthBucket(min, min + width - 1));
        }
        return buckets;
    }

    /// <summary>Buckets from ascending upper bounds: (0..b₀], (b₀..b₁], …, and (last..∞) — e.g. 10, 20 gives 1-10, 11-20, 21+.</summary>
    /// <param name="upperBounds">Strictly increasing upper bounds (each ≥ 1).</param>
    /// <returns>The buckets, shortest first, the last open-ended.</returns>
    public static IReadOnlyList<LengthBucket> FromUpperBounds(IReadOnlyList<int> upperBounds)
    {
        ArgumentNullException.ThrowIfNull(upperBounds);
        var buckets = new List<LengthBucket>();
        int min = 1;
        foreach (int bound in upperBounds)
        {
            if (bound < min)
            {
                throw new ArgumentException($"Bucket bounds must be strictly increasing and at least 1; got {string.Join(", ", upperBounds)}.", nameof(upperBounds));
            }
            buckets.Add(new LengthBucket(min, bound));
            min = bound + 1;
        }
        buckets.Add(new LengthBucket(min, int.MaxValue));
        return buckets;
    }
}
