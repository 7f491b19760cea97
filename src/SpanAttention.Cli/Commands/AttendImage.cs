using SpanAttention.Cli.Rendering;

namespace SpanAttention.Cli.Commands;

/// <summary>
/// <c>attend MODEL IMAGE [--svg FILE]</c> for a captioning model: captions the image greedily and shows where each word
/// looked, in the terminal (every word's grid, shaded by its weights) or, with <c>--svg</c>, as the figure of Show,
/// Attend and Tell (the image once per word with that word's attention upsampled and laid over it).
/// </summary>
internal static class AttendImage
{
    internal static int Execute(CliContext context, string modelPath, string imagePath, string? svg, int maxLength)
    {
        TrainCommand.CheckRange(maxLength, 0, 10_000, "--max-length");
        FileChecks.CheckOutputs([(modelPath, "model file"), (imagePath, "image")], [(svg, "attention figure")]);
        CaptionBundle bundle = CaptionBundle.Load(modelPath, maxBatch: 1);
        if (!bundle.Model.HasAttention)
        {
            throw new CliException($"model '{modelPath}' has no attention (decoder {bundle.Model.Config.Decoder}): there is no attention to show.");
        }
        float[] pixels = bundle.ReadImages([imagePath])[0];
        GeneratedCaption caption = bundle.Model.Decode(pixels, new DecodingOptions { MaxLength = maxLength });
        if (caption.Attention is not CaptionAttention attention)
        {
            throw new CliException($"the caption of '{imagePath}' is empty: there is no attention to show.");
        }
        context.Out.WriteLine($"{imagePath} → {caption.Text}");
        if (svg is null)
        {
            context.Out.Write(TerminalImageAttention.Render(attention.Words, attention.Weights, attention.GridHeight, attention.GridWidth, context.Color));
            return ExitCodes.Success;
        }
        attention.WriteSvg(svg, caption.Text);
        context.Out.WriteLine($"wrote {svg}");
        return ExitCodes.Success;
    }
}
