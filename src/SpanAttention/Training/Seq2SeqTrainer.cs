using System.Globalization;
using SpanAttention.IO;
using SpanAttention.Parameters;
using SpanAttention.Seq2Seq;
using SpanAttention.Transformer;

namespace SpanAttention.Training;

/// <summary>
/// Mini-batch training of a <see cref="Seq2SeqModel"/> (or, behind the same steps, the full Transformer
/// encoder-decoder): per step zero gradients, forward (teacher forcing with
/// the configured ratio), backward, global-norm clipping, Adam. Epochs visit pre-built (bucketed) batches in an
/// order shuffled by the trainer's own <see cref="SplitMix64"/>, so a run is deterministic for a seed, and a
/// checkpoint (<see cref="SaveCheckpoint(string, string?, string?)"/>) holds everything needed to continue it exactly.
/// </summary>
public sealed partial class Seq2SeqTrainer
{
    private int[] _order = [];

    /// <summary>Creates a trainer (and its Adam state) for a model.</summary>
    /// <param name="model">The model to train.</param>
    /// <param name="options">Settings.</param>
    public Seq2SeqTrainer(Seq2SeqModel model, Seq2SeqTrainerOptions options)
        : this(model, null, options)
    {
    }

    /// <summary>
    /// A trainer for the full Transformer encoder-decoder: the same steps, clipping, optimizer, schedule, batch order
    /// and checkpoints, its forward teacher-forced over all target positions at once. It trains on the calling thread
    /// (<see cref="Seq2SeqTrainerOptions.Threads"/> 1; its GEMMs use <see cref="Kernels.KernelThreads"/>), with teacher
    /// forcing ratio 1 and no dropout.
    /// </summary>
    /// <param name="model">The model to train.</param>
    /// <param name="options">Settings.</param>
    internal Seq2SeqTrainer(TransformerSeq2Seq model, Seq2SeqTrainerOptions options)
        : this(null, model, options)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (options.Threads != 1 || options.TeacherForcingRatio != 1f)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"A Transformer encoder-decoder trains on one trainer thread with teacher forcing ratio 1, got Threads {options.Threads} and TeacherForcingRatio {options.TeacherForcingRatio}.");
        }
    }

    private Seq2SeqTrainer(Seq2SeqModel? recurrent, TransformerSeq2Seq? transformer, Seq2SeqTrainerOptions options)
    {
        if (recurrent is null && transformer is null)
        {
            throw new ArgumentNullException(nameof(recurrent), "A trainer needs a model.");
        }
        ArgumentNullException.ThrowIfNull(options);
        if (!(options.TeacherForcingRatio is >= 0f and <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"TeacherForcingRatio must be in [0, 1], got {options.TeacherForcingRatio}.");
        }
        if (options.Threads is not (1 or 2))
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"Threads must be 1 or 2, got {options.Threads}.");
        }
        _recurrent = recurrent;
        _transformer = transformer;
        Options = options;
        if (options.Threads == 2 && recurrent is not null)
        {
            _worker = new HalfBatchWorker(recurrent.CreateGradientReplica());
        }
        int count = Layout.Count;
        Optimizer = options.Optimizer switch
        {
            OptimizerKind.Adam => new Adam(count, options.LearningRate, weightDecay: options.WeightDecay),
            OptimizerKind.Sgd => new Sgd(count, options.LearningRate, options.Momentum, options.Dampening, options.WeightDecay, options.Nesterov),
            _ => throw new ArgumentOutOfRangeException(nameof(options), $"Unknown Optimizer {(int)options.Optimizer}."),
        };
        Random = new SplitMix64(options.Seed);
    }

    /// <summary>The model.</summary>
    /// <exception cref="InvalidOperationException">The trainer trains a Transformer encoder-decoder (not a <see cref="Seq2SeqModel"/>).</exception>
    public Seq2SeqModel Model => _recurrent ?? throw new InvalidOperationException("This trainer trains a Transformer encoder-decoder, which is not a Seq2SeqModel.");

    // The model behind the seam: exactly one is set. The optimizer, clipping and checkpoints see only its flat parameters.
    private readonly Seq2SeqModel? _recurrent;
    private readonly TransformerSeq2Seq? _transformer;

    /// <summary>The trained model's parameters and gradients (either kind).</summary>
    internal ParameterSet Parameters => _recurrent?.Parameters ?? _transformer!.Parameters;

    /// <summary>Their layout.</summary>
    internal ParameterLayout Layout => Parameters.Layout;

    /// <summary>The trained model's configuration (either kind).</summary>
    internal Seq2SeqConfig Config => _recurrent?.Config ?? _transformer!.Config;

    /// <summary>The metadata of a model file (and checkpoint) of the trained model: a Transformer's carries its architecture marker.</summary>
    internal Dictionary<string, string> BuildMetadata(string? sourceVocabJson, string? targetVocabJson, IReadOnlyDictionary<string, string>? extra = null) =>
        _transformer is null
            ? Seq2SeqModelFile.BuildMetadata(Config, sourceVocabJson, targetVocabJson, extra)
            : TransformerSeq2SeqModelFile.BuildMetadata(Config, sourceVocabJson, targetVocabJson, extra);

    /// <summary>Settings.</summary>
    public Seq2SeqTrainerOptions Options { get; }

    /// <summary>The optimizer: an <see cref="Adam"/> or an <see cref="Sgd"/> (its state shares the parameter layout).</summary>
    public IOptimizer Optimizer { get; }

    /// <summary>The trainer's RNG (saved in checkpoints).</summary>
    public SplitMix64 Random { get; }

    /// <summary>Steps taken so far.</summary>
    public long Step { get; private set; }

    /// <summary>Next epoch to run (0-based).</summary>
    public int Epoch { get; private set; }

    /// <summary>One optimisation step on one batch.</summary>
    /// <param name="batch">The batch.</param>
    /// <returns>What the step did.</returns>
    /// <exception cref="NonFiniteGradientException">The loss or a gradient is NaN or infinite; parameters are left untouched.</exception>
    public TrainingStep TrainStep(Seq2SeqBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        long step = Step + 1;
        float loss;
        int tokens, correct;
        ParameterSet parameters = Parameters;
        if (_transformer is TransformerSeq2Seq transformer)
        {
            // teacher-forced over all T positions at once; no dropout, no sampling
            parameters.ZeroGradients();
            loss = transformer.Forward(batch);
            CheckLoss(loss, step);
            transformer.Backward();
            tokens = transformer.LastTokenCount;
            correct = transformer.CountCorrect();
            return Update(step, loss, tokens, correct);
        }
        Seq2SeqModel model = _recurrent!;
        bool wasTraining = model.Training;
        model.Training = true;                   // dropout on (if configured); masks from (Seed, step, row)
        model.DropoutSeed = Options.Seed;
        model.DropoutStep = step;
        model.DropoutRowOffset = 0;
        try
        {
            if (_worker is null || batch.BatchSize < 2)
            {
                model.Parameters.ZeroGradients();
                loss = model.Forward(batch, Options.TeacherForcingRatio, Random);
                CheckLoss(loss, step);
                model.Backward();
                tokens = model.LastTokenCount;
                correct = model.CountCorrect();
            }
            else
            {
                (loss, tokens, correct) = TwoThreadForwardBackward(batch, step);
            }
        }
        finally
        {
            model.Training = wasTraining;
        }
        return Update(step, loss, tokens, correct);
    }

    /// <summary>The step's second half, for either model: global-norm clipping and the optimizer update.</summary>
    private TrainingStep Update(long step, float loss, int tokens, int correct)
    {
        ParameterSet parameters = Parameters;
        float norm = GradientClipping.GlobalNorm(parameters.Gradients);
        if (!float.IsFinite(norm))
        {
            throw new NonFiniteGradientException($"Non-finite gradient norm at step {step} (epoch {Epoch}); the parameters were not updated.");
        }
        if (Options.ClipNorm > 0f)
        {
            GradientClipping.ClipByGlobalNorm(parameters.Gradients, Options.ClipNorm);
        }
        Optimizer.Step(parameters.Values, parameters.Gradients);
        Step = step;
        return new TrainingStep(step, Epoch, loss, tokens, norm, correct);
    }

    private void CheckLoss(float loss, long step)
    {
        if (!float.IsFinite(loss))
        {
            throw new NonFiniteGradientException($"Non-finite loss {loss.ToString(CultureInfo.InvariantCulture)} at step {step} (epoch {Epoch}); the parameters were not updated.");
        }
    }


    /// <summary>One epoch over the batches in a shuffled order.</summary>
    /// <param name="batches">Pre-built batches (e.g. <see cref="Seq2SeqBatch.Bucketed"/>).</param>
    /// <param name="onStep">Optional progress callback after each step.</param>
    /// <returns>The epoch's summary.</returns>
    public TrainingEpoch TrainEpoch(IReadOnlyList<Seq2SeqBatch> batches, Action<TrainingStep>? onStep = null)
    {
        ArgumentNullException.ThrowIfNull(batches);
        float lr = Options.Schedule?.At(Epoch) ?? Options.LearningRate;
        Optimizer.LearningRate = lr;
        if (_order.Length != batches.Count)
        {
            _order = new int[batches.Count];
        }
        for (int i = 0; i < _order.Length; i++)
        {
            _order[i] = i;
        }
        Random.Shuffle(_order.AsSpan());
        double lossSum = 0;
        long tokens = 0, correct = 0;
        foreach (int index in _order)
        {
            TrainingStep s = TrainStep(batches[index]);
            lossSum += (double)s.Loss * s.Tokens;
            tokens += s.Tokens;
            correct += s.Correct;
            onStep?.Invoke(s);
        }
        var result = new TrainingEpoch(Epoch, tokens == 0 ? 0 : lossSum / tokens, tokens == 0 ? 0 : (double)correct / tokens, lr);
        Epoch++;
        return result;
    }

    /// <summary>Several epochs.</summary>
    /// <param name="batches">Pre-built batches.</param>
    /// <param name="epochs">How many epochs to run.</param>
    /// <param name="onEpoch">Optional callback after each epoch.</param>
    /// <param name="onStep">Optional callback after each step.</param>
    public void Train(IReadOnlyList<Seq2SeqBatch> batches, int epochs, Action<TrainingEpoch>? onEpoch = null, Action<TrainingStep>? onStep = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epochs);
        for (int e = 0; e < epochs; e++)
        {
            TrainingEpoch result = TrainEpoch(batches, onStep);
            onEpoch?.Invoke(result);
        }
    }

}
