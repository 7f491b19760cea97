using SpanAttention.Attention;
using SpanAttention.Inference;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Seq2Seq;

/// <summary>Prepared decoding with bf16 and int8 GEMV weights (<see cref="InferenceWeightFormat"/>) against fp32.</summary>
public sealed class NarrowInferenceWeightsTests
{
    public static TheoryData<RecurrentKind, DecoderStyle, AttentionScorer, int> Configurations()
    {
        var data = new TheoryData<RecurrentKind, DecoderStyle, AttentionScorer, int>();
        foreach (int format in new[] { (int)InferenceWeightFormat.BFloat16, (int)InferenceWeightFormat.Int8 })
        {
            data.Add(RecurrentKind.Gru, DecoderStyle.Bahdanau, AttentionScorer.Additive, format);
            data.Add(RecurrentKind.Lstm, DecoderStyle.Luong, AttentionScorer.General, format);
            data.Add(RecurrentKind.Rnn, DecoderStyle.None, AttentionScorer.Additive, format);
        }
        return data;
    }

    /// <summary>Odd sizes; a bidirectional GRU (bridge) and a target vocabulary over 4E for it (W_e packed, no table).</summary>
    private static Seq2SeqConfig Config(RecurrentKind cell, DecoderStyle style, AttentionScorer scorer) => new()
    {
        SourceVocabSize = 11,
        TargetVocabSize = cell == RecurrentKind.Gru ? 31 : 13,
        EmbeddingSize = 7,
        HiddenSize = 19,
        AttentionSize = 5,
        Cell = cell,
        Bidirectional = cell == RecurrentKind.Gru,
        Decoder = style,
        Scorer = scorer,
        PaddingId = 0,
        BosId = 1,
        EosId = 2,
    };

    private static readonly int[] Lengths = [9, 4];
    private const int S = 9;

    [Theory]
    [MemberData(nameof(Configurations))]
    public void DecoderStep_NarrowWeights_LogitsWithinRoundingOfFp32(RecurrentKind cell, DecoderStyle style, AttentionScorer scorer, int format)
    {
        var weightFormat = (InferenceWeightFormat)format;
        Seq2SeqConfig config = Config(cell, style, scorer);
        int bsz = Lengths.Length, steps = 5;
        var model = new Seq2SeqModel(config, bsz, S, steps, seed: 4);
        var random = new Random(8);
        int[] ids = [.. Enumerable.Range(0, bsz * S).Select(i => i % S < Lengths[i / S] ? random.Next(3, config.SourceVocabSize) : 0)];
        int[][] fed = [.. Enumerable.Range(0, steps).Select(t => Enumerable.Range(0, bsz).Select(_ => t == 0 ? config.BosId : random.Next(0, config.TargetVocabSize)).ToArray())];

        InferenceWeights fp32 = model.PrepareInference();
        InferenceWeights narrow = model.PrepareInference(weightFormat);
        Assert.Equal(weightFormat, narrow.Format);
        Assert.Equal(InferenceWeightFormat.Float32, fp32.Format);
        Seq2SeqModel replica = model.CreateReplica();
        model.Encode(ids, Lengths, bsz, S, fp32);
        replica.Encode(ids, Lengths, bsz, S, narrow);
        // bf16 rounds each weight by ≤ 2⁻⁸ relative, int8 by ≤ max|w| / 254 of its row: a few 1e-3 on logits of order 1
        float atol = weightFormat == InferenceWeightFormat.BFloat16 ? 2e-2f : 5e-2f;
        float largest = 0f;
        for (int t = 0; t < steps; t++)
        {
            model.DecoderStep(t, bsz, fed[t], fp32);
            replica.DecoderStep(t, bsz, fed[t], narrow);
            float[] expected = model.StepLogits(t, bsz).ToArray(), actual = replica.StepLogits(t, bsz).ToArray();
            Numerics.AssertClose(expected, actual, 0f, atol, $"{weightFormat} logits of step {t}");
            largest = Math.Max(largest, expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max());
        }
        Assert.True(largest > 0f, "the narrow weights gave bit-identical logits: they were not used");
    }

    [Theory]
    [InlineData((int)InferenceWeightFormat.BFloat16)]
    [InlineData((int)InferenceWeightFormat.Int8)]
    public void PreparedDecode_NarrowWeights_SteadyStateAllocatesNothing(int format)
    {
        var config = new Seq2SeqConfig { SourceVocabSize = 64, TargetVocabSize = 64, EmbeddingSize = 32, HiddenSize = 32, PaddingId = 63, BosId = 0, EosId = 1 };
        var model = new Seq2SeqModel(config, 1, 16, 16, seed: 2);
        InferenceWeights weights = model.PrepareInference((InferenceWeightFormat)format);
        int[] source = [.. Enumerable.Range(3, 16)];
        int[] lengths = [16];
        int[] fed = [0];
        long bytes = Allocations.AfterWarmUp(() =>
        {
            model.Encode(source, lengths, 1, 16, weights);
            fed[0] = 0;
            for (int t = 0; t < 16; t++)
            {
                model.DecoderStep(t, 1, fed, weights);
                fed[0] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(model.StepLogits(t, 1));
            }
        });
        Assert.Equal(0, bytes);
    }

    [Theory]
    [InlineData((int)InferenceWeightFormat.BFloat16)]
    [InlineData((int)InferenceWeightFormat.Int8)]
    public void GreedyAndBeam_NarrowWeightsAboveThePreparedBatch_StillDecodeWithThem(int format)
    {
        // 10 rows > PreparedMaxBatch: fp32 weights would fall back to the plain path, narrow ones must not. Row by row
        // (1 row, always prepared) gives the reference: the same scores exactly.
        Seq2SeqConfig config = Config(RecurrentKind.Gru, DecoderStyle.Bahdanau, AttentionScorer.Additive);
        var model = new Seq2SeqModel(config, 10, S, 8, seed: 12);
        var random = new Random(3);
        int[][] sources = [.. Enumerable.Range(0, 10).Select(i => Enumerable.Range(0, 3 + i % 5).Select(_ => random.Next(3, config.SourceVocabSize)).ToArray())];
        var translator = new Translator(model, (InferenceWeightFormat)format);
        Assert.Equal((InferenceWeightFormat)format, translator.Weights!.Format);
        Hypothesis[] batched = translator.Greedy(sources, 8);
        Hypothesis[] plain = Decoding.Greedy(model, sources, 8);
        double farthest = 0;
        for (int i = 0; i < sources.Length; i++)
        {
            Hypothesis alone = translator.Greedy([sources[i]], 8)[0];
            Assert.Equal(alone.Tokens, batched[i].Tokens);
            Assert.Equal(alone.Score, batched[i].Score, 6);   // same weights; only the batch's padding differs
            farthest = Math.Max(farthest, Math.Abs(plain[i].Score - batched[i].Score));
        }
        Assert.True(farthest > 1e-4, $"the batch decoded like fp32 (largest score difference {farthest}): the narrow weights were not used");
        Hypothesis[] wide = translator.Beam(sources[0], 9, 8);                                     // K = 9 > PreparedMaxBatch
        Hypothesis[] plainBeam = Decoding.Beam(model, sources[0], 9, 8);
        Assert.True(Math.Abs(plainBeam[0].Score - wide[0].Score) > 1e-6, "the wide beam decoded like fp32");
    }

    [Fact]
    public void PrepareInference_UndefinedFormat_ThrowsNamingIt()
    {
        var model = new Seq2SeqModel(Config(RecurrentKind.Gru, DecoderStyle.Bahdanau, AttentionScorer.Additive), 1, S, 4, seed: 1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.PrepareInference((InferenceWeightFormat)7));
        Assert.Equal("format", e.ParamName);
    }
}
