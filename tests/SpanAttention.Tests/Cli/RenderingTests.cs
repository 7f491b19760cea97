using SpanAttention.Cli;
using SpanAttention.Cli.Rendering;
using SpanAttention.Visualization;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary>Terminal rendering: colour detection, display width, the heatmap and tables.</summary>
public class RenderingTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void SvgAxisTicks_RangeStartingJustBelowZero_ZeroIsLabelledWithoutASign()
    {
        var axis = new SvgAxis(-0.3, 39.3, 0, 100, logarithmic: false, integers: true);

        string[] labels = [.. axis.Ticks().Select(SvgAxis.Label)];

        Assert.Equal(["0", "10", "20", "30"], labels);
    }

    [Fact]
    public void DetectColor_Redirected_Plain() =>
        Assert.Equal(ColorMode.Plain, Terminal.DetectColor(Env(("COLORTERM", "truecolor")), outputRedirected: true));

    [Fact]
    public void DetectColor_NoColorSet_Plain() =>
        Assert.Equal(ColorMode.Plain, Terminal.DetectColor(Env(("NO_COLOR", "1"), ("COLORTERM", "truecolor")), outputRedirected: false));

    [Fact]
    public void DetectColor_NoColorEmpty_Ignored() =>
        Assert.Equal(ColorMode.Ansi256, Terminal.DetectColor(Env(("NO_COLOR", "")), outputRedirected: false));

    [Fact]
    public void DetectColor_DumbTerminal_Plain() =>
        Assert.Equal(ColorMode.Plain, Terminal.DetectColor(Env(("TERM", "dumb")), outputRedirected: false));

    [Theory]
    [InlineData("truecolor", "TrueColor")]
    [InlineData("24bit", "TrueColor")]
    [InlineData(null, "Ansi256")]
    public void DetectColor_Terminal_ByColorTerm(string? colorTerm, string expected) =>
        Assert.Equal(Enum.Parse<ColorMode>(expected), Terminal.DetectColor(colorTerm is null ? Env() : Env(("COLORTERM", colorTerm)), outputRedirected: false));

    [Fact]
    public void Resolve_ChoicesAndBadValue()
    {
        Assert.Equal(ColorMode.Plain, Terminal.Resolve("never", ColorMode.TrueColor));
        Assert.Equal(ColorMode.Ansi256, Terminal.Resolve("always", ColorMode.Plain));
        Assert.Equal(ColorMode.TrueColor, Terminal.Resolve("auto", ColorMode.TrueColor));
        Assert.Throws<UsageException>(() => Terminal.Resolve("sometimes", ColorMode.Plain));
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("food", 4)]
    [InlineData("मैं", 1)]          // म + vowel sign ै (Mn) + anusvara ं (Mn)
    [InlineData("खाना", 4)]         // ख ा न ा: the vowel sign ा is spacing (Mc)
    [InlineData("हूँ", 1)]          // ह + ू (Mn) + ँ (Mn)
    [InlineData("रहा", 3)]
    [InlineData("e\u0301", 1)]      // e + combining acute
    [InlineData("日本", 4)]         // East Asian Wide
    [InlineData("ｆｕｌｌ", 8)]     // fullwidth forms
    [InlineData("a\u200Db", 2)]     // zero-width joiner (Cf)
    public void DisplayWidth_Of_CountsTerminalColumns(string text, int expected) =>
        Assert.Equal(expected, DisplayWidth.Of(text));

    [Fact]
    public void TerminalHeatmap_Plain_ExactDrawing()
    {
        string drawing = TerminalHeatmap.Render(["a", "bcd"], ["x", "yy"], [0.1f, 0.9f, 0.5f, 0.5f], ColorMode.Plain);

        string expected =
            "   a  bcd\n" +
            "x  ·· ███\n" +
            "yy ▒▒ ▒▒▒\n" +
            "weight: · <0.2  ░ <0.4  ▒ <0.6  ▓ <0.8  █ ≥0.8\n";
        Assert.Equal(expected, drawing);
    }

    [Theory]
    [InlineData(0f, '·')]
    [InlineData(0.19f, '·')]
    [InlineData(0.2f, '░')]
    [InlineData(0.45f, '▒')]
    [InlineData(0.79f, '▓')]
    [InlineData(0.8f, '█')]
    [InlineData(1f, '█')]
    [InlineData(1.0005f, '█')]
    [InlineData(-0.0005f, '·')]
    public void TerminalHeatmap_Shade_Fifths(float weight, char expected) =>
        Assert.Equal(expected, TerminalHeatmap.Shade(weight));

    [Fact]
    public void TerminalHeatmap_Devanagari_ColumnsLineUpByDisplayWidth()
    {
        string[] source = ["मैं", "खाना", "खा", "रहा", "हूँ"];
        string[] target = ["i", "am", "eating", "food"];
        float[] weights = new float[target.Length * source.Length];
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = (i % 7) / 6f;
        }

        string drawing = TerminalHeatmap.Render(source, target, weights, ColorMode.Plain);

        string[] lines = CliRunner.Lines(drawing);
        Assert.Contains("मैं", lines[0], StringComparison.Ordinal);
        Assert.Contains("हूँ", lines[0], StringComparison.Ordinal);
        // Header and every row have the same display width: the header's last token ends where the grid does.
        int width = DisplayWidth.Of(lines[1]);
        for (int i = 1; i <= target.Length; i++)
        {
            Assert.Equal(width, DisplayWidth.Of(lines[i]));
        }
        Assert.Equal(width, DisplayWidth.Of(lines[0]) + (2 - DisplayWidth.Of("हूँ")));
        // Each column starts at the same display column in the header and in the rows.
        Assert.Equal("eating ", lines[3][..7]);
    }

    [Fact]
    public void TerminalHeatmap_Color_UsesEscapesAndResets()
    {
        string trueColor = TerminalHeatmap.Render(["a"], ["x"], [1f], ColorMode.TrueColor);
        string palette = TerminalHeatmap.Render(["a"], ["x"], [0f], ColorMode.Ansi256);

        Assert.Contains("\u001b[48;2;253;231;37m", trueColor, StringComparison.Ordinal); // viridis yellow at 1
        Assert.Contains("\u001b[48;5;", palette, StringComparison.Ordinal);
        Assert.Contains("\u001b[0m", palette, StringComparison.Ordinal);
        Assert.DoesNotContain('█', trueColor);
    }

    [Fact]
    public void TerminalHeatmap_WrongWeightCount_Throws()
    {
        var e = Assert.Throws<HeatmapInputException>(() => TerminalHeatmap.Render(["a", "b"], ["x"], [1f], ColorMode.Plain));
        Assert.Contains("1 x 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TextTable_Text_AlignsByDisplayWidth()
    {
        string table = TextTable.Render(["token", "n"], [["मैं", "1"], ["food", "12"]], [false, true]);

        Assert.Equal(
            "token   n\n" +
            "---------\n" +
            "मैं       1\n" +
            "food   12\n",
            table);
    }

    [Fact]
    public void TextTable_Markdown_EscapesPipes()
    {
        string table = TextTable.Render(["a", "b"], [["x|y", "2"]], [false, true], TableFormat.Markdown);

        Assert.Equal(
            "| a    |   b |\n" +
            "| ---- | --: |\n" +
            "| x\\|y |   2 |\n",
            table);
    }

    [Fact]
    public void TextTable_RaggedRow_Throws() =>
        Assert.Throws<ArgumentException>(() => TextTable.Render(["a", "b"], [["only one"]]));
}
