using System.Numerics.Tensors;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Inference;

/// <summary>
/// The greedy loop shared by every greedy entry point: one padded chunk of rows, each row with its own step limit,
/// finished rows left out of the prepared steps.
/// </summary>
public static partial class Decoding
{
    /// <summary>Greedy decoding of the sources <paramref name="rows"/> (indices into <paramref name="sources"/> and
    /// <paramref name="results"/>) as one padded chunk, row i stopping after <paramref name="limits"/>[i] steps.</summary>
    /// <param name="model">The model (MaxBatch ≥ rows.Length).</param>
    /// <param name="sources">Source id sequences, each non-empty.</param>
    /// <param name="rows">(B) which sources form the chunk, in chunk order.</param>
    /// <param name="limits">(B) each row's most decoder steps (EOS included), ≥ 1.</param>
    /// <param name="prepared">Prepared weights, or null for the plain path.</param>
    /// <param name="results">Where row i's hypothesis goes: results[rows[i]].</param>
    internal static void GreedyChunk(Seq2SeqModel model, IReadOnlyList<int[]> sources, ReadOnlySpan<int> rows, ReadOnlySpan<int> limits,
        InferenceWeights? prepared, Hypothesis[] results)
    {
        Seq2SeqConfig config = model.Config;
        int bsz = rows.Length, s = 1, longest = 1;
        for (int b = 0; b < bsz; b++)
        {
            int[] x = sources[rows[b]] ?? throw new ArgumentException($"sources[{rows[b]}] is null.", nameof(sources));
            if (x.Length == 0)
            {
                throw new ArgumentException($"sources[{rows[b]}] is empty.", nameof(sources));
            }
            s = Math.Max(s, x.Length);
            longest = Math.Max(longest, limits[b]);
        }
        model.EnsureCapacity(bsz, s, longest);
        var ids = new int[bsz * s];
        var lengths = new int[bsz];
        Array.Fill(ids, config.PaddingId);
        for (int b = 0; b < bsz; b++)
        {
            sources[rows[b]].CopyTo(ids, b * s);
            lengths[b] = sources[rows[b]].Length;
        }
        GreedyCore(model, ids, null, lengths, s, rows, limits, prepared, results);
    }

    /// <summary>
    /// The greedy loop over one padded chunk: token ids (B, S), or the source of <paramref name="grid"/> (feature grids
    /// or images) when given. Row b feeds its argmax back until it emits EOS or has taken limits[b] steps; on the
    /// prepared path a finished row is skipped by the later steps, and every row's numbers are those it would get
    /// decoded alone (the prepared step computes each row from its own state only), so a row's output does not depend
    /// on its chunk. The workspace keeps every step's attention weights, read once at the end for the alignments:
    /// the steps themselves allocate nothing.
    /// </summary>
    private static void GreedyCore(Seq2SeqModel model, int[]? ids, Seq2SeqBatch? grid, int[] lengths, int s, ReadOnlySpan<int> rows,
        ReadOnlySpan<int> limits, InferenceWeights? prepared, Hypothesis[] results)
    {
        Seq2SeqConfig config = model.Config;
        int bsz = rows.Length, longest = 0;
        for (int b = 0; b < bsz; b++)
        {
            longest = Math.Max(longest, limits[b]);
        }
        model.Encode(grid is null ? new SourceInput(ids, lengths, bsz, s) : grid.Source, prepared);
        int v = model.Vocabulary;
        var fed = new int[bsz];
        Array.Fill(fed, config.BosId);
        var tokens = new int[bsz * longest];        // (B, T) emitted ids, EOS not kept
        var counts = new int[bsz];                  // tokens kept per row
        var scores = new double[bsz];
        var finished = new bool[bsz];
        var stopped = new bool[bsz];                // finished, or out of steps
        bool attention = config.Decoder != DecoderStyle.None;
        int active = bsz;
        for (int t = 0; t < longest && active > 0; t++)
        {
            for (int b = 0; b < bsz; b++)
            {
                if (!stopped[b] && t >= limits[b])
                {
                    stopped[b] = true;              // out of steps, unfinished
                    fed[b] = config.EosId;
                    active--;
                }
            }
            if (active == 0)
            {
                break;
            }
            model.DecoderStep(t, bsz, fed, prepared, stopped);
            ReadOnlySpan<float> logits = model.StepLogits(t, bsz);
            for (int b = 0; b < bsz; b++)
            {
                if (stopped[b])
                {
                    fed[b] = config.EosId;
                    continue;
                }
                ReadOnlySpan<float> row = logits.Slice(b * v, v);
                int best = TensorPrimitives.IndexOfMax(row);
                scores[b] += row[best] - LogSumExp(row);
                fed[b] = best;
                if (best == config.EosId)
                {
                    finished[b] = stopped[b] = true;
                    active--;
                    continue;
                }
                tokens[b * longest + counts[b]++] = best;
            }
        }
        for (int b = 0; b < bsz; b++)
        {
            int n = counts[b];
            float[] alignment = attention ? new float[n * lengths[b]] : [];
            for (int t = 0; t < n && attention; t++)
            {
                model.StepWeights(t, bsz).Slice(b * s, lengths[b]).CopyTo(alignment.AsSpan(t * lengths[b], lengths[b]));
            }
            float score = (float)scores[b];
            results[rows[b]] = new Hypothesis(tokens.AsSpan(b * longest, n).ToArray(), score, score, finished[b], alignment, lengths[b]);
        }
    }

    /// <summary>start, start + 1, ..., start + n - 1.</summary>
    private static int[] Rows(int start, int n)
    {
        var rows = new int[n];
        for (int i = 0; i < n; i++)
        {
            rows[i] = start + i;
        }
        return rows;
    }

    private static int[] Filled(int n, int value)
    {
        var a = new int[n];
        Array.Fill(a, value);
        return a;
    }
}
