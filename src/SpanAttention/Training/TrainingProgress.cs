namespace SpanAttention.Training;

/// <summary>Where a <see cref="TrainingSession"/> stands: sent after every step and once more at the end of each epoch.</summary>
/// <param name="Epoch">The current epoch, 1-based.</param>
/// <param name="Epochs">The last epoch planned.</param>
/// <param name="Step">Batches done in this epoch.</param>
/// <param name="StepsPerEpoch">Batches per epoch.</param>
/// <param name="Loss">The mean training loss (cross-entropy per target token) of this epoch so far.</param>
/// <param name="HeldOutAccuracy">The last held-out exact match in [0, 1], or null before the first validation.</param>
/// <param name="TokensPerSecond">Target tokens trained per second over the whole run (validation time excluded).</param>
/// <param name="Elapsed">Wall time since <see cref="TrainingSession.Run"/> started.</param>
/// <param name="Completed">Set on the report that closes an epoch: that epoch's record; null within an epoch.</param>
/// <param name="Divergence">Why the run looks divergent (see <see cref="TrainingOptions.DivergenceFactor"/>), or null.</param>
public readonly record struct TrainingProgress(
    int Epoch, int Epochs, int Step, int StepsPerEpoch, double Loss, double? HeldOutAccuracy, double TokensPerSecond, TimeSpan Elapsed,
    EpochReport? Completed = null, string? Divergence = null)
{
    /// <summary>The fraction of the whole run done, in [0, 1].</summary>
    public double Fraction
    {
        get
        {
            long total = (long)Epochs * StepsPerEpoch;
            long done = ((long)(Epoch - 1) * StepsPerEpoch) + Step;
            return total <= 0 ? 0 : Math.Clamp((double)done / total, 0, 1);
        }
    }

    /// <summary>The time left, extrapolated from the time taken so far; null before any step.</summary>
    public TimeSpan? Remaining
    {
        get
        {
            double f = Fraction;
            return f <= 0 ? null : TimeSpan.FromSeconds(Elapsed.TotalSeconds * (1 - f) / f);
        }
    }
}

/// <summary>One epoch of a <see cref="TrainingSession"/>, as its history and its log record it.</summary>
/// <param name="Epoch">The epoch, 1-based.</param>
/// <param name="Step">Optimisation steps taken when it ended (over the whole run).</param>
/// <param name="TrainLoss">Token-weighted mean training loss of the epoch (with its dropout and teacher-forcing ratio).</param>
/// <param name="HeldOutLoss">Teacher-forced mean loss per target token over the held-out pairs after the epoch (no dropout, no update).</param>
/// <param name="ExactMatch">Held-out greedy exact match after the epoch, in [0, 1].</param>
/// <param name="TokenAccuracy">Held-out greedy token accuracy (position by position, over reference tokens), in [0, 1].</param>
/// <param name="TokensPerSecond">Target tokens trained per second in this epoch (its training steps only).</param>
/// <param name="LearningRate">The learning rate of the epoch.</param>
/// <param name="Elapsed">Training and validation time of the run up to the end of this epoch (over resumed invocations too).</param>
/// <param name="IsBest">Whether this epoch was the best so far when it ended (and so was saved as the best model).</param>
public sealed record EpochReport(
    int Epoch, long Step, double TrainLoss, double HeldOutLoss, double ExactMatch, double TokenAccuracy, double TokensPerSecond,
    double LearningRate, TimeSpan Elapsed, bool IsBest);
