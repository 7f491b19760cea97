using System.CommandLine;
using System.Globalization;
using SpanAttention.Cli.Rendering;

namespace SpanAttention.Cli.Commands;

/// <summary>
/// <c>spanattn translate MODEL [TEXT...]</c>: translates each text argument (or each stdin line), one output line
/// per input. Greedy by default; <c>--beam K</c> searches, <c>--nbest N</c> prints the N best with their scores;
/// <c>--attention FILE.svg</c> writes the heatmap of the first sentence. Unknown tokens become &lt;unk&gt; with one warning.
/// </summary>
internal static class TranslateCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "The model file (.safetensors)." };
        var text = new Argument<string[]>("text") { Description = "Sentences to translate (default: one per line on stdin).", Arity = ArgumentArity.ZeroOrMore };
        var beam = new Option<int>("--beam") { Description = "Beam width (1: greedy).", DefaultValueFactory = _ => 1 };
        var nbest = new Option<int>("--nbest") { Description = "Print the N best hypotheses of the beam search (needs --beam K with K >= N), each as: input number, length-normalised score (log-probability / output length), text.", DefaultValueFactory = _ => 1 };
        var attention = new Option<string?>("--attention") { Description = "Write the first sentence's attention heatmap to this SVG file." };
        var maxLength = new Option<int>("--max-length") { Description = "Maximum output tokens (0: twice the source length plus 10)." };
        Option<int> maxSource = CommonOptions.MaxSourceLength();
        Option<string> weights = CommonOptions.Weights();
        var command = new Command("translate", "Translate sentences with a trained model: one output line per input line (a blank line gives a blank line).") { model, text, beam, nbest, attention, maxLength, maxSource, weights };
        command.SetAction(parsed => Execute(context, parsed.GetRequiredValue(model), parsed.GetValue(text) ?? [], parsed.GetValue(beam),
            parsed.GetValue(nbest), parsed.GetValue(attention), parsed.GetValue(maxLength), parsed.GetValue(maxSource), CommonOptions.ParseWeights(parsed.GetValue(weights))));
        return command;
    }

    internal static int Execute(CliContext context, string modelPath, string[] text, int beam, int nbest, string? attention, int maxLength,
        int maxSourceLength = Inference.DecodeLimits.DefaultMaxSourceLength, Seq2Seq.InferenceWeightFormat weights = Seq2Seq.InferenceWeightFormat.Float32)
    {
        CommonOptions.CheckMaxSourceLength(maxSourceLength);
        TrainCommand.CheckRange(beam, 1, 64, "--beam");
        if (nbest > 1 && beam == 1)
        {
            throw new UsageException($"--nbest {nbest} needs beam search: add --beam K with K >= {nbest} (n-best scores are length-normalised log-probabilities).");
        }
        if (nbest > beam)
        {
            throw new UsageException($"--nbest {nbest} is more than --beam {beam}: the beam keeps at most {beam} hypotheses.");
        }
        TrainCommand.CheckRange(nbest, 1, beam, "--nbest");
        TrainCommand.CheckRange(maxLength, 0, 10_000, "--max-length");
        FileChecks.CheckOutputs([(modelPath, "model file")], [(attention, "heatmap file")]);
        ModelBundle bundle = ModelBundle.Load(modelPath, maxBatch: Math.Max(32, beam), weights);
        var unknown = new UnknownTokens();
        var options = new DecodingOptions { BeamWidth = beam, MaxLength = maxLength, MaxSourceLength = maxSourceLength };
        var culture = CultureInfo.InvariantCulture;

        // The input is read and decoded in blocks of BlockLines lines, so memory stays bounded for any file (the default
        // greedy step limit comes from the longest line of each block). Lines
        // without tokens (blank stdin lines) are not decoded: each gives an empty output line, held back until the
        // first line with tokens, so that input without any gives the error and no output.
        Translation? first = null;
        string? firstLine = null;
        int lineNumber = 0, heldBack = 0;
        var decoded = new List<string>(BlockLines);
        foreach (IReadOnlyList<string> lines in InputLines.ReadBlocks(text, context.In, BlockLines))
        {
            int[] counts = bundle.CheckInputs(lines, unknown);
            decoded.Clear();
            for (int i = 0; i < lines.Count; i++)
            {
                if (counts[i] > 0)
                {
                    decoded.Add(lines[i]);
                }
            }
            Translation[][] all = Decode(bundle.Model, decoded, nbest, options);
            for (int i = 0, next = 0; i < lines.Count; i++, lineNumber++)
            {
                string blank = nbest == 1 ? "" : string.Create(culture, $"{lineNumber + 1}\t\t");
                if (counts[i] == 0)
                {
                    if (first is null)
                    {
                        heldBack++;
                    }
                    else
                    {
                        context.Out.WriteLine(blank);
                    }
                    continue;
                }
                Translation[] best = all[next++];
                if (first is null)
                {
                    for (int k = lineNumber - heldBack; k < lineNumber; k++)
                    {
                        context.Out.WriteLine(nbest == 1 ? "" : string.Create(culture, $"{k + 1}\t\t"));
                    }
                    (first, firstLine) = (best[0], lines[i]);
                }
                if (nbest == 1)
                {
                    context.Out.WriteLine(best[0].Text);
                    continue;
                }
                foreach (Translation t in best)
                {
                    context.Out.WriteLine(string.Create(culture, $"{lineNumber + 1}\t{t.NormalizedScore:0.0000}\t{t.Text}"));
                }
            }
        }
        if (first is null)
        {
            throw new CliException("No input: no line has a token.");
        }
        unknown.WarnIfAny(context);
        if (attention is not null)
        {
            WriteHeatmap(context, bundle, firstLine!, first, attention, draw: false);
        }
        return ExitCodes.Success;
    }

    /// <summary>Lines read and decoded at a time: a block's translations are written before the next block is read.</summary>
    internal const int BlockLines = 4096;

    /// <summary>One block's translations: greedy or the beam's best through one batched call; the n best line by line.</summary>
    private static Translation[][] Decode(TranslationModel model, List<string> lines, int nbest, DecodingOptions options)
    {
        var result = new Translation[lines.Count][];
        if (nbest == 1)
        {
            Translation[] all = model.Decode(lines, options);
            for (int i = 0; i < all.Length; i++)
            {
                result[i] = [all[i]];
            }
            return result;
        }
        for (int i = 0; i < lines.Count; i++)
        {
            result[i] = model.NBest(lines[i], nbest, options);
        }
        return result;
    }

    /// <summary>Writes (and optionally draws) one translation's attention; a model without attention is an error.</summary>
    internal static void WriteHeatmap(CliContext context, ModelBundle bundle, string line, Translation translation, string? svg, bool draw)
    {
        if (!bundle.Model.HasAttention)
        {
            throw new CliException($"model '{bundle.Path}' has no attention (decoder {bundle.Model.Config.Decoder}): there is no heatmap to show.");
        }
        if (translation.Alignment is not Alignment alignment)
        {
            throw new CliException($"the translation of '{line}' is empty: there is no heatmap to show.");
        }
        string title = $"{line} → {translation.Text}";
        if (draw)
        {
            AttentionView.Show(context, alignment.SourceTokens, alignment.TargetTokens, alignment.Weights, svg, title);
        }
        else if (svg is not null)
        {
            Visualization.AttentionHeatmap.WriteSvg(svg, alignment.SourceTokens, alignment.TargetTokens, alignment.Weights, title);
            context.Error.WriteLine($"wrote {svg}");
        }
    }
}
