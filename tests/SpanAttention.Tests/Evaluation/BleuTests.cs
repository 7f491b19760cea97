using SpanAttention.Evaluation;
using Xunit;

namespace SpanAttention.Tests.Evaluation;

/// <summary>
/// Corpus BLEU-4 against values computed independently by tools/bleu_reference.py (written from the
/// paper's definition) and, for the multi-reference case, the result documented in NLTK's
/// <c>corpus_bleu</c> docstring (0.5920778868801042). Tolerance 1e-12: the same sums and logs in double.
/// </summary>
public class BleuTests
{
    private const double Tolerance = 1e-12;

    private static string[] W(string sentence) => sentence.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static readonly string[] Hyp1 = W("It is a guide to action which ensures that the military always obeys the commands of the party");
    private static readonly string[] Ref1A = W("It is a guide to action that ensures that the military will forever heed Party commands");
    private static readonly string[] Ref1B = W("It is the guiding principle which guarantees the military forces always being under the command of the Party");
    private static readonly string[] Ref1C = W("It is the practical guide for the army always to heed the directions of the party");
    private static readonly string[] Hyp2 = W("he read the book because he was interested in world history");
    private static readonly string[] Ref2A = W("he was interested in world history because he read the book");

    [Fact]
    public void CorpusMultiReference_NltkDocstringExample_MatchesDocumentedValue()
    {
        BleuScore bleu = Bleu.CorpusMultiReference<string>([Hyp1, Hyp2], [[Ref1A, Ref1B, Ref1C], [Ref2A]]);

        Assert.Equal(0.5920778868801042, bleu.Score, Tolerance);
    }

    [Fact]
    public void Corpus_SingleReference_MatchesReferenceScript()
    {
        BleuScore bleu = Bleu.Corpus<string>([Hyp1, Hyp2], [Ref1A, Ref2A]);

        Assert.Equal(0.5314082679468591, bleu.Score, Tolerance);
    }

    [Fact]
    public void Corpus_TwoSentences_HandComputedPrecisions()
    {
        // "a b c d e" vs itself; "a b x d e f" vs "a b c d e f".
        // 1-grams 5+5 of 5+6; 2-grams 4+3 of 4+5; 3-grams 3+1 of 3+4; 4-grams 2+0 of 2+3; c = r = 11, BP = 1.
        // BLEU = (10/11 · 7/9 · 4/7 · 2/5)^(1/4) = (560/3465)^(1/4).
        BleuScore bleu = Bleu.Corpus<string>([W("a b c d e"), W("a b x d e f")], [W("a b c d e"), W("a b c d e f")]);

        Assert.Equal([10L, 7, 4, 2], bleu.Matches);
        Assert.Equal([11L, 9, 7, 5], bleu.Totals);
        Assert.Equal(11, bleu.HypothesisLength);
        Assert.Equal(11, bleu.ReferenceLength);
        Assert.Equal(1.0, bleu.BrevityPenalty);
        Assert.Equal(Math.Pow(560.0 / 3465.0, 0.25), bleu.Score, Tolerance);
        Assert.Equal(0.6340466277046861, bleu.Score, Tolerance);
    }

    [Fact]
    public void Corpus_ShortHypothesis_BrevityPenalty()
    {
        // Every n-gram matches; c = 5, r = 6, so BLEU = BP = exp(1 - 6/5).
        BleuScore bleu = Bleu.Corpus<string>([W("the cat sat on the")], [W("the cat sat on the mat")]);

        Assert.Equal([1.0, 1.0, 1.0, 1.0], bleu.Precisions);
        Assert.Equal(Math.Exp(-0.2), bleu.BrevityPenalty, Tolerance);
        Assert.Equal(0.8187307530779819, bleu.Score, Tolerance);
    }

    [Fact]
    public void Corpus_LongerHypothesis_NoBrevityPenalty()
    {
        BleuScore bleu = Bleu.Corpus<string>([W("a b c d e f")], [W("a b c d e")]);

        Assert.Equal(1.0, bleu.BrevityPenalty);
        Assert.Equal(Math.Pow(5.0 / 6 * 4.0 / 5 * 3.0 / 4 * 2.0 / 3, 0.25), bleu.Score, Tolerance);
    }

    [Fact]
    public void Corpus_IdenticalCorpus_IsOne()
    {
        string[][] sentences = [W("मैं खाना खा रहा हूँ"), W("i am eating food"), W("1 2 3 4 5 6 7 8")];

        Assert.Equal(1.0, Bleu.Corpus<string>(sentences, sentences).Score, Tolerance);
    }

    [Fact]
    public void Corpus_RepeatedWord_ClippedToReferenceCount()
    {
        // Papineni et al.'s example: unigram precision 2/7, not 7/7.
        BleuScore bleu = Bleu.Corpus<string>([W("the the the the the the the")], [W("the cat is on the mat")]);

        Assert.Equal(2, bleu.Matches[0]);
        Assert.Equal(7, bleu.Totals[0]);
        Assert.Equal(2.0 / 7, bleu.Precisions[0], Tolerance);
        Assert.Equal(0.0, bleu.Score); // no bigram matches, no smoothing
    }

    [Fact]
    public void Corpus_NoFourGramMatch_IsZeroWithoutSmoothing()
    {
        BleuScore bleu = Bleu.Corpus<string>([W("a b c x d e f")], [W("a b c y d e f")]);

        // unigrams 6 of 7; bigrams ab, bc, de, ef of 6; trigrams abc, def of 5; no 4-gram of 4
        Assert.Equal([6L, 4L, 2L, 0L], bleu.Matches);
        Assert.Equal([7L, 6L, 5L, 4L], bleu.Totals);
        Assert.Equal(6.0 / 7, bleu.Precisions[0], Tolerance);
        Assert.Equal(4.0 / 6, bleu.Precisions[1], Tolerance);
        Assert.Equal(2.0 / 5, bleu.Precisions[2], Tolerance);
        Assert.Equal(0.0, bleu.Score);
    }

    [Fact]
    public void Corpus_HypothesesShorterThanFour_IsZero()
    {
        BleuScore bleu = Bleu.Corpus<string>([W("a b c")], [W("a b c")]);

        Assert.Equal(0, bleu.Totals[3]);
        Assert.Equal(0.0, bleu.Score);
    }

    [Fact]
    public void Corpus_EmptyHypothesis_IsZero()
    {
        BleuScore bleu = Bleu.Corpus<string>([[]], [W("a b c d")]);

        Assert.Equal(0.0, bleu.Score);
        Assert.Equal(0.0, bleu.BrevityPenalty);
    }

    [Fact]
    public void Corpus_ClosestReferenceLength_ShorterOnTie()
    {
        // Hypothesis length 4, references of lengths 3 and 5: both at distance 1, the shorter (3) counts.
        BleuScore bleu = Bleu.CorpusMultiReference<string>([W("a b c d")], [[W("a b c d e"), W("a b c")]]);

        Assert.Equal(3, bleu.ReferenceLength);
        Assert.Equal(1.0, bleu.BrevityPenalty);
    }

    [Fact]
    public void Corpus_IntegerTokens_SameAsStrings()
    {
        int[][] h = [[1, 2, 3, 4, 5], [1, 2, 9, 4, 5, 6]];
        int[][] r = [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6]];

        Assert.Equal(0.6340466277046861, Bleu.Corpus<int>(h, r).Score, Tolerance);
    }

    [Fact]
    public void Corpus_CountMismatchOrEmpty_Throws()
    {
        Assert.Throws<EvaluationInputException>(() => Bleu.Corpus<string>([W("a")], []));
        Assert.Throws<EvaluationInputException>(() => Bleu.Corpus<string>([], []));
        Assert.Throws<EvaluationInputException>(() => Bleu.CorpusMultiReference<string>([W("a")], [[]]));
    }
}
