using System.Numerics.Tensors;
using SpanAttention.Inference;
using SpanAttention.Seq2Seq;
using SpanAttention.Tests.Support;
using SpanAttention.Transformer;
using Xunit;

namespace SpanAttention.Tests.Transformer;

/// <summary>Decoding a <see cref="TransformerSeq2Seq"/> with its key/value cache, against recomputing every prefix.</summary>
public sealed class TransformerDecodingTests
{
    private static readonly int[][] Sources = [[3, 4, 5, 6, 7, 8, 9], [5, 3], [6, 6, 4, 11]];

    /// <summary>E = 16, 4 heads, F = 24, 2 layers, V = 14; every non-embedding tensor ×2 so the logits are not near-uniform.</summary>
    private static TransformerSeq2Seq Model(int maxBatch, int maxTarget, int seed = 7)
    {
        Seq2SeqConfig config = TransformerSeq2SeqTests.Tiny(sourceVocab: 14, targetVocab: 14) with { EmbeddingSize = 16, Heads = 4, FeedForwardSize = 24 };
        var model = new TransformerSeq2Seq(config, maxBatch, 8, maxTarget, seed);
        foreach (var slot in model.Layout.Slots)
        {
            if (!slot.Name.Contains("embedding", StringComparison.Ordinal))
            {
                Span<float> v = slot.Of(model.Parameters.Values.AsSpan());
                TensorPrimitives.Multiply(v, 2f, v);
            }
        }
        return model;
    }

    /// <summary>The teacher-forced forward over prefixes fed[b, 0..t] (no loss counted): its logits at position t are the uncached step t.</summary>
    private static float[] Recompute(TransformerSeq2Seq model, int[][] sources, int[][] fed, int t)
    {
        int bsz = sources.Length, s = sources.Max(x => x.Length), steps = t + 1, v = model.Config.TargetVocabSize;
        var ids = new int[bsz * s];
        var input = new int[bsz * steps];
        var output = new int[bsz * steps];                   // all padding: nothing counted
        var targetLengths = new int[bsz];
        for (int b = 0; b < bsz; b++)
        {
            sources[b].CopyTo(ids, b * s);
            fed[b].AsSpan(0, steps).CopyTo(input.AsSpan(b * steps));
            targetLengths[b] = steps;
        }
        var batch = new Seq2SeqBatch(bsz, s, steps, ids, [.. sources.Select(x => x.Length)], input, output, targetLengths);
        model.Forward(batch);
        var logits = new float[bsz * v];
        for (int b = 0; b < bsz; b++)
        {
            model.Logits.Slice((b * steps + t) * v, v).CopyTo(logits.AsSpan(b * v));
        }
        return logits;
    }

    [Fact]
    public void DecodeStep_CachedSteps_EqualRecomputedPrefixes()
    {
        const int steps = 12;
        TransformerSeq2Seq model = Model(3, steps);
        int bsz = Sources.Length, v = model.Config.TargetVocabSize, s = Sources.Max(x => x.Length);
        var ids = new int[bsz * s];
        for (int b = 0; b < bsz; b++)
        {
            Sources[b].CopyTo(ids, b * s);
        }
        int[][] fed = [.. Enumerable.Range(0, bsz).Select(_ => new int[steps])];
        var step = new int[bsz];
        Array.Fill(step, model.Config.BosId);
        model.StartDecoding(ids, [.. Sources.Select(x => x.Length)], bsz, s, bsz);
        var tokens = new HashSet<int>();
        for (int t = 0; t < steps; t++)
        {
            for (int b = 0; b < bsz; b++)
            {
                fed[b][t] = step[b];
            }
            float[] cached = model.DecodeStep(t, step).ToArray();
            float[] expected = Recompute(model, Sources, fed, t);
            Numerics.AssertClose(expected, cached, 1e-4f, 1e-5f, $"logits of step {t}");
            for (int b = 0; b < bsz; b++)
            {
                int best = TensorPrimitives.IndexOfMax(cached.AsSpan(b * v, v));
                Assert.Equal(TensorPrimitives.IndexOfMax(expected.AsSpan(b * v, v)), best);
                // the greedy token, but every third step a forced one, so the cache holds a varied history
                step[b] = t % 3 == 2 ? 3 + (5 * b + t) % 11 : best;
                tokens.Add(step[b]);
            }
        }
        Assert.True(tokens.Count >= 4);
    }

    [Fact]
    public void Greedy_CrossWeights_AreDistributionsOverValidSource()
    {
        TransformerSeq2Seq model = Model(3, 10);
        Hypothesis[] results = TransformerDecoding.Greedy(model, Sources, 10);
        for (int b = 0; b < Sources.Length; b++)
        {
            Hypothesis h = results[b];
            Assert.Equal(Sources[b].Length, h.SourceLength);
            Assert.Equal(h.Tokens.Length * h.SourceLength, h.Alignment.Length);
            for (int t = 0; t < h.Tokens.Length; t++)
            {
                Assert.Equal(1f, TensorPrimitives.Sum(h.Alignment.AsSpan(t * h.SourceLength, h.SourceLength)), 4);
            }
        }
    }

    [Fact]
    public void Beam_WidthOne_EqualsGreedy()
    {
        TransformerSeq2Seq model = Model(3, 10);
        for (int b = 0; b < Sources.Length; b++)
        {
            Hypothesis greedy = TransformerDecoding.Greedy(model, [Sources[b]], 10)[0];
            Hypothesis beam = TransformerDecoding.Beam(model, Sources[b], 1, 10)[0];
            Assert.Equal(greedy.Tokens, beam.Tokens);
            Assert.Equal(greedy.Score, beam.Score, 4);
        }
    }

    /// <summary>
    /// Each beam hypothesis's score is the log-probability a teacher-forced forward gives its tokens (+ EOS when
    /// finished): a wrong cache reorder would score a hypothesis with another row's history.
    /// </summary>
    [Fact]
    public void Beam_HypothesisScores_EqualTeacherForcedLogProbabilities()
    {
        TransformerSeq2Seq model = Model(4, 12);
        Seq2SeqConfig config = model.Config;
        int checkedHypotheses = 0, distinct = 0;
        foreach (int[] source in Sources)
        {
            Hypothesis[] beams = TransformerDecoding.Beam(model, source, 4, 12, lengthPenalty: 0f);
            Assert.True(beams.Length >= 2);
            distinct += beams.Select(h => string.Join(",", h.Tokens)).Distinct().Count();
            Assert.True(beams[0].Score >= TransformerDecoding.Greedy(model, [source], 12)[0].Score - 1e-4f);
            foreach (Hypothesis h in beams)
            {
                int[] target = h.Finished ? [.. h.Tokens, config.EosId] : h.Tokens;
                if (target.Length == 0)
                {
                    continue;
                }
                int t = target.Length;
                int[] input = [config.BosId, .. target[..^1]];
                var batch = new Seq2SeqBatch(1, source.Length, t, source, [source.Length], input, target, [t]);
                double logProbability = -(double)model.Forward(batch) * model.LastTokenCount;
                Assert.Equal(logProbability, h.Score, 3);
                checkedHypotheses++;
            }
        }
        Assert.True(checkedHypotheses >= 8);
        Assert.True(distinct >= 6);
    }

    [Fact]
    public void DecodeStep_SteadyState_AllocatesNothing()
    {
        TransformerSeq2Seq model = Model(4, 16);
        int[] ids = [3, 4, 5, 6, 7, 8, 9, 10];
        int[] lengths = [8];
        int[] fed = new int[4];
        int[] parents = [0, 0, 1, 2];
        long bytes = Allocations.AfterWarmUp(() =>
        {
            model.StartDecoding(ids, lengths, 1, 8, 4);
            Array.Fill(fed, model.Config.BosId);
            for (int t = 0; t < 16; t++)
            {
                ReadOnlySpan<float> logits = model.DecodeStep(t, fed);
                for (int r = 0; r < 4; r++)
                {
                    fed[r] = TensorPrimitives.IndexOfMax(logits.Slice(r * 14, 14));
                }
                model.ReorderDecoding(parents);
            }
        });
        Assert.Equal(0, bytes);
    }

    [Fact]
    public void DecodeStep_OutOfOrderOrPastCapacity_Throws()
    {
        TransformerSeq2Seq model = Model(2, 3);
        Assert.Throws<InvalidOperationException>(() => model.DecodeStep(0, [1]));              // no StartDecoding
        model.StartDecoding([3, 4], [2], 1, 2, 1);
        Assert.Throws<InvalidOperationException>(() => model.DecodeStep(1, [1]));              // step 0 first
        model.DecodeStep(0, [1]);
        model.DecodeStep(1, [4]);
        model.DecodeStep(2, [4]);
        Assert.Throws<InvalidOperationException>(() => model.DecodeStep(3, [4]));              // MaxTarget = 3
        Assert.Throws<ArgumentOutOfRangeException>(() => TransformerDecoding.Greedy(model, [[3]], 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => TransformerDecoding.Beam(model, [3], 3, 3));
    }
}
