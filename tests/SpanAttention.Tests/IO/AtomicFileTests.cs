using System.Diagnostics;
using SpanAttention.IO;
using SpanAttention.Tests.Cli;
using Xunit;

namespace SpanAttention.Tests.IO;

/// <summary>Output files that are complete or absent, the writability probe and the clean-up of interrupted saves.</summary>
public class AtomicFileTests
{
    [Fact]
    public void Write_CreatesFileAndNoTempLeft()
    {
        using var folder = new TempFolder();
        string path = folder.File("model.safetensors");

        AtomicFile.Write(path, s => s.Write([1, 2, 3]));

        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void WriterFails_ExistingFileUntouchedAndNoTempLeft()
    {
        using var folder = new TempFolder();
        string path = folder.File("model.safetensors");
        File.WriteAllBytes(path, [9, 9]);

        Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write([1, 2, 3]);
            throw new IOException("disk full");
        }));

        Assert.Equal([9, 9], File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void WriterFailsWithoutExistingFile_NothingLeft()
    {
        using var folder = new TempFolder();

        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(folder.File("a.bin"), _ => throw new InvalidOperationException()));

        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void MissingFolder_NamesTheFolder()
    {
        using var folder = new TempFolder();
        string missing = Path.Combine(folder.Path, "nope");

        var e = Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.Write(Path.Combine(missing, "a.bin"), _ => { }));

        Assert.Contains($"the folder '{missing}' does not exist", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public void Write_RemovesTemporariesOfDeadProcessesOfTheSameFileOnly()
    {
        using var folder = new TempFolder();
        string path = folder.File("model.safetensors");
        int dead = DeadProcessId();
        string stale = folder.File(AtomicFile.TemporaryName("model.safetensors", dead, Guid.NewGuid()));
        string live = folder.File(AtomicFile.TemporaryName("model.safetensors", Environment.ProcessId, Guid.NewGuid()));
        string otherFile = folder.File(AtomicFile.TemporaryName("other.safetensors", dead, Guid.NewGuid()));
        string oldForm = folder.File($".model.safetensors.{Guid.NewGuid():N}.tmp");
        string recentOldForm = folder.File($".model.safetensors.{Guid.NewGuid():N}.tmp");
        string notOurs = folder.File(".model.safetensors.notes.tmp");
        foreach (string f in new[] { stale, live, otherFile, oldForm, recentOldForm, notOurs })
        {
            File.WriteAllBytes(f, [7]);
        }
        File.SetLastWriteTimeUtc(oldForm, DateTime.UtcNow.AddHours(-2));

        AtomicFile.Write(path, s => s.Write([1]));

        Assert.False(File.Exists(stale));
        Assert.False(File.Exists(oldForm));
        Assert.True(File.Exists(live));            // this process might be writing it
        Assert.True(File.Exists(otherFile));       // another destination's
        Assert.True(File.Exists(recentOldForm));   // older form, less than an hour old
        Assert.True(File.Exists(notOurs));         // not a name this class makes
        Assert.Equal([1], File.ReadAllBytes(path));
    }

    [Fact]
    public void CheckWritable_WritableFolder_LeavesNothing()
    {
        using var folder = new TempFolder();

        AtomicFile.CheckWritable(folder.File("m.safetensors"));

        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void CheckWritable_UnwritableFolderOrFolderPath_NamesThePath()
    {
        using var folder = new TempFolder();
        if (Directory.Exists("/proc/self"))
        {
            var proc = Assert.ThrowsAny<Exception>(() => AtomicFile.CheckWritable("/proc/m.safetensors"));
            Assert.True(proc is IOException or UnauthorizedAccessException, proc.GetType().Name);
            Assert.Contains("'/proc/m.safetensors'", proc.Message, StringComparison.Ordinal);
        }
        var isFolder = Assert.Throws<IOException>(() => AtomicFile.CheckWritable(folder.Path));
        Assert.Contains("it is a folder", isFolder.Message, StringComparison.Ordinal);
        Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.CheckWritable(Path.Combine(folder.Path, "nope", "m.bin")));
    }

    /// <summary>The id of a process that has exited (a finished child's, not reused this quickly).</summary>
    private static int DeadProcessId()
    {
        using var child = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        child.WaitForExit();
        return child.Id;
    }
}
