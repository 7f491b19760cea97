namespace SpanAttention.Evaluation;

/// <summary>The metrics of one set of sentences.</summary>
/// <param name="Sentences">How many sentences were scored.</param>
/// <param name="ExactMatch">See <see cref="SequenceMetrics.ExactMatch{T}"/>, in [0, 1].</param>
/// <param name="TokenAccuracy">See <see cref="SequenceMetrics.TokenAccuracy{T}"/>, in [0, 1].</param>
/// <param name="Bleu">See <see cref="Evaluation.Bleu.Corpus{T}"/>.</param>
public sealed record MetricSet(int Sentences, double ExactMatch, double TokenAccuracy, BleuScore Bleu)
{
    /// <summary>Scores a corpus.</summary>
    /// <param name="hypotheses">N predicted sequences.</param>
    /// <param name="references">N reference sequences.</param>
    /// <returns>The three metrics.</returns>
    /// <exception cref="EvaluationInputException">See <see cref="SequenceMetrics"/>.</exception>
    public static MetricSet Compute<T>(IReadOnlyList<IReadOnlyList<T>> hypotheses, IReadOnlyList<IReadOnlyList<T>> references)
        where T : notnull
    {
        return new MetricSet(
            hypotheses?.Count ?? 0,
            SequenceMetrics.ExactMatch(hypotheses!, references),
            SequenceMetrics.TokenAccuracy(hypotheses!, references),
            Evaluation.Bleu.Corpus(hypotheses!, references));
    }
}

/// <summary>The metrics of the sentences whose source length falls in one bucket.</summary>
/// <param name="Bucket">The source-length range asked for (e.g. 1-10, or 41+ for the last of some upper bounds).</param>
/// <param name="Metrics">The metrics of those sentences.</param>
public sealed record BucketMetrics(LengthBucket Bucket, MetricSet Metrics)
{
    private readonly LengthBucket? _held;

    /// <summary>
    /// The lengths the bucket's sentences really have, shortest to longest (5-12 for a 1-12 bucket whose shortest
    /// source has 5 tokens): what a label should show. <see cref="Bucket"/> itself when not set.
    /// </summary>
    public LengthBucket Held { get => _held ?? Bucket; init => _held = value; }
}

/// <summary>One model's evaluation: overall, and per source-length bucket (empty buckets are left out).</summary>
/// <param name="Overall">Every sentence.</param>
/// <param name="Buckets">One entry per non-empty bucket, in bucket order, each with the range of lengths it holds (<see cref="BucketMetrics.Held"/>).</param>
public sealed record EvaluationReport(MetricSet Overall, IReadOnlyList<BucketMetrics> Buckets)
{
    /// <summary>Scores a test set overall and per source-length bucket.</summary>
    /// <param name="sourceLengths">N source lengths in tokens (what the buckets split on).</param>
    /// <param name="hypotheses">N predicted sequences.</param>
    /// <param name="references">N reference sequences.</param>
    /// <param name="buckets">The buckets; a sentence in none of them counts only overall, one in several counts in each.</param>
    /// <returns>The report.</returns>
    /// <exception cref="EvaluationInputException">The counts differ, the corpus is empty, or a sequence is null.</exception>
    public static EvaluationReport Compute<T>(
        IReadOnlyList<int> sourceLengths,
        IReadOnlyList<IReadOnlyList<T>> hypotheses,
        IReadOnlyList<IReadOnlyList<T>> references,
        IReadOnlyList<LengthBucket> buckets)
        where T : notnull
    {
        ArgumentNullException.ThrowIfNull(sourceLengths);
        ArgumentNullException.ThrowIfNull(buckets);
        SequenceMetrics.CheckCorpus(hypotheses, references);
        if (sourceLengths.Count != hypotheses.Count)
        {
            throw new EvaluationInputException($"There are {sourceLengths.Count} source lengths but {hypotheses.Count} hypotheses.");
        }
        MetricSet overall = MetricSet.Compute(hypotheses, references);
        var perBucket = new List<BucketMetrics>(buckets.Count);
        foreach (LengthBucket bucket in buckets)
        {
            var h = new List<IReadOnlyList<T>>();
            var r = new List<IReadOnlyList<T>>();
            int shortest = int.MaxValue, longest = int.MinValue;
            for (int i = 0; i < sourceLengths.Count; i++)
            {
                if (bucket.Contains(sourceLengths[i]))
                {
                    h.Add(hypotheses[i]);
                    r.Add(references[i]);
                    shortest = Math.Min(shortest, sourceLengths[i]);
                    longest = Math.Max(longest, sourceLengths[i]);
                }
            }
            if (h.Count > 0 && HasReferenceTokens(r))
            {
                perBucket.Add(new BucketMetrics(bucket, MetricSet.Compute(h, r)) { Held = new LengthBucket(shortest, longest) });
            }
        }
        return new EvaluationReport(overall, perBucket);
    }

    private static bool HasReferenceTokens<T>(List<IReadOnlyList<T>> references)
    {
        foreach (IReadOnlyList<T> r in references)
        {
            if (r.Count > 0)
            {
                return true;
            }
        }
        return false;
    }
}
