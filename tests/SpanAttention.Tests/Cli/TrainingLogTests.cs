using System.Globalization;
using System.Text.Json;
using System.Xml.Linq;
using SpanAttention.Cli;
using SpanAttention.Cli.Rendering;
using SpanAttention.Training;
using Xunit;
using static SpanAttention.Tests.Training.TrainingSessionTests;

namespace SpanAttention.Tests.Cli;

/// <summary><c>--log</c>: the per-epoch history as JSON lines or CSV, and its curves as SVG.</summary>
public class TrainingLogTests
{
    [Fact]
    public void Writer_EveryEpoch_WritesOneRowPerEpochWithTheHistorysValues()
    {
        using var folder = new TempFolder();
        var session = new TrainingSession(TinyReverse(), Tiny(3));
        TrainingLog jsonl = TrainingLog.For(folder.File("run.jsonl"), "tiny");
        TrainingLog csv = TrainingLog.For(folder.File("run.csv"), "tiny");
        var rowsSeen = new List<int>();
        var sink = new Sink(() => rowsSeen.Add(File.ReadAllLines(jsonl.Path).Length));

        TrainingResult result = session.Run(new TrainingLog.Writer(new TrainingLog.Writer(sink, jsonl, session), csv, session));

        // Rewritten after every epoch: 1, 2, 3 rows as the epochs end.
        Assert.Equal([1, 2, 3], rowsSeen);
        string[] lines = File.ReadAllLines(jsonl.Path);
        Assert.Equal(result.History.Count, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            using JsonDocument row = JsonDocument.Parse(lines[i]);
            JsonElement r = row.RootElement;
            EpochReport e = result.History[i];
            Assert.Equal(e.Epoch, r.GetProperty("epoch").GetInt32());
            Assert.Equal(e.Step, r.GetProperty("step").GetInt64());
            Assert.Equal(e.TrainLoss, r.GetProperty("train_loss").GetDouble());
            Assert.Equal(e.HeldOutLoss, r.GetProperty("held_out_loss").GetDouble());
            Assert.Equal(e.ExactMatch, r.GetProperty("exact_match").GetDouble());
            Assert.Equal(e.TokenAccuracy, r.GetProperty("token_accuracy").GetDouble());
            Assert.Equal(e.TokensPerSecond, r.GetProperty("tokens_per_second").GetDouble());
            Assert.Equal(e.LearningRate, r.GetProperty("learning_rate").GetDouble());
            Assert.Equal(e.Elapsed.TotalSeconds, r.GetProperty("elapsed_seconds").GetDouble());
            Assert.Equal(e.IsBest, r.GetProperty("best").GetBoolean());
        }

        string[] table = File.ReadAllLines(csv.Path);
        Assert.Equal(string.Join(',', TrainingLog.Columns), table[0]);
        Assert.Equal(result.History.Count + 1, table.Length);
        for (int i = 0; i < result.History.Count; i++)
        {
            string[] cells = table[i + 1].Split(',');
            EpochReport e = result.History[i];
            Assert.Equal(TrainingLog.Columns.Length, cells.Length);
            Assert.Equal(e.Epoch, int.Parse(cells[0], CultureInfo.InvariantCulture));
            Assert.Equal(e.TrainLoss, double.Parse(cells[2], CultureInfo.InvariantCulture));
            Assert.Equal(e.HeldOutLoss, double.Parse(cells[3], CultureInfo.InvariantCulture));
            Assert.Equal(e.ExactMatch, double.Parse(cells[4], CultureInfo.InvariantCulture));
            Assert.Equal(e.TokenAccuracy, double.Parse(cells[5], CultureInfo.InvariantCulture));
            Assert.Equal(e.LearningRate, double.Parse(cells[7], CultureInfo.InvariantCulture));
            Assert.Equal(e.IsBest ? "true" : "false", cells[9]);
        }
        Assert.True(File.Exists(folder.File("run.svg")));
    }

    [Fact]
    public void Write_FloatLearningRate_WritesTheDecimalTheFloatStandsFor()
    {
        using var folder = new TempFolder();
        TrainingOptions options = Tiny(2, lr: 3e-3f) with { LearningRateDecay = 0.8f };
        var session = new TrainingSession(TinyReverse(), options);
        TrainingLog jsonl = TrainingLog.For(folder.File("run.jsonl"), "tiny");
        TrainingLog csv = TrainingLog.For(folder.File("run.csv"), "tiny");

        TrainingResult result = session.Run(new TrainingLog.Writer(new TrainingLog.Writer(new Sink(() => { }), jsonl, session), csv, session));

        // 3e-3f is 0.003000000026077032 exactly; the history and both files say 0.003.
        Assert.Equal(0.003, result.History[0].LearningRate);
        Assert.Contains("\"learning_rate\":0.003,", File.ReadAllLines(jsonl.Path)[0]);
        Assert.Equal("0.003", File.ReadAllLines(csv.Path)[1].Split(',')[7]);
        // Every later rate is the shortest text of the float the optimizer used.
        Assert.All(result.History, e => Assert.Equal(((float)e.LearningRate).ToString("R", CultureInfo.InvariantCulture), e.LearningRate.ToString("R", CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Svg_History_IsWellFormedWithLabelledAxesAndOnePathPerCurve()
    {
        TrainingResult result = new TrainingSession(TinyReverse(), Tiny(3)).Run();

        XDocument svg = XDocument.Parse(TrainingCurves.Svg(result.History, "tiny <reverse> & co"));

        XNamespace ns = "http://www.w3.org/2000/svg";
        XElement[] curves = [.. svg.Descendants(ns + "path").Where(p => (string?)p.Attribute("class") == "curve")];
        Assert.Equal(["training loss", "held-out loss", "exact match", "token accuracy"], curves.Select(c => (string)c.Attribute("data-label")!));
        // Each curve has one point per epoch: a move and two lines.
        Assert.All(curves, c => Assert.Equal(result.History.Count, ((string)c.Attribute("d")!).Count(ch => ch is 'M' or 'L')));
        string[] texts = [.. svg.Descendants(ns + "text").Select(t => t.Value)];
        Assert.Contains("epoch", texts);
        Assert.Contains("loss (nats per token)", texts);
        Assert.Contains("held-out accuracy (%)", texts);
        Assert.Contains("tiny <reverse> & co", texts);
        Assert.Contains("100", texts);   // an accuracy tick
        Assert.Contains("3", texts);     // an epoch tick
        Assert.Equal(2, svg.Descendants(ns + "g").Count(g => (string?)g.Attribute("class") == "panel"));
    }

    [Fact]
    public void Svg_ExplodingLoss_UsesALogarithmicLossAxis()
    {
        EpochReport[] history = [.. new[] { 3.0, 40, 9e4 }.Select((loss, i) =>
            new EpochReport(i + 1, 8 * (i + 1), loss, loss * 2, 0, 0.1, 1000, 0.01, TimeSpan.FromSeconds(i + 1), i == 0))];

        XDocument svg = XDocument.Parse(TrainingCurves.Svg(history, "diverging"));

        Assert.Contains("loss (nats per token, log scale)", svg.Descendants().Select(t => t.Value));
    }

    [Fact]
    public void TrainCommand_Log_WritesRowsAndPlotAndRefusesOtherExtensions()
    {
        using var folder = new TempFolder();
        string model = folder.File("m.safetensors"), log = folder.File("run.csv");
        (int code, string output, string error) = CliRunner.Run("train", "--task", "reverse", "--count", "300", "--min-length", "3", "--max-length", "6",
            "--epochs", "2", "--batch-size", "32", "--embedding-size", "16", "--hidden-size", "32", "--threads", "1", "-o", model, "--log", log);
        Assert.True(code == 0, error);
        Assert.Equal(3, File.ReadAllLines(log).Length);
        XDocument.Load(folder.File("run.svg"));
        Assert.Contains("run.svg", output, StringComparison.Ordinal);

        (code, _, error) = CliRunner.Run("train", "--task", "reverse", "--epochs", "1", "-o", model, "--log", folder.File("run.txt"));
        Assert.NotEqual(0, code);
        Assert.Contains(".jsonl", error, StringComparison.Ordinal);
        (code, _, error) = CliRunner.Run("train", "--task", "reverse", "--epochs", "1", "-o", folder.File("run.svg"), "--log", log);
        Assert.NotEqual(0, code);
        Assert.Contains("same file", error, StringComparison.Ordinal);
    }

    private sealed class Sink(Action onEpoch) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Completed is not null)
            {
                onEpoch();
            }
        }
    }
}
