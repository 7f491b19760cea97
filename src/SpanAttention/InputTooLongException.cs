namespace SpanAttention;

/// <summary>An input has more tokens than <see cref="DecodingOptions.MaxSourceLength"/> allows.</summary>
public sealed class InputTooLongException : ArgumentException
{
    /// <summary>Creates the exception for input number <paramref name="index"/> (0-based) of <paramref name="length"/> tokens.</summary>
    /// <param name="index">Which input (0-based, in the order given).</param>
    /// <param name="length">Its tokens.</param>
    /// <param name="limit">The most tokens allowed.</param>
    /// <param name="paramName">The argument that held it.</param>
    public InputTooLongException(int index, int length, int limit, string? paramName)
        : base($"Input {index + 1} has {length} tokens, more than the limit of {limit} (DecodingOptions.MaxSourceLength).", paramName)
    {
        Index = index;
        Length = length;
        Limit = limit;
    }

    /// <summary>Which input (0-based).</summary>
    public int Index { get; }

    /// <summary>Its tokens.</summary>
    public int Length { get; }

    /// <summary>The most tokens allowed.</summary>
    public int Limit { get; }
}
