using System.CommandLine;

namespace SpanAttention.Cli.Commands;

/// <summary>
/// <c>spanattn attend MODEL TEXT [--svg FILE]</c>: translates one sentence (greedy) and draws where each output
/// token looked in the source, in the terminal and optionally as an SVG file. With a captioning model the argument is
/// an image file (<see cref="AttendImage"/>). For a Transformer encoder-decoder, <c>--head N</c> draws one head of
/// the last decoder layer's cross-attention (default: their mean), and <c>--self-attention</c> the last encoder
/// layer's self-attention over the source instead.
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
        var head = new Option<int?>("--head") { Description = "Transformer encoder-decoder: draw this attention head (0 to heads - 1) of the last layer instead of the mean over the heads." };
        var self = new Option<bool>("--self-attention") { Description = "Transformer encoder-decoder: draw the last encoder layer's self-attention over the source (rows and columns: the source tokens) instead of the cross-attention." };
        var command = new Command("attend", "Show the attention heatmap of one translated sentence, or of one captioned image.") { model, text, svg, maxLength, color, maxSource, head, self };
        command.SetAction(parsed => Execute(context with { Color = CommonOptions.ResolveColor(context, parsed.GetValue(color)) },
            parsed.GetRequiredValue(model), parsed.GetRequiredValue(text), parsed.GetValue(svg), parsed.GetValue(maxLength), parsed.GetValue(maxSource),
            parsed.GetValue(head), parsed.GetValue(self)));
        return command;
    }

    internal static int Execute(CliContext context, string modelPath, string text, string? svg, int maxLength,
        int maxSourceLength = Inference.DecodeLimits.DefaultMaxSourceLength, int? head = null, bool selfAttention = false)
    {
        if (CaptionBundle.IsCaptioning(modelPath))
        {
            return AttendImage.Execute(context, modelPath, text, svg, maxLength);
        }
        CommonOptions.CheckMaxSourceLength(maxSourceLength);
        TrainCommand.CheckRange(maxLength, 0, 10_000, "--max-length");
        FileChecks.CheckOutputs([(modelPath, "model file")], [(svg, "heatmap file")]);
        ModelBundle bundle = ModelBundle.Load(modelPath, maxBatch: 1);
        bool transformer = bundle.Model.Config.Decoder == Seq2Seq.DecoderStyle.Transformer;
        if ((head is not null || selfAttention) && !transformer)
        {
            throw new UsageException($"{(head is not null ? "--head" : "--self-attention")} applies to a Transformer encoder-decoder (trained with --decoder transformer); '{modelPath}' has one attention per step (decoder {bundle.Model.Config.Decoder.ToString().ToLowerInvariant()}).");
        }
        if (head is int h && (h < 0 || h >= bundle.Model.AttentionHeads))
        {
            throw new UsageException($"--head {h} is not a head of '{modelPath}': it has {bundle.Model.AttentionHeads} heads, 0 to {bundle.Model.AttentionHeads - 1}.");
        }
        string line = InputLines.Read([text], context.In)[0];
        var unknown = new UnknownTokens();
        if (bundle.CheckInputs([line], unknown)[0] == 0)
        {
            throw new CliException("the text has no tokens.");
        }
        unknown.WarnIfAny(context);
        var options = new DecodingOptions { MaxLength = maxLength, MaxSourceLength = maxSourceLength };
        Translation translation = bundle.Model.Decode(line, options);
        context.Out.WriteLine($"{line} → {translation.Text}");
        if (!transformer)
        {
            TranslateCommand.WriteHeatmap(context, bundle, line, translation, svg, draw: true);
            return ExitCodes.Success;
        }
        string which = head is int one ? $"head {one}" : $"mean of {bundle.Model.AttentionHeads} heads";
        if (!selfAttention && translation.Tokens.Count == 0)
        {
            throw new CliException($"the translation of '{line}' is empty: there is no heatmap to show.");
        }
        Alignment alignment = selfAttention
            ? bundle.Model.EncoderAttention(line, head ?? -1, maxSourceLength)
            : bundle.Model.Align(line, head ?? -1, options);
        string title = selfAttention ? $"{line}: encoder self-attention, {which}" : $"{line} → {translation.Text}: cross-attention, {which}";
        Rendering.AttentionView.Show(context, alignment.SourceTokens, alignment.TargetTokens, alignment.Weights, svg, title);
        return ExitCodes.Success;
    }
}
