namespace SpanAttention.IO;

/// <summary>
/// A model file (safetensors) is malformed, or does not match the model it is loaded into. The message
/// names what is wrong and, where there is one, the tensor or header field.
/// </summary>
public sealed class ModelFileException : Exception
{
    /// <summary>Creates the exception with a generic message.</summary>
    public ModelFileException()
        : base("The model file is invalid.")
    {
    }

    /// <summary>Creates the exception with a message saying what is wrong.</summary>
    /// <param name="message">What is wrong, naming the tensor or field.</param>
    public ModelFileException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    /// <param name="message">What is wrong, naming the tensor or field.</param>
    /// <param name="innerException">The underlying error (e.g. a JSON parse error).</param>
    public ModelFileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
