using System.Globalization;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Training;

/// <summary>Training settings with commented defaults.</summary>
public sealed record Seq2SeqTrainerOptions
{
    /// <summary>Adam learning rate at epoch 0 (when no <see cref="Schedule"/> is given). Default 1e-3.</summary>
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>Learning rate per epoch; null means constant <see cref="LearningRate"/>.</summary>
    public ILearningRateSchedule? Schedule { get; init; }

    /// <summary>Global-norm clipping threshold (PyTorch clip_grad_norm_); 0 disables clipping. Default 5.</summary>
    public float ClipNorm { get; init; } = 5f;

    /// <summary>Probability of feeding the reference token at steps t ≥ 1. Default 1 (pure teacher forcing).</summary>
    public float TeacherForcingRatio { get; init; } = 1f;

    /// <summary>Seed of the trainer's RNG (batch order, teacher-forcing draws). Default 0.</summary>
    public ulong Seed { get; init; }
}

/// <summary>What one training step did (progress callbacks).</summary>
/// <param name="Step">Global step number (1-based, after the update).</param>
/// <param name="Epoch">Epoch (0-based).</param>
/// <param name="Loss">Mean cross-entropy over the batch's non-padding tokens.</param>
/// <param name="Tokens">Non-padding target tokens in the batch.</param>
/// <param name="GradientNorm">Global gradient norm before clipping.</param>
public readonly record struct TrainingStep(long Step, int Epoch, float Loss, int Tokens, float GradientNorm);

/// <summary>Summary of one epoch.</summary>
/// <param name="Epoch">Epoch (0-based).</param>
/// <param name="MeanLoss">Token-weighted mean loss.</param>
/// <param name="TokenAccuracy">Fraction of non-padding target tokens predicted right (teacher-forced arg-max).</param>
/// <param name="LearningRate">Learning rate used.</param>
public readonly record struct TrainingEpoch(int Epoch, double MeanLoss, double TokenAccuracy, float LearningRate);

/// <summary>
/// Mini-batch training of a <see cref="Seq2SeqModel"/>: per step zero gradients, forward (teacher forcing with
/// the configured ratio), backward, global-norm clipping, Adam. Epochs visit pre-built (bucketed) batches in an
/// order shuffled by the trainer's own <see cref="SplitMix64"/>, so a run is deterministic for a seed, and a
/// checkpoint (<see cref="SaveCheckpoint"/>) holds everything needed to continue it exactly.
/// </summary>
public sealed class Seq2SeqTrainer
{
    private int[] _order = [];

    /// <summary>Creates a trainer (and its Adam state) for a model.</summary>
    /// <param name="model">The model to train.</param>
    /// <param name="options">Settings.</param>
    public Seq2SeqTrainer(Seq2SeqModel model, Seq2SeqTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (!(options.TeacherForcingRatio is >= 0f and <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"TeacherForcingRatio must be in [0, 1], got {options.TeacherForcingRatio}.");
        }
        Model = model;
        Options = options;
        Optimizer = new Adam(model.Layout.Count, options.LearningRate);
        Random = new SplitMix64(options.Seed);
    }

    /// <summary>The model.</summary>
    public Seq2SeqModel Model { get; }

    /// <summary>Settings.</summary>
    public Seq2SeqTrainerOptions Options { get; }

    /// <summary>Adam (moments share the parameter layout).</summary>
    public Adam Optimizer { get; }

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
        Seq2SeqModel model = Model;
        model.Parameters.ZeroGradients();
        float loss = model.Forward(batch, Options.TeacherForcingRatio, Random);
        long step = Step + 1;
        if (!float.IsFinite(loss))
        {
            throw new NonFiniteGradientException($"Non-finite loss {loss.ToString(CultureInfo.InvariantCulture)} at step {step} (epoch {Epoch}); the parameters were not updated.");
        }
        model.Backward();
        float norm = GradientClipping.GlobalNorm(model.Parameters.Gradients);
        if (!float.IsFinite(norm))
        {
            throw new NonFiniteGradientException($"Non-finite gradient norm at step {step} (epoch {Epoch}); the parameters were not updated.");
        }
        if (Options.ClipNorm > 0f)
        {
            GradientClipping.ClipByGlobalNorm(model.Parameters.Gradients, Options.ClipNorm);
        }
        Optimizer.Step(model.Parameters.Values, model.Parameters.Gradients);
        Step = step;
        return new TrainingStep(step, Epoch, loss, model.LastTokenCount, norm);
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
            correct += Model.CountCorrect();
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

    private const string ExpAvgPrefix = "optimizer.exp_avg.";
    private const string ExpAvgSqPrefix = "optimizer.exp_avg_sq.";

    /// <summary>
    /// Saves a training checkpoint atomically: the model file (<see cref="Seq2SeqModel.Save"/>) plus the Adam moments
    /// (tensors <c>optimizer.exp_avg.{name}</c>, <c>optimizer.exp_avg_sq.{name}</c>) and the step, epoch, Adam step and
    /// RNG state in <c>__metadata__</c>.
    /// </summary>
    /// <param name="path">Destination.</param>
    /// <param name="sourceVocabJson">Opaque source vocabulary JSON (or null).</param>
    /// <param name="targetVocabJson">Opaque target vocabulary JSON (or null).</param>
    public void SaveCheckpoint(string path, string? sourceVocabJson = null, string? targetVocabJson = null)
    {
        var metadata = Seq2SeqModel.BuildMetadata(Model.Config, sourceVocabJson, targetVocabJson);
        metadata["spanattention.trainer.step"] = Step.ToString(CultureInfo.InvariantCulture);
        metadata["spanattention.trainer.epoch"] = Epoch.ToString(CultureInfo.InvariantCulture);
        metadata["spanattention.trainer.adam_step"] = Optimizer.StepCount.ToString(CultureInfo.InvariantCulture);
        metadata["spanattention.trainer.rng"] = Random.State.ToString(CultureInfo.InvariantCulture);
        var extra = new List<SafeTensor>();
        extra.AddRange(SafeTensor.FromLayout(Model.Layout, Optimizer.ExpAvg, ExpAvgPrefix));
        extra.AddRange(SafeTensor.FromLayout(Model.Layout, Optimizer.ExpAvgSq, ExpAvgSqPrefix));
        ModelFile.Save(path, Model.Layout, Model.Parameters.Values, metadata, extra);
    }

    /// <summary>Restores parameters, Adam moments, step, epoch and RNG state from <see cref="SaveCheckpoint"/> output.</summary>
    /// <param name="path">The checkpoint.</param>
    /// <exception cref="ModelFileException">Malformed file, another configuration, or missing trainer state.</exception>
    public void LoadCheckpoint(string path)
    {
        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        Seq2SeqModel.CheckConfig(reader.Metadata, Model.Config, path);
        reader.EnsureNoOtherTensors(Model.Layout, "", ExpAvgPrefix, ExpAvgSqPrefix);
        long step = ReadLong(reader.Metadata, "spanattention.trainer.step", path);
        long epoch = ReadLong(reader.Metadata, "spanattention.trainer.epoch", path);
        long adamStep = ReadLong(reader.Metadata, "spanattention.trainer.adam_step", path);
        if (!reader.Metadata.TryGetValue("spanattention.trainer.rng", out string? rngText)
            || !ulong.TryParse(rngText, NumberStyles.None, CultureInfo.InvariantCulture, out ulong rng))
        {
            throw new ModelFileException($"{path}: checkpoint metadata 'spanattention.trainer.rng' is missing or not an unsigned integer.");
        }
        var values = new float[Model.Layout.Count];
        var m = new float[Model.Layout.Count];
        var v = new float[Model.Layout.Count];
        reader.ReadInto(Model.Layout, values);
        reader.ReadInto(Model.Layout, m, ExpAvgPrefix);
        reader.ReadInto(Model.Layout, v, ExpAvgSqPrefix);
        values.CopyTo(Model.Parameters.Values, 0);
        m.CopyTo(Optimizer.ExpAvg, 0);
        v.CopyTo(Optimizer.ExpAvgSq, 0);
        Step = step;
        Epoch = checked((int)epoch);
        Optimizer.StepCount = adamStep;
        Random.State = rng;
    }

    private static long ReadLong(IReadOnlyDictionary<string, string> metadata, string key, string path) =>
        metadata.TryGetValue(key, out string? text) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new ModelFileException($"{path}: checkpoint metadata '{key}' is missing or not a non-negative integer.");
}
