using SpanAttention.Data;
using SpanAttention.Inference;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Training;

/// <summary>
/// What a <see cref="TrainingSession"/> measures on held-out pairs after each epoch: greedy exact match and token
/// accuracy, and the teacher-forced loss. Also usable on a test split after training.
/// </summary>
public static partial class HeldOutEvaluation
{
    /// <summary>Encodes pairs as a model trains on them: sources as tokens + &lt;eos&gt;, targets as tokens without specials.</summary>
    /// <param name="pairs">Text pairs.</param>
    /// <param name="source">Source vocabulary (its tokenization is used).</param>
    /// <param name="target">Target vocabulary.</param>
    /// <param name="unknown">When given, receives every token not in its vocabulary.</param>
    /// <returns>Source ids (S) and target ids (T - 1) per pair, in order.</returns>
    public static (List<int[]> Sources, List<int[]> Targets) Encode(IReadOnlyList<SentencePair> pairs, Vocabulary source, Vocabulary target, ICollection<string>? unknown = null)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        var sources = new List<int[]>(pairs.Count);
        var targets = new List<int[]>(pairs.Count);
        foreach (SentencePair pair in pairs)
        {
            sources.Add(PairEncoder.EncodeSource(pair.Source, source, appendEos: true, unknown));
            targets.Add(target.Encode(Tokenizer.Tokenize(pair.Target, target.Tokenization), unknown));
        }
        return (sources, targets);
    }

    /// <summary>Greedy exact match and token accuracy (position by position, over reference tokens) on encoded pairs.</summary>
    /// <param name="model">The model; its workspaces must hold the longest source and <paramref name="maxLength"/>.</param>
    /// <param name="sources">Source ids per pair (tokens + &lt;eos&gt;).</param>
    /// <param name="targets">Reference ids per pair (no specials).</param>
    /// <param name="maxLength">Longest output decoded.</param>
    /// <returns>Both fractions in [0, 1]; (0, 0) without pairs.</returns>
    public static (double ExactMatch, double TokenAccuracy) Score(Seq2SeqModel model, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(targets);
        if (sources.Count != targets.Count)
        {
            throw new ArgumentException($"{sources.Count} sources but {targets.Count} targets.", nameof(targets));
        }
        if (sources.Count == 0)
        {
            return (0, 0);
        }
        return Compare(Decoding.Greedy(model, sources, maxLength), targets);
    }

    /// <summary>Greedy exact match and token accuracy of an <see cref="EncoderKind.Image"/> (or <see cref="EncoderKind.Features"/>) model's captions.</summary>
    /// <param name="model">The model; its workspaces must hold <paramref name="maxLength"/>.</param>
    /// <param name="images">(C, H, W) pixels per image, the model's image size; or, for a Features model, (L, F) feature grids.</param>
    /// <param name="targets">Reference caption ids per image (no specials).</param>
    /// <param name="maxLength">Longest caption decoded.</param>
    /// <returns>Both fractions in [0, 1]; (0, 0) without images.</returns>
    public static (double ExactMatch, double TokenAccuracy) Score(Seq2SeqModel model, IReadOnlyList<float[]> images, IReadOnlyList<int[]> targets, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(targets);
        if (images.Count != targets.Count)
        {
            throw new ArgumentException($"{images.Count} images but {targets.Count} targets.", nameof(targets));
        }
        return images.Count == 0 ? (0, 0) : Compare(model.Config.Encoder == EncoderKind.Features
            ? Decoding.GreedyFeatures(model, images, maxLength)
            : Decoding.GreedyImages(model, images, maxLength), targets);
    }

    private static (double ExactMatch, double TokenAccuracy) Compare(Hypothesis[] hypotheses, IReadOnlyList<int[]> targets)
    {
        int correct = 0;
        long tokens = 0, right = 0;
        for (int i = 0; i < hypotheses.Length; i++)
        {
            int[] h = hypotheses[i].Tokens, r = targets[i];
            correct += h.AsSpan().SequenceEqual(r) ? 1 : 0;
            for (int k = 0; k < Math.Min(h.Length, r.Length); k++)
            {
                right += h[k] == r[k] ? 1 : 0;
            }
            tokens += r.Length;
        }
        return ((double)correct / targets.Count, tokens == 0 ? 0 : (double)right / tokens);
    }

    /// <summary>
    /// The teacher-forced mean cross-entropy per target token over batches: forward only, without dropout; the
    /// parameters are not changed (no backward, no update).
    /// </summary>
    /// <param name="model">The model; every batch must fit its workspaces.</param>
    /// <param name="batches">Padded batches (e.g. <see cref="Seq2SeqBatch.Bucketed"/> of the held-out pairs).</param>
    /// <returns>The token-weighted mean loss; 0 without tokens.</returns>
    public static double TeacherForcedLoss(Seq2SeqModel model, IReadOnlyList<Seq2SeqBatch> batches)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        bool wasTraining = model.Training;
        model.Training = false;
        double sum = 0;
        long tokens = 0;
        try
        {
            foreach (Seq2SeqBatch batch in batches)
            {
                float loss = model.Forward(batch);
                sum += (double)loss * model.LastTokenCount;
                tokens += model.LastTokenCount;
            }
        }
        finally
        {
            model.Training = wasTraining;
        }
        return tokens == 0 ? 0 : sum / tokens;
    }
}
