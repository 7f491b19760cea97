using SpanAttention.Attention;
using SpanAttention.Data;
using SpanAttention.Inference;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.IO;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Inference;

/// <summary>Whole-list decoding (sorted by length, batched on the prepared path, two workers) against one source at a time.</summary>
public sealed class BatchedDecodingTests
{
    public static TheoryData<RecurrentKind, DecoderStyle, AttentionScorer, bool> Configurations()
    {
        var data = new TheoryData<RecurrentKind, DecoderStyle, AttentionScorer, bool>();
        foreach (RecurrentKind cell in new[] { RecurrentKind.Rnn, RecurrentKind.Gru, RecurrentKind.Lstm })
        {
            data.Add(cell, DecoderStyle.Bahdanau, AttentionScorer.Additive, false);
            data.Add(cell, DecoderStyle.Bahdanau, AttentionScorer.Dot, true);
            data.Add(cell, DecoderStyle.Luong, AttentionScorer.General, false);
            data.Add(cell, DecoderStyle.None, AttentionScorer.Additive, false);
        }
        data.Add(RecurrentKind.Gru, DecoderStyle.Bahdanau, AttentionScorer.General, true);
        return data;
    }

    /// <summary>E 7, H 9 (Dc = 9 unidirectional, 18 bidirectional), V 13: sources up to 14 ids, so a chunk mixes rows that
    /// read U (n ≤ Dc) and rows that do not; an untrained model over 13 tokens emits EOS at scattered steps.</summary>
    private static Seq2SeqConfig Config(RecurrentKind cell, DecoderStyle style, AttentionScorer scorer, bool bidirectional) => new()
    {
        SourceVocabSize = 11,
        TargetVocabSize = 13,
        EmbeddingSize = 7,
        HiddenSize = 9,
        AttentionSize = 5,
        Cell = cell,
        EncoderLayers = cell == RecurrentKind.Lstm ? 2 : 1,
        Bidirectional = bidirectional,
        Decoder = style,
        Scorer = scorer,
        PaddingId = 0,
        BosId = 1,
        EosId = 2,
    };

    /// <summary>An untrained model whose EOS logit is raised a little, so that some outputs end before their step limit.</summary>
    private static Seq2SeqModel Model(Seq2SeqConfig config, int maxBatch, int seed)
    {
        var model = new Seq2SeqModel(config, maxBatch, 15, 12, seed);
        model.Parameters.Layout["decoder.out.bias"].Of(model.Parameters.Values.AsSpan())[config.EosId] += config.Cell == RecurrentKind.Lstm ? -1f : 0.4f;
        return model;
    }

    private static (int[][] Sources, int[] Limits) RandomSources(int count, int seed)
    {
        var random = new Random(seed);
        var sources = new int[count][];
        var limits = new int[count];
        for (int i = 0; i < count; i++)
        {
            sources[i] = [.. Enumerable.Range(0, random.Next(1, 15)).Select(_ => random.Next(3, 11))];
            limits[i] = random.Next(1, 13);
        }
        return (sources, limits);
    }

    private static void AssertSame(Hypothesis expected, Hypothesis actual, string what)
    {
        Assert.True(expected.Tokens.SequenceEqual(actual.Tokens), $"{what}: tokens [{string.Join(' ', actual.Tokens)}], alone [{string.Join(' ', expected.Tokens)}]");
        Assert.Equal(expected.Score, actual.Score);
        Assert.Equal(expected.NormalizedScore, actual.NormalizedScore);
        Assert.Equal(expected.Finished, actual.Finished);
        Assert.Equal(expected.SourceLength, actual.SourceLength);
        Assert.True(expected.Alignment.SequenceEqual(actual.Alignment), $"{what}: alignment differs");
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void GreedyMany_ChunksOfMixedLengthsOnTwoWorkers_EqualEachSourceAlone(RecurrentKind cell, DecoderStyle style, AttentionScorer scorer, bool bidirectional)
    {
        Seq2SeqModel model = Model(Config(cell, style, scorer, bidirectional), 8, 5);
        var translator = new Translator(model);
        (int[][] sources, int[] limits) = RandomSources(90, 11);
        Hypothesis[] batched = translator.GreedyMany(sources, limits, workers: 2);
        var outputLengths = new HashSet<int>();
        for (int i = 0; i < sources.Length; i++)
        {
            Hypothesis alone = Decoding.Greedy(model, [sources[i]], limits[i], translator.Weights)[0];
            AssertSame(alone, batched[i], $"source {i}");
            outputLengths.Add(alone.Tokens.Length);
        }
        Assert.True(outputLengths.Count >= 5, $"only {outputLengths.Count} output lengths");
    }

    [Fact]
    public void BeamMany_TwoWorkers_EqualsEachSourceAlone()
    {
        Seq2SeqModel model = Model(Config(RecurrentKind.Gru, DecoderStyle.Bahdanau, AttentionScorer.Additive, true), 4, 6);
        var translator = new Translator(model);
        (int[][] sources, int[] limits) = RandomSources(24, 12);
        Hypothesis[][] batched = translator.BeamMany(sources, 3, limits, 1f, 2, workers: 2);
        for (int i = 0; i < sources.Length; i++)
        {
            Hypothesis[] alone = Decoding.Beam(model, sources[i], 3, limits[i], 1f, 2, translator.Weights);
            Assert.Equal(alone.Length, batched[i].Length);
            for (int k = 0; k < alone.Length; k++)
            {
                AssertSame(alone[k], batched[i][k], $"source {i} hypothesis {k}");
            }
        }
    }

    /// <summary>The trained hi-en fixture over 400 sentences: short and compound ones (outputs of 2 to 40 tokens, EOS at
    /// every step count), unknown words, and nonsense lines, decoded in one call and one at a time.</summary>
    [Fact]
    public void Decode_HiEnSentencesOfManyLengths_EqualEachSentenceAlone()
    {
        using var model = TranslationModel.Load(ModelFileCompatibilityTests.FixturePath);
        var lines = new List<string>();
        lines.AddRange(HindiEnglish.Generate(300, seed: 3).Select(p => p.Source));
        Dataset compound = HindiEnglish.CreateCompound(new HindiEnglishOptions { Seed = 3, Count = 100 });
        lines.AddRange(compound.Train.Take(60).Select(p => p.Source));
        for (int i = 0; i < 20; i++)
        {
            lines.Add(lines[i * 7] + " xyz" + i + " चाय");                                          // unknown tokens
            lines.Add(string.Join(' ', Enumerable.Repeat("है", 1 + i * 2)));                       // nonsense of many lengths
        }
        Translation[] batched = model.Decode(lines);
        var outputLengths = new HashSet<int>();
        int unknown = 0;
        for (int i = 0; i < lines.Count; i++)
        {
            Translation alone = model.Decode(lines[i]);
            Assert.Equal(alone.Text, batched[i].Text);
            Assert.Equal(alone.Tokens, batched[i].Tokens);
            Assert.Equal(alone.Score, batched[i].Score);
            Assert.Equal(alone.Finished, batched[i].Finished);
            Assert.Equal(alone.UnknownTokens, batched[i].UnknownTokens);
            Assert.True(alone.Alignment!.Weights.SequenceEqual(batched[i].Alignment!.Weights), $"line {i}: alignment differs");
            outputLengths.Add(alone.Tokens.Count);
            unknown += alone.UnknownTokens.Count;
        }
        Assert.True(outputLengths.Count >= 10, $"only {outputLengths.Count} output lengths");
        Assert.True(unknown >= 40, $"only {unknown} unknown tokens");
    }

    [Fact]
    public void PreparedDecoderStep_SkippingFinishedRows_AllocatesNothing()
    {
        Seq2SeqModel model = Model(Config(RecurrentKind.Gru, DecoderStyle.Bahdanau, AttentionScorer.Additive, true), 4, 2);
        InferenceWeights weights = model.PrepareInference();
        int[] ids = [3, 4, 5, 6, 7, 8, 3, 4, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 9, 9, 9, 9, 0, 0];
        int[] lengths = [6, 2, 1, 4];
        int[] fed = new int[4];
        bool[] skip = new bool[4];
        long bytes = Allocations.AfterWarmUp(() =>
        {
            model.Encode(ids, lengths, 4, 6, weights);
            Array.Fill(fed, 1);
            Array.Clear(skip);
            for (int t = 0; t < 8; t++)
            {
                skip[t % 4] = true;                                                               // rows finish at steps 0..3
                model.DecoderStep(t, 4, fed, weights, skip);
            }
        });
        Assert.Equal(0, bytes);
    }
}
