using SpanAttention.Cli;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary>Atomic output files and input lines.</summary>
public class HelperTests
{
    [Fact]
    public void AtomicFile_Write_CreatesFileAndNoTempLeft()
    {
        using var folder = new TempFolder();
        string path = folder.File("model.safetensors");

        AtomicFile.Write(path, s => s.Write([1, 2, 3]));

        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void AtomicFile_WriterFails_ExistingFileUntouchedAndNoTempLeft()
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
    public void AtomicFile_WriterFailsWithoutExistingFile_NothingLeft()
    {
        using var folder = new TempFolder();

        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(folder.File("a.bin"), _ => throw new InvalidOperationException()));

        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void AtomicFile_MissingFolder_CliError()
    {
        using var folder = new TempFolder();

        var e = Assert.Throws<CliException>(() => AtomicFile.Write(Path.Combine(folder.Path, "nope", "a.bin"), _ => { }));

        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InputLines_Arguments_TakenAsSentences()
    {
        Assert.Equal(["मैं खाना खा रहा हूँ", "b"], InputLines.Read([" मैं खाना खा रहा हूँ ", "b"], new StringReader("ignored")));
    }

    [Fact]
    public void InputLines_NoArguments_NonBlankStdinLines()
    {
        Assert.Equal(["a b", "c"], InputLines.Read([], new StringReader("a b\n\n  \r\nc\n")));
    }

    [Fact]
    public void InputLines_EmptyInput_CliError()
    {
        Assert.Throws<CliException>(() => InputLines.Read(null, new StringReader("\n \n")));
    }

    [Fact]
    public void InputLines_BlankArgument_UsageError()
    {
        var e = Assert.Throws<UsageException>(() => InputLines.Read(["a", " "], TextReader.Null));
        Assert.Contains("argument 2", e.Message, StringComparison.Ordinal);
    }
}
