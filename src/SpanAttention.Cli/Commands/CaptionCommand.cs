using System.CommandLine;
using System.Globalization;

namespace SpanAttention.Cli.Commands;

/// <summary>
/// <c>spanattn caption MODEL IMAGE...</c>: captions each PNG or JPEG image (resized to the size the model file
/// records), one line per image in order. Greedy by default; <c>--beam K</c> searches, <c>--nbest N</c> prints the N
/// best with their scores as <c>translate</c> does. Every image is read before any is captioned, so a bad file stops
/// the command before it prints anything.
/// </summary>
internal static class CaptionCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "The captioning model file (.safetensors), e.g. from 'train --task shapes'." };
        var images = new Argument<string[]>("images") { Description = "PNG or JPEG files (resized to the model's image size).", Arity = ArgumentArity.OneOrMore };
        var beam = new Option<int>("--beam") { Description = "Beam width (1: greedy).", DefaultValueFactory = _ => 1 };
        var nbest = new Option<int>("--nbest") { Description = "Print the N best captions of the beam search (needs --beam K with K >= N), each as: image number, length-normalised score, caption.", DefaultValueFactory = _ => 1 };
        var maxLength = new Option<int>("--max-length") { Description = "Maximum caption tokens (0: twice the grid's positions plus 10)." };
        var command = new Command("caption", "Caption images with a trained captioning model: one line per image.") { model, images, beam, nbest, maxLength };
        command.SetAction(parsed => Execute(context, parsed.GetRequiredValue(model), parsed.GetValue(images) ?? [], parsed.GetValue(beam), parsed.GetValue(nbest), parsed.GetValue(maxLength)));
        return command;
    }

    internal static int Execute(CliContext context, string modelPath, string[] imagePaths, int beam, int nbest, int maxLength)
    {
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
        if (imagePaths.Length == 0)
        {
            throw new UsageException("give at least one image file.");
        }
        CaptionBundle bundle = CaptionBundle.Load(modelPath, maxBatch: Math.Max(CaptionModel.DefaultMaxBatch, beam));
        float[][] pixels = bundle.ReadImages(imagePaths);
        var options = new DecodingOptions { BeamWidth = beam, MaxLength = maxLength };
        if (nbest == 1)
        {
            foreach (GeneratedCaption caption in bundle.Model.Decode(pixels, options))
            {
                context.Out.WriteLine(caption.Text);
            }
            return ExitCodes.Success;
        }
        var culture = CultureInfo.InvariantCulture;
        for (int i = 0; i < pixels.Length; i++)
        {
            foreach (GeneratedCaption caption in bundle.Model.NBest(pixels[i], nbest, options))
            {
                context.Out.WriteLine(string.Create(culture, $"{i + 1}\t{caption.NormalizedScore:0.0000}\t{caption.Text}"));
            }
        }
        return ExitCodes.Success;
    }
}
