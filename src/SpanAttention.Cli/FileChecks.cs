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

    /// <summary>
    /// Refuses a command's outputs when one resolves (full path, symbolic links followed) to one of its inputs or
    /// to another of its outputs, and checks that each output's folder exists and accepts new files, all before
    /// any work starts. Null paths (options not given) are skipped.
    /// </summary>
    /// <param name="inputs">The files the command reads, with what each is (e.g. "model file").</param>
    /// <param name="outputs">The files the command writes, with what each is.</param>
    /// <exception cref="UsageException">Two paths name the same file.</exception>
    public static void CheckOutputs(IReadOnlyList<(string? Path, string What)> inputs, IReadOnlyList<(string? Path, string What)> outputs)
    {
        var seen = new List<(string Real, string Path, string What)>();
        foreach ((string? path, string what) in inputs)
        {
            if (!string.IsNullOrWhiteSpace(path))
            {
                seen.Add((RealPath(path), path, what));
            }
        }
        foreach ((string? path, string what) in outputs)
        {
            if (path is null)
            {
                continue;
            }
            RequireOutputFolder(path, what);
            string real = RealPath(path);
            foreach ((string otherReal, string otherPath, string otherWhat) in seen)
            {
                if (string.Equals(real, otherReal, PathComparison))
                {
                    throw new UsageException($"the {what} '{path}' is the same file as the {otherWhat} '{otherPath}': give another path (it would be overwritten).");
                }
            }
            seen.Add((real, path, what));
        }
        foreach ((string? path, string what) in outputs)
        {
            if (path is not null)
            {
                try
                {
                    SpanAttention.IO.AtomicFile.CheckWritable(path);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new CliException($"cannot write the {what} '{path}': {e.Message.Replace($"cannot write '{path}': ", "", StringComparison.Ordinal)}");
                }
            }
        }
    }

    private static StringComparison PathComparison => OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;

    /// <summary>The full path with every symbolic link along it resolved (at most 40 links, as POSIX allows).</summary>
    internal static string RealPath(string path)
    {
        string full = Path.GetFullPath(path);
        for (int hops = 0; hops < 40; hops++)
        {
            string? resolved = ResolveFirstLink(full);
            if (resolved is null)
            {
                return full;
            }
            full = resolved;
        }
        return full;
    }

    /// <summary>Replaces the first component of <paramref name="full"/> that is a symbolic link by its target; null when there is none.</summary>
    private static string? ResolveFirstLink(string full)
    {
        string root = Path.GetPathRoot(full) ?? "";
        string[] parts = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        string current = root;
        for (int i = 0; i < parts.Length; i++)
        {
            current = Path.Combine(current, parts[i]);
            string? target;
            try
            {
                target = new FileInfo(current).LinkTarget;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
            if (target is not null)
            {
                string resolved = Path.GetFullPath(target, Path.GetDirectoryName(current) ?? root);
                return i + 1 < parts.Length ? Path.Combine(resolved, string.Join(Path.DirectorySeparatorChar, parts[(i + 1)..])) : resolved;
            }
        }
        return null;
    }
}
