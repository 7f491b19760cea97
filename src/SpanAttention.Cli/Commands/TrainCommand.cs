using System.CommandLine;
using System.Globalization;
using SpanAttention.Attention;
using SpanAttention.Cli.Rendering;
using SpanAttention.Data;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Training;
using SpanAttention.Transformer;

namespace SpanAttention.Cli.Commands;

/// <summary>
/// <c>spanattn train</c>: trains a model on a built-in task or a TSV file, validates after every epoch (greedy
/// exact match on the validation split), keeps the best model in <c>--output</c> (saved atomically), stops early
/// after <c>--patience</c> epochs without improvement, writes a checkpoint every epoch and can <c>--resume</c> one.
/// </summary>
internal static class TrainCommand
{
    public static Command Create(CliContext context)
    {
        var task = new Option<string?>("--task") { Description = "Built-in dataset: hi-en, hi-en-long (compound sentences of every length), hi-en-longer (train up to 25 tokens, test 26-40), dates or reverse (default hi-en unless --data is given); or a captioning task: shapes (scenes of 1-3 objects) or digits (handwritten digit strings)." };
        task.AcceptOnlyFromAmong([.. BuiltInDatasets.Names, .. CaptionDataset.BuiltInNames]);
        var convChannels = new Option<string?>("--conv-channels") { Description = "Captioning: output channels of each conv block, e.g. 16,32,64 (each block: conv 3x3, ReLU, 2x2 max pooling; default 16,32,64)." };
        var grid = new Option<string?>("--grid") { Description = "Captioning: the pooled feature grid the decoder attends over, ROWSxCOLUMNS (default 6x6 for shapes, 1x14 for digits)." };
        var images = new Option<string?>("--images") { Description = "Captioning on your own images: a TSV of image_path<TAB>caption lines over PNG/JPEG files (paths relative to the TSV's folder), resized to --image-size and split 80/10/10 by the seed." };
        var features = new Option<string?>("--features") { Description = "Captioning on precomputed image features: a safetensors file with an F32 tensor 'features' (N, h', w', D) and a JSON array of N captions in its metadata 'captions' (tools/pytorch/image_features.py writes one from a pretrained ResNet), split 80/10/10 by the seed; the decoder attends over the h' x w' cells." };
        var imageSize = new Option<string?>("--image-size") { Description = "--images: the size every image is resized to, CHANNELSxROWSxCOLUMNS (default 3x48x48; channels 1 (grey) or 3 (RGB))." };
        var data = new Option<string?>("--data") { Description = "A TSV file of source<TAB>target lines (split 80/10/10 by source)." };
        var tokens = new Option<string>("--tokens") { Description = "Tokenisation of --data: word or char.", DefaultValueFactory = _ => "word" };
        tokens.AcceptOnlyFromAmong("word", "char");
        var count = new Option<int>("--count") { Description = "Pairs to generate for a built-in task (0: its default)." };
        var minLength = new Option<int>("--min-length") { Description = "reverse: shortest sequence (default 5)." };
        var maxLength = new Option<int>("--max-length") { Description = "reverse: longest sequence (default 20)." };
        var cell = new Option<string>("--cell") { Description = "Recurrent cell: gru, lstm or rnn (of the encoder and the decoder; of the decoder only with --encoder transformer).", DefaultValueFactory = _ => "gru" };
        cell.AcceptOnlyFromAmong("gru", "lstm", "rnn");
        var layers = new Option<int>("--layers") { Description = "Encoder layers (recurrent layers, or Transformer encoder layers; with --decoder transformer, the layers of each stack).", DefaultValueFactory = _ => 1 };
        var encoder = new Option<string>("--encoder") { Description = "Encoder: recurrent (--cell, --layers, --bidirectional) or transformer (--layers self-attention layers of width E with --heads, --ff-size, --activation; the decoder stays one --cell).", DefaultValueFactory = _ => "recurrent" };
        encoder.AcceptOnlyFromAmong("recurrent", "transformer");
        var heads = new Option<int?>("--heads") { Description = "Transformer encoder (and decoder): attention heads, dividing --embedding-size (default 4)." };
        var ffSize = new Option<int?>("--ff-size") { Description = "Transformer encoder (and decoder): feed-forward size (default 4 x --embedding-size)." };
        var activation = new Option<string?>("--activation") { Description = "Transformer encoder (and decoder): feed-forward activation, relu or gelu (default relu)." };
        activation.AcceptOnlyFromAmong("relu", "gelu");
        var bidirectional = new Option<bool>("--bidirectional") { Description = "Bidirectional encoder." };
        var scorer = new Option<string>("--scorer") { Description = "Attention score: dot, scaled-dot, general or additive; each works with every encoder and decoder. When the keys are not as wide as the query (H): --bidirectional gives 2H, --encoder transformer gives E, dot and scaled-dot first map each key to H with a learned projection (decoder.attention.key_proj.weight, as in general).", DefaultValueFactory = _ => "additive" };
        scorer.AcceptOnlyFromAmong("dot", "scaled-dot", "general", "additive");
        var decoder = new Option<string>("--decoder") { Description = "Decoder: bahdanau, luong, none (no attention), or transformer: the full Transformer encoder-decoder (--layers encoder and decoder layers of width d_model = --embedding-size, --heads, --ff-size, --activation; no --hidden-size, --cell, --scorer, --dropout or --teacher-forcing).", DefaultValueFactory = _ => "bahdanau" };
        decoder.AcceptOnlyFromAmong("bahdanau", "luong", "none", "transformer");
        var gate = new Option<bool>("--context-gate") { Description = "Bahdanau decoder: scale the context by a learned gate beta = sigmoid(f_beta(h)) before the cell and the output layer read it (Show, Attend and Tell)." };
        var attentionReg = CommonOptions.Number("--attention-reg", "lambda of the doubly stochastic attention penalty (Show, Attend and Tell): adds lambda * sum over source positions of (1 - attention received over the output)^2, per target token; bahdanau and luong (default 0: off).", 0f);
        var embedding = new Option<int>("--embedding-size") { Description = "Embedding size E.", DefaultValueFactory = _ => 64 };
        var hidden = new Option<int>("--hidden-size") { Description = "Hidden size H.", DefaultValueFactory = _ => 128 };
        var batch = new Option<int>("--batch-size") { Description = "Mini-batch size.", DefaultValueFactory = _ => 64 };
        var epochs = new Option<int>("--epochs") { Description = "Maximum epochs.", DefaultValueFactory = _ => 10 };
        var optimizer = new Option<string>("--optimizer") { Description = "Optimizer: adam, or sgd (with --momentum).", DefaultValueFactory = _ => "adam" };
        optimizer.AcceptOnlyFromAmong("adam", "sgd");
        var momentum = CommonOptions.Number("--momentum", "SGD momentum in [0, 1) (sgd only).", 0.9f);
        var lr = CommonOptions.Number("--lr", "Learning rate (Adam or SGD).", 3e-3f);
        var decay = CommonOptions.Number("--lr-decay", "Learning-rate factor per epoch (1: constant); the default 0.8 takes 3e-3 to 5e-4 by epoch 9, so the held-out score stops swinging once it is high (docs/training-defaults.md).", 0.8f);
        var clip = CommonOptions.Number("--clip", "Gradient clipping by global norm (0: off).", 5f);
        var dropout = CommonOptions.Number("--dropout", "Dropout probability in [0, 1) on the embeddings and the decoder output (training only).", 0f);
        var teacher = CommonOptions.Number("--teacher-forcing", "Teacher-forcing ratio in [0, 1].", 1f);
        var seed = new Option<int>("--seed") { Description = "Seed of the data split, the initialisation and the batch order.", DefaultValueFactory = _ => 1 };
        Option<int> threads = CommonOptions.Threads();
        var patience = new Option<int>("--patience") { Description = "Stop after this many epochs without a better held-out exact match (0: never).", DefaultValueFactory = _ => 3 };
        var output = new Option<string>("--output", "-o") { Description = "The best model file.", DefaultValueFactory = _ => "model.safetensors" };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Training checkpoint written every epoch (default: OUTPUT with .ckpt before the extension)." };
        var resume = new Option<string?>("--resume") { Description = "Continue from a checkpoint (same data, seed and architecture)." };
        var log = new Option<string?>("--log") { Description = "Per-epoch history as FILE.jsonl (JSON lines) or FILE.csv, rewritten every epoch, with the curves plotted beside it as FILE.svg." };
        var command = new Command("train", "Train a sequence-to-sequence model on a built-in task or a TSV file.")
        {
            task, data, tokens, count, minLength, maxLength, encoder, cell, layers, bidirectional, heads, ffSize, activation, scorer, decoder, gate, attentionReg, embedding, hidden,
            batch, epochs, optimizer, momentum, lr, decay, clip, dropout, teacher, seed, threads, patience, output, checkpoint, resume, log, convChannels, grid, images, imageSize, features,
        };
        command.SetAction((parsed, cancellationToken) =>
        {
            if (parsed.GetValue(task) is not null && parsed.GetValue(data) is not null)
            {
                throw new UsageException("give either --task or --data, not both.");
            }
            if ((parsed.GetValue(minLength) != 0 || parsed.GetValue(maxLength) != 0) && (parsed.GetValue(task) ?? (parsed.GetValue(data) is null ? "hi-en" : null)) != Reverse.Name)
            {
                throw new UsageException("--min-length and --max-length apply to --task reverse only.");
            }
            if (new[] { parsed.GetValue(task), parsed.GetValue(data), parsed.GetValue(images), parsed.GetValue(features) }.Count(x => x is not null) > 1)
            {
                throw new UsageException("give one of --task, --data, --images or --features.");
            }
            if (parsed.GetValue(features) is not null && (parsed.GetValue(convChannels) is not null || parsed.GetValue(grid) is not null))
            {
                throw new UsageException("--conv-channels and --grid do not apply to --features: the grids are the file's (h' x w' cells of D features).");
            }
            if (parsed.GetValue(imageSize) is not null && parsed.GetValue(images) is null)
            {
                throw new UsageException("--image-size applies to --images only.");
            }
            bool captioning = (parsed.GetValue(task) is string t && CaptionDataset.BuiltInNames.Contains(t)) || parsed.GetValue(images) is not null;
            if (!captioning && (parsed.GetValue(convChannels) is not null || parsed.GetValue(grid) is not null))
            {
                throw new UsageException("--conv-channels and --grid apply to the captioning tasks (--task shapes or digits) only, and to --images.");
            }
            bool fullTransformer = parsed.GetValue(decoder) == "transformer";
            if (fullTransformer && parsed.GetResult(encoder) is { Implicit: false } && parsed.GetValue(encoder) != "transformer")
            {
                throw new UsageException("--decoder transformer reads a Transformer encoder's memory: drop --encoder recurrent (it implies --encoder transformer).");
            }
            bool transformer = fullTransformer || parsed.GetValue(encoder) == "transformer";
            if (!transformer && (parsed.GetValue(heads) is not null || parsed.GetValue(ffSize) is not null || parsed.GetValue(activation) is not null))
            {
                throw new UsageException("--heads, --ff-size and --activation apply to --encoder transformer only. --decoder transformer implies it.");
            }
            if (fullTransformer)
            {
                foreach ((Option option, string why) in (ReadOnlySpan<(Option, string)>)[(cell, "it has no recurrent cell"), (hidden, "its width is --embedding-size"), (scorer, "its attention is scaled dot-product"),
                    (dropout, "it has no dropout"), (teacher, "it trains every target position at once with teacher forcing")])
                {
                    if (parsed.GetResult(option) is { Implicit: false })
                    {
                        throw new UsageException($"{option.Name} does not apply to --decoder transformer: {why}.");
                    }
                }
            }
            var spec = new TaskSpec(parsed.GetValue(data) is null ? parsed.GetValue(task) ?? HindiEnglish.Name : null, parsed.GetValue(data), parsed.GetValue(tokens)!,
                parsed.GetValue(seed), parsed.GetValue(count), parsed.GetValue(minLength), parsed.GetValue(maxLength));
            var config = new Seq2SeqConfig
            {
                Cell = parsed.GetValue(cell) switch { "lstm" => RecurrentKind.Lstm, "rnn" => RecurrentKind.Rnn, _ => RecurrentKind.Gru },
                EncoderLayers = parsed.GetValue(layers),
                Encoder = transformer ? EncoderKind.Transformer : EncoderKind.Recurrent,
                Heads = parsed.GetValue(heads) ?? 4,
                FeedForwardSize = parsed.GetValue(ffSize) ?? 0,
                Activation = parsed.GetValue(activation) == "gelu" ? FeedForwardActivation.Gelu : FeedForwardActivation.Relu,
                Bidirectional = parsed.GetValue(bidirectional),
                Scorer = ParseScorer(parsed.GetValue(scorer)!),
                Decoder = parsed.GetValue(decoder) switch { "luong" => DecoderStyle.Luong, "none" => DecoderStyle.None, "transformer" => DecoderStyle.Transformer, _ => DecoderStyle.Bahdanau },
                EmbeddingSize = parsed.GetValue(embedding),
                HiddenSize = parsed.GetValue(hidden),
                Dropout = parsed.GetValue(dropout),
                ContextGate = parsed.GetValue(gate),
                AttentionRegularization = parsed.GetValue(attentionReg),
            };
            string out_ = parsed.GetValue(output)!;
            var settings = new TrainingOptions
            {
                Config = config,
                BatchSize = parsed.GetValue(batch),
                Epochs = parsed.GetValue(epochs),
                Optimizer = parsed.GetValue(optimizer) == "sgd" ? OptimizerKind.Sgd : OptimizerKind.Adam,
                Momentum = parsed.GetValue(momentum),
                LearningRate = parsed.GetValue(lr),
                LearningRateDecay = parsed.GetValue(decay),
                ClipNorm = parsed.GetValue(clip),
                TeacherForcingRatio = parsed.GetValue(teacher),
                Seed = parsed.GetValue(seed),
                Threads = parsed.GetValue(threads),
                Patience = parsed.GetValue(patience),
                BestModelPath = out_,
                CheckpointPath = parsed.GetValue(checkpoint) ?? CheckpointPath(out_),
                ResumeFrom = parsed.GetValue(resume),
            };
            if (parsed.GetValue(features) is string featuresFile)
            {
                return Task.FromResult(TrainCaptioning.ExecuteOnFeatures(context, featuresFile, settings, parsed.GetValue(log), cancellationToken));
            }
            if (parsed.GetValue(images) is string tsv)
            {
                return Task.FromResult(TrainCaptioning.ExecuteOnImages(context, tsv, parsed.GetValue(imageSize), parsed.GetValue(convChannels), parsed.GetValue(grid),
                    settings, parsed.GetValue(log), cancellationToken));
            }
            if (captioning)
            {
                return Task.FromResult(TrainCaptioning.Execute(context, parsed.GetValue(task)!, parsed.GetValue(count), parsed.GetValue(convChannels), parsed.GetValue(grid),
                    settings, parsed.GetValue(log), cancellationToken));
            }
            return Task.FromResult(Execute(context, spec, settings, cancellationToken, parsed.GetValue(log)));
        });
        return command;
    }

    internal static AttentionScorer ParseScorer(string name) => name switch
    {
        "dot" => AttentionScorer.Dot,
        "scaled-dot" => AttentionScorer.ScaledDot,
        "general" => AttentionScorer.General,
        _ => AttentionScorer.Additive,
    };

    /// <summary><c>model.safetensors</c> → <c>model.ckpt.safetensors</c>.</summary>
    internal static string CheckpointPath(string output)
    {
        string ext = Path.GetExtension(output);
        return ext.Length == 0 ? output + ".ckpt" : output[..^ext.Length] + ".ckpt" + ext;
    }

    internal static void CheckRange(double value, double min, double max, string name)
    {
        if (!(value >= min && value <= max))
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{name} must be between {min} and {max}, got {value}."));
        }
    }

    /// <summary>
    /// The Transformer encoder's own limits, refused before any data is built: no --bidirectional (it reads the whole
    /// sentence at once) and E divisible by the heads.
    /// </summary>
    internal static void CheckTransformerEncoder(Seq2SeqConfig c)
    {
        if (c.Encoder != EncoderKind.Transformer)
        {
            return;
        }
        if (c.Bidirectional)
        {
            throw new UsageException("--bidirectional applies to --encoder recurrent only: a Transformer encoder already reads the whole sentence at once.");
        }
        CheckRange(c.Heads, 1, 256, "--heads");
        if (c.FeedForwardSize != 0)
        {
            CheckRange(c.FeedForwardSize, 1, 16384, "--ff-size");
        }
        if (c.EmbeddingSize % c.Heads != 0)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"--embedding-size {c.EmbeddingSize} is not divisible by --heads {c.Heads}: each head gets an equal share of the E columns."));
        }
    }

    /// <summary>The Show, Attend and Tell options: the gate needs the Bahdanau decoder, the penalty an attention decoder.</summary>
    internal static void CheckAttentionOptions(Seq2SeqConfig c)
    {
        if (c.ContextGate && c.Decoder != DecoderStyle.Bahdanau)
        {
            throw new UsageException("--context-gate applies to --decoder bahdanau only: it gates the context that the cell reads.");
        }
        CheckRange(c.AttentionRegularization, 0, 1e6, "--attention-reg");
        if (c.AttentionRegularization > 0f && c.Decoder is DecoderStyle.None or DecoderStyle.Transformer)
        {
            throw new UsageException(c.Decoder == DecoderStyle.None
                ? "--attention-reg needs an attention decoder (--decoder bahdanau or luong): --decoder none has no attention to regularise."
                : "--attention-reg needs an attention decoder with one attention per step (--decoder bahdanau or luong), not --decoder transformer.");
        }
    }

    internal static void CheckBelowOne(double value, string name)
    {
        if (!(value >= 0 && value < 1))
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{name} must be at least 0 and below 1, got {value}."));
        }
    }

    internal static int Execute(CliContext context, TaskSpec spec, TrainingOptions settings, CancellationToken cancellationToken, string? logPath = null)
    {
        var culture = CultureInfo.InvariantCulture;
        Seq2SeqConfig c = settings.Config;
        CheckRange(c.EncoderLayers, 1, 8, "--layers");
        CheckRange(c.EmbeddingSize, 1, 4096, "--embedding-size");
        CheckRange(c.HiddenSize, 1, 4096, "--hidden-size");
        CheckRange(settings.BatchSize, 1, 4096, "--batch-size");
        CheckRange(settings.Epochs, 1, 100_000, "--epochs");
        CheckRange(settings.LearningRate, 1e-9, 10, "--lr");
        CheckRange(settings.LearningRateDecay, 1e-3, 1, "--lr-decay");
        CheckRange(settings.ClipNorm, 0, 1e9, "--clip");
        CheckRange(settings.TeacherForcingRatio, 0, 1, "--teacher-forcing");
        CheckBelowOne(c.Dropout, "--dropout");
        CheckBelowOne(settings.Momentum, "--momentum");
        settings = settings with { Threads = CommonOptions.ResolveThreads(context, settings.Threads, Environment.ProcessorCount) };
        CheckRange(settings.Patience, 0, 100_000, "--patience");
        CheckTransformerEncoder(c);
        CheckAttentionOptions(c);
        spec.CheckOptions();
        string output = settings.BestModelPath!;
        TrainingLog? log = logPath is null ? null : TrainingLog.For(logPath, $"training on {spec.Describe()}");
        if (Directory.Exists(output))
        {
            throw new CliException($"cannot write model file '{output}': it is a folder.");
        }
        // Resuming from the checkpoint that this run goes on writing is the normal case; any other overlap is refused.
        string? resume = settings.ResumeFrom;
        bool resumesOwnCheckpoint = resume is not null && settings.CheckpointPath is not null
            && FileChecks.RealPath(resume) == FileChecks.RealPath(settings.CheckpointPath);
        FileChecks.CheckOutputs(
            [(spec.Data, "data file"), (resumesOwnCheckpoint ? null : resume, "checkpoint to resume")],
            [(output, "model file"), (settings.CheckpointPath, "checkpoint"), (log?.Path, "training log"), (log?.PlotPath, "training plot")]);

        if (spec.Data is not null)
        {
            // Recorded in the model, so eval can rebuild the held-out pairs and see that the file is unchanged.
            FileChecks.RequireReadableFile(spec.Data, "data file");
            spec = spec with { Data = Path.GetFullPath(spec.Data), DataSha256 = TaskSpec.Sha256(spec.Data) };
        }
        Dataset data = spec.Build();
        if (spec.Data is not null)
        {
            spec = spec with { TestPairs = data.Test.Count };
        }
        context.Error.WriteLine($"training on {spec.Describe()}");
        TrainingResult result = TrainingRun.Run(context, data, spec, settings, cancellationToken, log);
        if (result.BestEpoch == 0)
        {
            throw new CliException("no epoch was trained (the checkpoint had already reached --epochs).");
        }

        // The best model on the test split (or the validation split when there is no test split).
        IReadOnlyList<SentencePair> test = data.Test.Count > 0 ? data.Test : data.Validation;
        (double exact, double tokens) = result.Score(test);
        context.Out.WriteLine(string.Create(culture,
            $"best epoch {result.BestEpoch}: held-out exact match {result.BestExactMatch:P1} (token accuracy {result.BestTokenAccuracy:P1}); {(data.Test.Count > 0 ? "test" : "validation")} exact match {exact:P1}, token accuracy {tokens:P1} ({test.Count} pairs); {result.EpochsRun} epochs in {ProgressReporter.Duration(result.Elapsed)}"));
        context.Out.WriteLine($"saved {output}" + (settings.CheckpointPath is null ? "" : $" (checkpoint {settings.CheckpointPath})"));
        if (log is not null)
        {
            context.Out.WriteLine($"wrote {log.Path} and {log.PlotPath}");
        }
        return ExitCodes.Success;
    }
}
