using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SpanAttention.Attention;
using SpanAttention.Cli.Rendering;
using SpanAttention.Data;
using SpanAttention.Inference;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Training;

namespace SpanAttention.Cli.Commands;

/// <summary>
/// <c>spanattn demo</c> (also what <c>spanattn</c> does without arguments): trains a GRU encoder with additive
/// (Bahdanau) attention on the built-in Hindi → English set with a live progress line, reports held-out exact
/// match, translates held-out sentences (the showcase मैं खाना खा रहा हूँ first), draws its attention in the
/// terminal, and writes its files into <c>demo-output/</c> (ignored by git): the heatmap <c>attention.svg</c>, the model
/// <c>demo.safetensors</c>, the per-epoch history <c>training.jsonl</c> and its curves <c>training.svg</c>.
/// <c>demo --task shapes</c> is the captioning demo instead (<see cref="DemoCaptioning"/>).
/// </summary>
internal static class DemoCommand
{
    /// <summary>The folder of the demo's default outputs, created when missing (listed in .gitignore).</summary>
    internal const string OutputFolder = "demo-output";

    /// <summary>The demo's settings: 4800 training pairs, E=64, H=128, Adam 3e-3 decaying x 0.8 per epoch (the TrainingOptions default), batch 64.</summary>
    internal static TrainingOptions DefaultSettings(int epochs, int seed, int threads, string? output) => new()
    {
        Config = new Seq2SeqConfig
        {
            Cell = RecurrentKind.Gru,
            Decoder = DecoderStyle.Bahdanau,
            Scorer = AttentionScorer.Additive,
            EmbeddingSize = 64,
            HiddenSize = 128,
        },
        BatchSize = 64,
        Epochs = epochs,
        LearningRate = 3e-3f,
        ClipNorm = 5f,
        Seed = seed,
        Threads = threads,
        StopAtExactMatch = 0.995,
        BestModelPath = output,
    };

    public static Command Create(CliContext context)
    {
        var epochs = new Option<int>("--epochs") { Description = "Training epochs (at most; stops once held-out exact match reaches 99.5%).", DefaultValueFactory = _ => 8 };
        var seed = new Option<int>("--seed") { Description = "Seed of the data, the initialisation and the batch order.", DefaultValueFactory = _ => 1 };
        Option<int> threads = CommonOptions.Threads();
        var output = new Option<string>("--output", "-o") { Description = "Where to save the trained model.", DefaultValueFactory = _ => Path.Combine(OutputFolder, "demo.safetensors") };
        var svg = new Option<string>("--svg") { Description = "Where to write the showcase sentence's attention heatmap.", DefaultValueFactory = _ => Path.Combine(OutputFolder, "attention.svg") };
        var log = new Option<string>("--log") { Description = "Per-epoch history (.jsonl or .csv), with its curves beside it as .svg.", DefaultValueFactory = _ => Path.Combine(OutputFolder, "training.jsonl") };
        var count = new Option<int>("--count") { Description = "Generated hi-en pairs (80% train, 10% validation, 10% test).", DefaultValueFactory = _ => 6000 };
        Option<string> color = CommonOptions.Color();
        var task = new Option<string>("--task") { Description = "hi-en: the translation demo (default); shapes: the captioning demo (trains shapes with train's defaults, about 2 minutes on a quiet 2-core machine, shows where each word looked and writes demo-output/shapes-attention.svg).", DefaultValueFactory = _ => HindiEnglish.Name };
        task.AcceptOnlyFromAmong(HindiEnglish.Name, CaptionDataset.ShapesName);
        var command = new Command("demo", "Train a GRU + additive-attention model on the built-in Hindi → English data, translate held-out sentences and show where it looked.")
        {
            epochs, seed, threads, output, svg, log, count, color, task,
        };
        command.SetAction((parsed, cancellationToken) => parsed.GetValue(task) == CaptionDataset.ShapesName && Given(parsed, log)
            ? throw new UsageException("--log applies to the translation demo; 'train --task shapes --log FILE' logs a captioning run.")
            : parsed.GetValue(task) == CaptionDataset.ShapesName
            ? Task.FromResult(DemoCaptioning.Execute(
                context with { Color = CommonOptions.ResolveColor(context, parsed.GetValue(color)) },
                Given(parsed, epochs) ? parsed.GetValue(epochs) : 10, parsed.GetValue(seed), parsed.GetValue(threads),
                Given(parsed, output) ? parsed.GetValue(output)! : DemoCaptioning.DefaultOutput, Given(parsed, svg) ? parsed.GetValue(svg)! : DemoCaptioning.DefaultSvg,
                Given(parsed, count) ? parsed.GetValue(count) : 0, cancellationToken))
            : Task.FromResult(Execute(
            context with { Color = CommonOptions.ResolveColor(context, parsed.GetValue(color)) },
            parsed.GetValue(epochs), parsed.GetValue(seed), parsed.GetValue(threads), parsed.GetValue(output)!, parsed.GetValue(svg)!,
            parsed.GetValue(count), cancellationToken, parsed.GetValue(log))));
        return command;
    }

    /// <summary>Whether the option was given on the command line (not its default).</summary>
    private static bool Given(ParseResult parsed, Option option) => parsed.GetResult(option) is { Implicit: false };

    internal static int Execute(CliContext context, int epochs, int seed, int threads, string output, string svg, int count, CancellationToken cancellationToken, string? logPath = null)
    {
        var culture = CultureInfo.InvariantCulture;
        TrainCommand.CheckRange(epochs, 1, 1000, "--epochs");
        threads = CommonOptions.ResolveThreads(context, threads, Environment.ProcessorCount);
        TrainCommand.CheckRange(count, 100, 1_000_000, "--count");
        TrainingLog? log = logPath is null ? null : TrainingLog.For(logPath, "Hindi → English, GRU encoder + additive attention");
        foreach (string? path in (ReadOnlySpan<string?>)[output, svg, log?.Path, log?.PlotPath])
        {
            if (path is not null && Path.GetDirectoryName(path) == OutputFolder)
            {
                Directory.CreateDirectory(OutputFolder);
            }
        }
        FileChecks.CheckOutputs([], [(output, "model file"), (svg, "heatmap file"), (log?.Path, "training log"), (log?.PlotPath, "training plot")]);
        var clock = Stopwatch.StartNew();
        TextWriter o = context.Out;

        var task = new TaskSpec(HindiEnglish.Name, null, "word", seed, count, 0, 0);
        Dataset data = task.Build();
        o.WriteLine("spanattn demo: Hindi → English with a GRU encoder and additive (Bahdanau) attention");
        o.WriteLine();
        TrainingResult result = TrainingRun.Run(context, data, task, DefaultSettings(epochs, seed, threads, output), cancellationToken, log);
        o.WriteLine(string.Create(culture, $"trained {result.EpochsRun} epochs in {ProgressReporter.Duration(result.Elapsed)}; best held-out exact match {result.BestExactMatch:P1} (epoch {result.BestEpoch}); saved {output}"));

        // Held-out test split: exact match over every sentence.
        Seq2SeqModel model = result.Model;
        (List<int[]> sources, List<int[]> targets) = HeldOutEvaluation.Encode(data.Test, result.Source, result.Target);
        int maxLength = 0;
        foreach (int[] t in targets)
        {
            maxLength = Math.Max(maxLength, t.Length);
        }
        maxLength += 10;
        model.EnsureCapacity(model.MaxBatch, sources.Max(s => s.Length), maxLength);
        Hypothesis[] hypotheses = Decoding.Greedy(model, sources, maxLength);
        int correct = 0;
        for (int i = 0; i < hypotheses.Length; i++)
        {
            correct += hypotheses[i].Tokens.AsSpan().SequenceEqual(targets[i]) ? 1 : 0;
        }
        o.WriteLine(string.Create(culture, $"test exact match: {correct}/{hypotheses.Length} = {(double)correct / hypotheses.Length:P1} (sentences never seen in training)"));
        o.WriteLine();

        // A few held-out translations, the showcase first.
        int showcase = -1;
        for (int i = 0; i < data.Test.Count; i++)
        {
            if (data.Test[i].Source == HindiEnglish.ShowcaseSentence)
            {
                showcase = i;
                break;
            }
        }
        var shown = new List<int>();
        if (showcase >= 0)
        {
            shown.Add(showcase);
        }
        for (int i = 0; i < data.Test.Count && shown.Count < 6; i++)
        {
            if (i != showcase)
            {
                shown.Add(i);
            }
        }
        int width = shown.Max(i => DisplayWidth.Of(data.Test[i].Source));
        foreach (int i in shown)
        {
            string translation = result.Target.DecodeText(hypotheses[i].Tokens);
            bool ok = translation == data.Test[i].Target;
            o.WriteLine($"  {DisplayWidth.PadRight(data.Test[i].Source, width)}  →  {translation}{(ok ? "" : $"   (expected: {data.Test[i].Target})")}");
        }
        o.WriteLine();

        // Where it looked, for the showcase sentence.
        int heat = showcase >= 0 ? showcase : shown[0];
        string[] sourceTokens = [.. Tokenizer.Tokenize(data.Test[heat].Source, result.Source.Tokenization), Vocabulary.Eos];
        Hypothesis h = hypotheses[heat];
        string[] targetTokens = [.. h.Tokens.Select(id => result.Target[id])];
        if (targetTokens.Length > 0 && h.Alignment.Length == targetTokens.Length * sourceTokens.Length)
        {
            o.WriteLine($"attention: {data.Test[heat].Source} → {result.Target.DecodeText(h.Tokens)}");
            AttentionView.Show(context, sourceTokens, targetTokens, h.Alignment, svg, $"{data.Test[heat].Source} → {result.Target.DecodeText(h.Tokens)}");
        }
        if (log is not null)
        {
            o.WriteLine($"training curves: {log.Path} and {log.PlotPath}");
        }
        o.WriteLine(string.Create(culture, $"demo finished in {ProgressReporter.Duration(clock.Elapsed)}. Next: spanattn translate {output} \"{HindiEnglish.ShowcaseSentence}\""));
        return ExitCodes.Success;
    }
}
