namespace SpanAttention.Training;

/// <summary>Training settings with commented defaults.</summary>
public sealed record Seq2SeqTrainerOptions
{
    /// <summary>Which optimizer: Adam (PyTorch defaults) or SGD with momentum. Default Adam.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>SGD only: momentum factor (torch.optim.SGD's default is 0; 0.9 is the usual choice). Default 0.9.</summary>
    public float Momentum { get; init; } = 0.9f;

    /// <summary>SGD only: dampening of the momentum. Default 0.</summary>
    public float Dampening { get; init; }

    /// <summary>SGD only: Nesterov momentum (needs momentum &gt; 0 and dampening 0). Default false.</summary>
    public bool Nesterov { get; init; }

    /// <summary>L2 penalty added to the gradient (torch's weight_decay, Adam and SGD alike). Default 0.</summary>
    public float WeightDecay { get; init; }

    /// <summary>Learning rate at epoch 0 (when no <see cref="Schedule"/> is given). Default 1e-3.</summary>
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>Learning rate per epoch; null means constant <see cref="LearningRate"/>.</summary>
    public ILearningRateSchedule? Schedule { get; init; }

    /// <summary>Global-norm clipping threshold (PyTorch clip_grad_norm_); 0 disables clipping. Default 5.</summary>
    public float ClipNorm { get; init; } = 5f;

    /// <summary>Probability of feeding the reference token at steps t ≥ 1. Default 1 (pure teacher forcing).</summary>
    public float TeacherForcingRatio { get; init; } = 1f;

    /// <summary>Seed of the trainer's RNG (batch order, teacher-forcing draws). Default 0.</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// 1 or 2. With 2, each batch is split into two halves whose forward/backward run concurrently, each on its own
    /// workspaces and gradient buffer, then the gradients are combined in a fixed order (token-weighted), so results
    /// are deterministic for a seed and thread count (they differ from 1 thread in the last bits). Default 1.
    /// </summary>
    public int Threads { get; init; } = 1;
}
