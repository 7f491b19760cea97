namespace SpanAttention.Visualization;

/// <summary>The tokens or weights given to <see cref="AttentionHeatmap"/> do not describe a heatmap: the
/// message names what is wrong (a count, a position, a value).</summary>
public sealed class HeatmapInputException : ArgumentException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public HeatmapInputException()
        : base("The heatmap input is invalid.")
    {
    }

    /// <summary>Creates the exception with a message saying what is wrong.</summary>
    /// <param name="message">What is wrong.</param>
    public HeatmapInputException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The underlying error.</param>
    public HeatmapInputException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
