namespace SpanAttention.Cli.Images;

/// <summary>
/// Resizes planar (C, H, W) images to the model's size, one axis after the other: an axis that shrinks averages the
/// source pixels each output pixel covers (weighted by how much of each it covers), an axis that grows interpolates
/// linearly (PyTorch's <c>align_corners=False</c> convention: output pixel o samples the source at
/// <c>max((o + 0.5) · in / out − 0.5, 0)</c>).
/// </summary>
/// <remarks>Averaging when shrinking keeps thin strokes and fine texture from aliasing away (plain bilinear sampling of a
/// 640-pixel photo at 64 pixels reads one source pixel in ten); an axis of the same size is copied unchanged.</remarks>
internal static class ImageResize
{
    /// <summary>The resized image.</summary>
    /// <param name="pixels">(C, H, W) row-major.</param>
    /// <param name="channels">C.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="outHeight">H'.</param>
    /// <param name="outWidth">W'.</param>
    /// <returns>(C, H', W') row-major.</returns>
    public static float[] Resize(ReadOnlySpan<float> pixels, int channels, int height, int width, int outHeight, int outWidth)
    {
        if (pixels.Length != (long)channels * height * width)
        {
            throw new ArgumentException($"The image has {pixels.Length} values; (C, H, W) = ({channels}, {height}, {width}) needs {(long)channels * height * width}.", nameof(pixels));
        }
        (int Index, float Weight)[][] rows = Taps(height, outHeight), columns = Taps(width, outWidth);
        var wide = new float[channels * height * outWidth]; // (C, H, W'): columns resized first
        for (int c = 0; c < channels; c++)
        {
            for (int y = 0; y < height; y++)
            {
                ReadOnlySpan<float> source = pixels.Slice(((c * height) + y) * width, width);
                for (int x = 0; x < outWidth; x++)
                {
                    float sum = 0;
                    foreach ((int index, float weight) in columns[x])
                    {
                        sum += weight * source[index];
                    }
                    wide[(((c * height) + y) * outWidth) + x] = sum;
                }
            }
        }
        var result = new float[channels * outHeight * outWidth]; // (C, H', W')
        for (int c = 0; c < channels; c++)
        {
            for (int y = 0; y < outHeight; y++)
            {
                for (int x = 0; x < outWidth; x++)
                {
                    float sum = 0;
                    foreach ((int index, float weight) in rows[y])
                    {
                        sum += weight * wide[(((c * height) + index) * outWidth) + x];
                    }
                    result[(((c * outHeight) + y) * outWidth) + x] = sum;
                }
            }
        }
        return result;
    }

    /// <summary>Per output index, the source indices and weights (summing to 1) along one axis.</summary>
    internal static (int Index, float Weight)[][] Taps(int inSize, int outSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outSize, 1);
        var taps = new (int, float)[outSize][];
        for (int o = 0; o < outSize; o++)
        {
            if (outSize == inSize)
            {
                taps[o] = [(o, 1f)];
            }
            else if (outSize > inSize)
            {
                double s = Math.Max(((o + 0.5) * inSize / outSize) - 0.5, 0);
                int i0 = Math.Min((int)s, inSize - 1), i1 = Math.Min(i0 + 1, inSize - 1);
                float lambda = (float)(s - i0);
                taps[o] = i1 == i0 || lambda == 0 ? [(i0, 1f)] : [(i0, 1 - lambda), (i1, lambda)];
            }
            else
            {
                // Output o covers [o·in/out, (o+1)·in/out) of the source; in units of 1/out pixel, [o·in, (o+1)·in).
                long start = (long)o * inSize, end = (long)(o + 1) * inSize;
                var list = new List<(int, float)>();
                for (long i = start / outSize; i * outSize < end; i++)
                {
                    long overlap = Math.Min(end, (i + 1) * outSize) - Math.Max(start, i * outSize);
                    if (overlap > 0)
                    {
                        list.Add(((int)i, (float)((double)overlap / inSize)));
                    }
                }
                taps[o] = [.. list];
            }
        }
        return taps;
    }
}
