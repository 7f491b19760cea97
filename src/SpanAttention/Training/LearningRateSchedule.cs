namespace SpanAttention.Training;

/// <summary>A learning rate as a function of the epoch (or of any step counter the caller chooses).</summary>
public interface ILearningRateSchedule
{
    /// <summary>The learning rate to use during <paramref name="epoch"/> (0 = the first).</summary>
    /// <param name="epoch">Zero-based epoch.</param>
    /// <returns>The learning rate.</returns>
    float At(int epoch);
}

/// <summary>A constant learning rate.</summary>
/// <param name="LearningRate">The rate.</param>
public sealed record ConstantSchedule(float LearningRate) : ILearningRateSchedule
{
    /// <inheritdoc/>
    public float At(int epoch) => LearningRate;
}

/// <summary>Step decay, as PyTorch's <c>StepLR</c>: <c>lr = initial · gamma^(epoch / stepSize)</c> (integer division).</summary>
public sealed record StepDecaySchedule : ILearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="initial">The learning rate of the first <paramref name="stepSize"/> epochs.</param>
    /// <param name="stepSize">Epochs between decays (≥ 1).</param>
    /// <param name="gamma">Multiplicative factor per decay, e.g. 0.5.</param>
    public StepDecaySchedule(float initial, int stepSize, float gamma)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initial);
        ArgumentOutOfRangeException.ThrowIfLessThan(stepSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(gamma);
        Initial = initial;
        StepSize = stepSize;
        Gamma = gamma;
    }

    /// <summary>The initial learning rate.</summary>
    public float Initial { get; }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }

    /// <summary>Factor per decay.</summary>
    public float Gamma { get; }

    /// <inheritdoc/>
    public float At(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return (float)(Initial * Math.Pow(Gamma, epoch / StepSize));
    }
}

/// <summary>Exponential decay, as PyTorch's <c>ExponentialLR</c>: <c>lr = initial · gamma^epoch</c>.</summary>
public sealed record ExponentialDecaySchedule : ILearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="initial">The learning rate of epoch 0.</param>
    /// <param name="gamma">Multiplicative factor per epoch, e.g. 0.95.</param>
    public ExponentialDecaySchedule(float initial, float gamma)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initial);
        ArgumentOutOfRangeException.ThrowIfNegative(gamma);
        Initial = initial;
        Gamma = gamma;
    }

    /// <summary>The initial learning rate.</summary>
    public float Initial { get; }

    /// <summary>Factor per epoch.</summary>
    public float Gamma { get; }

    /// <inheritdoc/>
    public float At(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return (float)(Initial * Math.Pow(Gamma, epoch));
    }
}
