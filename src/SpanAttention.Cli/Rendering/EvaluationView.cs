using SpanAttention.Evaluation;

namespace SpanAttention.Cli.Rendering;

/// <summary>
/// What <c>eval</c> prints for one or more models: the overall table (sentences, exact match, token
/// accuracy, BLEU-4), then one table per metric broken down by source-length bucket.
/// </summary>
internal static class EvaluationView
{
    /// <summary>Writes the comparison of <paramref name="models"/> to <see cref="CliContext.Out"/>.</summary>
    /// <param name="context">Where to write.</param>
    /// <param name="models">The models' names (e.g. file names) and reports, in row order; at least one.</param>
    /// <param name="format">Aligned text or Markdown (for the README).</param>
    public static void Write(CliContext context, IReadOnlyList<(string Model, EvaluationReport Report)> models, TableFormat format)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(models);
        if (models.Count == 0)
        {
            throw new CliException("There is no model to evaluate.");
        }
        Write(context.Out, ComparisonTable.Overall(models), format);
        foreach (Metric metric in (ReadOnlySpan<Metric>)[Metric.ExactMatch, Metric.TokenAccuracy, Metric.Bleu])
        {
            context.Out.WriteLine();
            Write(context.Out, ComparisonTable.ByBucket(models, metric), format);
        }
    }

    private static void Write(TextWriter o, ComparisonTable table, TableFormat format)
    {
        o.WriteLine(format == TableFormat.Markdown ? $"**{table.Title}**" : table.Title + ":");
        if (format == TableFormat.Markdown)
        {
            o.WriteLine();
        }
        o.Write(TextTable.Render(table.Headers, table.Rows, table.RightAligned, format));
    }
}
