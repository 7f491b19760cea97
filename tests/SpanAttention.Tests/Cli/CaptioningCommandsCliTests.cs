using SpanAttention.Cli;
using SpanAttention.Data;
using SpanAttention.Evaluation;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary><c>attend</c>, <c>eval</c> and <c>info</c> given a captioning model: what they print and write, and what they refuse.</summary>
public sealed class CaptioningCommandsCliTests
{
    [Fact]
    public void Attend_ImageWithoutSvg_PrintsTheCaptionAndOneTerminalPanelPerWord()
    {
        using var folder = new TempFolder();
        (string model, string[] images, _) = CaptionCliTests.Setup(folder, 1);
        (int code, string output, string error) = CliRunner.Run("attend", model, images[0], "--max-length", "4");

        Assert.True(code == 0, error);
        using var library = CaptionModel.Load(model);
        string[] lines = output.Split('\n');
        Assert.StartsWith($"{images[0]} → ", lines[0], StringComparison.Ordinal);
        string caption = lines[0][($"{images[0]} → ").Length..];
        Assert.NotEqual("", caption);
        foreach (string word in caption.Split(' '))
        {
            Assert.Contains(word, output[lines[0].Length..], StringComparison.Ordinal);
        }
        Assert.Empty(Directory.GetFiles(folder.Path, "*.svg"));
    }

    [Fact]
    public void Attend_ImageWithSvg_WritesTheFigureWithOnePanelPerWord()
    {
        using var folder = new TempFolder();
        (string model, string[] images, _) = CaptionCliTests.Setup(folder, 1);
        string svg = folder.File("figure.svg");
        (int code, string output, string error) = CliRunner.Run("attend", model, images[0], "--svg", svg, "--max-length", "5");

        Assert.True(code == 0, error);
        Assert.EndsWith($"wrote {svg}", CliRunner.Lines(output)[^1], StringComparison.Ordinal);
        string text = File.ReadAllText(svg);
        int words = CliRunner.Lines(output)[0].Split(" → ")[1].Split(' ').Length;
        Assert.Equal(words, text.Split("class=\"panel\"").Length - 1);
        Assert.Contains("data:image/png;base64,", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Attend_RefusedInputs_OneLineAndNoFile()
    {
        using var folder = new TempFolder();
        (string model, string[] images, _) = CaptionCliTests.Setup(folder, 1);
        string none = folder.File("none.safetensors");
        CaptionModelFiles.Write(none, decoder: DecoderStyle.None);
        string svg = folder.File("figure.svg");

        (int code, string output, string error) = CliRunner.Run("attend", none, images[0], "--svg", svg);
        Assert.Equal(ExitCodes.Failure, code);
        CliRunner.AssertOneErrorLine(error, $"model '{none}' has no attention (decoder None): there is no attention to show.");
        Assert.Equal("", output);

        (code, output, error) = CliRunner.Run("attend", model, images[0], "--svg", images[0]);
        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, "image");
        Assert.Equal("", output);

        string corrupt = folder.File("bad.jpg");
        File.WriteAllBytes(corrupt, [0xFF, 0xD8, 0xFF, 0, 1]);
        (code, output, error) = CliRunner.Run("attend", model, corrupt, "--svg", svg);
        Assert.Equal(ExitCodes.Failure, code);
        CliRunner.AssertOneErrorLine(error, $"image '{corrupt}': corrupt JPEG");
        Assert.Equal("", output);
        Assert.False(File.Exists(svg));
    }

    [Fact]
    public void Eval_BuiltInTaskTwoModels_OneTableWithBothSplitsAndGroundingForTheAttentionModelOnly()
    {
        using var folder = new TempFolder();
        string attention = folder.File("attention.safetensors"), none = folder.File("none.safetensors");
        CaptionModelFiles.Write(attention);
        CaptionModelFiles.Write(none, decoder: DecoderStyle.None);
        (int code, string output, string error) = CliRunner.Run("eval", attention, none, "--task", "shapes", "--count", "1000", "--limit", "8");

        Assert.True(code == 0, error);
        Assert.StartsWith("evaluated on shapes (seed 1, count 1000)", output, StringComparison.Ordinal);
        using var library = CaptionModel.Load(attention);
        IReadOnlyList<CaptionSplitScore> scores = CaptionEvaluation.BuiltIn(library, "shapes", 1, 1000, 8);
        string[] rows = [.. CliRunner.Lines(output).Where(l => l.StartsWith("attention.safetensors", StringComparison.Ordinal) || l.StartsWith("none.safetensors", StringComparison.Ordinal))];
        Assert.Equal(4, rows.Length);
        Assert.Contains("held-out", rows[0], StringComparison.Ordinal);
        Assert.Contains("compositional", rows[1], StringComparison.Ordinal);
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        Assert.Contains(scores[0].Grounding!.Uniform.ToString("0.000", culture), rows[0], StringComparison.Ordinal);
        Assert.Contains(scores[0].Grounding!.Ceiling.ToString("0.000", culture), rows[0], StringComparison.Ordinal);
        Assert.EndsWith("-", rows[2].TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public void Eval_ImagesTsv_ScoresEveryLine()
    {
        using var folder = new TempFolder();
        (string model, string[] images, _) = CaptionCliTests.Setup(folder, 2);
        string tsv = folder.File("captions.tsv");
        File.WriteAllLines(tsv, [$"{Path.GetFileName(images[0])}\ta red circle", $"{Path.GetFileName(images[1])}\ta blue square"]);
        (int code, string output, string error) = CliRunner.Run("eval", model, "--images", tsv);

        Assert.True(code == 0, error);
        string row = CliRunner.Lines(output).Single(l => l.StartsWith("shapes.safetensors", StringComparison.Ordinal));
        Assert.Contains("captions.tsv", row, StringComparison.Ordinal);
        Assert.Contains(" 2 ", row, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--task hi-en", "--task hi-en is a text task; captioning models are scored on shapes or digits, or on --images FILE.tsv.", 2)]
    [InlineData("--task digits", "The digits images are 1 x 24 x 112; the model reads 3 x 48 x 48 (it was trained on another task).", 1)]
    [InlineData("--task shapes --images x.tsv", "give either --task or --images, not both.", 2)]
    [InlineData("--plot p.svg", "apply to text models; a captioning model takes --task shapes|digits, --images FILE.tsv or --features FILE.", 2)]
    public void Eval_CaptioningModelBadOptions_OneClearLine(string options, string message, int exit)
    {
        using var folder = new TempFolder();
        string model = folder.File("shapes.safetensors");
        CaptionModelFiles.Write(model);
        (int code, string output, string error) = CliRunner.Run(["eval", model, .. options.Split(' ')]);
        Assert.Equal(exit, code);
        CliRunner.AssertOneErrorLine(error, message);
        Assert.Equal("", output);
    }

    [Fact]
    public void Eval_MixedTextAndCaptioningModels_Refused()
    {
        using var folder = new TempFolder();
        string model = folder.File("shapes.safetensors"), text = folder.File("text.safetensors");
        CaptionModelFiles.Write(model);
        CaptionModelFiles.WriteTextModel(text);
        (int code, _, string error) = CliRunner.Run("eval", model, text, "--task", "shapes");
        Assert.Equal(ExitCodes.Usage, code);
        CliRunner.AssertOneErrorLine(error, $"'{text}' is not a captioning model, and '{model}' is: eval compares models of one kind.");
    }

    [Fact]
    public void Info_ImageModel_SummarisesEncoderGridPreprocessingAndParameters()
    {
        using var folder = new TempFolder();
        string model = folder.File("shapes.safetensors");
        Seq2SeqModel written = CaptionModelFiles.Write(model);
        (int code, string output, string error) = CliRunner.Run("info", model);

        Assert.True(code == 0, error);
        string[] lines = CliRunner.Lines(output);
        Assert.Contains("captioning model: image encoder, CNN conv 4-8 (each block conv 3x3 + ReLU + 2x2 max pooling), grid 6x6 (L = 36 positions of 8 features)", lines);
        Assert.Contains("preprocessing: 3 x 48 x 48 RGB pixels in [0, 1] (images are resized to it), normalised (x - mean) / std with mean 0.5, 0.5, 0.5, std 0.5, 0.5, 0.5", lines);
        Assert.Contains($"parameters: {written.Layout.Count:N0}", lines);
        Assert.Contains("trained on: shapes (seed 1)", lines);
        Assert.Contains(lines, l => l.StartsWith("decoder: Gru E=8 H=16, Bahdanau/Additive attention; vocabulary ", StringComparison.Ordinal));
    }

    [Fact]
    public void Info_TextModel_NoCaptioningSummary()
    {
        using var folder = new TempFolder();
        string text = folder.File("text.safetensors");
        CaptionModelFiles.WriteTextModel(text);
        (int code, string output, _) = CliRunner.Run("info", text);
        Assert.Equal(0, code);
        Assert.DoesNotContain("captioning model", output, StringComparison.Ordinal);
    }

    [Fact]
    public void DemoShapes_SmallRun_TrainsSavesCaptionsAndWritesTheFigure()
    {
        using var folder = new TempFolder();
        string model = folder.File("shapes.safetensors"), svg = folder.File("figure.svg");
        (int code, string output, string error) = CliRunner.Run("demo", "--task", "shapes", "--count", "120", "--epochs", "1", "--threads", "1", "-o", model, "--svg", svg, "--color", "never");

        Assert.True(code == 0, error);
        Assert.StartsWith("spanattn demo --task shapes: captioning 48 x 48 scenes", output, StringComparison.Ordinal);
        Assert.Contains("held-out scenes (never seen in training):", output, StringComparison.Ordinal);
        Assert.Contains($"wrote {svg} (the scene once per word, that word's attention overlaid)", output, StringComparison.Ordinal);
        using var library = CaptionModel.Load(model);
        Assert.Equal((6, 6), (library.GridHeight, library.GridWidth));
        string caption = CliRunner.Lines(output).Single(l => l.StartsWith("attention, word by word: ", StringComparison.Ordinal))["attention, word by word: ".Length..];
        Assert.Equal(caption.Split(' ').Length, File.ReadAllText(svg).Split("class=\"panel\"").Length - 1);
    }

    [Theory]
    [InlineData("--task shapes --log x.jsonl", "--log applies to the translation demo", 2)]
    [InlineData("--task dates", "dates", 2)]
    public void DemoShapes_RefusedOptions_OneLine(string options, string message, int exit)
    {
        (int code, string output, string error) = CliRunner.Run(["demo", .. options.Split(' ')]);
        Assert.Equal(exit, code);
        CliRunner.AssertOneErrorLine(error, message);
        Assert.Equal("", output);
    }
}
