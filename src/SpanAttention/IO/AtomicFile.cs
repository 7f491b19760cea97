using System.Diagnostics;
using System.Globalization;

namespace SpanAttention.IO;

/// <summary>
/// Output files that are either complete or absent. The content goes to a temporary file in the same folder,
/// which is renamed over the destination only after it was written and flushed to disk: a failure (an exception
/// from the writer, a full disk, a kill before the rename) never leaves a partial destination, and an existing
/// destination stays as it was. The rename is atomic on one file system (POSIX rename, Windows MoveFileEx).
/// </summary>
/// <remarks>
/// The temporary file is named <c>.NAME.PID-GUID.tmp</c> (NAME the destination's file name, PID the writing
/// process). A process killed between create and rename leaves its temporary behind; the next write of the same
/// destination removes every such file whose process is no longer running (and, for the older
/// <c>.NAME.GUID.tmp</c> form, any older than an hour), so interrupted saves do not pile up.
/// </remarks>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through a temporary sibling and a rename.</summary>
    /// <param name="path">The file to create or replace; its folder must exist.</param>
    /// <param name="write">Writes the whole content to the stream it is given.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">No permission to write there.</exception>
    public static void Write(string path, Action<Stream> write) => Write(path, write, wrap: null);

    /// <summary>Writes bytes to <paramref name="path"/> through a temporary sibling and a rename.</summary>
    /// <param name="path">The file to create or replace; its folder must exist.</param>
    /// <param name="bytes">The whole content.</param>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        byte[] copy = bytes.ToArray();
        Write(path, stream => stream.Write(copy));
    }

    /// <summary>The same, with a test hook that wraps the file stream (e.g. to fail mid-write).</summary>
    internal static void Write(string path, Action<Stream> write, Func<Stream, Stream>? wrap)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? throw new IOException($"'{path}' has no folder.");
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"cannot write '{path}': the folder '{folder}' does not exist.");
        }
        string name = Path.GetFileName(full);
        RemoveStaleTemporaries(folder, name);
        string temporary = Path.Combine(folder, TemporaryName(name, Environment.ProcessId, Guid.NewGuid()));
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Stream target = wrap is null ? file : wrap(file);
                write(target);
                target.Flush();
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>
    /// Throws unless a file can be created in the folder of <paramref name="path"/>: creates and deletes a probe
    /// temporary there. Lets a long job (training) fail at once on an unwritable output instead of at its end.
    /// </summary>
    /// <param name="path">The output file.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="IOException">The folder does not accept new files (read-only file system, /proc, ...).</exception>
    /// <exception cref="UnauthorizedAccessException">No permission to write there.</exception>
    public static void CheckWritable(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? throw new IOException($"'{path}' has no folder.");
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"cannot write '{path}': the folder '{folder}' does not exist.");
        }
        if (Directory.Exists(full))
        {
            throw new IOException($"cannot write '{path}': it is a folder.");
        }
        string probe = Path.Combine(folder, TemporaryName(Path.GetFileName(full), Environment.ProcessId, Guid.NewGuid()));
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (IOException e)
        {
            throw new IOException($"cannot write '{path}': the folder '{folder}' does not accept new files ({Reason(e, probe)}).", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"cannot write '{path}': no permission to create files in the folder '{folder}' ({Reason(e, probe)}).", e);
        }
        finally
        {
            TryDelete(probe);
        }
    }

    /// <summary>The system's message without the probe's name, which means nothing to the user.</summary>
    private static string Reason(Exception e, string probe) =>
        e.Message.Replace($" : '{probe}'", "", StringComparison.Ordinal).Replace($" '{probe}'", "", StringComparison.Ordinal)
            .Replace(probe, "", StringComparison.Ordinal).TrimEnd('.', ' ');

    /// <summary><c>.NAME.PID-GUID.tmp</c>.</summary>
    internal static string TemporaryName(string name, int processId, Guid id) =>
        string.Create(CultureInfo.InvariantCulture, $".{name}.{processId}-{id:N}.tmp");

    /// <summary>Deletes the temporaries of <paramref name="name"/> left by processes that no longer run.</summary>
    internal static void RemoveStaleTemporaries(string folder, string name)
    {
        string[] candidates;
        try
        {
            candidates = Directory.GetFiles(folder, $".{name}.*.tmp");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return; // cleaning up is best effort; the write itself reports a real problem
        }
        foreach (string candidate in candidates)
        {
            string middle = Path.GetFileName(candidate)[(name.Length + 2)..^4];   // PID-GUID, or GUID (older form)
            if (IsStale(middle, candidate))
            {
                TryDelete(candidate);
            }
        }
    }

    private static bool IsStale(string middle, string file)
    {
        int dash = middle.IndexOf('-', StringComparison.Ordinal);
        if (dash > 0 && middle.Length - dash - 1 == 32
            && int.TryParse(middle.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            && Guid.TryParseExact(middle.AsSpan(dash + 1), "N", out _))
        {
            return !IsRunning(pid);
        }
        if (middle.Length == 32 && Guid.TryParseExact(middle, "N", out _))
        {
            try
            {
                return File.GetLastWriteTimeUtc(file) < DateTime.UtcNow.AddHours(-1);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }
        return false; // not one of ours: never touched
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId)
        {
            return true;
        }
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
            // Best effort: the original error matters more than a leftover temporary file.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
