namespace SpanAttention.Data;

/// <summary>A dataset file is malformed; <see cref="LineNumber"/> says where (1-based; 0 for the whole file).</summary>
public sealed class DatasetFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public DatasetFormatException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    public DatasetFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The underlying error.</param>
    public DatasetFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a line of a named file.</summary>
    /// <param name="fileName">The file (or another name for the input).</param>
    /// <param name="lineNumber">1-based line number, or 0 when the problem is the whole file.</param>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public DatasetFormatException(string fileName, int lineNumber, string message, Exception? innerException = null)
        : base(lineNumber > 0 ? $"{fileName}:{lineNumber}: {message}" : $"{fileName}: {message}", innerException)
    {
        FileName = fileName;
        LineNumber = lineNumber;
    }

    /// <summary>The file (or input name) that is malformed.</summary>
    public string? FileName { get; }

    /// <summary>1-based line number of the bad line; 0 when the problem is the whole file.</summary>
    public int LineNumber { get; }
}
