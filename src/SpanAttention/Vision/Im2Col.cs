using System.Numerics.Tensors;

namespace SpanAttention.Vision;

/// <summary>
/// Lowering of one image for the convolution GEMM (im2col) and its adjoint (col2im).
/// </summary>
/// <remarks>
/// The columns matrix of one image x (C_in, H, W) is (C_in·k·k, H_out·W_out): row r = (c·k + i)·k + j holds,
/// for every output position (oh, ow), the input value x[c, oh·s - p + i, ow·s - p + j], or 0 where that falls in
/// the padding. Row r is exactly the weight's column r in PyTorch's (C_out, C_in, k, k) layout, so the
/// convolution is Y (C_out, H_out·W_out) = W (C_out, C_in·k·k) · columns.
/// Along a row of the output, the valid ow are one contiguous range [lo, hi) per (j, s, p, W), computed once;
/// with stride 1 the valid part is a plain copy (vectorised by the runtime), with stride 2 a strided scalar
/// gather. col2im is the transpose: it adds every column entry back onto the input position it was copied from
/// (stride 1 through <see cref="TensorPrimitives.Add(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>).
/// </remarks>
internal static class Im2Col
{
    /// <summary>columns = im2col(x) for one image.</summary>
    /// <param name="geometry">The convolution.</param>
    /// <param name="x">One image: (C_in, H, W).</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="outHeight">H_out.</param>
    /// <param name="outWidth">W_out.</param>
    /// <param name="columns">(C_in·k·k, H_out·W_out). Overwritten, padding included.</param>
    public static void Lower(in Conv2dGeometry geometry, ReadOnlySpan<float> x, int height, int width, int outHeight, int outWidth, Span<float> columns)
    {
        int k = geometry.KernelSize, s = geometry.Stride, p = geometry.Padding;
        int positions = outHeight * outWidth;
        for (int c = 0; c < geometry.InChannels; c++)
        {
            ReadOnlySpan<float> plane = x.Slice(c * height * width, height * width);
            for (int i = 0; i < k; i++)
            {
                for (int j = 0; j < k; j++)
                {
                    Span<float> row = columns.Slice(((c * k + i) * k + j) * positions, positions);
                    (int lo, int hi) = ValidColumns(j, s, p, width, outWidth);
                    for (int oh = 0; oh < outHeight; oh++)
                    {
                        Span<float> segment = row.Slice(oh * outWidth, outWidth);
                        int ih = oh * s - p + i;
                        if ((uint)ih >= (uint)height)
                        {
                            segment.Clear();                                         // a padding row
                            continue;
                        }
                        segment[..lo].Clear();
                        segment[hi..].Clear();
                        ReadOnlySpan<float> source = plane.Slice(ih * width, width);
                        if (s == 1 && hi > lo)
                        {
                            source.Slice(lo - p + j, hi - lo).CopyTo(segment[lo..hi]); // iw = ow - p + j
                        }
                        else if (s > 1)
                        {
                            for (int ow = lo; ow < hi; ow++)
                            {
                                segment[ow] = source[ow * s - p + j];
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>dx += col2im(dColumns) for one image: the adjoint of <see cref="Lower"/>.</summary>
    /// <param name="geometry">The convolution.</param>
    /// <param name="dColumns">(C_in·k·k, H_out·W_out).</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="outHeight">H_out.</param>
    /// <param name="outWidth">W_out.</param>
    /// <param name="dX">One image's gradient: (C_in, H, W). Accumulated; padding entries are dropped.</param>
    public static void AddBack(in Conv2dGeometry geometry, ReadOnlySpan<float> dColumns, int height, int width, int outHeight, int outWidth, Span<float> dX)
    {
        int k = geometry.KernelSize, s = geometry.Stride, p = geometry.Padding;
        int positions = outHeight * outWidth;
        for (int c = 0; c < geometry.InChannels; c++)
        {
            Span<float> plane = dX.Slice(c * height * width, height * width);
            for (int i = 0; i < k; i++)
            {
                for (int j = 0; j < k; j++)
                {
                    ReadOnlySpan<float> row = dColumns.Slice(((c * k + i) * k + j) * positions, positions);
                    (int lo, int hi) = ValidColumns(j, s, p, width, outWidth);
                    for (int oh = 0; oh < outHeight; oh++)
                    {
                        int ih = oh * s - p + i;
                        if ((uint)ih >= (uint)height)
                        {
                            continue;
                        }
                        ReadOnlySpan<float> segment = row.Slice(oh * outWidth, outWidth);
                        Span<float> target = plane.Slice(ih * width, width);
                        if (s == 1 && hi > lo)
                        {
                            Span<float> t = target.Slice(lo - p + j, hi - lo);
                            TensorPrimitives.Add(t, segment[lo..hi], t);
                        }
                        else if (s > 1)
                        {
                            for (int ow = lo; ow < hi; ow++)
                            {
                                target[ow * s - p + j] += segment[ow];
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The output columns [lo, hi) whose input column iw = ow·s - p + j lies in [0, W): lo = ceil((p - j) / s),
    /// hi = floor((W - 1 + p - j) / s) + 1, both clamped to [0, W_out] with lo ≤ hi.
    /// </summary>
    private static (int Lo, int Hi) ValidColumns(int j, int s, int p, int width, int outWidth)
    {
        int lo = p - j <= 0 ? 0 : Math.Min(outWidth, (p - j + s - 1) / s);
        int last = width - 1 + p - j;
        int hi = last < 0 ? 0 : Math.Min(outWidth, last / s + 1);
        return (lo, Math.Max(lo, hi));
    }
}
