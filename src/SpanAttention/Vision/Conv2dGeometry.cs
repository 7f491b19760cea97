using System.Diagnostics.CodeAnalysis;
using SpanAttention.Kernels;

namespace SpanAttention.Vision;

/// <summary>
/// The hyper-parameters of a square 2-D convolution, as <c>nn.Conv2d(C_in, C_out, k, stride, padding)</c> with
/// bias, dilation 1 and groups 1: a weight (C_out, C_in, k, k) and a bias (C_out).
/// </summary>
/// <remarks>
/// Output size per spatial axis: <c>H_out = (H + 2·padding - k) / stride + 1</c> (floor), which needs
/// <c>H + 2·padding ≥ k</c>. Padding is zeros. The argument checks of <see cref="Conv2d"/> and of its naive twin
/// live here, so both reject exactly the same calls.
/// </remarks>
internal readonly record struct Conv2dGeometry
{
    /// <summary>Checks and stores the hyper-parameters.</summary>
    /// <param name="inChannels">C_in ≥ 1.</param>
    /// <param name="outChannels">C_out ≥ 1.</param>
    /// <param name="kernelSize">k ≥ 1 (the kernel is k x k).</param>
    /// <param name="stride">s ≥ 1 on both axes.</param>
    /// <param name="padding">p ≥ 0 zeros on every side.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public Conv2dGeometry(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernelSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        (InChannels, OutChannels, KernelSize, Stride, Padding) = (inChannels, outChannels, kernelSize, stride, padding);
    }

    /// <summary>C_in.</summary>
    public int InChannels { get; }

    /// <summary>C_out.</summary>
    public int OutChannels { get; }

    /// <summary>k.</summary>
    public int KernelSize { get; }

    /// <summary>s.</summary>
    public int Stride { get; }

    /// <summary>p.</summary>
    public int Padding { get; }

    /// <summary>Rows of the lowered input: C_in·k·k, the inner dimension of the GEMM.</summary>
    public int PatchSize => InChannels * KernelSize * KernelSize;

    /// <summary>Elements of the weight: C_out·C_in·k·k.</summary>
    public int WeightSize => OutChannels * PatchSize;

    /// <summary>Whether the convolution is a plain 1 x 1 projection (k = 1, s = 1, p = 0): the input is its own lowering.</summary>
    public bool IsPointwise => KernelSize == 1 && Stride == 1 && Padding == 0;

    /// <summary>Output size along one axis: (size + 2p - k) / s + 1.</summary>
    /// <param name="size">H or W of the input, ≥ 1 and with size + 2p ≥ k.</param>
    /// <param name="name">The argument name for the error.</param>
    /// <exception cref="ArgumentOutOfRangeException">The input is too small for the kernel.</exception>
    public int OutputSize(int size, string name)
    {
        if (size < 1 || size + 2 * Padding < KernelSize)
        {
            ThrowTooSmall(name, size);
        }
        return (size + 2 * Padding - KernelSize) / Stride + 1;
    }

    /// <summary>Checks the spans of a forward call; returns (H_out, W_out).</summary>
    public (int OutHeight, int OutWidth) CheckForward(int batch, int height, int width, int x, int weight, int bias, int y)
    {
        Guard.NonNegative(batch, nameof(batch));
        int oh = OutputSize(height, nameof(height)), ow = OutputSize(width, nameof(width));
        Guard.SameLength(x, checked(batch * InChannels * height * width), nameof(x));
        Guard.SameLength(weight, WeightSize, nameof(weight));
        Guard.SameLength(bias, OutChannels, nameof(bias));
        Guard.SameLength(y, checked(batch * OutChannels * oh * ow), nameof(y));
        return (oh, ow);
    }

    /// <summary>Checks the spans of a backward call (dX may be empty: no input gradient); returns (H_out, W_out).</summary>
    public (int OutHeight, int OutWidth) CheckBackward(int batch, int height, int width, int dY, int x, int weight, int dX, int dWeight, int dBias)
    {
        Guard.NonNegative(batch, nameof(batch));
        int oh = OutputSize(height, nameof(height)), ow = OutputSize(width, nameof(width));
        Guard.SameLength(dY, checked(batch * OutChannels * oh * ow), nameof(dY));
        Guard.SameLength(x, checked(batch * InChannels * height * width), nameof(x));
        Guard.SameLength(weight, WeightSize, nameof(weight));
        if (dX != 0)
        {
            Guard.SameLength(dX, x, nameof(dX));
        }
        Guard.SameLength(dWeight, WeightSize, nameof(dWeight));
        Guard.SameLength(dBias, OutChannels, nameof(dBias));
        return (oh, ow);
    }

    [DoesNotReturn]
    private void ThrowTooSmall(string name, int size) =>
        throw new ArgumentOutOfRangeException(name, $"{name}: {size} is too small for a {KernelSize} x {KernelSize} kernel with padding {Padding} (needs size ≥ 1 and size + 2·padding ≥ kernel).");
}
