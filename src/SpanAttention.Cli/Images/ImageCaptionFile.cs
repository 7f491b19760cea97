namespace SpanAttention.Cli.Images;

/// <summary>One image of a caption TSV, read and resized, with its caption.</summary>
/// <param name="Path">The image file, resolved against the TSV's folder.</param>
/// <param name="Line">The TSV line, 1-based.</param>
/// <param name="Pixels">(C, H, W) floats in [0, 1] at the model's size.</param>
/// <param name="Words">The caption split at white space.</param>
internal sealed record CaptionedImage(string Path, int Line, float[] Pixels, string[] Words);

/// <summary>
/// A user's captioning data: a UTF-8 TSV whose every line is <c>image_path&lt;TAB&gt;caption</c>, the image a PNG or
/// JPEG file (a relative path is resolved against the TSV's own folder, so a dataset folder can move as a whole), the
/// caption words separated by spaces. Blank lines are skipped.
/// </summary>
/// <remarks>Each bad line stops the load with one <see cref="ImageInputException"/> naming the TSV, the line and what
/// is wrong: no tab, more than one tab, an empty path or caption, or the image's own problem (see
/// <see cref="ImageFiles.Load"/>).</remarks>
internal static class ImageCaptionFile
{
    /// <summary>Reads every line of the TSV and its image.</summary>
    /// <param name="tsvPath">The TSV file.</param>
    /// <param name="shape">What the model reads (images are resized to it).</param>
    /// <returns>The images with their captions, in file order.</returns>
    /// <exception cref="ImageInputException">The TSV or one of its images is unusable.</exception>
    public static IReadOnlyList<CaptionedImage> Load(string tsvPath, ImageShape shape)
    {
        if (!File.Exists(tsvPath))
        {
            throw new ImageInputException(Directory.Exists(tsvPath) ? $"image TSV '{tsvPath}' is a folder, not a file." : $"image TSV '{tsvPath}' does not exist.");
        }
        string folder = Path.GetDirectoryName(Path.GetFullPath(tsvPath)) ?? ".";
        var result = new List<CaptionedImage>();
        int number = 0;
        foreach (string raw in File.ReadLines(tsvPath))
        {
            number++;
            string line = number == 1 ? raw.TrimStart('\uFEFF') : raw;
            if (line.Trim().Length == 0)
            {
                continue;
            }
            string at = $"{tsvPath} line {number}";
            string[] fields = line.Split('\t');
            if (fields.Length == 1)
            {
                throw new ImageInputException($"{at}: no tab; every line is image_path<TAB>caption.");
            }
            if (fields.Length > 2)
            {
                throw new ImageInputException($"{at}: {fields.Length - 1} tabs; every line is image_path<TAB>caption, with one tab.");
            }
            string imagePath = fields[0].Trim();
            if (imagePath.Length == 0)
            {
                throw new ImageInputException($"{at}: the image path is empty.");
            }
            string[] words = fields[1].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0)
            {
                throw new ImageInputException($"{at}: the caption is empty.");
            }
            string resolved = Path.GetFullPath(imagePath, folder);
            float[] pixels = ImageFiles.Load(resolved, shape, $"{at}: image '{imagePath}'");
            result.Add(new CaptionedImage(resolved, number, pixels, words));
        }
        if (result.Count == 0)
        {
            throw new ImageInputException($"image TSV '{tsvPath}' has no lines: nothing to read.");
        }
        return result;
    }
}
