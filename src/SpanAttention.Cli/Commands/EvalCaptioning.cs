using System.Globalization;
using SpanAttention.Cli.Images;
using SpanAttention.Cli.Rendering;
using SpanAttention.Data;
using SpanAttention.Data.Captioning;
using SpanAttention.Evaluation;

namespace SpanAttention.Cli.Commands;

/// <summary>
/// <c>eval MODEL... [--task shapes|digits | --images FILE.tsv | --features FILE]</c> for captioning models: greedy exact match and BLEU-4,
/// and on a built-in task the grounding score (the mean attention mass inside the box of the object each correct word
/// names) beside its uniform-attention baseline and the ceiling the grid allows. A built-in task is scored on both
/// splits the model never saw (shapes: held-out scenes and the compositional split); several models give one table, e.g.
/// attention against none.
/// </summary>
internal static class EvalCaptioning
{
    internal static int Execute(CliContext context, string[] modelPaths, string? task, string? images, int? seed, int? count, int limit, TableFormat format,
        string? features = null)
    {
        TrainCommand.CheckRange(limit, 0, int.MaxValue, "--limit");
        if (task is not null && images is not null)
        {
            throw new UsageException("give either --task or --images, not both.");
        }
        if (features is not null && (task is not null || images is not null))
        {
            throw new UsageException("give one of --task, --images or --features.");
        }
        if (task is not null && !CaptionDataset.BuiltInNames.Contains(task))
        {
            throw new UsageException($"--task {task} is a text task; captioning models are scored on {string.Join(" or ", CaptionDataset.BuiltInNames)}, or on --images FILE.tsv.");
        }
        var bundles = new List<CaptionBundle>();
        foreach (string path in modelPaths)
        {
            if (!CaptionBundle.IsCaptioning(path) && File.Exists(path))
            {
                throw new UsageException($"'{path}' is not a captioning model, and '{modelPaths[0]}' is: eval compares models of one kind.");
            }
            bundles.Add(CaptionBundle.Load(path, maxBatch: 64));
        }

        var culture = CultureInfo.InvariantCulture;
        var rows = new List<IReadOnlyList<string>>();
        string what;
        if (features is not null)
        {
            FileChecks.RequireReadableFile(features, "features file");
            what = features;
            FeatureGrids grids = FeatureGridFile.Load(features);
            int n = limit > 0 ? Math.Min(limit, grids.Count) : grids.Count;
            ImageCaption[] scored = [.. Enumerable.Range(0, n).Select(i => new ImageCaption(grids.Grid(i).ToArray(), string.Join(' ', grids.Captions[i])))];
            foreach (CaptionBundle bundle in bundles)
            {
                Seq2Seq.Seq2SeqConfig c = bundle.Model.Config;
                if (c.Encoder != Seq2Seq.EncoderKind.Features || c.FeatureSize != grids.FeatureSize)
                {
                    throw new CliException(c.Encoder != Seq2Seq.EncoderKind.Features
                        ? $"model '{bundle.Path}' reads images, not feature grids: score it with --task or --images."
                        : $"model '{bundle.Path}' reads grids of {c.FeatureSize} features per cell; '{features}' has {grids.FeatureSize}.");
                }
                rows.Add(Row(bundle, CaptionEvaluation.Score(bundle.Model, scored, Path.GetFileName(features)), culture));
            }
        }
        else if (images is not null)
        {
            FileChecks.RequireReadableFile(images, "image TSV");
            what = images;
            foreach (CaptionBundle bundle in bundles)
            {
                IReadOnlyList<CaptionedImage> lines = ImageCaptionFile.Load(images, bundle.Shape);
                ImageCaption[] scored = [.. lines.Take(limit > 0 ? limit : lines.Count).Select(x => new ImageCaption(x.Pixels, string.Join(' ', x.Words)))];
                rows.Add(Row(bundle, CaptionEvaluation.Score(bundle.Model, scored, Path.GetFileName(images)), culture));
            }
        }
        else
        {
            TaskSpec? recorded = bundles[0].Task is { Task: string t } r && CaptionDataset.BuiltInNames.Contains(t) ? r : null;
            string name = task ?? recorded?.Task ?? throw new UsageException($"model '{bundles[0].Path}' does not record a built-in captioning task: give --task shapes|digits, --images FILE.tsv or --features FILE.");
            bool same = recorded?.Task == name;
            int s = seed ?? (same ? recorded!.Seed : 1), n = count ?? (same ? recorded!.Count : 0);
            TrainCommand.CheckRange(n, 0, 1_000_000, "--count");
            what = $"{name} (seed {s}{(n > 0 ? $", count {n}" : "")})";
            foreach (CaptionBundle bundle in bundles)
            {
                IReadOnlyList<CaptionSplitScore> scores;
                try
                {
                    scores = CaptionEvaluation.BuiltIn(bundle.Model, name, s, n, limit);
                }
                catch (ArgumentException e)
                {
                    throw new CliException($"model '{bundle.Path}': {e.Message.Split(" (Parameter", StringSplitOptions.None)[0]}");
                }
                foreach (CaptionSplitScore score in scores)
                {
                    rows.Add(Row(bundle, score, culture));
                }
            }
        }
        context.Out.WriteLine($"evaluated on {what}; grounding: mean attention mass inside the named object's box, against uniform attention and the best the grid allows");
        context.Out.WriteLine();
        context.Out.Write(TextTable.Render(["model", "split", "images", "exact match", "BLEU-4", "grounding", "uniform", "ceiling"], rows,
            [false, false, true, true, true, true, true, true], format));
        return ExitCodes.Success;
    }

    private static IReadOnlyList<string> Row(CaptionBundle bundle, CaptionSplitScore s, CultureInfo culture)
    {
        string Mass(Func<GroundingScore, double> pick) => s.Grounding is GroundingScore g ? pick(g).ToString("0.000", culture) : "-";
        return [Path.GetFileName(bundle.Path), s.Split, s.Images.ToString(culture), s.ExactMatch.ToString("P1", culture), (100 * s.Bleu.Score).ToString("0.0", culture),
            Mass(g => g.Mass), Mass(g => g.Uniform), Mass(g => g.Ceiling)];
    }
}
