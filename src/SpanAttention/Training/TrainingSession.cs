using System.Globalization;
using System.Text.Json;
using System.Diagnostics;
using SpanAttention.Data;
using SpanAttention.IO;
using SpanAttention.Kernels;
using SpanAttention.Seq2Seq;
using SpanAttention.Transformer;

namespace SpanAttention.Training;

/// <summary>
/// Training with validation, best-model keeping and early stopping: vocabularies from the training split,
/// length-bucketed batches, <see cref="Seq2SeqTrainer"/> epochs, and after every epoch the held-out greedy exact
/// match, token accuracy and teacher-forced loss; the best parameters are kept (and saved), training stops early on
/// a target score or after <see cref="TrainingOptions.Patience"/> epochs without improvement, a checkpoint is written
/// every epoch and can be resumed.
/// </summary>
/// <remarks>
/// <para>"Better" is a higher held-out exact match, or the same exact match with a higher token accuracy (long
/// sequences sit at 0 % exact match for a while).</para>
/// <para>The session writes nothing to the console: progress goes to the <see cref="IProgress{T}"/> given to
/// <see cref="Run"/>, once per step and once more, with <see cref="TrainingProgress.Completed"/> set, per epoch.
/// Reports are made synchronously on the training thread, so a slow handler slows training.</para>
/// <para>Example:
/// <code>
/// var session = new TrainingSession(Reverse.Create(new ReverseOptions()), new TrainingOptions { Config = new Seq2SeqConfig(), Epochs = 5 });
/// TrainingResult result = session.Run();
/// </code></para>
/// </remarks>
public sealed partial class TrainingSession
{
    private readonly TrainingOptions _options;
    private readonly Seq2SeqTrainer _trainer;
    private readonly List<Seq2SeqBatch> _batches;
    private readonly List<Seq2SeqBatch> _heldOutBatches;
    private readonly List<int[]> _heldOutSources;
    private readonly List<float[]>? _heldOutImages;   // (C, H, W) each, for a captioning session
    private readonly List<int[]> _heldOutTargets;
    private readonly int _decodeLength;
    private readonly string _sourceJson;
    private readonly string _targetJson;
    private readonly float[] _bestValues;
    private readonly List<EpochReport> _history = [];
    private double _best = -1;
    private double _bestTokens = -1;
    private int _sinceBest;
    private double _firstStepLoss = double.NaN;   // the run's first training step, the divergence reference
    private string? _divergence;
    private bool _ran;

    /// <summary>Builds the vocabularies, the batches, the model and its trainer, and restores the checkpoint to resume from.</summary>
    /// <param name="data">The dataset: training pairs to learn, validation pairs to score.</param>
    /// <param name="options">Settings.</param>
    /// <exception cref="ArgumentException">The dataset has no training or no validation pairs, or the options or
    /// the architecture are invalid; the message names what.</exception>
    /// <exception cref="ModelFileException">The checkpoint to resume from is malformed or belongs to another
    /// architecture, optimizer or vocabulary.</exception>
    public TrainingSession(Dataset data, TrainingOptions options)
        : this(data, null, options)
    {
    }

    /// <summary>
    /// A captioning session: images to captions, with an <see cref="EncoderKind.Image"/> model whose image size is the
    /// dataset's (<see cref="TrainingOptions.Config"/> gives the conv blocks, grid and normalisation); the target
    /// vocabulary comes from the training captions, there is no source vocabulary, and the held-out score is the greedy
    /// exact caption match on the validation images.
    /// </summary>
    /// <remarks>With an <see cref="EncoderKind.Features"/> model the dataset's "images" are precomputed feature grids:
    /// each holds <c>Height·Width</c> positions of <c>Channels</c> features, channels last ((Height·Width, Channels)
    /// row-major), and <c>Channels</c> must equal the model's <see cref="Seq2SeqConfig.FeatureSize"/>.</remarks>
    /// <param name="data">The images and captions.</param>
    /// <param name="options">Settings.</param>
    /// <exception cref="ArgumentException">No training or validation images, an encoder other than Image or Features, or invalid options.</exception>
    /// <exception cref="ModelFileException">The checkpoint to resume from does not fit.</exception>
    public TrainingSession(CaptionDataset data, TrainingOptions options)
        : this((data ?? throw new ArgumentNullException(nameof(data))).Captions, data, options)
    {
    }

    private TrainingSession(Dataset data, CaptionDataset? images, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        if (data.Train.Count == 0)
        {
            throw new ArgumentException($"dataset {data.Name} has no training pairs.", nameof(data));
        }
        if (data.Validation.Count == 0)
        {
            throw new ArgumentException($"dataset {data.Name} has no validation pairs.", nameof(data));
        }
        if (options.Threads is not (0 or 1 or 2))
        {
            throw new ArgumentException($"Threads must be 0, 1 or 2, got {options.Threads}.", nameof(options));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1, nameof(options.BatchSize));
        ArgumentOutOfRangeException.ThrowIfNegative(options.Patience, nameof(options.Patience));
        ArgumentOutOfRangeException.ThrowIfNegative(options.ValidationLimit, nameof(options.ValidationLimit));
        _options = options;
        Data = data;
        if (images is not null && options.Config.Encoder is not (EncoderKind.Image or EncoderKind.Features))
        {
            throw new ArgumentException($"A captioning session needs an Image or Features encoder, got {options.Config.Encoder}.", nameof(options));
        }
        Source = images is null ? data.BuildSourceVocabulary() : Vocabulary.FromTokens([], data.SourceTokenization);   // images: no source tokens
        Target = data.BuildTargetVocabulary();
        Seq2SeqConfig config = options.Config with
        {
            SourceVocabSize = images is null ? Source.Count : 0,
            TargetVocabSize = Target.Count,
            PaddingId = Vocabulary.PadId,
            BosId = Vocabulary.SosId,
            EosId = Vocabulary.EosId,
        };
        config.Validate();

        (List<int[]> trainSources, List<int[]> trainTargets) = HeldOutEvaluation.Encode(data.Train, Source, Target);
        HeldOut = options.ValidationLimit > 0 && data.Validation.Count > options.ValidationLimit
            ? data.Validation.Take(options.ValidationLimit).ToList()
            : data.Validation;
        (_heldOutSources, _heldOutTargets) = HeldOutEvaluation.Encode(HeldOut, Source, Target);
        bool grids = config.Encoder == EncoderKind.Features;
        int maxSource = images is null ? Longest(trainSources, _heldOutSources) : grids ? images.Height * images.Width : config.GridPositions;
        int maxTarget = Longest(trainTargets, _heldOutTargets) + 1;
        _decodeLength = maxTarget + 10;

        if (images is null)
        {
            _batches = Seq2SeqBatch.Bucketed(trainSources, trainTargets, options.BatchSize, Vocabulary.PadId, Vocabulary.SosId, Vocabulary.EosId);
            _heldOutBatches = Seq2SeqBatch.Bucketed(_heldOutSources, _heldOutTargets, options.BatchSize, Vocabulary.PadId, Vocabulary.SosId, Vocabulary.EosId);
        }
        else
        {
            if (grids && config.FeatureSize != images.Channels)
            {
                throw new ArgumentException($"The model reads grids of {config.FeatureSize} features per position; dataset {images.Name} has {images.Channels}.", nameof(options));
            }
            if (!grids && (config.ImageChannels != images.Channels || config.ImageHeight != images.Height || config.ImageWidth != images.Width))
            {
                throw new ArgumentException($"The model reads {config.ImageChannels} x {config.ImageHeight} x {config.ImageWidth} images; dataset {images.Name} has {images.Channels} x {images.Height} x {images.Width}.", nameof(options));
            }
            _heldOutImages = [.. images.Validation.Take(HeldOut.Count).Select(x => x.Pixels)];
            _batches = ImageBatches([.. images.Train.Select(x => x.Pixels)], trainTargets, config, options.BatchSize);
            _heldOutBatches = ImageBatches(_heldOutImages, _heldOutTargets, config, options.BatchSize);
        }
        Config = config;
        bool transformer = config.Decoder == DecoderStyle.Transformer;
        if (transformer && images is not null)
        {
            throw new ArgumentException("A captioning session needs an Image or Features encoder and a recurrent decoder, got a Transformer decoder.", nameof(options));
        }
        if (transformer && options.TeacherForcingRatio != 1f)
        {
            throw new ArgumentException($"A Transformer decoder trains all target positions at once with teacher forcing: TeacherForcingRatio must be 1, got {options.TeacherForcingRatio.ToString(CultureInfo.InvariantCulture)}.", nameof(options));
        }
        if (transformer)
        {
            _transformer = new TransformerSeq2Seq(config, options.BatchSize, maxSource, Math.Max(maxTarget, _decodeLength), options.Seed);
        }
        else
        {
            _model = new Seq2SeqModel(config, options.BatchSize, maxSource, Math.Max(maxTarget, _decodeLength), options.Seed);
        }
        ILearningRateSchedule schedule = options.LearningRateDecay == 1f
            ? new ConstantSchedule(options.LearningRate)
            : new ExponentialDecaySchedule(options.LearningRate, options.LearningRateDecay);
        var trainerOptions = new Seq2SeqTrainerOptions
        {
            Optimizer = options.Optimizer,
            Momentum = options.Momentum,
            LearningRate = options.LearningRate,
            Schedule = schedule,
            ClipNorm = options.ClipNorm,
            TeacherForcingRatio = options.TeacherForcingRatio,
            Seed = (ulong)options.Seed,
            Threads = options.Threads == 2 && !transformer ? 2 : 1,
        };
        _trainer = _transformer is null ? new Seq2SeqTrainer(_model!, trainerOptions) : new Seq2SeqTrainer(_transformer, trainerOptions);
        _sourceJson = Source.ToJson();
        _targetJson = Target.ToJson();
        _bestValues = new float[_trainer.Parameters.Values.Length];
        if (options.ResumeFrom is string resume)
        {
            Resume(resume);
        }
        else
        {
            _trainer.Parameters.Values.CopyTo(_bestValues, 0);
        }
    }

    /// <summary>The dataset.</summary>
    public Dataset Data { get; }

    /// <summary>The model being trained (after <see cref="Run"/>: with the best epoch's parameters).</summary>
    /// <exception cref="InvalidOperationException">The session trains a Transformer encoder-decoder (<see cref="DecoderStyle.Transformer"/>),
    /// which is not a <see cref="Seq2SeqModel"/>: see <see cref="Config"/>, <see cref="ParameterCount"/> and <see cref="TrainingResult.Score"/>.</exception>
    public Seq2SeqModel Model => _model ?? throw new InvalidOperationException("This session trains a Transformer encoder-decoder, which is not a Seq2SeqModel.");

    private readonly Seq2SeqModel? _model;               // a recurrent decoder's model, or
    private readonly TransformerSeq2Seq? _transformer;   // the full Transformer encoder-decoder

    /// <summary>The architecture being trained, with the vocabulary sizes and special ids of the data.</summary>
    public Seq2SeqConfig Config { get; }

    /// <summary>The number of trained parameters.</summary>
    public int ParameterCount => _trainer.Layout.Count;

    /// <summary>The source vocabulary, built from the training split.</summary>
    public Vocabulary Source { get; }

    /// <summary>The target vocabulary, built from the training split.</summary>
    public Vocabulary Target { get; }

    /// <summary>The held-out pairs scored after each epoch (the validation split, or its first <see cref="TrainingOptions.ValidationLimit"/>).</summary>
    public IReadOnlyList<SentencePair> HeldOut { get; }

    /// <summary>Batches per epoch.</summary>
    public int StepsPerEpoch => _batches.Count;

    /// <summary>Epochs already trained before <see cref="Run"/>: those of the resumed checkpoint, else 0.</summary>
    public int EpochsDone { get; private set; }

    /// <summary>The best epoch so far (1-based), or 0 before any; readable while or after <see cref="Run"/> ends, e.g. on cancellation.</summary>
    public int BestEpoch { get; private set; }

    /// <summary>Every epoch so far, resumed ones included.</summary>
    public IReadOnlyList<EpochReport> History => _history;

    /// <summary>
    /// Trains from the current epoch up to <see cref="TrainingOptions.Epochs"/> or an early stop, then restores the
    /// best epoch's parameters into <see cref="Model"/>. Can be called once.
    /// </summary>
    /// <param name="progress">Receives a report after every step and at the end of every epoch; may be null.</param>
    /// <param name="cancellationToken">Checked after every step.</param>
    /// <returns>The result: the best epoch, its scores, the history.</returns>
    /// <exception cref="OperationCanceledException">Cancelled; the best model so far is in <see cref="TrainingOptions.BestModelPath"/>
    /// if one was saved (<see cref="BestEpoch"/> &gt; 0).</exception>
    /// <exception cref="NonFiniteGradientException">The loss or a gradient became NaN or infinite.</exception>
    public TrainingResult Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (_ran)
        {
            throw new InvalidOperationException("TrainingSession.Run can be called once.");
        }
        _ran = true;
        int previousThreads = KernelThreads.Count;
        if (_options.Threads != 0)
        {
            // The trainer's threads replace the kernels' own: each kernel runs on the thread that calls it. The
            // Transformer trains on one trainer thread, so its threads go to the kernels (its GEMMs are coarse enough).
            KernelThreads.Count = _transformer is null ? 1 : Math.Min(_options.Threads, KernelThreads.MaxCount);
        }
        try
        {
            return RunCore(progress, cancellationToken);
        }
        finally
        {
            KernelThreads.Count = previousThreads;
        }
    }

    private TrainingResult RunCore(IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        int steps = _batches.Count;
        int epochs = _options.Epochs;
        int epochsRun = 0;
        double? heldOutAccuracy = null;
        long tokensDone = 0;
        TimeSpan trainingTime = TimeSpan.Zero;
        TimeSpan elapsedBefore = _history.Count > 0 ? _history[^1].Elapsed : TimeSpan.Zero;
        TrainingStop stop = TrainingStop.EpochsDone;

        while (_trainer.Epoch < epochs)
        {
            int epoch = _trainer.Epoch + 1;
            int step = 0;
            double lossSum = 0;
            long epochTokens = 0;
            TimeSpan epochStart = clock.Elapsed;
            TrainingEpoch summary = _trainer.TrainEpoch(_batches, s =>
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (double.IsNaN(_firstStepLoss))
                {
                    _firstStepLoss = s.Loss;
                }
                step++;
                lossSum += (double)s.Loss * s.Tokens;
                epochTokens += s.Tokens;
                if (progress is not null)
                {
                    TimeSpan elapsed = clock.Elapsed;
                    double seconds = (trainingTime + (elapsed - epochStart)).TotalSeconds;
                    progress.Report(new TrainingProgress(epoch, epochs, step, steps, lossSum / Math.Max(1, epochTokens), heldOutAccuracy,
                        seconds > 0 ? (tokensDone + epochTokens) / seconds : 0, elapsed));
                }
            });
            TimeSpan epochTime = clock.Elapsed - epochStart;
            trainingTime += epochTime;
            tokensDone += epochTokens;
            epochsRun++;

            (double accuracy, double tokenAccuracy) = _transformer is not null
                ? HeldOutEvaluation.Score(_transformer, _heldOutSources, _heldOutTargets, _decodeLength)
                : _heldOutImages is null
                ? HeldOutEvaluation.Score(Model, _heldOutSources, _heldOutTargets, _decodeLength)
                : HeldOutEvaluation.Score(Model, _heldOutImages, _heldOutTargets, _decodeLength);
            double heldOutLoss = _transformer is not null
                ? HeldOutEvaluation.TeacherForcedLoss(_transformer, _heldOutBatches)
                : HeldOutEvaluation.TeacherForcedLoss(Model, _heldOutBatches);
            heldOutAccuracy = accuracy;
            bool better = accuracy > _best || (accuracy == _best && tokenAccuracy > _bestTokens);
            var report = new EpochReport(epoch, _trainer.Step, summary.MeanLoss, heldOutLoss, accuracy, tokenAccuracy,
                epochTime.TotalSeconds > 0 ? epochTokens / epochTime.TotalSeconds : 0, AsWritten(summary.LearningRate), elapsedBefore + clock.Elapsed, better);
            _history.Add(report);
            string? divergence = CheckDivergence();
            _divergence ??= divergence;
            progress?.Report(new TrainingProgress(epoch, epochs, steps, steps, summary.MeanLoss, accuracy,
                trainingTime.TotalSeconds > 0 ? tokensDone / trainingTime.TotalSeconds : 0, clock.Elapsed, report, divergence));

            if (better)
            {
                _best = accuracy;
                _bestTokens = tokenAccuracy;
                BestEpoch = epoch;
                _sinceBest = 0;
                _trainer.Parameters.Values.CopyTo(_bestValues, 0);
                SaveBest();
            }
            else
            {
                _sinceBest++;
            }
            if (_options.CheckpointPath is string checkpoint)
            {
                _trainer.SaveCheckpoint(checkpoint, _sourceJson, _targetJson, SessionState(),
                    SafeTensor.FromLayout(_trainer.Layout, _bestValues, Seq2SeqTrainer.SessionTensorPrefix));
            }
            if (accuracy >= _options.StopAtExactMatch)
            {
                stop = TrainingStop.TargetReached;
                break;
            }
            if (_options.Patience > 0 && _sinceBest >= _options.Patience)
            {
                stop = TrainingStop.NoImprovement;
                break;
            }
        }
        _bestValues.CopyTo(_trainer.Parameters.Values, 0);
        return new TrainingResult(_model!, Source, Target, Math.Max(0, _best), Math.Max(0, _bestTokens), BestEpoch, epochsRun, clock.Elapsed,
            stop, [.. _history], _divergence) { Transformer = _transformer };
    }

    /// <summary>
    /// Whether the last epoch's training loss looks divergent: above <see cref="TrainingOptions.DivergenceFactor"/> times
    /// the run's first step loss (an explosion; the first step's loss is about the uniform guess, ln V), or higher than
    /// the epoch before for <see cref="TrainingOptions.DivergenceRisingEpochs"/> epochs in a row. Null when neither.
    /// </summary>
    /// <summary>
    /// The report's rate as the decimal the float stands for (3e-3 is reported as 0.003, not as the float's exact
    /// binary value 0.003000000026077032): the float's shortest round-trip text, read as a double.
    /// </summary>
    private static double AsWritten(float rate) =>
        double.Parse(rate.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private string? CheckDivergence()
    {
        var c = CultureInfo.InvariantCulture;
        EpochReport last = _history[^1];
        if (_options.DivergenceFactor > 0 && !double.IsNaN(_firstStepLoss) && last.TrainLoss > _options.DivergenceFactor * _firstStepLoss)
        {
            return string.Create(c, $"epoch {last.Epoch}: the training loss {last.TrainLoss:G4} is more than {_options.DivergenceFactor:G4} x the first step's {_firstStepLoss:G4} (the learning rate may be too high)");
        }
        int n = _options.DivergenceRisingEpochs;
        if (n > 0 && _history.Count > n)
        {
            for (int i = _history.Count - n; i < _history.Count; i++)
            {
                if (!(_history[i].TrainLoss > _history[i - 1].TrainLoss))
                {
                    return null;
                }
            }
            return string.Create(c, $"epoch {last.Epoch}: the training loss rose for {n} epochs in a row, from {_history[^(n + 1)].TrainLoss:G4} to {last.TrainLoss:G4} (the learning rate may be too high)");
        }
        return null;
    }

    /// <summary>Saves <see cref="_bestValues"/> to the best model file, if there is one.</summary>
    private void SaveBest()
    {
        if (_options.BestModelPath is not string path)
        {
            return;
        }
        Dictionary<string, string> metadata = _trainer.BuildMetadata(_sourceJson, _targetJson);
        if (_options.ModelMetadata is not null)
        {
            foreach ((string key, string value) in _options.ModelMetadata)
            {
                metadata[key] = value;
            }
        }
        ModelFile.Save(path, _trainer.Layout, _bestValues, metadata);
    }

    /// <summary>Restores a checkpoint after checking that it belongs to this configuration and these vocabularies.</summary>
    private void Resume(string path)
    {
        using (SafeTensorsReader reader = SafeTensorsReader.Open(path))
        {
            reader.Metadata.TryGetValue(Seq2SeqModelFile.SourceVocabKey, out string? source);
            reader.Metadata.TryGetValue(Seq2SeqModelFile.TargetVocabKey, out string? target);
            if (source != _sourceJson || target != _targetJson)
            {
                throw new ModelFileException($"{path}: the checkpoint was trained with other vocabularies than this data gives (resume it with the same data and seed).");
            }
        }
        IReadOnlyDictionary<string, string>? state = _trainer.LoadCheckpoint(path, _bestValues);
        EpochsDone = _trainer.Epoch;
        if (state is null)
        {
            // A checkpoint written without the session's state: its own parameters stand in for the best so far,
            // and the best score starts over (the first resumed epoch becomes the best).
            _trainer.Parameters.Values.CopyTo(_bestValues, 0);
            return;
        }
        RestoreSessionState(state, path);
    }

    /// <summary>Images (or feature grids, for a Features encoder) with their encoded captions in batches of similar caption length (sorted by length, then cut), as <see cref="Seq2SeqBatch.Bucketed"/> does for sentences.</summary>
    private static List<Seq2SeqBatch> ImageBatches(List<float[]> images, List<int[]> targets, Seq2SeqConfig config, int batchSize)
    {
        int[] order = [.. Enumerable.Range(0, images.Count).OrderBy(i => targets[i].Length).ThenBy(i => i)];
        var batches = new List<Seq2SeqBatch>();
        for (int start = 0; start < order.Length; start += batchSize)
        {
            int[] rows = order[start..Math.Min(start + batchSize, order.Length)];
            float[][] inputs = [.. rows.Select(i => images[i])];
            int[][] captions = [.. rows.Select(i => targets[i])];
            batches.Add(config.Encoder == EncoderKind.Features
                ? Seq2SeqBatch.FromFeatureGrids(inputs, config.FeatureSize, captions, Vocabulary.PadId, Vocabulary.SosId, Vocabulary.EosId)
                : Seq2SeqBatch.FromImages(inputs, (config.ImageChannels, config.ImageHeight, config.ImageWidth), config.GridPositions,
                    captions, Vocabulary.PadId, Vocabulary.SosId, Vocabulary.EosId));
        }
        return batches;
    }

    private static int Longest(List<int[]> a, List<int[]> b)
    {
        int n = 1;
        foreach (int[] x in a)
        {
            n = Math.Max(n, x.Length);
        }
        foreach (int[] x in b)
        {
            n = Math.Max(n, x.Length);
        }
        return n;
    }
}
