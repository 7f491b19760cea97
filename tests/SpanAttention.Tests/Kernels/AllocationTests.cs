using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

/// <summary>Warmed-up kernel calls allocate nothing: every workspace is sized once and reused.</summary>
public class AllocationTests
{

    [Fact]
    public void Kernels_AfterWarmUp_AllocateZeroBytes()
    {
        float[] a = Numerics.Random(257 * 131, 1);
        float[] b = Numerics.Random(131 * 97, 2);
        float[] c = new float[257 * 97];
        float[] x = Numerics.Random(1024, 3);
        float[] y = new float[1024];
        bool[] valid = new bool[1024];
        valid.AsSpan(0, 700).Fill(true);

        // Below KernelThreads.ParallelThresholdFlops (2·m·n·k = 3.3 MFLOP), so these stay on the calling thread;
        // the two-thread path has its own zero-allocation test with a warm-up that waits for a split
        // (LargeKernels/GemmLargeTests.cs).
        Assert.Equal(0, Allocations.AfterWarmUp(() => Gemm.Multiply(131, 97, 131, a, 131, Transpose.No, b, 97, Transpose.No, c, 97, false)));
        Assert.Equal(0, Allocations.AfterWarmUp(() => Gemm.Multiply(97, 131, 131, b, 97, Transpose.Yes, a, 131, Transpose.Yes, c, 131, true)));
        Assert.Equal(0, Allocations.AfterWarmUp(() => Gemv.Multiply(a, 257, 131, 131, x, y, false)));
        Assert.Equal(0, Allocations.AfterWarmUp(() => Gemv.MultiplyTransposed(a, 257, 131, 131, x, y, true)));
        Assert.Equal(0, Allocations.AfterWarmUp(() => Softmax.Forward(x, y)));
        Assert.Equal(0, Allocations.AfterWarmUp(() => Softmax.Forward(x, valid, y)));
        Assert.Equal(0, Allocations.AfterWarmUp(() => Softmax.Backward(y, x, c.AsSpan(0, 1024))));
        Assert.Equal(0, Allocations.AfterWarmUp(() => Activations.Tanh(x, y)));
        Assert.Equal(0, Allocations.AfterWarmUp(() => Activations.SigmoidBackward(x, x, y)));
        Assert.Equal(0, Allocations.AfterWarmUp(() => Reductions.LogSumExp(x, y)));
    }
}
