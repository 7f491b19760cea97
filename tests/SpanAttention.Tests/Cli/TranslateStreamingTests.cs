using SpanAttention.Cli.Commands;
using SpanAttention.Data;
using SpanAttention.Tests.IO;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary><c>translate</c> over more lines than one block: read and written block by block, in input order.</summary>
public sealed class TranslateStreamingTests
{
    [Fact]
    public void Translate_StdinOfSeveralBlocks_OneOutputLinePerInputLineInOrder()
    {
        string fixture = ModelFileCompatibilityTests.FixturePath;
        string[] sentences = [.. HindiEnglish.Generate(500, seed: 4).Select(p => p.Source)];
        var lines = new List<string> { "", "" };                                                   // held back until a line has tokens
        for (int i = 0; lines.Count < 2 * TranslateCommand.BlockLines + 7; i++)
        {
            lines.Add(i % 9 == 8 ? "" : sentences[i % sentences.Length]);
        }
        (int code, string output, string error) = CliRunner.RunWithStdin(string.Join('\n', lines) + "\n", "translate", fixture);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        string[] outputs = output.Split('\n')[..^1];
        Assert.Equal(lines.Count, outputs.Length);
        using var model = TranslationModel.Load(fixture);
        var alone = new Dictionary<string, string> { [""] = "" };
        for (int i = 0; i < lines.Count; i++)
        {
            if (!alone.TryGetValue(lines[i], out string? expected))
            {
                alone[lines[i]] = expected = model.Translate(lines[i]);
            }
            Assert.Equal(expected, outputs[i]);
        }
    }

    [Fact]
    public void Translate_StdinWithoutTokens_ErrorAndNoOutput()
    {
        (int code, string output, string error) = CliRunner.RunWithStdin("\n \n\n", "translate", ModelFileCompatibilityTests.FixturePath);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        CliRunner.AssertOneErrorLine(error, "No input");
    }
}
