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
        IReadOnlyList<string> lines = InputLines.Read(text, context.In);
        var unknown = new UnknownTokens();
        int[] counts = bundle.CheckInputs(lines, unknown);
        unknown.WarnIfAny(context);
        var options = new DecodingOptions { BeamWidth = beam, MaxLength = maxLength, MaxSourceLength = maxSourceLength };

        // Lines without tokens (blank stdin lines) are not decoded: each gives an empty output line.
        var decoded = new List<string>(lines.Count);
        for (int i = 0; i < lines.Count; i++)
        {
            if (counts[i] > 0)
            {
                decoded.Add(lines[i]);
            }
        }
        if (decoded.Count == 0)
        {
            throw new CliException("No input: no line has a token.");
        }
        int firstLine = Array.FindIndex(counts, c => c > 0);
        Translation? first = null;
        if (beam == 1)
        {
            Translation[] all = bundle.Model.Decode(decoded, options);
            first = all[0];
            for (int i = 0, next = 0; i < lines.Count; i++)
            {
                context.Out.WriteLine(counts[i] > 0 ? all[next++].Text : "");
            }
        }
        else
        {
            var culture = CultureInfo.InvariantCulture;
            for (int i = 0; i < lines.Count; i++)
            {
                if (counts[i] == 0)
                {
                    context.Out.WriteLine(nbest == 1 ? "" : string.Create(culture, $"{i + 1}\t\t"));
                    continue;
                }
                Translation[] best = bundle.Model.NBest(lines[i], nbest, options);
                first ??= best[0];
                if (nbest == 1)
                {
                    context.Out.WriteLine(best[0].Text);
                    continue;
                }
                foreach (Translation t in best)
                {
                    context.Out.WriteLine(string.Create(culture, $"{i + 1}\t{t.NormalizedScore:0.0000}\t{t.Text}"));
                }
            }
        }
        if (attention is not null && first is not null)
        {
            WriteHeatmap(context, bundle, lines[firstLine], first, attention, draw: false);
        }
        return ExitCodes.Success;
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
