using System.Numerics.Tensors;
using SpanAttention.Inference;
using SpanAttention.Seq2Seq;
using SpanAttention.Transformer;
using Xunit;

namespace SpanAttention.Tests.Transformer;

/// <summary>
/// Beam search against the exhaustive search it approximates: on a target vocabulary of two real tokens and a short
/// maximum length, a beam wider than every prefix keeps every candidate, so it must return every output the search
/// space holds, each with its teacher-forced log-probability, and its best must be the exhaustive best.
/// </summary>
public sealed class BeamExhaustiveTests
{
    private const int MaxLength = 4;                         // decoder steps, EOS included
    private const int Beam = 32;                             // > 2^(MaxLength-1) live prefixes plus their EOS candidates

    private static readonly int[][] Sources = [[3, 4, 5, 6, 7], [6, 3], [7, 7, 4, 5, 3, 6]];

    /// <summary>V_tgt = 5: pad, bos, eos and the two real tokens 3, 4; weights ×3 so the distributions are far from uniform.</summary>
    private static TransformerSeq2Seq Model(int seed)
    {
        Seq2SeqConfig config = TransformerSeq2SeqTests.Tiny(sourceVocab: 8, targetVocab: 5) with { EmbeddingSize = 8, Heads = 2, FeedForwardSize = 12 };
        var model = new TransformerSeq2Seq(config, Beam, 8, MaxLength, seed);
        foreach (var slot in model.Layout.Slots)
        {
            if (!slot.Name.Contains("embedding", StringComparison.Ordinal))
            {
                Span<float> v = slot.Of(model.Parameters.Values.AsSpan());
                TensorPrimitives.Multiply(v, 3f, v);
            }
        }
        return model;
    }

    /// <summary>
    /// Every output the beam can produce within <see cref="MaxLength"/> steps: y of 0..MaxLength-1 real tokens then EOS
    /// (finished), or MaxLength real tokens (unfinished); pad and bos are never emitted.
    /// </summary>
    private static List<(int[] Tokens, bool Finished)> SearchSpace()
    {
        var all = new List<(int[], bool)>();
        for (int n = 0; n <= MaxLength; n++)
        {
            for (int code = 0; code < 1 << n; code++)
            {
                int[] y = [.. Enumerable.Range(0, n).Select(i => 3 + ((code >> i) & 1))];
                all.Add((y, n < MaxLength));
            }
        }
        return all;
    }

    /// <summary>
    /// log p(y (+ EOS when finished) | source) from one teacher-forced forward of the whole search space (B rows,
    /// T = MaxLength, right-padded): Σ_t log softmax(logits[b, t])[y_t] over the row's steps.
    /// </summary>
    private static double[] TeacherForced(TransformerSeq2Seq model, int[] source, List<(int[] Tokens, bool Finished)> outputs)
    {
        Seq2SeqConfig config = model.Config;
        int v = config.TargetVocabSize, t = MaxLength, s = source.Length;
        var result = new double[outputs.Count];
        for (int start = 0; start < outputs.Count; start += model.MaxBatch)
        {
            int bsz = Math.Min(model.MaxBatch, outputs.Count - start);
            var ids = new int[bsz * s];
            var input = new int[bsz * t];
            var output = new int[bsz * t];
            var lengths = new int[bsz];
            for (int b = 0; b < bsz; b++)
            {
                source.CopyTo(ids, b * s);
                (int[] y, bool finished) = outputs[start + b];
                int[] target = finished ? [.. y, config.EosId] : y;
                input[b * t] = config.BosId;
                y.AsSpan(0, Math.Min(y.Length, t - 1)).CopyTo(input.AsSpan(b * t + 1));
                target.CopyTo(output, b * t);
                lengths[b] = target.Length;
            }
            model.Forward(new Seq2SeqBatch(bsz, s, t, ids, [.. Enumerable.Repeat(s, bsz)], input, output, lengths));
            for (int b = 0; b < bsz; b++)
            {
                double sum = 0;
                for (int i = 0; i < lengths[b]; i++)
                {
                    ReadOnlySpan<float> row = model.Logits.Slice((b * t + i) * v, v);
                    sum += row[output[b * t + i]] - Decoding.LogSumExp(row);
                }
                result[start + b] = sum;
            }
        }
        return result;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Beam_WiderThanAllPrefixes_FindsTheExhaustiveBestAndScoresEveryOutput(int seed)
    {
        TransformerSeq2Seq model = Model(seed);
        List<(int[] Tokens, bool Finished)> space = SearchSpace();
        foreach (int[] source in Sources)
        {
            double[] exact = TeacherForced(model, source, space);
            Hypothesis[] beam = TransformerDecoding.Beam(model, source, Beam, MaxLength, lengthPenalty: 0f);

            // every output of the space, once, with its teacher-forced log-probability
            Assert.Equal(space.Count, beam.Length);
            var byKey = new Dictionary<string, int>();
            for (int i = 0; i < space.Count; i++)
            {
                byKey[Key(space[i].Tokens, space[i].Finished)] = i;
            }
            foreach (Hypothesis h in beam)
            {
                Assert.True(byKey.Remove(Key(h.Tokens, h.Finished), out int i), $"unexpected or repeated output {Key(h.Tokens, h.Finished)}");
                Assert.True(Math.Abs(h.Score - exact[i]) <= 1e-4 * Math.Max(1, Math.Abs(exact[i])), $"{Key(h.Tokens, h.Finished)}: beam {h.Score}, teacher-forced {exact[i]}");
            }
            Assert.Empty(byKey);

            // the best the beam returns is the exhaustive arg-max, by a margin larger than the tolerance
            int best = Array.IndexOf(exact, exact.Max());
            Assert.Equal(Key(space[best].Tokens, space[best].Finished), Key(beam[0].Tokens, beam[0].Finished));
            Assert.True(exact.Order().Reverse().Skip(1).First() < exact[best] - 1e-3, "a near tie would not test the ranking");
        }
    }

    [Fact]
    public void Beam_Narrow_ScoresAreTeacherForcedAndNeverAboveTheExhaustiveBest()
    {
        TransformerSeq2Seq model = Model(4);
        List<(int[] Tokens, bool Finished)> space = SearchSpace();
        foreach (int[] source in Sources)
        {
            double[] exact = TeacherForced(model, source, space);
            var index = space.Select((o, i) => (Key(o.Tokens, o.Finished), i)).ToDictionary(p => p.Item1, p => p.i);
            foreach (int k in new[] { 1, 2, 3 })
            {
                foreach (Hypothesis h in TransformerDecoding.Beam(model, source, k, MaxLength, lengthPenalty: 0f))
                {
                    double expected = exact[index[Key(h.Tokens, h.Finished)]];
                    Assert.True(Math.Abs(h.Score - expected) <= 1e-4 * Math.Max(1, Math.Abs(expected)), $"K = {k}: beam {h.Score}, teacher-forced {expected}");
                    Assert.True(h.Score <= exact.Max() + 1e-4, $"K = {k}: beam {h.Score} above the exhaustive best {exact.Max()}");
                }
            }
        }
    }

    private static string Key(int[] tokens, bool finished) => string.Join(" ", tokens) + (finished ? " </s>" : " …");
}
