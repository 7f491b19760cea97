using System.Globalization;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Cli.Commands;

/// <summary>
/// The summary <c>info</c> prints first for a captioning model: the encoder (kind, conv channels, grid), the decoder,
/// the image preprocessing the file records, the parameter count and the training task.
/// </summary>
internal static class InfoCaptioning
{
    /// <summary>The summary lines, or null when the metadata is not a captioning model's (or holds no readable configuration).</summary>
    /// <param name="metadata">The file's <c>__metadata__</c>.</param>
    /// <param name="parameters">The file's parameter count.</param>
    public static IReadOnlyList<string>? Describe(IReadOnlyDictionary<string, string> metadata, long parameters)
    {
        Seq2SeqConfig c;
        try
        {
            if (!metadata.TryGetValue(Seq2SeqModelFile.ConfigKey, out string? json))
            {
                return null;
            }
            c = Seq2SeqConfig.FromJson(json);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or System.Text.Json.JsonException)
        {
            return null;
        }
        if (c.Encoder is not (EncoderKind.Image or EncoderKind.Features))
        {
            return null;
        }
        var culture = CultureInfo.InvariantCulture;
        var lines = new List<string>();
        if (c.Encoder == EncoderKind.Image)
        {
            lines.Add(string.Create(culture,
                $"captioning model: image encoder, CNN conv {string.Join("-", c.ConvChannels)} (each block conv 3x3 + ReLU + 2x2 max pooling), grid {c.GridHeight}x{c.GridWidth} (L = {c.GridHeight * c.GridWidth} positions of {c.EncoderOutputSize} features)"));
            string channels = c.ImageChannels switch { 3 => "RGB", 1 => "grey", _ => $"{c.ImageChannels} channels" };
            string mean = c.PixelMean.Count == 0 ? "0" : string.Join(", ", c.PixelMean.Select(v => v.ToString(culture)));
            string std = c.PixelStd.Count == 0 ? "1" : string.Join(", ", c.PixelStd.Select(v => v.ToString(culture)));
            lines.Add($"preprocessing: {c.ImageChannels} x {c.ImageHeight} x {c.ImageWidth} {channels} pixels in [0, 1] (images are resized to it), normalised (x - mean) / std with mean {mean}, std {std}");
        }
        else
        {
            lines.Add(string.Create(culture, $"captioning model: feature-grid encoder (precomputed grids of F = {c.FeatureSize} features per position)"));
        }
        string attention = c.Decoder == DecoderStyle.None ? "no attention (the mean feature as a fixed context)" : $"{c.Decoder}/{c.Scorer} attention";
        lines.Add(string.Create(culture,
            $"decoder: {c.Cell} E={c.EmbeddingSize} H={c.HiddenSize}, {attention}{(c.ContextGate ? ", context gate" : "")}{(c.AttentionRegularization > 0 ? $", attention-reg {c.AttentionRegularization}" : "")}; vocabulary {c.TargetVocabSize} tokens"));
        lines.Add(string.Create(culture, $"parameters: {parameters:N0}"));
        if (TaskSpec.FromMetadata(metadata) is { Task: string name } spec)
        {
            lines.Add(string.Create(culture, $"trained on: {name} (seed {spec.Seed}{(spec.Count > 0 ? $", count {spec.Count}" : "")})"));
        }
        return lines;
    }
}
