namespace SpanAttention.Cli;

/// <summary>
/// An expected failure of a command (bad input, a missing file, an option that does not fit): the
/// top-level handler prints its message as one line on stderr and exits with <see cref="ExitCode"/>,
/// without a stack trace.
/// </summary>
internal class CliException : Exception
{
    public CliException()
        : this("The command failed.")
    {
    }

    public CliException(string message)
        : this(message, ExitCodes.Failure)
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
        ExitCode = ExitCodes.Failure;
    }

    public CliException(string message, int exitCode)
        : base(message)
    {
        ExitCode = exitCode;
    }

    /// <summary>The process exit code (nonzero).</summary>
    public int ExitCode { get; }
}

/// <summary>The command line is wrong (an option value that does not fit, a conflicting pair): exit code 2, like a parse error.</summary>
internal sealed class UsageException : CliException
{
    public UsageException()
        : this("Invalid usage.")
    {
    }

    public UsageException(string message)
        : base(message, ExitCodes.Usage)
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The exit codes of <c>spanattn</c>.</summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Success = 0;

    /// <summary>An expected error: bad input, a missing or corrupt file.</summary>
    public const int Failure = 1;

    /// <summary>The command line could not be parsed (unknown option, missing argument, bad value).</summary>
    public const int Usage = 2;

    /// <summary>A bug: an exception nobody expected (the message names its type; SPANATTN_DEBUG=1 prints the stack trace).</summary>
    public const int InternalError = 70;
}
