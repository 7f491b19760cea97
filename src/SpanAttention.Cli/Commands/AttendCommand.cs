using System.CommandLine;

namespace SpanAttention.Cli.Commands;

/// <summary>
/// <c>spanattn attend MODEL TEXT [--svg FILE]</c>: translates one sentence (greedy) and draws where each output
/// token looked in the source, in the terminal and optionally as an SVG file. With a captioning model the argument is
/// an image file (<see cref="AttendImage"/>).
/// </summary>
internal static class AttendCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "The model file (.safetensors)." };
        var text = new Argument<string>("text") { Description = "The sentence; for a captioning model, a PNG or JPEG image." };
        var svg = new Option<string?>("--svg") { Description = "Also write the heatmap to this SVG file; for a captioning model, write the figure of the image once per word with its attention overlaid (instead of the terminal grids)." };
        var maxLength = new Option<int>("--max-length") { Description = "Maximum output tokens (0: twice the source length plus 10)." };
        Option<string> color = CommonOptions.Color();
        Option<int> maxSource = CommonOptions.MaxSourceLength();
        var command = new Command("attend", "Show the attention heatmap of one translated sentence, or of one captioned image.") { model, text, svg, maxLength, color, maxSource };
        command.SetAction(parsed => Execute(context with { Color = CommonOptions.ResolveColor(context, parsed.GetValue(color)) },
            parsed.GetRequiredValue(model), parsed.GetRequiredValue(text), parsed.GetValue(svg), parsed.GetValue(maxLength), parsed.GetValue(maxSource)));
        return command;
    }

    internal static int Execute(CliContext context, string modelPath, string text, string? svg, int maxLength,
        int maxSourceLength = Inference.DecodeLimits.DefaultMaxSourceLength)
    {
        if (CaptionBundle.IsCaptioning(modelPath))
        {
            return AttendImage.Execute(context, modelPath, text, svg, maxLength);
        }
        CommonOptions.CheckMaxSourceLength(maxSourceLength);
        TrainCommand.CheckRange(maxLength, 0, 10_000, "--max-length");
        FileChecks.CheckOutputs([(modelPath, "model file")], [(svg, "heatmap file")]);
        ModelBundle bundle = ModelBundle.Load(modelPath, maxBatch: 1);
        string line = InputLines.Read([text], context.In)[0];
        var unknown = new UnknownTokens();
        if (bundle.CheckInputs([line], unknown)[0] == 0)
        {
            throw new CliException("the text has no tokens.");
        }
        unknown.WarnIfAny(context);
        Translation translation = bundle.Model.Decode(line, new DecodingOptions { MaxLength = maxLength, MaxSourceLength = maxSourceLength });
        context.Out.WriteLine($"{line} → {translation.Text}");
        TranslateCommand.WriteHeatmap(context, bundle, line, translation, svg, draw: true);
        return ExitCodes.Success;
    }
}
