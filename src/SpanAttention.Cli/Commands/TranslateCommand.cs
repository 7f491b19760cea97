using System.CommandLine;
using System.Globalization;
using SpanAttention.Cli.Rendering;
using SpanAttention.Inference;

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
        var nbest = new Option<int>("--nbest") { Description = "Print the N best hypotheses of the beam with their scores.", DefaultValueFactory = _ => 1 };
        var attention = new Option<string?>("--attention") { Description = "Write the first sentence's attention heatmap to this SVG file." };
        var maxLength = new Option<int>("--max-length") { Description = "Maximum output tokens (0: twice the source length plus 10)." };
        var command = new Command("translate", "Translate sentences with a trained model.") { model, text, beam, nbest, attention, maxLength };
        command.SetAction(parsed => Execute(context, parsed.GetRequiredValue(model), parsed.GetValue(text) ?? [], parsed.GetValue(beam),
            parsed.GetValue(nbest), parsed.GetValue(attention), parsed.GetValue(maxLength)));
        return command;
    }

    internal static int Execute(CliContext context, string modelPath, string[] text, int beam, int nbest, string? attention, int maxLength)
    {
        TrainCommand.CheckRange(beam, 1, 64, "--beam");
        TrainCommand.CheckRange(nbest, 1, beam, "--nbest");
        TrainCommand.CheckRange(maxLength, 0, 10_000, "--max-length");
        if (attention is not null)
        {
            FileChecks.RequireOutputFolder(attention, "heatmap file");
        }
        ModelBundle bundle = ModelBundle.Load(modelPath, maxBatch: Math.Max(32, beam));
        IReadOnlyList<string> lines = InputLines.Read(text, context.In);
        var unknown = new UnknownTokens();
        var sources = new List<int[]>(lines.Count);
        foreach (string line in lines)
        {
            sources.Add(bundle.EncodeSource(line, unknown));
        }
        unknown.WarnIfAny(context);
        int Length(int[] source) => maxLength > 0 ? maxLength : 2 * source.Length + 10;

        var firstBest = new Hypothesis[lines.Count];
        if (beam == 1)
        {
            int longest = sources.Max(Length);
            Hypothesis[] all = bundle.Greedy(sources, longest);
            for (int i = 0; i < all.Length; i++)
            {
                firstBest[i] = all[i];
                context.Out.WriteLine(bundle.TargetText(all[i]));
            }
        }
        else
        {
            var culture = CultureInfo.InvariantCulture;
            for (int i = 0; i < sources.Count; i++)
            {
                Hypothesis[] hs = bundle.Beam(sources[i], beam, Length(sources[i]), nbest);
                firstBest[i] = hs[0];
                if (nbest == 1)
                {
                    context.Out.WriteLine(bundle.TargetText(hs[0]));
                    continue;
                }
                foreach (Hypothesis h in hs)
                {
                    context.Out.WriteLine(string.Create(culture, $"{i + 1}\t{h.NormalizedScore:0.0000}\t{bundle.TargetText(h)}"));
                }
            }
        }
        if (attention is not null)
        {
            WriteHeatmap(context, bundle, lines[0], firstBest[0], attention, draw: false);
        }
        return ExitCodes.Success;
    }

    /// <summary>Writes (and optionally draws) one hypothesis's attention; a model without attention is an error.</summary>
    internal static void WriteHeatmap(CliContext context, ModelBundle bundle, string line, Hypothesis h, string? svg, bool draw)
    {
        if (bundle.Model.Config.Decoder == Seq2Seq.DecoderStyle.None)
        {
            throw new CliException($"model '{bundle.Path}' has no attention (decoder {bundle.Model.Config.Decoder}): there is no heatmap to show.");
        }
        if (bundle.Heatmap(bundle.SourceTokens(line), h) is not var (columns, rows, weights))
        {
            throw new CliException($"the translation of '{line}' is empty: there is no heatmap to show.");
        }
        string title = $"{line} → {bundle.TargetText(h)}";
        if (draw)
        {
            AttentionView.Show(context, columns, rows, weights, svg, title);
        }
        else if (svg is not null)
        {
            Visualization.AttentionHeatmap.WriteSvg(svg, columns, rows, weights, title);
            context.Error.WriteLine($"wrote {svg}");
        }
    }
}
