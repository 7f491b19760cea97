using SpanAttention.Data;
using SpanAttention.Seq2Seq;

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
    /// <summary>Whether the training loss was seen to diverge (see <see cref="Divergence"/>).</summary>
    public bool Diverged => Divergence is not null;
}
