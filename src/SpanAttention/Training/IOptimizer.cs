namespace SpanAttention.Training;

/// <summary>Which optimizer a <see cref="Seq2SeqTrainer"/> uses.</summary>
public enum OptimizerKind
{
    /// <summary><see cref="Adam"/> (torch.optim.Adam).</summary>
    Adam = 0,

    /// <summary><see cref="Sgd"/> with momentum (torch.optim.SGD).</summary>
    Sgd = 1,
}

/// <summary>
/// What the trainer needs from an optimizer over one flat parameter buffer: a step, the learning rate (decayed per
/// epoch) and the step count (saved in checkpoints). <see cref="Adam"/> and <see cref="Sgd"/> implement it.
/// </summary>
public interface IOptimizer
{
    /// <summary>lr; may be changed between steps.</summary>
    float LearningRate { get; set; }

    /// <summary>Steps taken so far; settable to resume from a checkpoint.</summary>
    long StepCount { get; set; }

    /// <summary>Takes one step: updates <paramref name="values"/> (and the optimizer state) in place.</summary>
    /// <param name="values">Parameters p: (count). Updated in place.</param>
    /// <param name="gradients">Gradients g: (count). Read only.</param>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716", Justification = "The name of torch.optim.Optimizer.step; Adam and Sgd already expose Step.")]
    void Step(Span<float> values, ReadOnlySpan<float> gradients);
}
