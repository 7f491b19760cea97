using System.Numerics;

namespace SpanAttention.Vision;

/// <summary>
/// Naive twins of the vision kernels: the formulas as plain nested loops, with no lowering, no GEMM and no SIMD,
/// generic in the number type so the tests run them in double (the finite-difference oracle) and the benchmarks
/// in float (the baseline). They check their arguments exactly as the fast kernels do.
/// </summary>
internal static class NaiveVision
{
    /// <summary>y[b, o, oh, ow] = bias[o] + Σ_{c,i,j} weight[o, c, i, j] · x[b, c, oh·s - p + i, ow·s - p + j] (0 outside).</summary>
    /// <param name="geometry">The convolution.</param>
    /// <param name="x">(B, C_in, H, W).</param>
    /// <param name="batch">B.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="weight">(C_out, C_in, k, k).</param>
    /// <param name="bias">(C_out).</param>
    /// <param name="y">(B, C_out, H_out, W_out). Overwritten.</param>
    public static void Conv2dForward<T>(Conv2dGeometry geometry, ReadOnlySpan<T> x, int batch, int height, int width,
        ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, Span<T> y)
        where T : INumber<T>
    {
        (int oh, int ow) = geometry.CheckForward(batch, height, width, x.Length, weight.Length, bias.Length, y.Length);
        int cIn = geometry.InChannels, cOut = geometry.OutChannels, k = geometry.KernelSize, s = geometry.Stride, p = geometry.Padding;
        for (int b = 0; b < batch; b++)
        {
            for (int o = 0; o < cOut; o++)
            {
                for (int r = 0; r < oh; r++)
                {
                    for (int q = 0; q < ow; q++)
                    {
                        T sum = bias[o];
                        for (int c = 0; c < cIn; c++)
                        {
                            for (int i = 0; i < k; i++)
                            {
                                for (int j = 0; j < k; j++)
                                {
                                    int ih = r * s - p + i, iw = q * s - p + j;
                                    if (ih >= 0 && ih < height && iw >= 0 && iw < width)
                                    {
                                        sum += weight[((o * cIn + c) * k + i) * k + j] * x[((b * cIn + c) * height + ih) * width + iw];
                                    }
                                }
                            }
                        }
                        y[((b * cOut + o) * oh + r) * ow + q] = sum;
                    }
                }
            }
        }
    }

    /// <summary>
    /// The backward of <see cref="Conv2dForward{T}"/>, each output's gradient scattered to what it was made from:
    /// dbias[o] += dy, dweight[o, c, i, j] += dy · x[...], dx[...] += dy · weight[o, c, i, j].
    /// </summary>
    /// <param name="geometry">The convolution.</param>
    /// <param name="dY">(B, C_out, H_out, W_out).</param>
    /// <param name="x">(B, C_in, H, W).</param>
    /// <param name="batch">B.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="weight">(C_out, C_in, k, k).</param>
    /// <param name="dX">(B, C_in, H, W). Accumulated; empty to skip.</param>
    /// <param name="dWeight">(C_out, C_in, k, k). Accumulated.</param>
    /// <param name="dBias">(C_out). Accumulated.</param>
    public static void Conv2dBackward<T>(Conv2dGeometry geometry, ReadOnlySpan<T> dY, ReadOnlySpan<T> x, int batch, int height, int width,
        ReadOnlySpan<T> weight, Span<T> dX, Span<T> dWeight, Span<T> dBias)
        where T : INumber<T>
    {
        (int oh, int ow) = geometry.CheckBackward(batch, height, width, dY.Length, x.Length, weight.Length, dX.Length, dWeight.Length, dBias.Length);
        int cIn = geometry.InChannels, cOut = geometry.OutChannels, k = geometry.KernelSize, s = geometry.Stride, p = geometry.Padding;
        for (int b = 0; b < batch; b++)
        {
            for (int o = 0; o < cOut; o++)
            {
                for (int r = 0; r < oh; r++)
                {
                    for (int q = 0; q < ow; q++)
                    {
                        T g = dY[((b * cOut + o) * oh + r) * ow + q];
                        dBias[o] += g;
                        for (int c = 0; c < cIn; c++)
                        {
                            for (int i = 0; i < k; i++)
                            {
                                for (int j = 0; j < k; j++)
                                {
                                    int ih = r * s - p + i, iw = q * s - p + j;
                                    if (ih >= 0 && ih < height && iw >= 0 && iw < width)
                                    {
                                        int wAt = ((o * cIn + c) * k + i) * k + j, xAt = ((b * cIn + c) * height + ih) * width + iw;
                                        dWeight[wAt] += g * x[xAt];
                                        if (!dX.IsEmpty)
                                        {
                                            dX[xAt] += g * weight[wAt];
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>2 x 2 stride-2 max pooling: y = the window's maximum (first of ties, NaN wins), indices = its flat ih·W + iw.</summary>
    /// <param name="x">(N, H, W).</param>
    /// <param name="planes">N.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="y">(N, H/2, W/2). Overwritten.</param>
    /// <param name="indices">(N, H/2, W/2). Overwritten.</param>
    public static void MaxPool2dForward<T>(ReadOnlySpan<T> x, int planes, int height, int width, Span<T> y, Span<int> indices)
        where T : INumber<T>
    {
        (int oh, int ow) = MaxPool2d.Check(planes, height, width, x.Length, nameof(x), y.Length, nameof(y), indices.Length);
        for (int n = 0; n < planes; n++)
        {
            for (int r = 0; r < oh; r++)
            {
                for (int q = 0; q < ow; q++)
                {
                    int best = -1;
                    for (int i = 0; i < 2; i++)
                    {
                        for (int j = 0; j < 2; j++)
                        {
                            int at = (2 * r + i) * width + 2 * q + j;
                            T v = x[n * height * width + at];
                            if (best < 0 || v > x[n * height * width + best] || T.IsNaN(v))
                            {
                                best = at;
                            }
                        }
                    }
                    y[(n * oh + r) * ow + q] = x[n * height * width + best];
                    indices[(n * oh + r) * ow + q] = best;
                }
            }
        }
    }

    /// <summary>dX += dY at each window's argmax.</summary>
    /// <param name="dY">(N, H/2, W/2).</param>
    /// <param name="indices">(N, H/2, W/2) from the forward.</param>
    /// <param name="planes">N.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="dX">(N, H, W). Accumulated.</param>
    public static void MaxPool2dBackward<T>(ReadOnlySpan<T> dY, ReadOnlySpan<int> indices, int planes, int height, int width, Span<T> dX)
        where T : INumber<T>
    {
        MaxPool2d.Check(planes, height, width, dX.Length, nameof(dX), dY.Length, nameof(dY), indices.Length);
        int outputs = dY.Length / Math.Max(planes, 1);
        for (int o = 0; o < dY.Length; o++)
        {
            dX[o / outputs * height * width + indices[o]] += dY[o];
        }
    }

    /// <summary>Adaptive average pooling: y[n, i, j] = mean of x[n, floor(i·H/H')..ceil((i+1)·H/H'), floor(j·W/W')..ceil((j+1)·W/W')].</summary>
    /// <param name="x">(N, H, W).</param>
    /// <param name="planes">N.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="outHeight">H'.</param>
    /// <param name="outWidth">W'.</param>
    /// <param name="y">(N, H', W'). Overwritten.</param>
    public static void AdaptiveAvgPool2dForward<T>(ReadOnlySpan<T> x, int planes, int height, int width, int outHeight, int outWidth, Span<T> y)
        where T : INumber<T>
    {
        AdaptiveAvgPool2d.Check(planes, height, width, outHeight, outWidth, x.Length, nameof(x), y.Length, nameof(y));
        for (int n = 0; n < planes; n++)
        {
            for (int i = 0; i < outHeight; i++)
            {
                for (int j = 0; j < outWidth; j++)
                {
                    (int h0, int h1, int w0, int w1) = Cell(i, j, height, width, outHeight, outWidth);
                    T sum = T.Zero;
                    for (int h = h0; h < h1; h++)
                    {
                        for (int w = w0; w < w1; w++)
                        {
                            sum += x[(n * height + h) * width + w];
                        }
                    }
                    y[(n * outHeight + i) * outWidth + j] = sum / T.CreateChecked((h1 - h0) * (w1 - w0));
                }
            }
        }
    }

    /// <summary>dX += dY / |cell| over every cell's window.</summary>
    /// <param name="dY">(N, H', W').</param>
    /// <param name="planes">N.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="outHeight">H'.</param>
    /// <param name="outWidth">W'.</param>
    /// <param name="dX">(N, H, W). Accumulated.</param>
    public static void AdaptiveAvgPool2dBackward<T>(ReadOnlySpan<T> dY, int planes, int height, int width, int outHeight, int outWidth, Span<T> dX)
        where T : INumber<T>
    {
        AdaptiveAvgPool2d.Check(planes, height, width, outHeight, outWidth, dX.Length, nameof(dX), dY.Length, nameof(dY));
        for (int n = 0; n < planes; n++)
        {
            for (int i = 0; i < outHeight; i++)
            {
                for (int j = 0; j < outWidth; j++)
                {
                    (int h0, int h1, int w0, int w1) = Cell(i, j, height, width, outHeight, outWidth);
                    T share = dY[(n * outHeight + i) * outWidth + j] / T.CreateChecked((h1 - h0) * (w1 - w0));
                    for (int h = h0; h < h1; h++)
                    {
                        for (int w = w0; w < w1; w++)
                        {
                            dX[(n * height + h) * width + w] += share;
                        }
                    }
                }
            }
        }
    }

    /// <summary>The window of cell (i, j), written with Floor and Ceiling as in PyTorch's definition.</summary>
    private static (int H0, int H1, int W0, int W1) Cell(int i, int j, int height, int width, int outHeight, int outWidth) =>
        ((int)Math.Floor(i * (double)height / outHeight), (int)Math.Ceiling((i + 1) * (double)height / outHeight),
         (int)Math.Floor(j * (double)width / outWidth), (int)Math.Ceiling((j + 1) * (double)width / outWidth));
}
