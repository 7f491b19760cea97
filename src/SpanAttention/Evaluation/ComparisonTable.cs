using System.Globalization;

namespace SpanAttention.Evaluation;

/// <summary>A metric that <see cref="ComparisonTable"/> can tabulate.</summary>
public enum Metric
{
    /// <summary>Exact match, in percent.</summary>
    ExactMatch,

    /// <summary>Position-wise token accuracy, in percent.</summary>
    TokenAccuracy,

    /// <summary>Corpus BLEU-4 × 100.</summary>
    Bleu,
}

/// <summary>
/// Several models' evaluations side by side, as cells of text ready for any renderer (the CLI draws them
/// as aligned text or Markdown). Rows are models. Percentages and BLEU × 100 have one decimal.
/// </summary>
/// <param name="Title">What the table shows.</param>
/// <param name="Headers">The column headers.</param>
/// <param name="Rows">One row per model, one cell per header.</param>
/// <param name="RightAligned">Per column, whether it holds numbers.</param>
public sealed record ComparisonTable(string Title, IReadOnlyList<string> Headers, IReadOnlyList<IReadOnlyList<string>> Rows, IReadOnlyList<bool> RightAligned)
{
    /// <summary>The overall table: model | sentences | exact match % | token accuracy % | BLEU-4.</summary>
    /// <param name="models">The models' names and reports, in row order.</param>
    /// <returns>The table.</returns>
    public static ComparisonTable Overall(IReadOnlyList<(string Model, EvaluationReport Report)> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        var rows = new List<IReadOnlyList<string>>(models.Count);
        foreach ((string model, EvaluationReport report) in models)
        {
            MetricSet m = report.Overall;
            rows.Add([model, m.Sentences.ToString(CultureInfo.InvariantCulture), Format(m, Metric.ExactMatch), Format(m, Metric.TokenAccuracy), Format(m, Metric.Bleu)]);
        }
        return new ComparisonTable("overall", ["model", "sentences", "exact match %", "token accuracy %", "BLEU-4"], rows, [false, true, true, true, true]);
    }

    /// <summary>
    /// One metric by source-length bucket: model | all | one column per bucket (the union over the models,
    /// shortest first, headed with the range of lengths its sentences really have over all models, e.g. 5-12 for
    /// a 1-12 bucket whose shortest source has 5 tokens, and its sentence count). A model with no sentence in a
    /// bucket shows "–".
    /// </summary>
    /// <param name="models">The models' names and reports, in row order.</param>
    /// <param name="metric">The metric to show.</param>
    /// <returns>The table.</returns>
    public static ComparisonTable ByBucket(IReadOnlyList<(string Model, EvaluationReport Report)> models, Metric metric)
    {
        ArgumentNullException.ThrowIfNull(models);
        // Per bucket asked for: the most sentences any model has in it, and the lengths they hold over all models.
        var buckets = new SortedDictionary<LengthBucket, (int Sentences, LengthBucket Held)>(Comparer<LengthBucket>.Create(static (a, b) => a.Min != b.Min ? a.Min.CompareTo(b.Min) : a.Max.CompareTo(b.Max)));
        foreach ((_, EvaluationReport report) in models)
        {
            foreach (BucketMetrics b in report.Buckets)
            {
                buckets[b.Bucket] = buckets.TryGetValue(b.Bucket, out (int Sentences, LengthBucket Held) seen)
                    ? (Math.Max(seen.Sentences, b.Metrics.Sentences), new LengthBucket(Math.Min(seen.Held.Min, b.Held.Min), Math.Max(seen.Held.Max, b.Held.Max)))
                    : (b.Metrics.Sentences, b.Held);
            }
        }
        var headers = new List<string> { "model", "all" };
        foreach ((int sentences, LengthBucket held) in buckets.Values)
        {
            headers.Add($"{held.Label} (n={sentences.ToString(CultureInfo.InvariantCulture)})");
        }
        var rows = new List<IReadOnlyList<string>>(models.Count);
        foreach ((string model, EvaluationReport report) in models)
        {
            var row = new List<string> { model, Format(report.Overall, metric) };
            foreach (LengthBucket bucket in buckets.Keys)
            {
                BucketMetrics? found = null;
                foreach (BucketMetrics b in report.Buckets)
                {
                    if (b.Bucket == bucket)
                    {
                        found = b;
                    }
                }
                row.Add(found is null ? "–" : Format(found.Metrics, metric));
            }
            rows.Add(row);
        }
        var right = new List<bool> { false };
        for (int c = 1; c < headers.Count; c++)
        {
            right.Add(true);
        }
        string title = metric switch
        {
            Metric.ExactMatch => "exact match % by source length",
            Metric.TokenAccuracy => "token accuracy % by source length",
            _ => "BLEU-4 by source length",
        };
        return new ComparisonTable(title, headers, rows, right);
    }

    /// <summary>A metric of a set as table text: percent (or BLEU × 100) with one decimal.</summary>
    /// <param name="metrics">The metrics.</param>
    /// <param name="metric">Which one.</param>
    /// <returns>E.g. <c>97.3</c>.</returns>
    public static string Format(MetricSet metrics, Metric metric)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        double value = metric switch
        {
            Metric.ExactMatch => metrics.ExactMatch,
            Metric.TokenAccuracy => metrics.TokenAccuracy,
            Metric.Bleu => metrics.Bleu.Score,
            _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown metric."),
        };
        return (value * 100).ToString("0.0", CultureInfo.InvariantCulture);
    }
}
