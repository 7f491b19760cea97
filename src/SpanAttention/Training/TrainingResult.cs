using SpanAttention.Data;
using SpanAttention.Seq2Seq;
using SpanAttention.Transformer;

namespace SpanAttention.Training;

/// <summary>Why a <see cref="TrainingSession"/> ended.</summary>
public enum TrainingStop
{
    /// <summary>It trained up to <see cref="TrainingOptions.Epochs"/> (or the checkpoint was already there).</summary>
    EpochsDone,

    /// <summary>The held-out exact match reached <see cref="TrainingOptions.StopAtExactMatch"/>.</summary>
    TargetReached,

    /// <summary><see cref="TrainingOptions.Patience"/> epochs passed without a better held-out score.</summary>
    NoImprovement,
}

/// <summary>What a <see cref="TrainingSession"/> produced.</summary>
/// <param name="Model">The model, with the best epoch's parameters restored.</param>
/// <param name="Source">The source vocabulary.</param>
/// <param name="Target">The target vocabulary.</param>
/// <param name="BestExactMatch">The best held-out exact match, in [0, 1] (0 if no epoch was trained).</param>
/// <param name="BestTokenAccuracy">The held-out token accuracy of the best epoch.</param>
/// <param name="BestEpoch">The best epoch (1-based), or 0 if no epoch was trained.</param>
/// <param name="EpochsRun">Epochs trained in this <see cref="TrainingSession.Run"/> (a resumed run counts only its own).</param>
/// <param name="Elapsed">Wall time of this run's training loop.</param>
/// <param name="Stop">Why training ended.</param>
/// <param name="History">Every epoch of the run, resumed epochs included, in order.</param>
/// <param name="Divergence">Why the training loss looks divergent (an explosion or a steady rise), or null if it does not.</param>
public sealed record TrainingResult(
    Seq2SeqModel Model, Vocabulary Source, Vocabulary Target, double BestExactMatch, double BestTokenAccuracy, int BestEpoch, int EpochsRun,
    TimeSpan Elapsed, TrainingStop Stop, IReadOnlyList<EpochReport> History, string? Divergence)
{
    private readonly Seq2SeqModel? _model = Model;

    /// <summary>The model, with the best epoch's parameters restored.</summary>
    /// <exception cref="InvalidOperationException">The session trained a Transformer encoder-decoder, which is not a
    /// <see cref="Seq2SeqModel"/> (score it with <see cref="Score"/>, or load the saved file with <see cref="TranslationModel.Load(string, int)"/>).</exception>
    public Seq2SeqModel Model
    {
        get => _model ?? throw new InvalidOperationException("The session trained a Transformer encoder-decoder, which is not a Seq2SeqModel: use Score, or TranslationModel.Load on the saved file.");
        init => _model = value;
    }

    /// <summary>The trained Transformer encoder-decoder, when the session trained one (then <see cref="Model"/> has none).</summary>
    internal TransformerSeq2Seq? Transformer { get; init; }

    /// <summary>Whether the training loss was seen to diverge (see <see cref="Divergence"/>).</summary>
    public bool Diverged => Divergence is not null;

    /// <summary>
    /// Greedy exact match and token accuracy of the trained model (either kind) on text pairs, e.g. a test split, as the
    /// session scores its held-out pairs after every epoch; outputs up to the longest reference plus 10 tokens.
    /// </summary>
    /// <param name="pairs">The pairs (their tokens not in the vocabularies are fed as &lt;unk&gt;).</param>
    /// <returns>Both fractions in [0, 1]; (0, 0) without pairs.</returns>
    public (double ExactMatch, double TokenAccuracy) Score(IReadOnlyList<SentencePair> pairs)
    {
        (List<int[]> sources, List<int[]> targets) = HeldOutEvaluation.Encode(pairs, Source, Target);
        if (sources.Count == 0)
        {
            return (0, 0);
        }
        int maxLength = targets.Max(t => t.Length) + 10, maxSource = sources.Max(s => s.Length);
        if (Transformer is TransformerSeq2Seq transformer)
        {
            // a decoding replica over the trained parameters, sized for these pairs
            var replica = new TransformerSeq2Seq(transformer.Config, transformer.Parameters, transformer.MaxBatch, maxSource, maxLength);
            return HeldOutEvaluation.Score(replica, sources, targets, maxLength);
        }
        Model.EnsureCapacity(Model.MaxBatch, maxSource, maxLength);
        return HeldOutEvaluation.Score(Model, sources, targets, maxLength);
    }
}
