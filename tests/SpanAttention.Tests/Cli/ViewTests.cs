using System.Xml.Linq;
using SpanAttention.Cli;
using SpanAttention.Cli.Rendering;
using SpanAttention.Evaluation;
using SpanAttention.Training;
using SpanAttention.Visualization;
using Xunit;

namespace SpanAttention.Tests.Cli;

/// <summary>The building blocks the model commands will call: attention view, evaluation view, progress line.</summary>
public class ViewTests
{
    private static (CliContext Context, StringWriter Out, StringWriter Error) Context(ColorMode color = ColorMode.Plain)
    {
        var o = new StringWriter { NewLine = "\n" };
        var e = new StringWriter { NewLine = "\n" };
        return (new CliContext(o, e, color), o, e);
    }

    [Fact]
    public void AttentionView_Show_DrawsAndWritesSvg()
    {
        using var folder = new TempFolder();
        (CliContext context, StringWriter o, _) = Context();
        string svg = folder.File("attention.svg");

        AttentionView.Show(context, ["मैं", "खाना"], ["i", "food"], [0.9f, 0.1f, 0.2f, 0.8f], svg, "मैं खाना → i food");

        string text = o.ToString();
        Assert.Contains("i    ██ ····\nfood ░░ ████\n", text, StringComparison.Ordinal);
        Assert.Contains($"wrote {svg}", text, StringComparison.Ordinal);
        Assert.Equal(4, XDocument.Load(svg).Descendants(XName.Get("rect", "http://www.w3.org/2000/svg")).Count(r => r.Attribute("data-weight") is not null));
    }

    [Fact]
    public void AttentionView_MissingFolder_CliErrorAndNothingDrawn()
    {
        using var folder = new TempFolder();
        (CliContext context, StringWriter o, _) = Context();

        var e = Assert.Throws<CliException>(() => AttentionView.Show(context, ["a"], ["b"], [1f], Path.Combine(folder.Path, "no", "a.svg")));

        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
        Assert.Equal("", o.ToString());
    }

    [Fact]
    public void AttentionView_BadWeights_TypedErrorAndNoFile()
    {
        using var folder = new TempFolder();
        (CliContext context, _, _) = Context();

        Assert.Throws<HeatmapInputException>(() => AttentionView.Show(context, ["a", "b"], ["c"], [1f], folder.File("a.svg")));

        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void EvaluationView_TwoModels_OverallAndPerBucketTables()
    {
        string[][] references = [["a", "b", "c", "d"], ["e", "f", "g", "h"]];
        IReadOnlyList<LengthBucket> buckets = LengthBucket.FromUpperBounds([3]);
        EvaluationReport attention = EvaluationReport.Compute([2, 5], references, references, buckets);
        EvaluationReport none = EvaluationReport.Compute<string>([2, 5], [["a", "b", "c", "d"], ["x", "x", "x", "x"]], references, buckets);
        (CliContext context, StringWriter o, _) = Context();

        EvaluationView.Write(context, [("attention", attention), ("none", none)], TableFormat.Text);

        string[] lines = CliRunner.Lines(o.ToString());
        Assert.Equal("overall:", lines[0]);
        Assert.Equal("model      sentences  exact match %  token accuracy %  BLEU-4", lines[1]);
        Assert.Equal("attention          2          100.0             100.0   100.0", lines[3]);
        Assert.Equal("none               2           50.0              50.0    50.0", lines[4]);
        Assert.Contains("exact match % by source length:", lines);
        Assert.Contains("model        all  2 (n=1)  5 (n=1)", lines); // buckets 1-3 and 4+ hold lengths 2 and 5
        Assert.Equal(3, lines.Count(l => l == "none        50.0    100.0      0.0"));
    }

    [Fact]
    public void EvaluationView_NoModels_CliError()
    {
        (CliContext context, _, _) = Context();
        Assert.Throws<CliException>(() => EvaluationView.Write(context, [], TableFormat.Text));
    }

    private static TrainingProgress At(int epoch, int step, double seconds, double? accuracy = null) =>
        new(epoch, 4, step, 10, 0.43125, accuracy, 12345.6, TimeSpan.FromSeconds(seconds));

    [Fact]
    public void ProgressReporter_Format_AllFields()
    {
        // Epoch 2 step 5 of 4 x 10 steps: 15 of 40 done in 30 s, so 50 s left.
        string line = ProgressReporter.Format(At(2, 5, 30, 0.931), withBar: true);

        Assert.Equal("epoch 2/4 [█████████░░░░░░░░░░░░░░░]  38% loss 0.4313 held-out 93.1% 12,346 tok/s 0:30 elapsed, 0:50 left", line);
    }

    [Fact]
    public void ProgressReporter_NotInteractive_OnlyEpochLines()
    {
        var e = new StringWriter { NewLine = "\n" };
        var reporter = new ProgressReporter(e, interactive: false);

        reporter.Update(At(1, 5, 1));
        reporter.EpochDone(At(1, 10, 2, 0.5));
        reporter.EpochDone(At(4, 10, 8, 0.99));

        Assert.Equal(
            "epoch 1/4  25% loss 0.4313 held-out 50.0% 12,346 tok/s 0:02 elapsed, 0:06 left\n" +
            "epoch 4/4 100% loss 0.4313 held-out 99.0% 12,346 tok/s 0:08 elapsed\n",
            e.ToString());
    }

    [Fact]
    public void ProgressReporter_Interactive_RedrawsInPlaceThrottled()
    {
        var e = new StringWriter { NewLine = "\n" };
        var reporter = new ProgressReporter(e, interactive: true, TimeSpan.FromSeconds(1));

        reporter.Update(At(1, 1, 0.0));
        reporter.Update(At(1, 2, 0.5)); // within the interval: skipped
        reporter.Update(At(1, 3, 1.0));
        reporter.EpochDone(At(1, 10, 2.0));

        string text = e.ToString();
        Assert.Equal(3, text.Count(c => c == '\r'));
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ProgressReporter_Report_StepsRedrawAndCompletedEpochsStay()
    {
        var e = new StringWriter { NewLine = "\n" };
        var reporter = new ProgressReporter(e, interactive: false);
        var epoch = new EpochReport(1, 10, 0.43125, 0.5, 0.5, 0.75, 12345.6, 3e-3, TimeSpan.FromSeconds(2), IsBest: true);

        reporter.Report(At(1, 5, 1));
        reporter.Report(At(1, 10, 2, 0.5) with { Completed = epoch });

        Assert.Equal("epoch 1/4  25% loss 0.4313 held-out 50.0% 12,346 tok/s 0:02 elapsed, 0:06 left\n", e.ToString());
    }

    [Theory]
    [InlineData(0, "0:00")]
    [InlineData(59.4, "0:59")]
    [InlineData(61, "1:01")]
    [InlineData(3725, "1:02:05")]
    public void ProgressReporter_Duration_Formats(double seconds, string expected) =>
        Assert.Equal(expected, ProgressReporter.Duration(TimeSpan.FromSeconds(seconds)));
}
