using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

/// <summary>Warmed-up kernel calls allocate nothing: every workspace is sized once and reused.</summary>
public class AllocationTests
{
    private static long AllocatedBy(Action action)
    {
        action(); // warm up: JIT, tiered compilation, lazily sized per-thread workspaces
        action();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            action();
        }
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

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
        Assert.Equal(0, AllocatedBy(() => Gemm.Multiply(131, 97, 131, a, 131, Transpose.No, b, 97, Transpose.No, c, 97, false)));
        Assert.Equal(0, AllocatedBy(() => Gemm.Multiply(97, 131, 131, b, 97, Transpose.Yes, a, 131, Transpose.Yes, c, 131, true)));
        Assert.Equal(0, AllocatedBy(() => Gemv.Multiply(a, 257, 131, 131, x, y, false)));
        Assert.Equal(0, AllocatedBy(() => Gemv.MultiplyTransposed(a, 257, 131, 131, x, y, true)));
        Assert.Equal(0, AllocatedBy(() => Softmax.Forward(x, y)));
        Assert.Equal(0, AllocatedBy(() => Softmax.Forward(x, valid, y)));
        Assert.Equal(0, AllocatedBy(() => Softmax.Backward(y, x, c.AsSpan(0, 1024))));
        Assert.Equal(0, AllocatedBy(() => Activations.Tanh(x, y)));
        Assert.Equal(0, AllocatedBy(() => Activations.SigmoidBackward(x, x, y)));
        Assert.Equal(0, AllocatedBy(() => Reductions.LogSumExp(x, y)));
    }
}
