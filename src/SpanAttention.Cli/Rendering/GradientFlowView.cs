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

    /// <summary>
    /// A table: position j (or, <paramref name="fromEnd"/>, k = S - j steps before the source's last token), how many
    /// sentences reach it, then each model's mean norm (3 significant digits).
    /// </summary>
    /// <param name="models">The models' names and reports, at least one; all measured on the same sentences.</param>
    /// <param name="format">Text or Markdown.</param>
    /// <param name="fromEnd">Index by steps to the source's end instead of by position from its start.</param>
    public static string Table(IReadOnlyList<(string Model, GradientFlowReport Report)> models, TableFormat format, bool fromEnd = false)
    {
        ArgumentNullException.ThrowIfNull(models);
        int positions = models.Max(m => m.Report.Positions);
        string[] headers = [fromEnd ? "steps to end k" : "position j", "sentences", .. models.Select(m => $"{m.Model} ‖dL/dx_j‖")];
        IReadOnlyList<int> sentences = fromEnd ? models[0].Report.SentencesFromEnd : models[0].Report.Sentences;
        var rows = new List<IReadOnlyList<string>>(positions);
        for (int i = 0; i < positions; i++)
        {
            var row = new List<string> { (fromEnd ? i : i + 1).ToString(C), sentences[i].ToString(C) };
            foreach ((_, GradientFlowReport report) in models)
            {
                IReadOnlyList<double> norms = fromEnd ? report.MeanNormsFromEnd : report.MeanNorms;
                row.Add(i < report.Positions && double.IsFinite(norms[i]) ? norms[i].ToString("0.00e+00", C) : "-");
            }
            rows.Add(row);
        }
        return TextTable.Render(headers, rows, [true, true, .. models.Select(_ => true)], format);
    }

    /// <summary>
    /// The mean norms on a logarithmic y axis (the norms span decades), one line per model, in two panels: against the
    /// source position j, and against k = S - j, the recurrence steps between x_j and the source's last token.
    /// </summary>
    /// <param name="models">The models' names and reports, at least one.</param>
    /// <param name="title">The heading (e.g. what was measured).</param>
    public static string Plot(IReadOnlyList<(string Model, GradientFlowReport Report)> models, string title)
    {
        ArgumentNullException.ThrowIfNull(models);
        var byPosition = new LinePlot.Series[models.Count];
        var byDistance = new LinePlot.Series[models.Count];
        for (int m = 0; m < models.Count; m++)
        {
            GradientFlowReport report = models[m].Report;
            var points = new List<(double, double)>(report.Positions);
            var fromEnd = new List<(double, double)>(report.Positions);
            for (int i = 0; i < report.Positions; i++)
            {
                points.Add((i + 1, report.MeanNorms[i]));
                fromEnd.Add((i, report.MeanNormsFromEnd[i]));
            }
            byPosition[m] = new LinePlot.Series(models[m].Model, points);
            byDistance[m] = new LinePlot.Series(models[m].Model, fromEnd);
        }
        return LinePlot.Svg(title, "top: source position j; bottom: steps k = S - j from x_j to the last source token",
            [new LinePlot.Panel("‖dL/dx_j‖ by position j (log)", byPosition, Logarithmic: true),
             new LinePlot.Panel("‖dL/dx_j‖ by steps to end k (log)", byDistance, Logarithmic: true)]);
    }
}
