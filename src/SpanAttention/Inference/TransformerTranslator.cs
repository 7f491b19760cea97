using System.Collections.Concurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Transformer;

namespace SpanAttention.Inference;

/// <summary>
/// Thread-safe inference for the full Transformer encoder-decoder: the loaded model's parameters shared read-only;
/// each call borrows a replica (its own workspaces and key/value cache, over the shared parameters) from a pool and
/// returns it. A call that needs longer sources or outputs than a pooled replica holds gets a larger replica (sizes
/// rounded up to a power of two, so a stream of inputs settles on a few sizes); otherwise nothing is allocated per call
/// beyond the hypotheses.
/// </summary>
/// <remarks>Do not train the model's parameters while a translator is decoding with them.</remarks>
internal sealed class TransformerTranslator : IDecoder
{
    private readonly TransformerSeq2Seq _template;
    private readonly ConcurrentBag<TransformerSeq2Seq> _pool = [];

    /// <summary>Wraps a model, used as a template only (its parameters and MaxBatch).</summary>
    /// <param name="model">The model.</param>
    public TransformerTranslator(TransformerSeq2Seq model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _template = model;
    }

    /// <inheritdoc/>
    public Seq2SeqConfig Config => _template.Config;

    /// <summary>Most rows decoded at once (the largest beam).</summary>
    public int MaxBatch => _template.MaxBatch;

    /// <inheritdoc/>
    public Hypothesis[] Greedy(IReadOnlyList<int[]> sources, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(sources);
        TransformerSeq2Seq model = Rent(Longest(sources), maxLength);
        try
        {
            return TransformerDecoding.Greedy(model, sources, maxLength);
        }
        finally
        {
            _pool.Add(model);
        }
    }

    /// <inheritdoc/>
    public Hypothesis[] Beam(int[] source, int beamWidth, int maxLength, float lengthPenalty, int nBest)
    {
        ArgumentNullException.ThrowIfNull(source);
        TransformerSeq2Seq model = Rent(source.Length, maxLength);
        try
        {
            return TransformerDecoding.Beam(model, source, beamWidth, maxLength, lengthPenalty, nBest);
        }
        finally
        {
            _pool.Add(model);
        }
    }

    /// <summary>
    /// The attention weights of one head (or averaged over the heads, <paramref name="head"/> = -1) for a source and the
    /// output it was decoded to, from one teacher-forced forward (the same equations as cached decoding, so the same
    /// weights): the last decoder layer's cross-attention, one row per output token over the source (T, S); or
    /// (<paramref name="encoder"/>) the last encoder layer's self-attention, one row per source token (S, S).
    /// </summary>
    /// <param name="source">Source ids (with &lt;eos&gt;).</param>
    /// <param name="output">The output ids (no specials); may be empty for the encoder's attention.</param>
    /// <param name="head">0..Heads-1, or -1 for the mean over the heads.</param>
    /// <param name="encoder">The encoder's self-attention instead of the cross-attention.</param>
    /// <returns>Row-major weights: (|output|, |source|) or (|source|, |source|).</returns>
    public float[] AttentionWeights(int[] source, int[] output, int head, bool encoder)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(output);
        int heads = Config.Heads;
        ArgumentOutOfRangeException.ThrowIfLessThan(head, -1);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(head, heads);
        int s = source.Length, t = output.Length + 1;
        TransformerSeq2Seq model = Rent(s, t);
        try
        {
            var batch = Seq2SeqBatch.FromSequences([source], [output], Config.PaddingId, Config.BosId, Config.EosId);
            model.Forward(batch);
            // (B = 1, H, queries, keys) of the last layer
            ReadOnlySpan<float> all = encoder ? model.EncoderLayers[^1].SelfAttention.Weights : model.DecoderLayers[^1].CrossAttention.Weights;
            int rows = encoder ? s : output.Length, queries = encoder ? s : t;
            var weights = new float[rows * s];
            for (int h = head < 0 ? 0 : head; h < (head < 0 ? heads : head + 1); h++)
            {
                for (int i = 0; i < rows; i++)
                {
                    ReadOnlySpan<float> row = all.Slice((h * queries + i) * s, s);
                    for (int j = 0; j < s; j++)
                    {
                        weights[i * s + j] += head < 0 ? row[j] / heads : row[j];
                    }
                }
            }
            return weights;
        }
        finally
        {
            _pool.Add(model);
        }
    }

    /// <summary>A pooled replica holding S source and T target steps, or a new, larger one.</summary>
    private TransformerSeq2Seq Rent(int sourceSteps, int targetSteps)
    {
        int oldSource = 0, oldTarget = 0;
        if (_pool.TryTake(out TransformerSeq2Seq? model))
        {
            if (model.MaxSource >= sourceSteps && model.MaxTarget >= targetSteps)
            {
                return model;
            }
            oldSource = model.MaxSource;
            oldTarget = model.MaxTarget;
        }
        int s = Math.Max(oldSource, RoundUp(sourceSteps)), t = Math.Max(oldTarget, RoundUp(targetSteps));
        return new TransformerSeq2Seq(_template.Config, _template.Parameters, _template.MaxBatch, s, t);
    }

    private static int RoundUp(int n) => (int)Math.Min(1 << 30, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, n)));

    private static int Longest(IReadOnlyList<int[]> sources)
    {
        int n = 1;
        foreach (int[] x in sources)
        {
            n = Math.Max(n, x?.Length ?? 0);
        }
        return n;
    }
}
