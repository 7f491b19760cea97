namespace SpanAttention.Cli.Images;

/// <summary>
/// An image the CLI cannot use, or a bad line of an image-caption TSV: the message names the file (and the TSV line
/// when there is one) and what is wrong: a missing file, not a PNG or JPEG, a corrupt one, the wrong channels, a
/// missing tab or an empty caption.
/// </summary>
internal sealed class ImageInputException : CliException
{
    public ImageInputException()
        : this("The image input is invalid.")
    {
    }

    public ImageInputException(string message)
        : base(message)
    {
    }

    public ImageInputException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
