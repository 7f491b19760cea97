using SpanAttention.Seq2Seq;

namespace SpanAttention.Training;

/// <summary>
/// The settings of one <see cref="TrainingSession"/>, with commented defaults: the architecture, the optimizer,
/// the stopping rules and where the best model and the checkpoints go.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>The architecture. The vocabulary sizes and special ids are filled in from the data.</summary>
    public required Seq2SeqConfig Config { get; init; }

    /// <summary>Mini-batch size B. Default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>The last epoch to train (1-based, counting the epochs of a resumed run). Default 10.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Adam or SGD with momentum. Default Adam.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>SGD momentum. Default 0.9.</summary>
    public float Momentum { get; init; } = 0.9f;

    /// <summary>Learning rate of the first epoch. Default 3e-3.</summary>
    public float LearningRate { get; init; } = 3e-3f;

    /// <summary>
    /// Per-epoch multiplicative decay of the learning rate (1: constant). Default 0.8: 3e-3 falls to 5e-4 by epoch 9,
    /// which keeps the held-out score from swinging between epochs once the model is good (docs/training-defaults.md).
    /// </summary>
    public float LearningRateDecay { get; init; } = 0.8f;

    /// <summary>Global-norm gradient clipping threshold (0: off). Default 5.</summary>
    public float ClipNorm { get; init; } = 5f;

    /// <summary>Teacher-forcing ratio in [0, 1]. Default 1.</summary>
    public float TeacherForcingRatio { get; init; } = 1f;

    /// <summary>Seed of the initialisation, the batch order and the teacher-forcing draws. Default 1.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>
    /// Training threads: 1 or 2 (each batch split in two halves trained concurrently; the kernels then run on one
    /// thread each), or 0 for one training thread with the kernels' own threading. Default 0.
    /// </summary>
    public int Threads { get; init; }

    /// <summary>Stop after this many epochs without a better held-out score (0: never). Default 0.</summary>
    public int Patience { get; init; }

    /// <summary>Stop as soon as the held-out exact match reaches this (above 1: never). Default 2.</summary>
    public double StopAtExactMatch { get; init; } = 2;

    /// <summary>Held-out sentences scored after each epoch (0: the whole validation split). Default 0.</summary>
    public int ValidationLimit { get; init; }

    /// <summary>
    /// Best model file, saved atomically whenever the held-out score improves (and once at the start of a resumed
    /// run that already has a best epoch), or null. Default null.
    /// </summary>
    public string? BestModelPath { get; init; }

    /// <summary>Further <c>__metadata__</c> entries of the best model file (e.g. a description of the task), or null.</summary>
    public IReadOnlyDictionary<string, string>? ModelMetadata { get; init; }

    /// <summary>Training checkpoint written atomically after every epoch, or null. Default null.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>A checkpoint to continue from (same data, seed and architecture), or null. Default null.</summary>
    public string? ResumeFrom { get; init; }

    /// <summary>
    /// Divergence: an epoch whose mean training loss exceeds this multiple of the run's first step loss is reported
    /// as diverging (0: off). Default 1000.
    /// </summary>
    public double DivergenceFactor { get; init; } = 1e3;

    /// <summary>
    /// Divergence: this many consecutive epochs, each with a higher mean training loss than the one before, are
    /// reported as diverging (0: off). Default 4.
    /// </summary>
    public int DivergenceRisingEpochs { get; init; } = 4;
}
