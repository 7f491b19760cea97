namespace SpanAttention.Cli;

/// <summary>
/// Output files that are either complete or absent: the content goes to a temporary file in the same
/// folder, which is renamed over the destination only after it was written and flushed. A failure (an
/// exception from the writer, a full disk, Ctrl+C before the rename) leaves no partial file behind and
/// an existing destination untouched. The rename is atomic on one file system (POSIX rename, Windows
/// MoveFileEx with replace).
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through a temporary file and a rename.</summary>
    /// <param name="path">The file to create or replace; its folder must exist.</param>
    /// <param name="write">Writes the whole content to the stream it is given.</param>
    /// <exception cref="CliException">The folder does not exist.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        FileChecks.RequireOutputFolder(path, "output file");
        string full = Path.GetFullPath(path);
        string temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temporary);
            }
            catch (IOException)
            {
                // Best effort: the original error is what the user needs to see.
            }
            catch (UnauthorizedAccessException)
            {
                // Best effort.
            }
            throw;
        }
    }
}
