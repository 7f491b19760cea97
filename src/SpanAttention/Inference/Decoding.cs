using SpanAttention.Seq2Seq;

namespace SpanAttention.Inference;

/// <summary>
/// Greedy (batched) and beam-search decoding of a <see cref="Seq2SeqModel"/>, returning tokens, scores and
/// alignments. Uses the model's workspaces, so one model instance decodes on one thread at a time
/// (see <see cref="Translator"/> for sharing a model between threads).
/// </summary>
public static partial class Decoding
{
    /// <summary>Greedy decoding of a list of sources, in batches of up to <see cref="Seq2SeqModel.MaxBatch"/> rows.</summary>
    /// <param name="model">The model.</param>
    /// <param name="sources">Source id sequences (each non-empty).</param>
    /// <param name="maxLength">Maximum number of decoder steps per output (EOS included); no other cap applies.</param>
    /// <param name="weights">Optional prepared weights (<see cref="Seq2SeqModel.PrepareInference()"/> of this model or the
    /// one it replicates): chunks of up to <see cref="PreparedMaxBatch"/> rows then take the prepared path (packed GEMVs,
    /// row by row); larger chunks, and null, take the plain path (GEMMs over the batch). Weights of a narrow
    /// <see cref="InferenceWeights.Format"/> are used for every chunk (the plain path has no narrow weights).</param>
    /// <returns>One hypothesis per source, in order.</returns>
    public static Hypothesis[] Greedy(Seq2SeqModel model, IReadOnlyList<int[]> sources, int maxLength, InferenceWeights? weights = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        var results = new Hypothesis[sources.Count];
        for (int start = 0; start < sources.Count; start += model.MaxBatch)
        {
            int n = Math.Min(model.MaxBatch, sources.Count - start);
            GreedyChunk(model, sources, Rows(start, n), Filled(n, maxLength), PreparedFor(n, weights), results);
        }
        return results;
    }

    /// <summary>
    /// Greedy decoding of feature grids (a <see cref="EncoderKind.Features"/> model), as <see cref="Greedy"/> does for
    /// token ids: each grid is (S_i, F) row-major, F = the model's <see cref="Seq2SeqConfig.FeatureSize"/>.
    /// </summary>
    internal static Hypothesis[] GreedyFeatures(Seq2SeqModel model, IReadOnlyList<float[]> grids, int maxLength, InferenceWeights? weights = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(grids);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        var results = new Hypothesis[grids.Count];
        for (int start = 0; start < grids.Count; start += model.MaxBatch)
        {
            int n = Math.Min(model.MaxBatch, grids.Count - start);
            var chunk = new float[n][];
            for (int b = 0; b < n; b++)
            {
                chunk[b] = grids[start + b];
            }
            Seq2SeqBatch padded = FeatureBatch(model, chunk, nameof(grids));
            model.EnsureCapacity(n, padded.SourceLength, maxLength);
            GreedyCore(model, null, padded, padded.SourceLengths, padded.SourceLength, Rows(start, n), Filled(n, maxLength),
                PreparedFor(n, weights), results);
        }
        return results;
    }

    /// <summary>
    /// Greedy decoding of images (an <see cref="EncoderKind.Image"/> model), as <see cref="Greedy"/> does for token ids:
    /// each image is (C, H, W) row-major at the model's <see cref="Seq2SeqConfig.ImageChannels"/> x
    /// <see cref="Seq2SeqConfig.ImageHeight"/> x <see cref="Seq2SeqConfig.ImageWidth"/>.
    /// </summary>
    internal static Hypothesis[] GreedyImages(Seq2SeqModel model, IReadOnlyList<float[]> images, int maxLength, InferenceWeights? weights = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        var results = new Hypothesis[images.Count];
        for (int start = 0; start < images.Count; start += model.MaxBatch)
        {
            int n = Math.Min(model.MaxBatch, images.Count - start);
            var chunk = new float[n][];
            for (int b = 0; b < n; b++)
            {
                chunk[b] = images[start + b];
            }
            Seq2SeqBatch batch = ImageBatch(model, chunk, nameof(images));
            model.EnsureCapacity(n, batch.SourceLength, maxLength);
            GreedyCore(model, null, batch, batch.SourceLengths, batch.SourceLength, Rows(start, n), Filled(n, maxLength), PreparedFor(n, weights), results);
        }
        return results;
    }

    /// <summary>Beam search over one image (C, H, W) of an <see cref="EncoderKind.Image"/> model, as <see cref="Beam"/> does for token ids.</summary>
    internal static Hypothesis[] BeamImage(Seq2SeqModel model, float[] image, int beamWidth, int maxLength, float lengthPenalty = 1f, int nBest = 0, InferenceWeights? weights = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(beamWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        if (beamWidth > model.MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(beamWidth), $"Beam width {beamWidth} exceeds the model's batch capacity {model.MaxBatch}.");
        }
        var copies = new float[beamWidth][];
        Array.Fill(copies, image);
        Seq2SeqBatch batch = ImageBatch(model, copies, nameof(image));
        model.EnsureCapacity(beamWidth, batch.SourceLength, maxLength);
        return BeamCore(model, null, batch, batch.SourceLength, beamWidth, maxLength, lengthPenalty, nBest, weights);
    }

    /// <summary>The images stacked into a batch (its targets unused); each image checked against the model's (C, H, W).</summary>
    private static Seq2SeqBatch ImageBatch(Seq2SeqModel model, float[][] images, string name)
    {
        Seq2SeqConfig c = model.Config;
        if (c.Encoder != EncoderKind.Image)
        {
            throw new ArgumentException($"This model's {c.Encoder} encoder reads {(c.HasSourceVocabulary ? "token ids" : "feature grids")}, not images.", name);
        }
        var targets = new int[images.Length][];
        Array.Fill(targets, []);
        return Seq2SeqBatch.FromImages(images, (c.ImageChannels, c.ImageHeight, c.ImageWidth), c.GridPositions, targets, c.PaddingId, c.BosId, c.EosId);
    }

    /// <summary>The grids padded into a batch (its targets unused); each grid checked against the model's F.</summary>
    private static Seq2SeqBatch FeatureBatch(Seq2SeqModel model, float[][] grids, string name)
    {
        int f = model.Config.FeatureSize;
        if (model.Config.Encoder != EncoderKind.Features)
        {
            throw new ArgumentException($"This model's {model.Config.Encoder} encoder reads {(model.Config.Encoder == EncoderKind.Image ? "images" : "token ids")}, not feature grids.", name);
        }
        var targets = new int[grids.Length][];
        Array.Fill(targets, []);
        return Seq2SeqBatch.FromFeatureGrids(grids, f, targets, model.Config.PaddingId, model.Config.BosId, model.Config.EosId);
    }

    /// <summary>
    /// Largest batch (greedy chunk or beam width) decoded on the prepared path: it reads every weight once per row,
    /// the plain path's GEMMs once per batch, so the prepared path wins only for a few rows.
    /// </summary>
    public const int PreparedMaxBatch = 8;

    /// <summary>The weights a chunk of <paramref name="rows"/> rows decodes with: fp32 prepared weights up to
    /// <see cref="PreparedMaxBatch"/> rows, narrow ones always (so that the format asked for is the format used).</summary>
    private static InferenceWeights? PreparedFor(int rows, InferenceWeights? weights) =>
        weights is not null && (rows <= PreparedMaxBatch || weights.Format != InferenceWeightFormat.Float32) ? weights : null;

    /// <summary>
    /// Beam search for one source: keeps the <paramref name="beamWidth"/> best partial outputs by total
    /// log-probability; a candidate ending in EOS leaves the beam as a finished hypothesis. Stops when
    /// <paramref name="beamWidth"/> hypotheses have finished or after <paramref name="maxLength"/> steps (then the
    /// live beams are added, unfinished). Ranks by Score / steps^<paramref name="lengthPenalty"/> (steps counts EOS).
    /// </summary>
    /// <param name="model">The model (MaxBatch ≥ beamWidth).</param>
    /// <param name="source">Source ids (non-empty).</param>
    /// <param name="beamWidth">K ≥ 1.</param>
    /// <param name="maxLength">Maximum decoder steps.</param>
    /// <param name="lengthPenalty">α of the length normalisation; 0 ranks by raw log-probability. Default 1.</param>
    /// <param name="nBest">How many hypotheses to return (≤ K); default all K.</param>
    /// <param name="weights">Optional prepared weights (see <see cref="Greedy"/>); used when K ≤ <see cref="PreparedMaxBatch"/> or their format is narrow.</param>
    /// <returns>The n best hypotheses, best first.</returns>
    public static Hypothesis[] Beam(Seq2SeqModel model, int[] source, int beamWidth, int maxLength, float lengthPenalty = 1f, int nBest = 0, InferenceWeights? weights = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(beamWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        if (source.Length == 0)
        {
            throw new ArgumentException("The source is empty.", nameof(source));
        }
        if (beamWidth > model.MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(beamWidth), $"Beam width {beamWidth} exceeds the model's batch capacity {model.MaxBatch}.");
        }
        int k = beamWidth, s = source.Length;
        model.EnsureCapacity(k, s, maxLength);
        var ids = new int[k * s];
        for (int b = 0; b < k; b++)
        {
            source.CopyTo(ids, b * s);
        }
        return BeamCore(model, ids, null, s, beamWidth, maxLength, lengthPenalty, nBest, weights);
    }

    /// <summary>Beam search over one feature grid (S, F) of a <see cref="EncoderKind.Features"/> model, as <see cref="Beam"/> does for token ids.</summary>
    internal static Hypothesis[] BeamFeatures(Seq2SeqModel model, float[] grid, int beamWidth, int maxLength, float lengthPenalty = 1f, int nBest = 0, InferenceWeights? weights = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentOutOfRangeException.ThrowIfLessThan(beamWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        if (beamWidth > model.MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(beamWidth), $"Beam width {beamWidth} exceeds the model's batch capacity {model.MaxBatch}.");
        }
        var copies = new float[beamWidth][];
        Array.Fill(copies, grid);
        Seq2SeqBatch padded = FeatureBatch(model, copies, nameof(grid));
        model.EnsureCapacity(beamWidth, padded.SourceLength, maxLength);
        return BeamCore(model, null, padded, padded.SourceLength, beamWidth, maxLength, lengthPenalty, nBest, weights);
    }

    /// <summary>The beam search over K copies of one source: token ids (K, S), or the source of <paramref name="grid"/> (feature grids or images) when given.</summary>
    private static Hypothesis[] BeamCore(Seq2SeqModel model, int[]? ids, Seq2SeqBatch? grid, int s, int beamWidth, int maxLength,
        float lengthPenalty, int nBest, InferenceWeights? weights)
    {
        nBest = nBest <= 0 ? beamWidth : Math.Min(nBest, beamWidth);
        Seq2SeqConfig config = model.Config;
        int k = beamWidth, v = model.Vocabulary;
        var lengths = new int[k];
        Array.Fill(lengths, s);
        weights = PreparedFor(k, weights);
        model.Encode(grid is null ? new SourceInput(ids, lengths, k, s) : grid.Source, weights);
        bool attention = config.Decoder != DecoderStyle.None;
        var scores = new double[k];
        Array.Fill(scores, double.NegativeInfinity);
        scores[0] = 0;                                       // all rows are identical at the start: expand one
        var fed = new int[k];
        Array.Fill(fed, config.BosId);
        var parents = new List<int[]>();                      // [t][slot] = row (slot after step t-1) it extends
        var emitted = new List<int[]>();                      // [t][slot] = token
        var aligns = new List<float[]>();                     // [t] = (K, S) weights of step t, by old row
        var finished = new List<(double Score, int Step, int Row)>();
        var candidates = new List<(double Score, int Row, int Token)>(k * v);
        var scratch = new float[k * model.StateWidth];
        var logProbs = new float[v];
        int steps = 0;
        for (int t = 0; t < maxLength && finished.Count < k; t++)
        {
            model.DecoderStep(t, k, fed, weights);
            steps = t + 1;
            ReadOnlySpan<float> logits = model.StepLogits(t, k);
            aligns.Add(attention ? model.StepWeights(t, k).ToArray() : []);
            candidates.Clear();
            for (int row = 0; row < k; row++)
            {
                if (double.IsNegativeInfinity(scores[row]))
                {
                    continue;
                }
                ReadOnlySpan<float> x = logits.Slice(row * v, v);
                float lse = LogSumExp(x);
                for (int token = 0; token < v; token++)
                {
                    candidates.Add((scores[row] + (x[token] - lse), row, token));
                }
            }
            // best first; ties by row then token, so the order is deterministic
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
            model.ReorderState(t, k, parent, scratch);
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

        // The hypothesis whose last kept token sits in slot `slot` after step `last` (last = -1: no token);
        // `stepsTaken` decoder steps were scored (including an EOS step when finished).
        Hypothesis Build(int last, int slot, int stepsTaken, double score, bool done)
        {
            int n = last + 1;
            var tokens = new int[n];
            var alignment = attention ? new float[n * s] : [];
            for (int t = last; t >= 0; t--)
            {
                tokens[t] = emitted[t][slot];
                int row = parents[t][slot];
                if (attention)
                {
                    Array.Copy(aligns[t], row * s, alignment, t * s, s);
                }
                slot = row;
            }
            double norm = lengthPenalty == 0f ? score : score / Math.Pow(stepsTaken, lengthPenalty);
            return new Hypothesis(tokens, (float)score, (float)norm, done, alignment, s);
        }
    }

    /// <summary>log Σ exp(x), stable.</summary>
    internal static float LogSumExp(ReadOnlySpan<float> x)
    {
        float max = System.Numerics.Tensors.TensorPrimitives.Max(x);
        double sum = 0;
        foreach (float xi in x)
        {
            sum += Math.Exp(xi - max);
        }
        return max + (float)Math.Log(sum);
    }
}
