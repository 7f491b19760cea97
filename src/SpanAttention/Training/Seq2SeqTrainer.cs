using System.Globalization;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;

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

/// <summary>
/// Mini-batch training of a <see cref="Seq2SeqModel"/>: per step zero gradients, forward (teacher forcing with
/// the configured ratio), backward, global-norm clipping, Adam. Epochs visit pre-built (bucketed) batches in an
/// order shuffled by the trainer's own <see cref="SplitMix64"/>, so a run is deterministic for a seed, and a
/// checkpoint (<see cref="SaveCheckpoint(string, string?, string?)"/>) holds everything needed to continue it exactly.
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
        if (options.Threads is not (1 or 2))
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"Threads must be 1 or 2, got {options.Threads}.");
        }
        Model = model;
        Options = options;
        if (options.Threads == 2)
        {
            _worker = new HalfBatchWorker(new Seq2SeqModel(model.Config, model.MaxBatch, model.MaxSource, model.MaxTarget));
        }
        Optimizer = options.Optimizer switch
        {
            OptimizerKind.Adam => new Adam(model.Layout.Count, options.LearningRate, weightDecay: options.WeightDecay),
            OptimizerKind.Sgd => new Sgd(model.Layout.Count, options.LearningRate, options.Momentum, options.Dampening, options.WeightDecay, options.Nesterov),
            _ => throw new ArgumentOutOfRangeException(nameof(options), $"Unknown Optimizer {(int)options.Optimizer}."),
        };
        Random = new SplitMix64(options.Seed);
    }

    /// <summary>The model.</summary>
    public Seq2SeqModel Model { get; }

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
        Seq2SeqModel model = Model;
        long step = Step + 1;
        float loss;
        int tokens, correct;
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
        return new TrainingStep(step, Epoch, loss, tokens, norm, correct);
    }

    private void CheckLoss(float loss, long step)
    {
        if (!float.IsFinite(loss))
        {
            throw new NonFiniteGradientException($"Non-finite loss {loss.ToString(CultureInfo.InvariantCulture)} at step {step} (epoch {Epoch}); the parameters were not updated.");
        }
    }

    private readonly HalfBatchWorker? _worker;
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Seq2SeqBatch, Seq2SeqBatch[]> _halves = [];

    /// <summary>
    /// Rows [0, B1) on this thread with <see cref="Model"/>, rows [B1, B) on the worker with its own model (parameter
    /// values copied in first). Both halves start from the same RNG state, so they make the same teacher-forcing draws
    /// (same T). Then g = (n1 g1 + n2 g2) / (n1 + n2), the gradient of the mean over all counted tokens.
    /// </summary>
    private (float Loss, int Tokens, int Correct) TwoThreadForwardBackward(Seq2SeqBatch batch, long step)
    {
        Seq2SeqBatch[] halves = _halves.GetValue(batch, Split);
        HalfBatchWorker worker = _worker!;
        Seq2SeqModel model = Model;
        Array.Copy(model.Parameters.Values, worker.Model.Parameters.Values, model.Parameters.Values.Length);
        worker.Random.State = Random.State;
        worker.Model.Training = true;
        worker.Model.DropoutSeed = model.DropoutSeed;
        worker.Model.DropoutStep = model.DropoutStep;
        worker.Model.DropoutRowOffset = halves[0].BatchSize;  // the second half's rows draw the whole batch's masks
        worker.Start(halves[1], Options.TeacherForcingRatio);
        model.Parameters.ZeroGradients();
        float loss1 = model.Forward(halves[0], Options.TeacherForcingRatio, Random);
        model.Backward();
        int n1 = model.LastTokenCount, c1 = model.CountCorrect();
        worker.Wait();
        float loss2 = worker.Loss;
        int n2 = worker.Model.LastTokenCount, c2 = worker.Correct;
        int n = n1 + n2;
        float loss = n == 0 ? 0f : (float)(((double)loss1 * n1 + (double)loss2 * n2) / n);
        CheckLoss(loss, step);
        if (n > 0)
        {
            Span<float> g = model.Parameters.Gradients;
            System.Numerics.Tensors.TensorPrimitives.Multiply(g, (float)n1 / n, g);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(worker.Model.Parameters.Gradients, (float)n2 / n, g, g);
        }
        return (loss, n, c1 + c2);
    }

    private static Seq2SeqBatch[] Split(Seq2SeqBatch batch)
    {
        int b1 = (batch.BatchSize + 1) / 2;
        return [Rows(batch, 0, b1), Rows(batch, b1, batch.BatchSize - b1)];
    }

    private static Seq2SeqBatch Rows(Seq2SeqBatch batch, int start, int count)
    {
        int s = batch.SourceLength, t = batch.TargetLength;
        return new Seq2SeqBatch(count, s, t,
            batch.SourceIds.AsSpan(start * s, count * s).ToArray(), batch.SourceLengths.AsSpan(start, count).ToArray(),
            batch.TargetInput.AsSpan(start * t, count * t).ToArray(), batch.TargetOutput.AsSpan(start * t, count * t).ToArray(),
            batch.TargetLengths.AsSpan(start, count).ToArray());
    }

    /// <summary>
    /// Runs one half-batch forward/backward on its own background thread; reusable, allocation-free per step.
    /// </summary>
    /// <remarks>
    /// A dedicated thread, not the thread pool: the kernels keep per-thread packing buffers (about 3.4 MB on first
    /// use, see <c>GemmWorkspace</c>), and a pool thread injected or replaced in the middle of training would allocate
    /// them in a steady-state step (seen in the benchmark: one 295 KB and one 3.1 MB array in a timed run). While idle
    /// the thread holds this object only weakly, so it ends soon after the trainer is no longer reachable.
    /// </remarks>
    private sealed class HalfBatchWorker(Seq2SeqModel model)
    {
        private const int IdleCheckMilliseconds = 2000;
        private readonly Gate _gate = new();
        private Seq2SeqBatch? _batch;
        private float _ratio;
        private Exception? _error;
        private Thread? _thread;

        public Seq2SeqModel Model { get; } = model;

        public SplitMix64 Random { get; } = new(0);

        public float Loss { get; private set; }

        public int Correct { get; private set; }

        /// <summary>The managed id of the thread that ran the last half batch (for tests).</summary>
        internal int LastThreadId { get; private set; }

        /// <summary>Whether that thread was a thread-pool thread (for tests).</summary>
        internal bool LastThreadWasPool { get; private set; }

        public void Start(Seq2SeqBatch batch, float ratio)
        {
            _batch = batch;
            _ratio = ratio;
            _error = null;
            if (_thread is null)
            {
                var owner = new WeakReference<HalfBatchWorker>(this);
                Gate gate = _gate;
                _thread = new Thread(() => Loop(owner, gate)) { IsBackground = true, Name = "SpanAttention trainer half-batch" };
                _thread.Start();
            }
            lock (_gate)
            {
                _gate.Finished = false;
                _gate.Posted = true;
                Monitor.PulseAll(_gate);
            }
        }

        public void Wait()
        {
            lock (_gate)
            {
                while (!_gate.Finished)
                {
                    Monitor.Wait(_gate);
                }
            }
            if (_error is not null)
            {
                throw new InvalidOperationException("The second training thread failed: " + _error.Message, _error);
            }
        }

        private void Execute()
        {
            try
            {
                LastThreadId = Environment.CurrentManagedThreadId;
                LastThreadWasPool = Thread.CurrentThread.IsThreadPoolThread;
                Model.Parameters.ZeroGradients();
                Loss = Model.Forward(_batch!, _ratio, Random);
                Model.Backward();
                Correct = Model.CountCorrect();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or ArithmeticException)
            {
                _error = e;
            }
            finally
            {
                lock (_gate)
                {
                    _gate.Finished = true;
                    Monitor.PulseAll(_gate);
                }
            }
        }

        /// <summary>Waits for posted work; ends when the owner has been collected.</summary>
        private static void Loop(WeakReference<HalfBatchWorker> owner, Gate gate)
        {
            while (true)
            {
                lock (gate)
                {
                    while (!gate.Posted)
                    {
                        if (!Monitor.Wait(gate, IdleCheckMilliseconds) && !owner.TryGetTarget(out _))
                        {
                            return;
                        }
                    }
                    gate.Posted = false;
                }
                if (!RunPosted(owner))
                {
                    return;
                }
            }
        }

        /// <summary>Runs the posted half batch; a separate frame so the loop never holds the owner strongly.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static bool RunPosted(WeakReference<HalfBatchWorker> owner)
        {
            if (!owner.TryGetTarget(out HalfBatchWorker? worker))
            {
                return false;
            }
            worker.Execute();
            return true;
        }

        /// <summary>The lock both threads use, with the two flags it guards.</summary>
        private sealed class Gate
        {
            public bool Posted;
            public bool Finished;
        }
    }

    /// <summary>The managed id of the thread that ran the last second half batch, or 0 with one thread (for tests).</summary>
    internal int SecondThreadId => _worker?.LastThreadId ?? 0;

    /// <summary>Whether the last second half batch ran on a thread-pool thread (for tests).</summary>
    internal bool SecondThreadIsPoolThread => _worker?.LastThreadWasPool ?? false;

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

    private const string ExpAvgPrefix = "optimizer.exp_avg.";
    private const string ExpAvgSqPrefix = "optimizer.exp_avg_sq.";
    private const string MomentumBufferPrefix = "optimizer.momentum_buffer.";
    private const string OptimizerKey = "spanattention.trainer.optimizer";

    /// <summary>
    /// Saves a training checkpoint atomically: the model file (<see cref="Seq2SeqModelFile"/>) plus the optimizer state
    /// (Adam: tensors <c>optimizer.exp_avg.{name}</c>, <c>optimizer.exp_avg_sq.{name}</c>; SGD with momentum:
    /// <c>optimizer.momentum_buffer.{name}</c>) and the optimizer kind, step, epoch, optimizer step and RNG state in
    /// <c>__metadata__</c>.
    /// </summary>
    /// <param name="path">Destination.</param>
    /// <param name="sourceVocabJson">Opaque source vocabulary JSON (or null).</param>
    /// <param name="targetVocabJson">Opaque target vocabulary JSON (or null).</param>
    public void SaveCheckpoint(string path, string? sourceVocabJson = null, string? targetVocabJson = null) =>
        SaveCheckpoint(path, sourceVocabJson, targetVocabJson, null, null);

    /// <summary>The same, with further metadata and further tensors (a training session's own state) in the file.</summary>
    /// <param name="path">Destination.</param>
    /// <param name="sourceVocabJson">Opaque source vocabulary JSON (or null).</param>
    /// <param name="targetVocabJson">Opaque target vocabulary JSON (or null).</param>
    /// <param name="extraMetadata">Further <c>__metadata__</c> entries (keys must not clash with the trainer's).</param>
    /// <param name="extraTensors">Further tensors, named with <see cref="SessionTensorPrefix"/>.</param>
    internal void SaveCheckpoint(string path, string? sourceVocabJson, string? targetVocabJson,
        IReadOnlyDictionary<string, string>? extraMetadata, IReadOnlyList<SafeTensor>? extraTensors)
    {
        var metadata = Seq2SeqModelFile.BuildMetadata(Model.Config, sourceVocabJson, targetVocabJson);
        if (extraMetadata is not null)
        {
            foreach ((string key, string value) in extraMetadata)
            {
                metadata[key] = value;
            }
        }
        metadata["spanattention.trainer.step"] = Step.ToString(CultureInfo.InvariantCulture);
        metadata["spanattention.trainer.epoch"] = Epoch.ToString(CultureInfo.InvariantCulture);
        metadata["spanattention.trainer.rng"] = Random.State.ToString(CultureInfo.InvariantCulture);
        var extra = new List<SafeTensor>();
        switch (Optimizer)
        {
            case Adam adam:
                metadata[OptimizerKey] = "adam";
                metadata["spanattention.trainer.adam_step"] = adam.StepCount.ToString(CultureInfo.InvariantCulture);
                extra.AddRange(SafeTensor.FromLayout(Model.Layout, adam.ExpAvg, ExpAvgPrefix));
                extra.AddRange(SafeTensor.FromLayout(Model.Layout, adam.ExpAvgSq, ExpAvgSqPrefix));
                break;
            case Sgd sgd:
                metadata[OptimizerKey] = "sgd";
                metadata["spanattention.trainer.sgd_step"] = sgd.StepCount.ToString(CultureInfo.InvariantCulture);
                if (sgd.MomentumBuffer.Length > 0)
                {
                    extra.AddRange(SafeTensor.FromLayout(Model.Layout, sgd.MomentumBuffer, MomentumBufferPrefix));
                }
                break;
        }
        if (extraTensors is not null)
        {
            extra.AddRange(extraTensors);
        }
        ModelFile.Save(path, Model.Layout, Model.Parameters.Values, metadata, extra);
    }

    /// <summary>The name prefix of a training session's own tensors in a checkpoint (e.g. its best parameters so far).</summary>
    internal const string SessionTensorPrefix = "session.best.";

    /// <summary>Restores parameters, optimizer state, step, epoch and RNG state from <see cref="SaveCheckpoint(string, string?, string?)"/> output.</summary>
    /// <param name="path">The checkpoint.</param>
    /// <exception cref="ModelFileException">Malformed file, another configuration or optimizer, or missing trainer state.</exception>
    public void LoadCheckpoint(string path) => LoadCheckpoint(path, null);

    /// <summary>
    /// The same, also reading the session's best parameters (tensors named <see cref="SessionTensorPrefix"/> + slot) into
    /// <paramref name="sessionBest"/> when the file has them; returns the file's metadata, or null when those tensors
    /// are absent (a checkpoint written without them).
    /// </summary>
    internal IReadOnlyDictionary<string, string>? LoadCheckpoint(string path, float[]? sessionBest)
    {
        using SafeTensorsReader reader = SafeTensorsReader.Open(path);
        Seq2SeqModelFile.CheckConfig(reader.Metadata, Model.Config, path);
        string kind = reader.Metadata.TryGetValue(OptimizerKey, out string? k) ? k : "adam"; // files from before SGD support are Adam
        string expected = Optimizer is Sgd ? "sgd" : "adam";
        if (kind != expected)
        {
            throw new ModelFileException($"{path}: the checkpoint's optimizer is '{kind}', the trainer's is '{expected}'.");
        }
        reader.EnsureNoOtherTensors(Model.Layout, "", ExpAvgPrefix, ExpAvgSqPrefix, MomentumBufferPrefix, SessionTensorPrefix);
        long step = ReadLong(reader.Metadata, "spanattention.trainer.step", path);
        long epoch = ReadLong(reader.Metadata, "spanattention.trainer.epoch", path);
        if (epoch > int.MaxValue)
        {
            throw new ModelFileException($"{path}: checkpoint metadata 'spanattention.trainer.epoch' is {epoch}, more than {int.MaxValue}.");
        }
        long optimizerStep = ReadLong(reader.Metadata, $"spanattention.trainer.{kind}_step", path);
        if (!reader.Metadata.TryGetValue("spanattention.trainer.rng", out string? rngText)
            || !ulong.TryParse(rngText, NumberStyles.None, CultureInfo.InvariantCulture, out ulong rng))
        {
            throw new ModelFileException($"{path}: checkpoint metadata 'spanattention.trainer.rng' is missing or not an unsigned integer.");
        }
        // read everything before touching the trainer, so a bad file leaves it as it was
        var values = new float[Model.Layout.Count];
        reader.ReadInto(Model.Layout, values);
        float[] first = [], second = [];
        switch (Optimizer)
        {
            case Adam:
                first = new float[Model.Layout.Count];
                second = new float[Model.Layout.Count];
                reader.ReadInto(Model.Layout, first, ExpAvgPrefix);
                reader.ReadInto(Model.Layout, second, ExpAvgSqPrefix);
                break;
            case Sgd sgd when sgd.MomentumBuffer.Length > 0:
                first = new float[Model.Layout.Count];
                reader.ReadInto(Model.Layout, first, MomentumBufferPrefix);
                break;
        }
        Seq2SeqModelFile.RequireFinite(Model.Layout, values, "", path);
        if (first.Length > 0)
        {
            Seq2SeqModelFile.RequireFinite(Model.Layout, first, Optimizer is Sgd ? MomentumBufferPrefix : ExpAvgPrefix, path);
        }
        if (second.Length > 0)
        {
            Seq2SeqModelFile.RequireFinite(Model.Layout, second, ExpAvgSqPrefix, path);
        }
        bool hasSession = sessionBest is not null && reader.Contains(SessionTensorPrefix + Model.Layout.Slots[0].Name);
        float[] best = [];
        if (hasSession)
        {
            best = new float[Model.Layout.Count];
            reader.ReadInto(Model.Layout, best, SessionTensorPrefix);
            Seq2SeqModelFile.RequireFinite(Model.Layout, best, SessionTensorPrefix, path);
        }
        values.CopyTo(Model.Parameters.Values, 0);
        if (hasSession)
        {
            best.CopyTo(sessionBest!, 0);
        }
        switch (Optimizer)
        {
            case Adam adam:
                first.CopyTo(adam.ExpAvg, 0);
                second.CopyTo(adam.ExpAvgSq, 0);
                break;
            case Sgd sgd:
                first.CopyTo(sgd.MomentumBuffer, 0);
                break;
        }
        Step = step;
        Epoch = (int)epoch;
        Optimizer.StepCount = optimizerStep;
        Random.State = rng;
        return hasSession ? reader.Metadata : null;
    }

    private static long ReadLong(IReadOnlyDictionary<string, string> metadata, string key, string path) =>
        metadata.TryGetValue(key, out string? text) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw new ModelFileException($"{path}: checkpoint metadata '{key}' is missing or not a non-negative integer.");
}
