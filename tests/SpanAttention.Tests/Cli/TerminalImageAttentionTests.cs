using SpanAttention.Cli.Rendering;
using SpanAttention.Visualization;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary>The terminal version of the captioning attention figure.</summary>
public class TerminalImageAttentionTests
{
    private static readonly float[] TwoWords =
    [
        0f, 0f, 0f, 0f, 0f, 1f,                // "red": all on cell (1, 2)
        0.0625f, 0.125f, 0.1875f, 0.25f, 0.3125f, 0.5f, // "x": relative 0.125, 0.25, 0.375, 0.5, 0.625, 1
    ];

    [Fact]
    public void Render_Plain_ShadesRelativeToEachWordsLargestWeight()
    {
        string text = TerminalImageAttention.Render(["red", "x"], TwoWords, 2, 3, ColorMode.Plain);
        string[] lines = text.Split('\n');
        Assert.Equal("red     x", lines[0]);
        Assert.Equal("······  ··░░░░", lines[1]);
        Assert.Equal("····██  ▒▒▓▓██", lines[2]);
        Assert.Equal("", lines[3]);
        Assert.StartsWith("share of the word's largest weight", lines[4]);
        Assert.DoesNotContain('\u001b', text);
    }

    [Fact]
    public void Render_TrueColor_PaintsThePeakWithTheTopOfTheScale()
    {
        string text = TerminalImageAttention.Render(["red", "x"], TwoWords, 2, 3, ColorMode.TrueColor);
        (byte r, byte g, byte b) = ColorScale.Rgb(1);
        Assert.Contains($"\u001b[48;2;{r};{g};{b}m  \u001b[0m", text);
        Assert.DoesNotContain('█', text);
    }

    [Fact]
    public void Render_ManyWideWords_WrapsAtTheLineWidth()
    {
        // A 3x14 grid is 28 columns: two panels (28 + 2 + 28) fit in 80, a third would not.
        var alignment = new float[5 * 42];
        for (int t = 0; t < 5; t++)
        {
            alignment[(t * 42) + (t * 3)] = 1;
        }
        string[] lines = TerminalImageAttention.Render(["1", "2", "3", "4", "5"], alignment, 3, 14, ColorMode.Plain).Split('\n');
        Assert.All(lines, line => Assert.True(line.Length <= TerminalImageAttention.LineWidth, line));
        Assert.Equal(["1" + new string(' ', 29) + "2", "3" + new string(' ', 29) + "4", "5"], lines.Where(l => l.Length > 0 && char.IsDigit(l[0])));
    }

    [Fact]
    public void Render_WrongCount_Refused()
    {
        var e = Assert.Throws<HeatmapInputException>(() => TerminalImageAttention.Render(["a"], new float[5], 2, 3, ColorMode.Plain));
        Assert.Contains("need 6", e.Message);
    }
}
