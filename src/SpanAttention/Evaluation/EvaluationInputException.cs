namespace SpanAttention.Evaluation;

/// <summary>Hypotheses and references that cannot be scored together (different counts, an empty corpus,
/// a null sentence): the message names what is wrong.</summary>
public sealed class EvaluationInputException : ArgumentException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public EvaluationInputException()
        : base("The evaluation input is invalid.")
    {
    }

    /// <summary>Creates the exception with a message saying what is wrong.</summary>
    /// <param name="message">What is wrong.</param>
    public EvaluationInputException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The underlying error.</param>
    public EvaluationInputException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
