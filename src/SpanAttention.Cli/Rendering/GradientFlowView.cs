using System.Globalization;
using SpanAttention.Evaluation;

namespace SpanAttention.Cli.Rendering;

/// <summary>
/// <c>eval --gradient-flow</c>: the mean ‖d(loss)/d(x_j)‖ by source position j, one column (and one line of the plot) per
/// model, so attention and no attention can be read side by side.
/// </summary>
internal static class GradientFlowView
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <summary>A table: position j, how many sentences reach it, then each model's mean norm (3 significant digits).</summary>
    /// <param name="models">The models' names and reports, at least one; all measured on the same sentences.</param>
    /// <param name="format">Text or Markdown.</param>
    public static string Table(IReadOnlyList<(string Model, GradientFlowReport Report)> models, TableFormat format)
    {
        ArgumentNullException.ThrowIfNull(models);
        int positions = models.Max(m => m.Report.Positions);
        string[] headers = ["position j", "sentences", .. models.Select(m => $"{m.Model} ‖dL/dx_j‖")];
        var rows = new List<IReadOnlyList<string>>(positions);
        for (int j = 0; j < positions; j++)
        {
            var row = new List<string> { (j + 1).ToString(C), models[0].Report.Sentences[j].ToString(C) };
            foreach ((_, GradientFlowReport report) in models)
            {
                row.Add(j < report.Positions && double.IsFinite(report.MeanNorms[j]) ? report.MeanNorms[j].ToString("0.00e+00", C) : "-");
            }
            rows.Add(row);
        }
        return TextTable.Render(headers, rows, [true, true, .. models.Select(_ => true)], format);
    }

    /// <summary>The mean norms against the source position, one line per model, on a logarithmic y axis (the norms span decades).</summary>
    /// <param name="models">The models' names and reports, at least one.</param>
    /// <param name="title">The heading (e.g. what was measured).</param>
    public static string Plot(IReadOnlyList<(string Model, GradientFlowReport Report)> models, string title)
    {
        ArgumentNullException.ThrowIfNull(models);
        var lines = new LinePlot.Series[models.Count];
        for (int m = 0; m < models.Count; m++)
        {
            GradientFlowReport report = models[m].Report;
            var points = new List<(double, double)>(report.Positions);
            for (int j = 0; j < report.Positions; j++)
            {
                points.Add((j + 1, report.MeanNorms[j]));
            }
            lines[m] = new LinePlot.Series(models[m].Model, points);
        }
        return LinePlot.Svg(title, "source position j (token)", [new LinePlot.Panel("mean ‖dL/dx_j‖ (log scale)", lines, Logarithmic: true)]);
    }
}
