using SpanAttention.Attention;
using SpanAttention.Inference;
using SpanAttention.Kernels;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Seq2Seq;

/// <summary>The prepared decoding path (<see cref="Seq2SeqModel.PrepareInference"/>) against the plain (training-code) path.</summary>
public sealed class PreparedInferenceTests
{
    /// <summary>
    /// Every cell × decoder style × scorer, at odd sizes (E 7, H 9, A 5); and the Bahdanau decoder with the context gate
    /// for every cell and a dot and a bidirectional scorer.
    /// </summary>
    public static TheoryData<RecurrentKind, DecoderStyle, AttentionScorer, bool> Configurations()
    {
        var data = new TheoryData<RecurrentKind, DecoderStyle, AttentionScorer, bool>();
        foreach (RecurrentKind cell in new[] { RecurrentKind.Rnn, RecurrentKind.Gru, RecurrentKind.Lstm })
        {
            foreach (DecoderStyle style in new[] { DecoderStyle.Bahdanau, DecoderStyle.Luong })
            {
                foreach (AttentionScorer scorer in new[] { AttentionScorer.Dot, AttentionScorer.ScaledDot, AttentionScorer.General, AttentionScorer.Additive })
                {
                    data.Add(cell, style, scorer, false);
                }
            }
            data.Add(cell, DecoderStyle.None, AttentionScorer.Additive, false);
            data.Add(cell, DecoderStyle.Bahdanau, AttentionScorer.Dot, true);
            data.Add(cell, DecoderStyle.Bahdanau, AttentionScorer.Additive, true);
        }
        return data;
    }

    /// <summary>
    /// Odd sizes. Dot scorers get Dk = Dq (unidirectional encoder) with RNN and LSTM cells and a bidirectional encoder
    /// (2H keys: the learned key projection) with GRU; the others get a bidirectional encoder (bridge, Dc = 2H). LSTM runs a 2-layer encoder. Target vocabulary 31 &gt; 4E (no table) for GRU, source vocabulary
    /// 30 &gt; 4E (packed GEMM instead of the table) for RNN; the rest use lookup tables.
    /// </summary>
    private static Seq2SeqConfig Config(RecurrentKind cell, DecoderStyle style, AttentionScorer scorer, bool gate = false) => new()
    {
        ContextGate = gate,
        SourceVocabSize = cell == RecurrentKind.Rnn ? 30 : 11,
        TargetVocabSize = cell == RecurrentKind.Gru ? 31 : 13,
        EmbeddingSize = 7,
        HiddenSize = 9,
        AttentionSize = 5,
        Cell = cell,
        EncoderLayers = cell == RecurrentKind.Lstm ? 2 : 1,
        Bidirectional = scorer is AttentionScorer.General or AttentionScorer.Additive || cell == RecurrentKind.Gru,
        Decoder = style,
        Scorer = scorer,
        PaddingId = 0,
        BosId = 1,
        EosId = 2,
    };

    // Three rows of lengths 12, 5 and 9 (S = 12): padding in the encoder and the attention; S = 12 > Dc = 9 (no U)
    // for unidirectional encoders and ≤ Dc = 18 (U) for bidirectional ones.
    private static readonly int[] Lengths = [12, 5, 9];
    private const int S = 12;

    private static int[] SourceIds(Seq2SeqConfig config, int seed)
    {
        var random = new Random(seed);
        var ids = new int[Lengths.Length * S];
        for (int b = 0; b < Lengths.Length; b++)
        {
            for (int t = 0; t < S; t++)
            {
                ids[b * S + t] = t < Lengths[b] ? random.Next(3, config.SourceVocabSize) : config.PaddingId;
            }
        }
        return ids;
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void DecoderStep_Prepared_MatchesPlainLogitsAndAlignments(RecurrentKind cell, DecoderStyle style, AttentionScorer scorer, bool gate)
    {
        Seq2SeqConfig config = Config(cell, style, scorer, gate);
        int bsz = Lengths.Length, steps = 6, v = config.TargetVocabSize;
        var model = new Seq2SeqModel(config, bsz, S, steps, seed: 3);
        int[] ids = SourceIds(config, 5);
        var random = new Random(9);
        var fed = new int[steps][];
        for (int t = 0; t < steps; t++)
        {
            fed[t] = [.. Enumerable.Range(0, bsz).Select(_ => t == 0 ? config.BosId : random.Next(0, v))];
        }
        var plainLogits = new List<float[]>();
        var plainWeights = new List<float[]>();
        model.Encode(ids, Lengths, bsz, S);
        for (int t = 0; t < steps; t++)
        {
            model.DecoderStep(t, bsz, fed[t]);
            plainLogits.Add(model.StepLogits(t, bsz).ToArray());
            plainWeights.Add(model.StepWeights(t, bsz).ToArray());
        }

        InferenceWeights weights = model.PrepareInference();
        Seq2SeqModel fresh = model.CreateReplica();                                  // same parameters, untouched workspaces
        fresh.Encode(ids, Lengths, bsz, S, weights);
        for (int t = 0; t < steps; t++)
        {
            fresh.DecoderStep(t, bsz, fed[t], weights);
            Numerics.AssertClose(plainLogits[t], fresh.StepLogits(t, bsz), 1e-4f, 2e-5f, $"logits of step {t}");
            Numerics.AssertClose(plainWeights[t], fresh.StepWeights(t, bsz), 1e-4f, 2e-6f, $"alignment of step {t}");
        }
        model = fresh;
        if (style != DecoderStyle.None)
        {
            // padding positions get exactly zero weight on both paths
            Assert.All(Enumerable.Range(Lengths[1], S - Lengths[1]), j => Assert.Equal(0f, model.StepWeights(steps - 1, bsz)[S + j]));
        }
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void GreedyAndBeam_Prepared_SameTokensAsPlain(RecurrentKind cell, DecoderStyle style, AttentionScorer scorer, bool gate)
    {
        Seq2SeqConfig config = Config(cell, style, scorer, gate);
        var model = new Seq2SeqModel(config, 4, S, 10, seed: 11);
        int[] ids = SourceIds(config, 13);
        int[][] distinct = [.. Lengths.Select((n, b) => ids.AsSpan(b * S, n).ToArray())];
        int[][] sources = [distinct[0], distinct[1], distinct[1], distinct[2]];     // a repeated source: encoded once, copied
        InferenceWeights weights = model.PrepareInference();

        // prepared first, so that nothing the plain path leaves in the workspaces can hide a prepared-path gap
        Hypothesis[] prepared = Decoding.Greedy(model, sources, 10, weights);
        Hypothesis[] plain = Decoding.Greedy(model, sources, 10);
        for (int i = 0; i < sources.Length; i++)
        {
            Assert.Equal(plain[i].Tokens, prepared[i].Tokens);
            Assert.Equal(plain[i].Score, prepared[i].Score, 3);
            Numerics.AssertClose(plain[i].Alignment, prepared[i].Alignment, 1e-4f, 2e-6f, $"greedy alignment of source {i}");
        }

        Hypothesis[] preparedBeam = Decoding.Beam(model, sources[0], 3, 10, weights: weights);
        Hypothesis[] plainBeam = Decoding.Beam(model, sources[0], 3, 10);
        Assert.Equal(plainBeam.Length, preparedBeam.Length);
        for (int i = 0; i < plainBeam.Length; i++)
        {
            Assert.Equal(plainBeam[i].Tokens, preparedBeam[i].Tokens);
            Assert.Equal(plainBeam[i].Score, preparedBeam[i].Score, 3);
            Numerics.AssertClose(plainBeam[i].Alignment, preparedBeam[i].Alignment, 1e-4f, 2e-6f, $"beam alignment {i}");
        }
    }

    [Fact]
    public void PreparedDecode_SteadyState_AllocatesNothing()
    {
        // The benchmark workload's shape: GRU, Bahdanau, additive, batch 1, tables on both sides.
        var config = new Seq2SeqConfig { SourceVocabSize = 64, TargetVocabSize = 64, EmbeddingSize = 32, HiddenSize = 32, PaddingId = 63, BosId = 0, EosId = 1 };
        var model = new Seq2SeqModel(config, 1, 16, 16, seed: 2);
        InferenceWeights weights = model.PrepareInference();
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

    [Fact]
    public void Prepared_ReplicaSharesWeights_ForeignModelRejected()
    {
        Seq2SeqConfig config = Config(RecurrentKind.Gru, DecoderStyle.Bahdanau, AttentionScorer.Additive);
        var model = new Seq2SeqModel(config, 1, S, 4, seed: 1);
        InferenceWeights weights = model.PrepareInference();
        Seq2SeqModel replica = model.CreateReplica();
        int[] source = [3, 4, 5];
        Assert.Equal(Decoding.Greedy(model, [source], 4, weights)[0].Tokens, Decoding.Greedy(replica, [source], 4, weights)[0].Tokens);

        var other = new Seq2SeqModel(config, 1, S, 4, seed: 1);
        var e = Assert.Throws<ArgumentException>(() => Decoding.Greedy(other, [source], 4, weights));
        Assert.Equal("weights", e.ParamName);
    }

    [Fact]
    public void DecoderStep_MixedPaths_Throw()
    {
        Seq2SeqConfig config = Config(RecurrentKind.Gru, DecoderStyle.Luong, AttentionScorer.General);
        var model = new Seq2SeqModel(config, 1, S, 4, seed: 1);
        InferenceWeights weights = model.PrepareInference();
        int[] source = [3, 4, 5];
        int[] fed = [config.BosId];
        model.Encode(source, [3], 1, 3);
        Assert.Throws<InvalidOperationException>(() => model.DecoderStep(0, 1, fed, weights));      // plain Encode, prepared step
        model.Encode(source, [3], 1, 3, weights);
        Assert.Throws<InvalidOperationException>(() => model.DecoderStep(0, 1, fed));               // prepared Encode, plain step
        model.DecoderStep(0, 1, fed, weights);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.DecoderStep(1, 1, [config.TargetVocabSize], weights)); // token out of range
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Encode([3, 4, 99], [3], 1, 3, weights));           // source id out of range
    }

    [Fact]
    public void Translator_PreparedByDefault_PlainOnRequest()
    {
        Seq2SeqConfig config = Config(RecurrentKind.Lstm, DecoderStyle.Bahdanau, AttentionScorer.Additive);
        var model = new Seq2SeqModel(config, 2, S, 8, seed: 6);
        Assert.Same(model.Parameters, new Translator(model).Weights?.Parameters);
        var plain = new Translator(model, prepare: false);
        Assert.Null(plain.Weights);
        int[] source = [5, 6, 7, 8];
        Assert.Equal(Decoding.Greedy(model, [source], 8)[0].Tokens, plain.Greedy([source], 8)[0].Tokens);
        Assert.Equal(Decoding.Greedy(model, [source], 8)[0].Alignment, plain.Greedy([source], 8)[0].Alignment);
    }
}
