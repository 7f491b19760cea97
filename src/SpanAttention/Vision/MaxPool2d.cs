using SpanAttention.Kernels;

namespace SpanAttention.Vision;

/// <summary>
/// 2 x 2 max pooling with stride 2 over NCHW feature maps, <c>nn.MaxPool2d(2)</c> (no padding, floor mode: an odd
/// last row or column is dropped), with the argmax indices PyTorch returns for <c>return_indices=True</c>.
/// </summary>
/// <remarks>
/// Pooling treats the B·C planes alike, so the spans are (N, H, W) with N = B·C planes. Forward keeps, per output,
/// the flat index ih·W + iw of the winner within its input plane; backward routes each upstream gradient to that
/// one input. The window is scanned row by row and a later value wins only if it is strictly larger or NaN
/// (PyTorch's CPU rule), so ties go to the first and a NaN propagates. Scalar code: four loads per output, no SIMD.
/// </remarks>
internal static class MaxPool2d
{
    /// <summary>Output size along one axis: floor(size / 2).</summary>
    public static int OutputSize(int size) => size / 2;

    /// <summary>y = max over each 2 x 2 window; indices = where each maximum was.</summary>
    /// <param name="x">Input: (N, H, W).</param>
    /// <param name="planes">N = B·C.</param>
    /// <param name="height">H ≥ 2.</param>
    /// <param name="width">W ≥ 2.</param>
    /// <param name="y">Output: (N, H/2, W/2). Overwritten.</param>
    /// <param name="indices">Argmax: (N, H/2, W/2), flat ih·W + iw within the plane. Overwritten.</param>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is out of range.</exception>
    public static void Forward(ReadOnlySpan<float> x, int planes, int height, int width, Span<float> y, Span<int> indices)
    {
        (int oh, int ow) = Check(planes, height, width, x.Length, nameof(x), y.Length, nameof(y), indices.Length);
        int plane = height * width;
        for (int n = 0; n < planes; n++)
        {
            ReadOnlySpan<float> xn = x.Slice(n * plane, plane);
            int o = n * oh * ow;
            for (int i = 0; i < oh; i++)
            {
                int top = 2 * i * width;
                for (int j = 0; j < ow; j++, o++)
                {
                    int at = top + 2 * j;
                    int best = at;
                    best = Wins(xn[at + 1], xn[best]) ? at + 1 : best;
                    best = Wins(xn[at + width], xn[best]) ? at + width : best;
                    best = Wins(xn[at + width + 1], xn[best]) ? at + width + 1 : best;
                    y[o] = xn[best];
                    indices[o] = best;
                }
            }
        }
    }

    /// <summary>dX[argmax] += dY: each upstream gradient goes to the input that won its window.</summary>
    /// <param name="dY">Upstream gradient: (N, H/2, W/2).</param>
    /// <param name="indices">The forward's argmax: (N, H/2, W/2).</param>
    /// <param name="planes">N.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="dX">(N, H, W). Accumulated.</param>
    /// <exception cref="ArgumentException">A span has the wrong length, or an index is outside its plane.</exception>
    public static void Backward(ReadOnlySpan<float> dY, ReadOnlySpan<int> indices, int planes, int height, int width, Span<float> dX)
    {
        (int oh, int ow) = Check(planes, height, width, dX.Length, nameof(dX), dY.Length, nameof(dY), indices.Length);
        int plane = height * width, outputs = oh * ow;
        for (int n = 0; n < planes; n++)
        {
            Span<float> dXn = dX.Slice(n * plane, plane);
            for (int o = n * outputs; o < (n + 1) * outputs; o++)
            {
                int at = indices[o];
                if ((uint)at >= (uint)plane)
                {
                    throw new ArgumentException($"{nameof(indices)}: entry {o} is {at}, outside a {height} x {width} plane.", nameof(indices));
                }
                dXn[at] += dY[o];
            }
        }
    }

    /// <summary>Whether a candidate replaces the current maximum: strictly larger, or NaN.</summary>
    private static bool Wins(float candidate, float current) => candidate > current || float.IsNaN(candidate);

    /// <summary>Checks (N, H, W) against (N, H/2, W/2) spans; shared with the naive twin.</summary>
    internal static (int OutHeight, int OutWidth) Check(int planes, int height, int width, int input, string inputName, int output, string outputName, int indices)
    {
        Guard.NonNegative(planes, nameof(planes));
        if (height < 2 || width < 2)
        {
            throw new ArgumentOutOfRangeException(height < 2 ? nameof(height) : nameof(width), $"2 x 2 max pooling needs at least a 2 x 2 input, got {height} x {width}.");
        }
        int oh = height / 2, ow = width / 2;
        Guard.SameLength(input, checked(planes * height * width), inputName);
        Guard.SameLength(output, checked(planes * oh * ow), outputName);
        Guard.SameLength(indices, planes * oh * ow, nameof(indices));
        return (oh, ow);
    }
}
