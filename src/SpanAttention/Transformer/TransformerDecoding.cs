using System.Numerics.Tensors;
using SpanAttention.Inference;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Transformer;

/// <summary>
/// Greedy (batched) and beam-search decoding of a <see cref="TransformerSeq2Seq"/> with its key/value cache, returning
/// the same <see cref="Hypothesis"/> records as <see cref="Decoding"/> (alignments: the last decoder layer's
/// cross-attention averaged over the heads). Uses the model's workspaces: one model decodes on one thread at a time.
/// </summary>
internal static class TransformerDecoding
{
    /// <summary>Greedy decoding of a list of sources, in chunks of up to MaxBatch rows.</summary>
    /// <param name="model">The model.</param>
    /// <param name="sources">Source id sequences (each non-empty, at most MaxSource long).</param>
    /// <param name="maxLength">Maximum decoder steps per output (EOS included), at most MaxTarget.</param>
    /// <returns>One hypothesis per source, in order.</returns>
    public static Hypothesis[] Greedy(TransformerSeq2Seq model, IReadOnlyList<int[]> sources, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sources);
        CheckLength(model, maxLength);
        Seq2SeqConfig config = model.Config;
        int v = config.TargetVocabSize;
        var results = new Hypothesis[sources.Count];
        for (int start = 0; start < sources.Count; start += model.MaxBatch)
        {
            int bsz = Math.Min(model.MaxBatch, sources.Count - start);
            (int[] ids, int[] lengths, int s) = Pad(model, sources, start, bsz);
            model.StartDecoding(ids, lengths, bsz, s, bsz);
            var fed = new int[bsz];
            Array.Fill(fed, config.BosId);
            var tokens = new List<int>[bsz];
            var alignments = new List<float>[bsz];
            var scores = new double[bsz];
            var done = new bool[bsz];
            for (int b = 0; b < bsz; b++)
            {
                tokens[b] = [];
                alignments[b] = [];
            }
            int active = bsz;
            for (int t = 0; t < maxLength && active > 0; t++)
            {
                ReadOnlySpan<float> logits = model.DecodeStep(t, fed);
                ReadOnlySpan<float> weights = model.StepCrossWeights;
                for (int b = 0; b < bsz; b++)
                {
                    if (done[b])
                    {
                        fed[b] = config.EosId;
                        continue;
                    }
                    ReadOnlySpan<float> row = logits.Slice(b * v, v);
                    int best = TensorPrimitives.IndexOfMax(row);
                    scores[b] += row[best] - Decoding.LogSumExp(row);
                    fed[b] = best;
                    if (best == config.EosId)
                    {
                        done[b] = true;
                        active--;
                        continue;
                    }
                    tokens[b].Add(best);
                    foreach (float w in weights.Slice(b * s, lengths[b]))
                    {
                        alignments[b].Add(w);
                    }
                }
            }
            for (int b = 0; b < bsz; b++)
            {
                float score = (float)scores[b];
                results[start + b] = new Hypothesis([.. tokens[b]], score, score, done[b], [.. alignments[b]], lengths[b]);
            }
        }
        return results;
    }

    /// <summary>
    /// Beam search for one source, as <see cref="Decoding.Beam"/>: the K best partial outputs by total log-probability,
    /// a candidate ending in EOS leaving the beam as a finished hypothesis; stops when K have finished or after
    /// <paramref name="maxLength"/> steps; ranks by Score / steps^<paramref name="lengthPenalty"/>. The source is encoded
    /// once (B = 1) and the K rows share its memory; each step reorders the cache by the rows' parents.
    /// </summary>
    /// <param name="model">The model (MaxBatch ≥ K).</param>
    /// <param name="source">Source ids (non-empty).</param>
    /// <param name="beamWidth">K ≥ 1.</param>
    /// <param name="maxLength">Maximum decoder steps.</param>
    /// <param name="lengthPenalty">α; 0 ranks by raw log-probability.</param>
    /// <param name="nBest">How many hypotheses to return (≤ K); 0 for all K.</param>
    /// <returns>The n best hypotheses, best first.</returns>
    public static Hypothesis[] Beam(TransformerSeq2Seq model, int[] source, int beamWidth, int maxLength, float lengthPenalty = 1f, int nBest = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(source);
        CheckLength(model, maxLength);
        if (beamWidth < 1 || beamWidth > model.MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(beamWidth), $"Beam width {beamWidth} must be in 1..{model.MaxBatch} (the model's batch capacity).");
        }
        Seq2SeqConfig config = model.Config;
        int k = beamWidth, v = config.TargetVocabSize;
        (int[] ids, int[] lengths, int s) = Pad(model, [source], 0, 1);
        nBest = nBest <= 0 ? k : Math.Min(nBest, k);
        model.StartDecoding(ids, lengths, 1, s, k);
        var scores = new double[k];
        Array.Fill(scores, double.NegativeInfinity);
        scores[0] = 0;                                       // all rows are identical at the start: expand one
        var fed = new int[k];
        Array.Fill(fed, config.BosId);
        var parents = new List<int[]>();                      // [t][slot] = row it extends
        var emitted = new List<int[]>();                      // [t][slot] = token
        var aligns = new List<float[]>();                     // [t] = (K, S) weights of step t, by old row
        var finished = new List<(double Score, int Step, int Row)>();
        var candidates = new List<(double Score, int Row, int Token)>(k * v);
        int steps = 0;
        for (int t = 0; t < maxLength && finished.Count < k; t++)
        {
            ReadOnlySpan<float> logits = model.DecodeStep(t, fed);
            steps = t + 1;
            aligns.Add(model.StepCrossWeights.ToArray());
            candidates.Clear();
            for (int row = 0; row < k; row++)
            {
                if (double.IsNegativeInfinity(scores[row]))
                {
                    continue;
                }
                ReadOnlySpan<float> x = logits.Slice(row * v, v);
                float lse = Decoding.LogSumExp(x);
                for (int token = 0; token < v; token++)
                {
                    candidates.Add((scores[row] + (x[token] - lse), row, token));
                }
            }
            candidates.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Row != b.Row ? a.Row.CompareTo(b.Row) : a.Token.CompareTo(b.Token));
            var parent = new int[k];
            var token_ = new int[k];
            var next = new double[k];
            Array.Fill(next, double.NegativeInfinity);
            int filled = 0;
            foreach (var c in candidates)
            {
                if (filled == k)
                {
                    break;
                }
                if (c.Token == config.EosId)
                {
                    if (finished.Count < k)
                    {
                        finished.Add((c.Score, t, c.Row));
                    }
                    continue;
                }
                if (c.Token == config.PaddingId || c.Token == config.BosId)
                {
                    continue;
                }
                parent[filled] = c.Row;
                token_[filled] = c.Token;
                next[filled] = c.Score;
                filled++;
            }
            parents.Add(parent);
            emitted.Add(token_);
            if (filled == 0)
            {
                break;
            }
            model.ReorderDecoding(parent);                   // unfilled slots extend row 0 with score -∞: never expanded
            Array.Copy(next, scores, k);
            Array.Copy(token_, fed, k);
        }
        var all = new List<Hypothesis>();
        foreach (var f in finished)
        {
            all.Add(Build(f.Step - 1, f.Row, f.Step, f.Score, true));
        }
        if (finished.Count < k)
        {
            for (int row = 0; row < k && steps > 0; row++)
            {
                if (!double.IsNegativeInfinity(scores[row]) && parents.Count == steps)
                {
                    all.Add(Build(steps - 1, row, steps, scores[row], false));
                }
            }
        }
        all.Sort((a, b) => b.NormalizedScore.CompareTo(a.NormalizedScore));
        return [.. all.Take(nBest)];

        Hypothesis Build(int last, int slot, int stepsTaken, double score, bool done)
        {
            int n = last + 1;
            var tokens = new int[n];
            var alignment = new float[n * s];
            for (int t = last; t >= 0; t--)
            {
                tokens[t] = emitted[t][slot];
                int row = parents[t][slot];
                Array.Copy(aligns[t], row * s, alignment, t * s, s);
                slot = row;
            }
            double norm = lengthPenalty == 0f ? score : score / Math.Pow(stepsTaken, lengthPenalty);
            return new Hypothesis(tokens, (float)score, (float)norm, done, alignment, s);
        }
    }

    private static void CheckLength(TransformerSeq2Seq model, int maxLength)
    {
        if (maxLength < 1 || maxLength > model.MaxTarget)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), $"maxLength {maxLength} must be in 1..{model.MaxTarget} (the model's target capacity).");
        }
    }

    /// <summary>Rows start..start+bsz-1 of <paramref name="sources"/> padded into (B, S) ids and (B) lengths.</summary>
    private static (int[] Ids, int[] Lengths, int S) Pad(TransformerSeq2Seq model, IReadOnlyList<int[]> sources, int start, int bsz)
    {
        int s = 1;
        for (int b = 0; b < bsz; b++)
        {
            int[] x = sources[start + b] ?? throw new ArgumentException($"sources[{start + b}] is null.", nameof(sources));
            if (x.Length == 0 || x.Length > model.MaxSource)
            {
                throw new ArgumentException($"sources[{start + b}] has {x.Length} tokens; it must have 1..{model.MaxSource}.", nameof(sources));
            }
            s = Math.Max(s, x.Length);
        }
        var ids = new int[bsz * s];
        var lengths = new int[bsz];
        Array.Fill(ids, model.Config.PaddingId);
        for (int b = 0; b < bsz; b++)
        {
            sources[start + b].CopyTo(ids, b * s);
            lengths[b] = sources[start + b].Length;
        }
        return (ids, lengths, s);
    }
}
