using System.CommandLine;
using SpanAttention.Cli.Rendering;
using SpanAttention.Data;
using SpanAttention.Evaluation;
using SpanAttention.IO;

namespace SpanAttention.Cli.Commands;

/// <summary>
/// <c>spanattn eval MODEL [MODEL...]</c>: greedy exact match, token accuracy and corpus BLEU-4 on held-out data,
/// overall and by source-length bucket; several models give one comparison table. The data is the test split of
/// <c>--task</c> (by default the task recorded in the first model file) or every line of a <c>--data</c> TSV file.
/// </summary>
internal static class EvalCommand
{
    public static Command Create(CliContext context)
    {
        var models = new Argument<string[]>("models") { Description = "One or more model files.", Arity = ArgumentArity.OneOrMore };
        var task = new Option<string?>("--task") { Description = "Built-in dataset whose test split is scored (default: the task the first model was trained on); shapes or digits for captioning models (both held-out splits, with grounding)." };
        task.AcceptOnlyFromAmong([.. BuiltInDatasets.Names, .. CaptionDataset.BuiltInNames]);
        var images = new Option<string?>("--images") { Description = "Captioning models: a TSV of image_path<TAB>caption lines (PNG or JPEG, paths relative to the TSV's folder); every line is scored." };
        var features = new Option<string?>("--features") { Description = "Captioning models that read precomputed features: a features file (F32 'features' (N, h', w', D) with its 'captions' metadata, as train --features reads); every grid is scored." };
        var data = new Option<string?>("--data") { Description = "A TSV file of source<TAB>target lines: every line is scored, or only its held-out test pairs when the first model was trained on this very file." };
        var allLines = new Option<bool>("--all-lines") { Description = "With --data: score every line, even of the file the model was trained on (its training pairs included)." };
        var seed = new Option<int?>("--seed") { Description = "Seed of the built-in task (default: the model's)." };
        var count = new Option<int?>("--count") { Description = "Pairs generated for the built-in task (default: the model's)." };
        var minLength = new Option<int?>("--min-length") { Description = "reverse: shortest sequence (default: the model's)." };
        var maxLength = new Option<int?>("--max-length") { Description = "reverse: longest sequence (default: the model's)." };
        var limit = new Option<int>("--limit") { Description = "Score at most this many pairs (0: all)." };
        var buckets = new Option<string?>("--buckets") { Description = "Source-length buckets by their upper edges, e.g. 10,20,30,40: lengths up to 10, 11-20, 21-30, 31-40 and over 40. Each label shows the lengths its sentences really have (5-10 when the shortest source has 5 tokens)." };
        var bucketWidth = new Option<int?>("--bucket-width") { Description = "Source-length buckets N lengths wide: 1-N, N+1-2N, ... (default: five equal buckets up to the longest source)." };
        var plot = new Option<string?>("--plot") { Description = "Also write FILE.svg: exact match and BLEU-4 against source length (a point per length bucket), one line per model." };
        var gradientFlow = new Option<string?>("--gradient-flow") { Description = "Also write FILE.svg and print a table: the gradient reaching each source position j, the mean of ‖dL/dx_j‖ (x_j the embedded source token, one sentence's teacher-forced loss, the model's own backward pass) over the scored pairs, one line per model. Recurrent encoders only." };
        var atInit = new Option<bool>("--at-initialisation") { Description = "With --gradient-flow: measure each model's architecture with freshly initialised weights (the weights training with --seed starts from, default 1) instead of its trained ones, so the losses are equal and the models compare by their gradient paths alone." };
        Option<string> format = CommonOptions.Format();
        Option<int> maxSource = CommonOptions.MaxSourceLength();
        Option<string> weights = CommonOptions.Weights();
        var command = new Command("eval", "Score models on held-out data: exact match, token accuracy, BLEU-4, by source length.")
        {
            models, task, data, images, features, allLines, seed, count, minLength, maxLength, limit, buckets, bucketWidth, plot, gradientFlow, atInit, format, maxSource, weights,
        };
        command.SetAction(parsed =>
        {
            if (parsed.GetValue(task) is not null && parsed.GetValue(data) is not null)
            {
                throw new UsageException("give either --task or --data, not both.");
            }
            string[] paths = parsed.GetValue(models) ?? [];
            if (paths.Length > 0 && CaptionBundle.IsCaptioning(paths[0]))
            {
                if (parsed.GetValue(data) is not null || parsed.GetValue(allLines) || parsed.GetValue(minLength) is not null || parsed.GetValue(maxLength) is not null
                    || parsed.GetValue(buckets) is not null || parsed.GetValue(bucketWidth) is not null || parsed.GetValue(plot) is not null || parsed.GetValue(gradientFlow) is not null || parsed.GetValue(atInit))
                {
                    throw new UsageException("--data, --all-lines, --min-length, --max-length, --buckets, --bucket-width, --plot, --gradient-flow and --at-initialisation apply to text models; a captioning model takes --task shapes|digits, --images FILE.tsv or --features FILE.");
                }
                return EvalCaptioning.Execute(context, paths, parsed.GetValue(task), parsed.GetValue(images), parsed.GetValue(seed), parsed.GetValue(count), parsed.GetValue(limit),
                    CommonOptions.ParseFormat(parsed.GetValue(format)), parsed.GetValue(features));
            }
            if (parsed.GetValue(images) is not null || parsed.GetValue(features) is not null)
            {
                throw new UsageException($"{(parsed.GetValue(images) is not null ? "--images" : "--features")} applies to captioning models; a text model takes --task or --data.");
            }
            BucketChoice choice = BucketChoice.Parse(parsed.GetValue(buckets), parsed.GetValue(bucketWidth));
            return Execute(context, parsed.GetValue(models) ?? [], parsed.GetValue(task), parsed.GetValue(data), parsed.GetValue(seed), parsed.GetValue(count),
                parsed.GetValue(minLength), parsed.GetValue(maxLength), parsed.GetValue(limit), CommonOptions.ParseFormat(parsed.GetValue(format)), parsed.GetValue(maxSource), parsed.GetValue(allLines), choice,
                parsed.GetValue(plot), parsed.GetValue(gradientFlow), parsed.GetValue(atInit), CommonOptions.ParseWeights(parsed.GetValue(weights)));
        });
        return command;
    }

    internal static int Execute(CliContext context, string[] modelPaths, string? task, string? data, int? seed, int? count, int? minLength, int? maxLength, int limit, TableFormat format,
        int maxSourceLength = Inference.DecodeLimits.DefaultMaxSourceLength, bool allLines = false, BucketChoice? buckets = null, string? plot = null, string? gradientFlow = null, bool atInitialisation = false,
        Seq2Seq.InferenceWeightFormat weights = Seq2Seq.InferenceWeightFormat.Float32)
    {
        if (atInitialisation && gradientFlow is null)
        {
            throw new UsageException("--at-initialisation applies to --gradient-flow only.");
        }
        if (allLines && data is null)
        {
            throw new UsageException("--all-lines applies to --data only.");
        }
        CommonOptions.CheckMaxSourceLength(maxSourceLength);
        TrainCommand.CheckRange(limit, 0, int.MaxValue, "--limit");
        if (modelPaths.Length == 0)
        {
            throw new UsageException("give at least one model file.");
        }
        if (plot is not null || gradientFlow is not null)
        {
            FileChecks.CheckOutputs([.. modelPaths.Select(m => ((string?)m, "model file")), (data, "data file")], [(plot, "plot file"), (gradientFlow, "gradient-flow plot")]);
        }
        var bundles = new List<ModelBundle>();
        foreach (string path in modelPaths)
        {
            bundles.Add(ModelBundle.Load(path, maxBatch: 64, weights));
        }
        if (gradientFlow is not null && bundles.FirstOrDefault(b => b.Model.Config.Encoder != Seq2Seq.EncoderKind.Recurrent) is ModelBundle other)
        {
            throw new UsageException($"--gradient-flow measures the embedded source tokens of a recurrent encoder; '{other.Path}' has a {other.Model.Config.Encoder.ToString().ToLowerInvariant()} encoder.");
        }

        IReadOnlyList<SentencePair> pairs;
        string what;
        if (data is not null)
        {
            FileChecks.RequireReadableFile(data, "data file");
            if (!allLines && bundles[0].Task is { Data: not null, DataSha256: string sha } trained && sha == TaskSpec.Sha256(data))
            {
                pairs = HeldOutPairs(trained with { Data = data }, bundles[0].Path);
                what = $"{data}: the {pairs.Count} test pairs held out when '{Path.GetFileName(bundles[0].Path)}' was trained on this file (--all-lines scores every line)";
            }
            else
            {
                pairs = TsvDataset.Read(data);
                what = $"{data} (all {pairs.Count} lines)";
            }
        }
        else if (task is null && bundles[0].Task is { Task: null, Data: string trainedOn } fromFile)
        {
            if (!File.Exists(trainedOn))
            {
                throw new CliException($"model '{bundles[0].Path}' was trained on '{trainedOn}', which is not there any more: give --data FILE or --task.");
            }
            if (fromFile.DataSha256 is string sha && sha != TaskSpec.Sha256(trainedOn))
            {
                throw new CliException($"'{trainedOn}' changed since model '{bundles[0].Path}' was trained on it (its SHA-256 differs), so its held-out pairs cannot be rebuilt: give --data FILE --all-lines to score every line.");
            }
            pairs = HeldOutPairs(fromFile, bundles[0].Path);
            what = $"{trainedOn}: the {pairs.Count} test pairs held out in training";
        }
        else
        {
            TaskSpec? recorded = bundles[0].Task is { Task: not null } t ? t : null;
            string name = task ?? recorded?.Task ?? throw new UsageException($"model '{bundles[0].Path}' does not record its task: give --task or --data.");
            bool same = recorded?.Task == name;
            var spec = new TaskSpec(name, null, "word", seed ?? (same ? recorded!.Seed : 1), count ?? (same ? recorded!.Count : 0),
                minLength ?? (same ? recorded!.MinLength : 0), maxLength ?? (same ? recorded!.MaxLength : 0));
            spec.CheckOptions();
            pairs = spec.Build().Test;
            what = $"{spec.Describe()} test split ({pairs.Count} pairs)";
        }
        if (limit > 0 && pairs.Count > limit)
        {
            pairs = pairs.Take(limit).ToList();
        }
        if (pairs.Count == 0)
        {
            throw new CliException("there is nothing to evaluate: the data has no pairs.");
        }
        var reports = new List<(string, EvaluationReport)>();
        var speeds = new List<string>();
        foreach (ModelBundle bundle in bundles)
        {
            reports.Add((Path.GetFileName(bundle.Path), Score(context, bundle, pairs, maxSourceLength, buckets, out double seconds)));
            speeds.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{Path.GetFileName(bundle.Path)}: {pairs.Count} sentences in {seconds:0.000} s, {pairs.Count / Math.Max(seconds, 1e-9):N0} sentences/s"));
        }
        context.Out.WriteLine($"evaluated on {what}");
        context.Out.WriteLine();
        EvaluationView.Write(context, reports, format);
        context.Out.WriteLine();
        context.Out.WriteLine($"greedy decoding speed (batched, {Math.Min(2, Environment.ProcessorCount)} threads): {string.Join("; ", speeds)}");
        if (plot is not null)
        {
            AtomicFile.WriteAllBytes(plot, System.Text.Encoding.UTF8.GetBytes(EvaluationView.LengthPlot(reports, $"Quality by source length: {what}")));
            context.Out.WriteLine();
            context.Out.WriteLine($"plot: {plot}");
        }
        if (gradientFlow is not null)
        {
            var flows = new List<(string, GradientFlowReport)>();
            foreach (ModelBundle bundle in bundles)
            {
                flows.Add((Path.GetFileName(bundle.Path), atInitialisation
                    ? GradientFlow.MeasureAtInitialisation(bundle.Model, pairs, seed ?? 1)
                    : GradientFlow.Measure(bundle.Model, pairs)));
            }
            string measured = atInitialisation ? $"freshly initialised weights (seed {seed ?? 1})" : "trained weights";
            context.Out.WriteLine();
            context.Out.WriteLine($"gradient reaching each source position: mean ‖dL/dx_j‖ over the pairs (x_j the embedded source token j), {measured}");
            context.Out.Write(GradientFlowView.Table(flows, format));
            context.Out.WriteLine();
            context.Out.WriteLine("the same by k = S - j, the steps from x_j to the source's last token (the recurrence a fixed context's gradient crosses)");
            context.Out.Write(GradientFlowView.Table(flows, format, fromEnd: true));
            AtomicFile.WriteAllBytes(gradientFlow, System.Text.Encoding.UTF8.GetBytes(GradientFlowView.Plot(flows, $"Gradient reaching each source position: {what}")));
            context.Out.WriteLine();
            context.Out.WriteLine($"gradient-flow plot: {gradientFlow}");
        }
        return ExitCodes.Success;
    }

    /// <summary>The test split of the TSV file a model was trained on, rebuilt from its recorded seed and tokenisation.</summary>
    private static IReadOnlyList<SentencePair> HeldOutPairs(TaskSpec trained, string modelPath)
    {
        IReadOnlyList<SentencePair> test = trained.Build().Test;
        if (trained.TestPairs > 0 && test.Count != trained.TestPairs)
        {
            throw new CliException($"the split of '{trained.Data}' gives {test.Count} test pairs, but model '{modelPath}' recorded {trained.TestPairs}: give --data FILE --all-lines to score every line.");
        }
        return test;
    }

    internal static EvaluationReport Score(CliContext context, ModelBundle bundle, IReadOnlyList<SentencePair> pairs, int maxSourceLength, BucketChoice? buckets = null) =>
        Score(context, bundle, pairs, maxSourceLength, buckets, out _);

    /// <summary>As the overload above; <paramref name="seconds"/> is the wall time of decoding every source.</summary>
    internal static EvaluationReport Score(CliContext context, ModelBundle bundle, IReadOnlyList<SentencePair> pairs, int maxSourceLength, BucketChoice? buckets,
        out double seconds)
    {
        var unknown = new UnknownTokens();
        var sources = new string[pairs.Count];
        var references = new List<IReadOnlyList<string>>(pairs.Count);
        for (int i = 0; i < sources.Length; i++)
        {
            sources[i] = pairs[i].Source;
            references.Add(Tokenizer.Tokenize(pairs[i].Target, bundle.Model.TargetVocabulary.Tokenization));
        }
        int[] lengths = bundle.CheckInputs(sources, unknown);
        if (Array.IndexOf(lengths, 0) is int empty and >= 0)
        {
            throw new CliException($"pair {empty + 1} has a source without tokens.");
        }
        int total = lengths.Sum();
        if (unknown.Occurrences * 2 > total)
        {
            throw new CliException($"model '{bundle.Path}' does not match this data: {unknown.Occurrences} of {total} source tokens are not in its vocabulary ({Tokenizer.ToName(bundle.Model.SourceVocabulary.Tokenization)} level).");
        }
        if (unknown.Message() is string message)
        {
            context.Warn($"{Path.GetFileName(bundle.Path)}: {message}");
        }
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Translation[] translations = bundle.Model.Decode(sources, new DecodingOptions { MaxSourceLength = maxSourceLength });
        seconds = watch.Elapsed.TotalSeconds;
        var outputs = new List<IReadOnlyList<string>>(translations.Length);
        foreach (Translation t in translations)
        {
            outputs.Add(t.Tokens);
        }
        return EvaluationReport.Compute(lengths, outputs, references, (buckets ?? BucketChoice.Default).For(lengths.Max()));
    }
}

/// <summary>
/// How <c>eval</c> splits the sentences by source length: <c>--buckets</c> (ascending upper edges, the last bucket
/// open-ended), <c>--bucket-width</c> (equal widths from 1), or by default five equal buckets up to the longest source.
/// </summary>
/// <param name="UpperEdges">The upper edges of <c>--buckets</c>, strictly increasing and at least 1; null when not given.</param>
/// <param name="Width">The width of <c>--bucket-width</c> (at least 1); null when not given.</param>
internal sealed record BucketChoice(IReadOnlyList<int>? UpperEdges, int? Width)
{
    /// <summary>Neither option: five equal buckets.</summary>
    public static BucketChoice Default { get; } = new(null, null);

    /// <summary>The buckets for sources up to <paramref name="longest"/> tokens.</summary>
    public IReadOnlyList<LengthBucket> For(int longest) =>
        UpperEdges is not null ? LengthBucket.FromUpperBounds(UpperEdges)
        : LengthBucket.Uniform(Width ?? Math.Max(1, (longest + 4) / 5), Math.Max(1, longest));

    /// <summary>Checks and parses the two options (before any model is loaded).</summary>
    /// <param name="edges">The <c>--buckets</c> text, e.g. <c>10,20,30,40</c>; null when not given.</param>
    /// <param name="width">The <c>--bucket-width</c> value; null when not given.</param>
    /// <exception cref="UsageException">Both are given, the width is below 1, or an edge is not a whole number, below 1 or not above the one before.</exception>
    public static BucketChoice Parse(string? edges, int? width)
    {
        if (edges is not null && width is not null)
        {
            throw new UsageException("give either --buckets or --bucket-width, not both.");
        }
        if (width is int w)
        {
            Commands.TrainCommand.CheckRange(w, 1, 100_000, "--bucket-width");
            return new BucketChoice(null, w);
        }
        if (edges is null)
        {
            return Default;
        }
        const string Example = "give increasing upper edges such as 10,20,30,40";
        string[] parts = edges.Split(',', StringSplitOptions.TrimEntries);
        var bounds = new List<int>(parts.Length);
        foreach (string part in parts)
        {
            if (!int.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int bound) || bound < 1)
            {
                throw new UsageException($"--buckets: '{part}' is not a whole number of at least 1 ({Example}).");
            }
            if (bounds.Count > 0 && bound <= bounds[^1])
            {
                throw new UsageException($"--buckets must be strictly increasing, got {edges.Trim()} ({Example}).");
            }
            bounds.Add(bound);
        }
        return new BucketChoice(bounds, null);
    }
}
