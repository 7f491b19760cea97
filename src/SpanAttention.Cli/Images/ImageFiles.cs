using StbImageSharp;

namespace SpanAttention.Cli.Images;

/// <summary>What a model reads: C channels (1 grey, 3 RGB) of H x W pixels.</summary>
/// <param name="Channels">C.</param>
/// <param name="Height">H.</param>
/// <param name="Width">W.</param>
internal readonly record struct ImageShape(int Channels, int Height, int Width);

/// <summary>
/// Reads PNG and JPEG files (through StbImageSharp) into the planar (C, H, W) floats in [0, 1] that captioning models
/// take, resized to the model's size (<see cref="ImageResize"/>).
/// </summary>
/// <remarks>
/// <para>Channels must fit the model: an RGB model takes RGB images, a grey model grey ones; an image with an alpha
/// channel is taken when every pixel is opaque (its alpha is dropped) and refused otherwise, since what lies under a
/// transparent pixel is arbitrary. Nothing is converted silently between grey and colour: the message says how the
/// image differs, so a dataset with a few grey photos fails on the first one instead of training on mixed data.</para>
/// <para>The header is read first: a file whose sides exceed <see cref="MaxSide"/> is refused before any pixel is
/// decoded.</para>
/// </remarks>
internal static class ImageFiles
{
    /// <summary>Largest image side read, pixels.</summary>
    public const int MaxSide = 16384;

    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Reads one image file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="shape">What the model reads.</param>
    /// <param name="where">How messages name the image (e.g. "images.tsv line 4: image 'a.png'"); null: the path.</param>
    /// <returns>(C, H, W) floats in [0, 1] at the model's size.</returns>
    /// <exception cref="ImageInputException">The file is missing, not a PNG or JPEG, corrupt, too large, or of the wrong channels.</exception>
    public static float[] Load(string path, ImageShape shape, string? where = null)
    {
        where ??= $"image '{path}'";
        if (Directory.Exists(path))
        {
            throw new ImageInputException($"{where}: is a folder, not an image file.");
        }
        if (!File.Exists(path))
        {
            throw new ImageInputException($"{where}: the file does not exist.");
        }
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageInputException($"{where}: cannot be read: {e.Message}", e);
        }
        string format = Format(bytes) ?? throw new ImageInputException($"{where}: not an image (neither a PNG nor a JPEG file; it starts with {Start(bytes)}).");

        ImageInfo? info;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            info = ImageInfo.FromStream(stream);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ImageInputException($"{where}: corrupt {format} ({e.Message}).", e);
        }
        if (info is not ImageInfo header || header.Width < 1 || header.Height < 1)
        {
            throw new ImageInputException($"{where}: corrupt {format} (its header cannot be read).");
        }
        if (header.Width > MaxSide || header.Height > MaxSide)
        {
            throw new ImageInputException($"{where}: {header.Width} x {header.Height} pixels is too large (at most {MaxSide} per side).");
        }
        bool grey = header.ColorComponents is ColorComponents.Grey or ColorComponents.GreyAlpha;
        bool alpha = header.ColorComponents is ColorComponents.GreyAlpha or ColorComponents.RedGreenBlueAlpha;
        if (shape.Channels == 3 && grey)
        {
            throw new ImageInputException($"{where}: wrong channels: the image is grey; the model reads RGB (3 channels).");
        }
        if (shape.Channels == 1 && !grey)
        {
            throw new ImageInputException($"{where}: wrong channels: the image is colour ({Describe(header.ColorComponents)}); the model reads grey (1 channel).");
        }

        ImageResult image;
        try
        {
            image = ImageResult.FromMemory(bytes, alpha ? (grey ? ColorComponents.GreyAlpha : ColorComponents.RedGreenBlueAlpha) : (grey ? ColorComponents.Grey : ColorComponents.RedGreenBlue));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ImageInputException($"{where}: corrupt {format} ({e.Message}).", e);
        }
        if (image?.Data is null || image.Width != header.Width || image.Height != header.Height)
        {
            throw new ImageInputException($"{where}: corrupt {format} (the pixels cannot be decoded).");
        }

        int stored = alpha ? shape.Channels + 1 : shape.Channels, plane = image.Width * image.Height;
        if (image.Data.Length < (long)plane * stored)
        {
            throw new ImageInputException($"{where}: corrupt {format} (the pixel data is short).");
        }
        var planar = new float[shape.Channels * plane];
        for (int p = 0; p < plane; p++)
        {
            if (alpha && image.Data[(p * stored) + shape.Channels] != 255)
            {
                throw new ImageInputException($"{where}: has transparent pixels (pixel ({p % image.Width}, {p / image.Width}) has alpha {image.Data[(p * stored) + shape.Channels]}); flatten it onto a background first.");
            }
            for (int c = 0; c < shape.Channels; c++)
            {
                planar[(c * plane) + p] = image.Data[(p * stored) + c] / 255f;
            }
        }
        return image.Width == shape.Width && image.Height == shape.Height
            ? planar
            : ImageResize.Resize(planar, shape.Channels, image.Height, image.Width, shape.Height, shape.Width);
    }

    /// <summary>"PNG", "JPEG" or null, from the file's first bytes.</summary>
    internal static string? Format(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith(PngSignature))
        {
            return "PNG";
        }
        return bytes.Length >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF ? "JPEG" : null;
    }

    private static string Start(ReadOnlySpan<byte> bytes) =>
        bytes.Length == 0 ? "nothing: the file is empty" : "bytes " + Convert.ToHexString(bytes[..Math.Min(8, bytes.Length)]);

    private static string Describe(ColorComponents components) => components switch
    {
        ColorComponents.RedGreenBlue => "RGB",
        ColorComponents.RedGreenBlueAlpha => "RGBA",
        _ => components.ToString(),
    };
}
