using SpanAttention.Evaluation;
using Xunit;

namespace SpanAttention.Tests.Evaluation;

/// <summary>Exact match, token accuracy, length buckets, reports and comparison tables on hand-computed cases.</summary>
public class SequenceMetricsTests
{
    private static string[] W(string sentence) => sentence.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void ExactMatch_HalfCorrect_IsHalf()
    {
        Assert.Equal(0.5, SequenceMetrics.ExactMatch<string>([W("a b c"), W("d x y")], [W("a b c"), W("d e")]));
    }

    [Fact]
    public void ExactMatch_ExtraOrMissingToken_NotAMatch()
    {
        Assert.Equal(0.0, SequenceMetrics.ExactMatch<string>([W("a b c d")], [W("a b c")]));
        Assert.Equal(0.0, SequenceMetrics.ExactMatch<string>([W("a b")], [W("a b c")]));
        Assert.Equal(1.0, SequenceMetrics.ExactMatch<string>([[]], [[]]));
    }

    [Fact]
    public void TokenAccuracy_MicroAveragedOverReferenceTokens()
    {
        // 3 of 3, then 1 of 2 ("d" right, "e" vs "x" wrong; "y" past the end ignored): 4 / 5.
        Assert.Equal(0.8, SequenceMetrics.TokenAccuracy<string>([W("a b c"), W("d x y")], [W("a b c"), W("d e")]));
    }

    [Fact]
    public void TokenAccuracy_ExtraTokensIgnoredMissingTokensWrong()
    {
        Assert.Equal(1.0, SequenceMetrics.TokenAccuracy<string>([W("a b c d")], [W("a b c")]));
        Assert.Equal(0.5, SequenceMetrics.TokenAccuracy<string>([W("a")], [W("a b")]));
        Assert.Equal(0.0, SequenceMetrics.TokenAccuracy<string>([[]], [W("a b")]));
    }

    [Fact]
    public void TokenAccuracy_PositionWise_InsertionShiftsEverything()
    {
        Assert.Equal(0.25, SequenceMetrics.TokenAccuracy<string>([W("a x b c d")], [W("a b c d")]));
    }

    [Fact]
    public void TokenAccuracy_AllReferencesEmpty_Throws()
    {
        Assert.Throws<EvaluationInputException>(() => SequenceMetrics.TokenAccuracy<string>([W("a")], [[]]));
    }

    [Fact]
    public void Metrics_BadCorpus_TypedErrors()
    {
        Assert.Throws<EvaluationInputException>(() => SequenceMetrics.ExactMatch<string>([W("a")], [W("a"), W("b")]));
        Assert.Throws<EvaluationInputException>(() => SequenceMetrics.ExactMatch<string>([], []));
        Assert.Throws<EvaluationInputException>(() => SequenceMetrics.ExactMatch<string>([null!], [W("a")]));
    }

    [Fact]
    public void LengthBucket_Uniform_CoversLongest()
    {
        IReadOnlyList<LengthBucket> buckets = LengthBucket.Uniform(10, 25);

        Assert.Equal([new LengthBucket(1, 10), new LengthBucket(11, 20), new LengthBucket(21, 30)], buckets);
        Assert.Equal(["1-10", "11-20", "21-30"], buckets.Select(b => b.Label));
    }

    [Fact]
    public void LengthBucket_FromUpperBounds_LastOpenEnded()
    {
        IReadOnlyList<LengthBucket> buckets = LengthBucket.FromUpperBounds([5, 10]);

        Assert.Equal(["1-5", "6-10", "11+"], buckets.Select(b => b.Label));
        Assert.True(buckets[2].Contains(1000));
        Assert.Equal("7", new LengthBucket(7, 7).Label);
        Assert.Throws<ArgumentException>(() => LengthBucket.FromUpperBounds([5, 5]));
    }

    private static EvaluationReport Report(string[][] hypotheses, string[][] references, int[] sourceLengths) =>
        EvaluationReport.Compute(sourceLengths, hypotheses, references, LengthBucket.FromUpperBounds([3]));

    [Fact]
    public void EvaluationReport_SplitsBySourceLength_EmptyBucketsLeftOut()
    {
        string[][] references = [W("a b c d"), W("e f g h"), W("i j k l m")];
        string[][] hypotheses = [W("a b c d"), W("e f x h"), W("i j k l m")];

        EvaluationReport report = Report(hypotheses, references, [2, 3, 7]);

        Assert.Equal(3, report.Overall.Sentences);
        Assert.Equal(2.0 / 3, report.Overall.ExactMatch, 1e-12);
        Assert.Equal(12.0 / 13, report.Overall.TokenAccuracy, 1e-12);
        Assert.Equal(2, report.Buckets.Count);
        Assert.Equal("1-3", report.Buckets[0].Bucket.Label);
        Assert.Equal(2, report.Buckets[0].Metrics.Sentences);
        Assert.Equal(0.5, report.Buckets[0].Metrics.ExactMatch);
        Assert.Equal(7.0 / 8, report.Buckets[0].Metrics.TokenAccuracy);
        Assert.Equal(1.0, report.Buckets[1].Metrics.ExactMatch);
        Assert.Equal(1.0, report.Buckets[1].Metrics.Bleu.Score, 1e-12);

        EvaluationReport shortOnly = Report([W("a b c d")], [W("a b c d")], [2]);
        Assert.Single(shortOnly.Buckets);
    }

    [Fact]
    public void EvaluationReport_LengthCountMismatch_Throws()
    {
        Assert.Throws<EvaluationInputException>(() => Report([W("a")], [W("a")], [1, 2]));
    }

    [Fact]
    public void ComparisonTable_Overall_OneRowPerModel()
    {
        string[][] references = [W("a b c d"), W("e f g h")];
        EvaluationReport attention = Report(references, references, [2, 5]);
        EvaluationReport none = Report([W("a b c d"), W("x x x x")], references, [2, 5]);

        ComparisonTable table = ComparisonTable.Overall([("attention", attention), ("none", none)]);

        Assert.Equal(["model", "sentences", "exact match %", "token accuracy %", "BLEU-4"], table.Headers);
        Assert.Equal(["attention", "2", "100.0", "100.0", "100.0"], table.Rows[0]);
        // "x x x x" matches nothing, "a b c d" everything: each p_n = 1/2 over the corpus, so BLEU = 0.5.
        Assert.Equal(["none", "2", "50.0", "50.0", "50.0"], table.Rows[1]);
        Assert.Equal([false, true, true, true, true], table.RightAligned);
    }

    [Fact]
    public void ComparisonTable_ByBucket_UnionOfBucketsWithDashForMissing()
    {
        string[][] references = [W("a b c d"), W("e f g h")];
        EvaluationReport both = Report([W("a b c d"), W("e f x h")], references, [2, 5]);
        EvaluationReport shortOnly = Report([W("a b c d")], [W("a b c d")], [1]);

        ComparisonTable table = ComparisonTable.ByBucket([("both", both), ("short", shortOnly)], Metric.TokenAccuracy);

        Assert.Equal(["model", "all", "1-2 (n=1)", "5 (n=1)"], table.Headers); // the lengths held: 2 and 1 in 1-3, 5 in 4+
        Assert.Equal(["both", "87.5", "100.0", "75.0"], table.Rows[0]);
        Assert.Equal(["short", "100.0", "100.0", "–"], table.Rows[1]);
        Assert.Equal("token accuracy % by source length", table.Title);
    }
}
