namespace SpanAttention.Training;

/// <summary>The gradients' total norm is NaN or infinite: the step that produced them must not be applied.</summary>
public sealed class NonFiniteGradientException : Exception
{
    /// <summary>Creates the exception with a generic message.</summary>
    public NonFiniteGradientException()
        : base("The gradient norm is not finite.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong (the norm, and the step if known).</param>
    public NonFiniteGradientException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public NonFiniteGradientException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
