namespace SpanAttention.Seq2Seq;

/// <summary>
/// A tiny deterministic random generator (SplitMix64) whose whole state is one <see cref="ulong"/>, so a
/// training checkpoint can save it and a resumed run draws exactly the same numbers.
/// </summary>
public sealed class SplitMix64
{
    /// <summary>Seeds the generator.</summary>
    /// <param name="seed">Any value.</param>
    public SplitMix64(ulong seed) => State = seed;

    /// <summary>The complete state (save it; assign it to resume).</summary>
    public ulong State { get; set; }

    /// <summary>The next 64 random bits.</summary>
    /// <returns>The value.</returns>
    public ulong NextUInt64() => Mix(State += Golden);

    /// <summary>The increment of the state per draw: 2^64 / φ.</summary>
    public const ulong Golden = 0x9E3779B97F4A7C15UL;

    /// <summary>
    /// SplitMix64's output function (a bijective 64-bit mixer): <c>NextUInt64() = Mix(State += Golden)</c>. Also
    /// a counter-based hash: <c>Mix(key + Golden·(i+1))</c> is the i-th draw of a generator seeded with key, computed
    /// without the draws before it (used for dropout masks, see <see cref="Dropout"/>).
    /// </summary>
    /// <param name="z">Any value.</param>
    /// <returns>The mixed value.</returns>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A uniform double in [0, 1).</summary>
    /// <returns>The value.</returns>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, n).</summary>
    /// <param name="n">Exclusive upper bound, ≥ 1.</param>
    /// <returns>The value.</returns>
    public int Next(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        return (int)((NextUInt64() >> 33) % (ulong)n);
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="items">The items.</param>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
