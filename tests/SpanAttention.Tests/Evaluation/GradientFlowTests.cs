using SpanAttention.Attention;
using SpanAttention.Data;
using SpanAttention.Evaluation;
using SpanAttention.Seq2Seq;
using Xunit;

namespace SpanAttention.Tests.Evaluation;

/// <summary>
/// <see cref="GradientFlow"/>: the per-position norms of d(loss)/d(x_j) against central finite differences of the
/// float forward, and the averaging over sentences against a direct computation from one-sentence reports.
/// </summary>
public sealed class GradientFlowTests
{
    private static readonly Vocabulary Source = Vocabulary.FromTokens(["a", "b", "c", "d", "e", "f", "g"], Tokenization.Word);
    private static readonly Vocabulary Target = Vocabulary.FromTokens(["p", "q", "r", "s"], Tokenization.Word);

    private static Seq2SeqModel Tiny(DecoderStyle decoder, bool bidirectional = false) => new(new Seq2SeqConfig
    {
        SourceVocabSize = Source.Count,
        TargetVocabSize = Target.Count,
        EmbeddingSize = 3,
        HiddenSize = 4,
        AttentionSize = 5,
        Decoder = decoder,
        Scorer = AttentionScorer.Additive,
        Bidirectional = bidirectional,
    }, 1, 8, 8, seed: 5);

    [Theory]
    [InlineData(DecoderStyle.Bahdanau, false)]
    [InlineData(DecoderStyle.None, false)]
    [InlineData(DecoderStyle.Luong, true)]
    public void Measure_OneSentence_EqualsFiniteDifferencesAtEveryPosition(DecoderStyle decoder, bool bidirectional)
    {
        Seq2SeqModel model = Tiny(decoder, bidirectional);
        using var translation = new TranslationModel(model, Source, Target);
        var pair = new SentencePair("a b c d e f", "p q r s");   // distinct tokens: dE[id_j] is dx_j alone

        GradientFlowReport report = GradientFlow.Measure(translation, [pair]);

        Assert.Equal(6, report.Positions);
        Assert.All(report.Sentences, n => Assert.Equal(1, n));
        int[] source = [.. Source.EncodeText(pair.Source), Vocabulary.EosId];
        (int[] input, int[] output) = PairEncoder.EncodeTarget(pair.Target, Target);
        var batch = new Seq2SeqBatch(1, source.Length, input.Length, source, [source.Length], input, output, [input.Length]);
        Span<float> embedding = model.Layout["encoder.embedding.weight"].Of(model.Parameters.Values.AsSpan());
        const float H = 1e-2f;
        for (int j = 0; j < 6; j++)
        {
            double square = 0;
            for (int k = 0; k < 3; k++)
            {
                int at = source[j] * 3 + k;
                float keep = embedding[at];
                embedding[at] = keep + H;
                double plus = model.Forward(batch);
                embedding[at] = keep - H;
                double minus = model.Forward(batch);
                embedding[at] = keep;
                double g = (plus - minus) / (2 * H);
                square += g * g;
            }
            double expected = Math.Sqrt(square);
            Assert.True(Math.Abs(report.MeanNorms[j] - expected) <= 1e-4 + 1e-2 * expected,
                $"position {j + 1}: measured {report.MeanNorms[j]:e3}, finite differences {expected:e3}");
        }
        Assert.Contains(report.MeanNorms, v => v > 1e-4);                       // not all zero: the check has teeth
    }

    [Fact]
    public void Measure_SentencesOfTwoLengths_MeanOverTheSentencesReachingEachPosition()
    {
        using var translation = new TranslationModel(Tiny(DecoderStyle.Bahdanau), Source, Target);
        SentencePair shortPair = new("g f", "q"), longPair = new("a b c d", "p r s");

        GradientFlowReport both = GradientFlow.Measure(translation, [shortPair, longPair]);
        GradientFlowReport shortOnly = GradientFlow.Measure(translation, [shortPair]);
        GradientFlowReport longOnly = GradientFlow.Measure(translation, [longPair]);

        Assert.Equal([2, 2, 1, 1], both.Sentences);
        for (int j = 0; j < 4; j++)
        {
            double expected = j < 2 ? (shortOnly.MeanNorms[j] + longOnly.MeanNorms[j]) / 2 : longOnly.MeanNorms[j];
            Assert.Equal(expected, both.MeanNorms[j], 12);
        }
    }

    [Fact]
    public void Measure_SentencesOfTwoLengths_FromEndLinesThemUpByTheirLastToken()
    {
        using var translation = new TranslationModel(Tiny(DecoderStyle.Bahdanau), Source, Target);
        SentencePair shortPair = new("g f", "q"), longPair = new("a b c d", "p r s");

        GradientFlowReport both = GradientFlow.Measure(translation, [shortPair, longPair]);
        GradientFlowReport shortOnly = GradientFlow.Measure(translation, [shortPair]);
        GradientFlowReport longOnly = GradientFlow.Measure(translation, [longPair]);

        // k = 0 is each sentence's last token: "f" and "d"; k = 1 is "g" and "c"; k = 2, 3 only the long one's "b", "a".
        Assert.Equal([2, 2, 1, 1], both.SentencesFromEnd);
        Assert.Equal(longOnly.MeanNorms[3], longOnly.MeanNormsFromEnd[0], 12);
        Assert.Equal(longOnly.MeanNorms[0], longOnly.MeanNormsFromEnd[3], 12);
        for (int k = 0; k < 4; k++)
        {
            double expected = k < 2 ? (shortOnly.MeanNormsFromEnd[k] + longOnly.MeanNormsFromEnd[k]) / 2 : longOnly.MeanNormsFromEnd[k];
            Assert.Equal(expected, both.MeanNormsFromEnd[k], 12);
        }
        Assert.Equal(shortOnly.MeanNorms[1], shortOnly.MeanNormsFromEnd[0], 12);
    }

    [Fact]
    public void MeasureAtInitialisation_TrainedModel_UsesTheSeedsFreshWeightsNotTheTrainedOnes()
    {
        Seq2SeqModel trained = Tiny(DecoderStyle.Bahdanau);
        using var translation = new TranslationModel(trained, Source, Target);
        SentencePair[] pairs = [new("a b c d", "p r s"), new("g f", "q")];
        var random = new Random(5);
        Span<float> values = trained.Parameters.Values;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] += (float)(random.NextDouble() - 0.5);                  // the "trained" weights differ from any seed's
        }

        GradientFlowReport atInit = GradientFlow.MeasureAtInitialisation(translation, pairs, seed: 3);
        GradientFlowReport atTrained = GradientFlow.Measure(translation, pairs);
        GradientFlowReport again = GradientFlow.MeasureAtInitialisation(translation, pairs, seed: 3);
        GradientFlowReport otherSeed = GradientFlow.MeasureAtInitialisation(translation, pairs, seed: 4);
        using var freshTranslation = new TranslationModel(new Seq2SeqModel(trained.Config, 1, 8, 8, seed: 3), Source, Target);
        GradientFlowReport freshSeed3 = GradientFlow.Measure(freshTranslation, pairs);

        Assert.Equal(freshSeed3.MeanNorms, atInit.MeanNorms);                   // exactly the weights of seed 3
        Assert.Equal(atInit.MeanNorms, again.MeanNorms);
        Assert.NotEqual(atTrained.MeanNorms, atInit.MeanNorms);
        Assert.NotEqual(otherSeed.MeanNorms, atInit.MeanNorms);
    }

    [Fact]
    public void Measure_BadInput_ThrowsNamingIt()
    {
        using var translation = new TranslationModel(Tiny(DecoderStyle.Bahdanau), Source, Target);
        Assert.Contains("at least one", Assert.Throws<ArgumentException>(() => GradientFlow.Measure(translation, [])).Message, StringComparison.Ordinal);
        Assert.Contains("Pair 2 has a source without tokens", Assert.Throws<ArgumentException>(() =>
            GradientFlow.Measure(translation, [new SentencePair("a", "p"), new SentencePair("", "p")])).Message, StringComparison.Ordinal);
    }
}
