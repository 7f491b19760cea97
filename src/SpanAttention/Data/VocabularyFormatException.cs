namespace SpanAttention.Data;

/// <summary>A serialised vocabulary is malformed: not JSON, a missing or wrong field, an empty or
/// duplicate token, or the special tokens missing from their fixed ids.</summary>
public sealed class VocabularyFormatException : FormatException
{
    /// <summary>Creates the exception with a message saying what is wrong.</summary>
    public VocabularyFormatException()
    {
    }

    /// <summary>Creates the exception with a message saying what is wrong.</summary>
    /// <param name="message">What is wrong.</param>
    public VocabularyFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying parse error.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The underlying error.</param>
    public VocabularyFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
