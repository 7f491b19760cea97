using SpanAttention.Evaluation;
using Xunit;

namespace SpanAttention.Tests.Evaluation;

public class LengthBucketTests
{
    private static IReadOnlyList<string>[] Words(params string[] sentences) => [.. sentences.Select(s => (IReadOnlyList<string>)s.Split(' '))];

    [Fact]
    public void EvaluationReport_Bucket_HeldIsTheRangeOfLengthsInIt()
    {
        IReadOnlyList<string>[] sentences = Words("a b", "c d", "e f", "g h");

        EvaluationReport report = EvaluationReport.Compute([5, 12, 8, 30], sentences, sentences, LengthBucket.FromUpperBounds([12, 20]));

        Assert.Equal(2, report.Buckets.Count); // 13-20 is empty
        Assert.Equal(new LengthBucket(1, 12), report.Buckets[0].Bucket);
        Assert.Equal(new LengthBucket(5, 12), report.Buckets[0].Held);
        Assert.Equal("5-12", report.Buckets[0].Held.Label);
        Assert.Equal(new LengthBucket(21, int.MaxValue), report.Buckets[1].Bucket);
        Assert.Equal("30", report.Buckets[1].Held.Label);
        Assert.Equal(new LengthBucket(3, 4), new BucketMetrics(new LengthBucket(3, 4), report.Overall).Held); // not set: the bucket
    }

    [Fact]
    public void ComparisonTable_ByBucket_HeaderIsTheRangeHeldOverAllModels()
    {
        IReadOnlyList<string>[] two = Words("a b", "c d");
        IReadOnlyList<LengthBucket> buckets = LengthBucket.Uniform(12, 24);
        EvaluationReport first = EvaluationReport.Compute([5, 9], two, two, buckets);
        EvaluationReport second = EvaluationReport.Compute([7, 12], two, two, buckets);

        ComparisonTable table = ComparisonTable.ByBucket([("first", first), ("second", second)], Metric.ExactMatch);

        Assert.Equal(["model", "all", "5-12 (n=2)"], table.Headers);
        Assert.Equal(["first", "100.0", "100.0"], table.Rows[0]);
    }
}
