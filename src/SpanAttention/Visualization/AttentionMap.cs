namespace SpanAttention.Visualization;

/// <summary>
/// One word's attention over the encoder's (gh, gw) grid turned into a map over the image's pixels, as Show, Attend and
/// Tell draws it: bilinear upsampling to (H, W), then Gaussian smoothing.
/// </summary>
/// <remarks>
/// <para>Upsampling follows PyTorch's <c>F.interpolate(mode='bilinear', align_corners=False)</c>: output pixel y
/// samples the grid at <c>sy = max((y + 0.5) · gh / H − 0.5, 0)</c>, between rows <c>y0 = floor(sy)</c> and
/// <c>min(y0 + 1, gh − 1)</c> with weight <c>sy − y0</c> on the second; the same along x. A cell's value is thus
/// the map's value at the cell's centre, and the map is flat within half a cell of the image border.</para>
/// <para>Smoothing is a separable Gaussian, <c>g(k) ∝ exp(−k² / 2σ²)</c> for |k| ≤ ceil(3σ), normalised to sum 1, with
/// edge pixels repeated beyond the border (so a constant map stays constant). <see cref="DefaultSigma"/> is a third of a
/// cell, as the common PyTorch tutorial's <c>pyramid_expand(upscale=24, sigma=8)</c>: it rounds the bilinear ridges
/// without spreading one cell's weight over its neighbours.</para>
/// </remarks>
internal static class AttentionMap
{
    /// <summary>The smoothing width of one axis: a third of a grid cell, in pixels.</summary>
    /// <param name="pixels">H or W.</param>
    /// <param name="cells">gh or gw.</param>
    /// <returns>(pixels / cells) / 3.</returns>
    public static double DefaultSigma(int pixels, int cells) => pixels / (double)cells / 3.0;

    /// <summary>Bilinear upsampling (align_corners = false) of a (gh, gw) grid to (H, W).</summary>
    /// <param name="grid">(gh, gw) row-major.</param>
    /// <param name="gridHeight">gh ≥ 1.</param>
    /// <param name="gridWidth">gw ≥ 1.</param>
    /// <param name="height">H ≥ 1.</param>
    /// <param name="width">W ≥ 1.</param>
    /// <param name="map">(H, W) row-major; overwritten.</param>
    public static void Upsample(ReadOnlySpan<float> grid, int gridHeight, int gridWidth, int height, int width, Span<float> map)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gridHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(gridWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (grid.Length != gridHeight * gridWidth || map.Length != height * width)
        {
            throw new ArgumentException($"grid has {grid.Length} values for {gridHeight} x {gridWidth}, map {map.Length} for {height} x {width}.");
        }
        for (int y = 0; y < height; y++)
        {
            (int y0, int y1, float ly) = Source(y, height, gridHeight);
            for (int x = 0; x < width; x++)
            {
                (int x0, int x1, float lx) = Source(x, width, gridWidth);
                float top = ((1 - lx) * grid[(y0 * gridWidth) + x0]) + (lx * grid[(y0 * gridWidth) + x1]);
                float bottom = ((1 - lx) * grid[(y1 * gridWidth) + x0]) + (lx * grid[(y1 * gridWidth) + x1]);
                map[(y * width) + x] = ((1 - ly) * top) + (ly * bottom);
            }
        }
    }

    /// <summary>The two source indices and the weight of the second for output index <paramref name="o"/>.</summary>
    internal static (int I0, int I1, float Lambda) Source(int o, int outSize, int inSize)
    {
        float s = MathF.Max(((o + 0.5f) * inSize / outSize) - 0.5f, 0f);
        int i0 = Math.Min((int)s, inSize - 1);
        int i1 = Math.Min(i0 + 1, inSize - 1);
        return (i0, i1, s - i0);
    }

    /// <summary>The normalised Gaussian taps g(−r..r), r = ceil(3σ); σ ≤ 0 gives the single tap 1.</summary>
    /// <param name="sigma">σ in pixels.</param>
    /// <returns>2r + 1 taps summing to 1.</returns>
    public static float[] GaussianTaps(double sigma)
    {
        if (!(sigma > 0))
        {
            return [1f];
        }
        int r = (int)Math.Ceiling(3 * sigma);
        var taps = new double[(2 * r) + 1];
        double sum = 0;
        for (int k = -r; k <= r; k++)
        {
            taps[k + r] = Math.Exp(-(k * k) / (2 * sigma * sigma));
            sum += taps[k + r];
        }
        var result = new float[taps.Length];
        for (int i = 0; i < taps.Length; i++)
        {
            result[i] = (float)(taps[i] / sum);
        }
        return result;
    }

    /// <summary>Separable Gaussian smoothing of an (H, W) map in place, edge pixels repeated past the border.</summary>
    /// <param name="map">(H, W) row-major; overwritten with the smoothed map.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="sigmaY">σ along y, pixels (0: none).</param>
    /// <param name="sigmaX">σ along x, pixels (0: none).</param>
    public static void Smooth(Span<float> map, int height, int width, double sigmaY, double sigmaX)
    {
        if (map.Length != height * width)
        {
            throw new ArgumentException($"map has {map.Length} values for {height} x {width}.", nameof(map));
        }
        float[] tx = GaussianTaps(sigmaX), ty = GaussianTaps(sigmaY);
        var line = new float[Math.Max(height, width)];
        for (int y = 0; y < height; y++)
        {
            Span<float> row = map.Slice(y * width, width);
            row.CopyTo(line);
            Convolve(line.AsSpan(0, width), tx, row, 1);
        }
        for (int x = 0; x < width; x++)
        {
            for (int y = 0; y < height; y++)
            {
                line[y] = map[(y * width) + x];
            }
            Convolve(line.AsSpan(0, height), ty, map[x..], width);
        }
    }

    /// <summary>output[i · stride] = Σ_k taps[k + r] · input[clamp(i + k, 0, n − 1)].</summary>
    private static void Convolve(ReadOnlySpan<float> input, float[] taps, Span<float> output, int stride)
    {
        int n = input.Length, r = taps.Length / 2;
        for (int i = 0; i < n; i++)
        {
            float sum = 0;
            for (int k = -r; k <= r; k++)
            {
                sum += taps[k + r] * input[Math.Clamp(i + k, 0, n - 1)];
            }
            output[i * stride] = sum;
        }
    }

    /// <summary>One word's map: upsampled, smoothed with <see cref="DefaultSigma"/> on each axis.</summary>
    /// <param name="grid">(gh, gw) row-major.</param>
    /// <param name="gridHeight">gh.</param>
    /// <param name="gridWidth">gw.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <returns>(H, W) row-major.</returns>
    public static float[] ForImage(ReadOnlySpan<float> grid, int gridHeight, int gridWidth, int height, int width)
    {
        var map = new float[height * width];
        Upsample(grid, gridHeight, gridWidth, height, width, map);
        Smooth(map, height, width, DefaultSigma(height, gridHeight), DefaultSigma(width, gridWidth));
        return map;
    }
}
