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
        if (HasZeroBleuBesideMatches(models))
        {
            context.Out.WriteLine();
            context.Out.WriteLine(ZeroBleuNote);
        }
    }

    /// <summary>
    /// Exact match and BLEU-4 (both in %) against source length, one line per model and a point per length bucket at
    /// the middle of the lengths the bucket holds: the picture of Bahdanau et al. (2015), Fig. 2.
    /// </summary>
    /// <param name="models">The models' names and reports, as for <c>Write</c>; at least one.</param>
    /// <param name="title">The heading (e.g. what was evaluated).</param>
    public static string LengthPlot(IReadOnlyList<(string Model, EvaluationReport Report)> models, string title)
    {
        ArgumentNullException.ThrowIfNull(models);
        LinePlot.Series[] exact = new LinePlot.Series[models.Count], bleu = new LinePlot.Series[models.Count];
        for (int m = 0; m < models.Count; m++)
        {
            IReadOnlyList<BucketMetrics> buckets = models[m].Report.Buckets;
            var e = new (double, double)[buckets.Count];
            var b = new (double, double)[buckets.Count];
            for (int i = 0; i < buckets.Count; i++)
            {
                double middle = (buckets[i].Held.Min + (double)buckets[i].Held.Max) / 2;
                e[i] = (middle, 100 * buckets[i].Metrics.ExactMatch);
                b[i] = (middle, 100 * buckets[i].Metrics.Bleu.Score);
            }
            exact[m] = new LinePlot.Series(models[m].Model, e);
            bleu[m] = new LinePlot.Series(models[m].Model, b);
        }
        return LinePlot.Svg(title, "source length (tokens; a point per length bucket)",
            [new LinePlot.Panel("exact match (%)", exact, YMax: 100), new LinePlot.Panel("BLEU-4", bleu, YMax: 100)]);
    }

    /// <summary>Printed under the tables when a BLEU-4 of 0 stands beside a nonzero exact match.</summary>
    internal const string ZeroBleuNote =
        "note: BLEU-4 is 0 wherever no output has a 4-gram matching its reference (always when the targets have fewer than 4 tokens), "
        + "even at 100% exact match: it is unsmoothed corpus BLEU, as sacreBLEU with smooth_method='none'; read exact match and token accuracy there.";

    /// <summary>Whether some set (overall or a bucket) of some model has BLEU-4 0 and exact match above 0.</summary>
    internal static bool HasZeroBleuBesideMatches(IReadOnlyList<(string Model, EvaluationReport Report)> models)
    {
        foreach ((_, EvaluationReport report) in models)
        {
            if (report.Overall.Bleu.Score == 0 && report.Overall.ExactMatch > 0)
            {
                return true;
            }
            foreach (BucketMetrics bucket in report.Buckets)
            {
                if (bucket.Metrics.Bleu.Score == 0 && bucket.Metrics.ExactMatch > 0)
                {
                    return true;
                }
            }
        }
        return false;
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
