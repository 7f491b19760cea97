namespace SpanAttention.Cli;

/// <summary>Checks on user-given paths that give a clearer message than the exception the open would throw.</summary>
internal static class FileChecks
{
    /// <summary>Throws a <see cref="CliException"/> unless <paramref name="path"/> is an existing file (not a folder).</summary>
    /// <param name="path">The path from the command line.</param>
    /// <param name="what">What the file is, for the message (e.g. "model file").</param>
    public static void RequireReadableFile(string path, string what)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new UsageException($"The {what} path is empty.");
        }
        if (Directory.Exists(path))
        {
            throw new CliException($"{what} '{path}' is a folder, not a file.");
        }
        if (!File.Exists(path))
        {
            throw new CliException($"{what} '{path}' does not exist.");
        }
    }

    /// <summary>Throws a <see cref="CliException"/> unless the folder that would hold <paramref name="path"/> exists.</summary>
    /// <param name="path">An output file path from the command line.</param>
    /// <param name="what">What the file is, for the message (e.g. "heatmap file").</param>
    public static void RequireOutputFolder(string path, string what)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new UsageException($"The {what} path is empty.");
        }
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null && !Directory.Exists(folder))
        {
            throw new CliException($"cannot write {what} '{path}': the folder '{folder}' does not exist.");
        }
    }
}
