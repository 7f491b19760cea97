namespace SpanAttention.Inference;

/// <summary>
/// The limits every decoding path shares: how long an input may be, and how many decoder steps an output of a
/// given input may take.
/// </summary>
public static class DecodeLimits
{
    /// <summary>
    /// The longest input accepted by default, in tokens (its <c>&lt;eos&gt;</c> not counted). Decoding a source of S
    /// ids takes memory in O(S · T) with T = <see cref="MaxOutputLength"/>(S) steps (the attention weights kept
    /// for the alignment), so an unbounded input would grow without bound; at this limit one line of the demo model
    /// stays around 100 MB even when the model never emits <c>&lt;eos&gt;</c>, and a greedy batch multiplies that by its
    /// rows (docs/performance.md, "Decoding memory at the maximum source length"). Raise it through
    /// <see cref="DecodingOptions.MaxSourceLength"/>.
    /// </summary>
    public const int DefaultMaxSourceLength = 1024;

    /// <summary>
    /// The one output-length rule of greedy and beam decoding, in <c>translate</c>, <c>eval</c> and the library:
    /// at most 2·S + 10 decoder steps (the <c>&lt;eos&gt;</c> step included) for a source of S ids (its
    /// <c>&lt;eos&gt;</c> included); inputs decoded greedily together use S of the longest of them.
    /// </summary>
    /// <param name="sourceIds">S: the source's ids, <c>&lt;eos&gt;</c> included.</param>
    /// <returns>The most decoder steps its output may take.</returns>
    public static int MaxOutputLength(int sourceIds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sourceIds);
        return (int)Math.Min(int.MaxValue, 2L * sourceIds + 10);
    }
}
