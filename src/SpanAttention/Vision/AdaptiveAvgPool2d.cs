using SpanAttention.Kernels;

namespace SpanAttention.Vision;

/// <summary>
/// Adaptive average pooling of NCHW feature maps to a fixed (H', W') grid, <c>nn.AdaptiveAvgPool2d((H', W'))</c>:
/// output cell (i, j) is the mean of input rows [floor(i·H/H'), ceil((i+1)·H/H')) and columns
/// [floor(j·W/W'), ceil((j+1)·W/W')).
/// </summary>
/// <remarks>
/// The cells cover the input and may overlap by one row or column when H' does not divide H (PyTorch's rule,
/// kept exactly so that features pooled here and in PyTorch agree); H' &gt; H is allowed (cells repeat input
/// rows). Spans are (N, H, W) with N = B·C planes. Scalar code (short, irregular windows): no SIMD.
/// </remarks>
internal static class AdaptiveAvgPool2d
{
    /// <summary>First input index of output cell <paramref name="i"/> of <paramref name="cells"/> over <paramref name="size"/>: floor(i·size/cells).</summary>
    public static int Start(int i, int size, int cells) => (int)((long)i * size / cells);

    /// <summary>One past the last input index: ceil((i+1)·size/cells).</summary>
    public static int End(int i, int size, int cells) => (int)(((long)(i + 1) * size + cells - 1) / cells);

    /// <summary>y = the mean of each cell's window.</summary>
    /// <param name="x">Input: (N, H, W).</param>
    /// <param name="planes">N = B·C.</param>
    /// <param name="height">H ≥ 1.</param>
    /// <param name="width">W ≥ 1.</param>
    /// <param name="outHeight">H' ≥ 1.</param>
    /// <param name="outWidth">W' ≥ 1.</param>
    /// <param name="y">Output: (N, H', W'). Overwritten.</param>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    public static void Forward(ReadOnlySpan<float> x, int planes, int height, int width, int outHeight, int outWidth, Span<float> y)
    {
        Check(planes, height, width, outHeight, outWidth, x.Length, nameof(x), y.Length, nameof(y));
        int plane = height * width;
        for (int n = 0; n < planes; n++)
        {
            ReadOnlySpan<float> xn = x.Slice(n * plane, plane);
            Span<float> yn = y.Slice(n * outHeight * outWidth, outHeight * outWidth);
            for (int i = 0; i < outHeight; i++)
            {
                int h0 = Start(i, height, outHeight), h1 = End(i, height, outHeight);
                for (int j = 0; j < outWidth; j++)
                {
                    int w0 = Start(j, width, outWidth), w1 = End(j, width, outWidth);
                    float sum = 0f;
                    for (int h = h0; h < h1; h++)
                    {
                        ReadOnlySpan<float> row = xn.Slice(h * width + w0, w1 - w0);
                        for (int w = 0; w < row.Length; w++)
                        {
                            sum += row[w];
                        }
                    }
                    yn[i * outWidth + j] = sum / ((h1 - h0) * (w1 - w0));
                }
            }
        }
    }

    /// <summary>dX[window] += dY / |window| for every cell.</summary>
    /// <param name="dY">Upstream gradient: (N, H', W').</param>
    /// <param name="planes">N.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="outHeight">H'.</param>
    /// <param name="outWidth">W'.</param>
    /// <param name="dX">(N, H, W). Accumulated.</param>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    public static void Backward(ReadOnlySpan<float> dY, int planes, int height, int width, int outHeight, int outWidth, Span<float> dX)
    {
        Check(planes, height, width, outHeight, outWidth, dX.Length, nameof(dX), dY.Length, nameof(dY));
        int plane = height * width;
        for (int n = 0; n < planes; n++)
        {
            Span<float> dXn = dX.Slice(n * plane, plane);
            ReadOnlySpan<float> dYn = dY.Slice(n * outHeight * outWidth, outHeight * outWidth);
            for (int i = 0; i < outHeight; i++)
            {
                int h0 = Start(i, height, outHeight), h1 = End(i, height, outHeight);
                for (int j = 0; j < outWidth; j++)
                {
                    int w0 = Start(j, width, outWidth), w1 = End(j, width, outWidth);
                    float share = dYn[i * outWidth + j] / ((h1 - h0) * (w1 - w0));  // y = Σ x / count
                    for (int h = h0; h < h1; h++)
                    {
                        Span<float> row = dXn.Slice(h * width + w0, w1 - w0);
                        for (int w = 0; w < row.Length; w++)
                        {
                            row[w] += share;
                        }
                    }
                }
            }
        }
    }

    /// <summary>Checks (N, H, W) against (N, H', W') spans; shared with the naive twin.</summary>
    internal static void Check(int planes, int height, int width, int outHeight, int outWidth, int input, string inputName, int output, string outputName)
    {
        Guard.NonNegative(planes, nameof(planes));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outHeight);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outWidth);
        Guard.SameLength(input, checked(planes * height * width), inputName);
        Guard.SameLength(output, checked(planes * outHeight * outWidth), outputName);
    }
}
