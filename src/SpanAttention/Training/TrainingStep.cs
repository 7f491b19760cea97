namespace SpanAttention.Training;

/// <summary>What one training step did (progress callbacks).</summary>
/// <param name="Step">Global step number (1-based, after the update).</param>
/// <param name="Epoch">Epoch (0-based).</param>
/// <param name="Loss">Mean cross-entropy over the batch's non-padding tokens.</param>
/// <param name="Tokens">Non-padding target tokens in the batch.</param>
/// <param name="GradientNorm">Global gradient norm before clipping.</param>
/// <param name="Correct">Tokens whose teacher-forced arg-max prediction was right.</param>
public readonly record struct TrainingStep(long Step, int Epoch, float Loss, int Tokens, float GradientNorm, int Correct);

/// <summary>Summary of one epoch.</summary>
/// <param name="Epoch">Epoch (0-based).</param>
/// <param name="MeanLoss">Token-weighted mean loss.</param>
/// <param name="TokenAccuracy">Fraction of non-padding target tokens predicted right (teacher-forced arg-max).</param>
/// <param name="LearningRate">Learning rate used.</param>
public readonly record struct TrainingEpoch(int Epoch, double MeanLoss, double TokenAccuracy, float LearningRate);

