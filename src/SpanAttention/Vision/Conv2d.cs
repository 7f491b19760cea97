using System.Numerics.Tensors;
using SpanAttention.Kernels;

namespace SpanAttention.Vision;

/// <summary>
/// 2-D convolution over a batch of NCHW images, <c>nn.Conv2d(C_in, C_out, k, stride, padding)</c> with bias:
/// y[b, o, oh, ow] = bias[o] + Σ_{c,i,j} weight[o, c, i, j] · x[b, c, oh·s - p + i, ow·s - p + j] (zero padding).
/// </summary>
/// <remarks>
/// Fast path: per image, im2col (<see cref="Im2Col"/>) and one packed GEMM (<see cref="Gemm"/>, whose micro-kernels
/// have the Vector512/Vector256/scalar paths):
/// <code>
/// forward:  Y_b (C_out, P) = W (C_out, K) · cols_b (K, P) + bias        K = C_in·k·k, P = H_out·W_out
/// backward: dW (C_out, K) += dY_b (C_out, P) · cols_bᵀ (P, K)
///           dbias (C_out) += Σ_P dY_b
///           dcols_b (K, P) = Wᵀ (K, C_out) · dY_b (C_out, P);   dX_b += col2im(dcols_b)
/// </code>
/// The weight is used in place in PyTorch's (C_out, C_in, k, k) layout: viewed as (C_out, K) it is already the
/// GEMM's left operand. A 1 x 1 convolution with stride 1 and no padding skips the lowering (the image is its own
/// columns matrix) and adds its input gradient straight from the GEMM. The object owns the columns buffer and
/// its gradient, sized once for the largest image (<see cref="EnsureCapacity"/>); backward lowers each image again
/// instead of keeping B columns matrices. Not thread-safe (the buffers are shared by calls).
/// </remarks>
internal sealed class Conv2d
{
    private float[] _columns = [];   // cols_b: (K, P)
    private float[] _dColumns = [];  // dcols_b: (K, P)

    /// <summary>Allocates the lowering buffers for images up to <paramref name="maxHeight"/> x <paramref name="maxWidth"/>.</summary>
    /// <param name="geometry">The convolution.</param>
    /// <param name="maxHeight">The largest H a call may have.</param>
    /// <param name="maxWidth">The largest W a call may have.</param>
    public Conv2d(Conv2dGeometry geometry, int maxHeight, int maxWidth)
    {
        Geometry = geometry;
        EnsureCapacity(maxHeight, maxWidth);
    }

    /// <summary>The convolution's hyper-parameters.</summary>
    public Conv2dGeometry Geometry { get; }

    /// <summary>Floats of each lowering buffer: K·P for the largest image so far.</summary>
    public int Capacity => _columns.Length;

    /// <summary>Grows the buffers for images up to H x W (never shrinks). Allocates only when growing.</summary>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <exception cref="ArgumentOutOfRangeException">The image is too small for the kernel.</exception>
    public void EnsureCapacity(int height, int width)
    {
        if (Geometry.IsPointwise)
        {
            return;
        }
        long needed = (long)Geometry.PatchSize * Geometry.OutputSize(height, nameof(height)) * Geometry.OutputSize(width, nameof(width));
        if (needed > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(height), $"{nameof(Conv2d)}: a {height} x {width} image needs a {needed}-float columns matrix, more than an array holds.");
        }
        if (needed > _columns.Length)
        {
            _columns = new float[needed];
            _dColumns = new float[needed];
        }
    }

    /// <summary>y = conv2d(x, weight) + bias.</summary>
    /// <param name="x">Input: (B, C_in, H, W).</param>
    /// <param name="batch">B.</param>
    /// <param name="height">H (within the capacity).</param>
    /// <param name="width">W (within the capacity).</param>
    /// <param name="weight">(C_out, C_in, k, k), PyTorch's layout.</param>
    /// <param name="bias">(C_out).</param>
    /// <param name="y">Output: (B, C_out, H_out, W_out). Overwritten; must not overlap the inputs.</param>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The image is too small for the kernel, or larger than the capacity.</exception>
    public void Forward(ReadOnlySpan<float> x, int batch, int height, int width, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y)
    {
        Conv2dGeometry g = Geometry;
        (int oh, int ow) = g.CheckForward(batch, height, width, x.Length, weight.Length, bias.Length, y.Length);
        int k = g.PatchSize, positions = oh * ow, cOut = g.OutChannels, image = g.InChannels * height * width;
        Span<float> columns = Columns(k, positions, _columns, height, width);
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> xb = x.Slice(b * image, image);                   // (C_in, H, W)
            Span<float> yb = y.Slice(b * cOut * positions, cOut * positions);     // (C_out, P)
            for (int o = 0; o < cOut; o++)
            {
                yb.Slice(o * positions, positions).Fill(bias[o]);                // Y_b = bias, then += W · cols_b
            }
            ReadOnlySpan<float> cols = xb;                                        // (K, P)
            if (!g.IsPointwise)
            {
                Im2Col.Lower(g, xb, height, width, oh, ow, columns);
                cols = columns;
            }
            Gemm.Multiply(cOut, positions, k, weight, k, Transpose.No, cols, positions, Transpose.No, yb, positions, accumulate: true);
        }
    }

    /// <summary>Accumulates dX, dWeight and dBias of <see cref="Forward"/>.</summary>
    /// <param name="dY">Upstream gradient: (B, C_out, H_out, W_out).</param>
    /// <param name="x">The forward input: (B, C_in, H, W).</param>
    /// <param name="batch">B.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="weight">(C_out, C_in, k, k).</param>
    /// <param name="dX">(B, C_in, H, W). Accumulated. Empty to skip the input gradient (a network's first layer).</param>
    /// <param name="dWeight">(C_out, C_in, k, k). Accumulated.</param>
    /// <param name="dBias">(C_out). Accumulated.</param>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The image is too small for the kernel, or larger than the capacity.</exception>
    public void Backward(ReadOnlySpan<float> dY, ReadOnlySpan<float> x, int batch, int height, int width, ReadOnlySpan<float> weight,
        Span<float> dX, Span<float> dWeight, Span<float> dBias)
    {
        Conv2dGeometry g = Geometry;
        (int oh, int ow) = g.CheckBackward(batch, height, width, dY.Length, x.Length, weight.Length, dX.Length, dWeight.Length, dBias.Length);
        int k = g.PatchSize, positions = oh * ow, cOut = g.OutChannels, image = g.InChannels * height * width;
        Span<float> columns = Columns(k, positions, _columns, height, width);
        Span<float> dColumns = Columns(k, positions, _dColumns, height, width);
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> xb = x.Slice(b * image, image);                   // (C_in, H, W)
            ReadOnlySpan<float> dYb = dY.Slice(b * cOut * positions, cOut * positions); // (C_out, P)
            ReadOnlySpan<float> cols = xb;
            if (!g.IsPointwise)
            {
                Im2Col.Lower(g, xb, height, width, oh, ow, columns);              // cols_b again (K, P)
                cols = columns;
            }
            // y = W · cols + bias  =>  dW += dY · colsᵀ,  dbias += Σ_P dY,  dcols = Wᵀ · dY
            Gemm.Multiply(cOut, k, positions, dYb, positions, Transpose.No, cols, positions, Transpose.Yes, dWeight, k, accumulate: true);
            for (int o = 0; o < cOut; o++)
            {
                dBias[o] += TensorPrimitives.Sum(dYb.Slice(o * positions, positions));
            }
            if (dX.IsEmpty)
            {
                continue;
            }
            Span<float> dXb = dX.Slice(b * image, image);
            if (g.IsPointwise)
            {
                Gemm.Multiply(k, positions, cOut, weight, k, Transpose.Yes, dYb, positions, Transpose.No, dXb, positions, accumulate: true);
            }
            else
            {
                Gemm.Multiply(k, positions, cOut, weight, k, Transpose.Yes, dYb, positions, Transpose.No, dColumns, positions, accumulate: false);
                Im2Col.AddBack(g, dColumns, height, width, oh, ow, dXb);         // dX_b += col2im(dcols_b)
            }
        }
    }

    /// <summary>The (K, P) view of a lowering buffer, or a clear error when the image exceeds the capacity.</summary>
    private Span<float> Columns(int k, int positions, float[] buffer, int height, int width)
    {
        if (Geometry.IsPointwise)
        {
            return default;
        }
        long needed = (long)k * positions;
        if (needed > buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(height), $"{nameof(Conv2d)}: a {height} x {width} image needs {needed} floats of columns, this convolution was sized for {buffer.Length}; call {nameof(EnsureCapacity)} first.");
        }
        return buffer.AsSpan(0, (int)needed);
    }
}
