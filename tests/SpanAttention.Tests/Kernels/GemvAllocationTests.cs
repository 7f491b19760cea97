using SpanAttention.Kernels;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Kernels;

/// <summary>The GEMV kernels, packing included, allocate nothing once warmed up.</summary>
public class GemvAllocationTests
{

    [Theory]
    [InlineData(3, 5)]
    [InlineData(97, 131)]
    [InlineData(192, 64)]
    public void GemvKernels_AfterWarmUp_AllocateZeroBytes(int rows, int cols)
    {
        float[] w = Numerics.Random(rows * (cols + 1), seed: 1);
        float[] x = Numerics.Random(Math.Max(rows, cols), seed: 2);
        float[] y = new float[Math.Max(rows, cols)];
        var packed = new PackedGemvMatrix(rows, cols);

        Assert.Equal(0, Allocations.AfterWarmUp(() => packed.Pack(w, rows, cols, cols + 1)));
        Assert.Equal(0, Allocations.AfterWarmUp(() => Gemv.Multiply(packed, x, y, accumulate: false)));
        Assert.Equal(0, Allocations.AfterWarmUp(() => Gemv.Multiply(packed, x, y, accumulate: true)));
        Assert.Equal(0, Allocations.AfterWarmUp(() => Gemv.MultiplyTransposed(packed, x.AsSpan(0, rows), y.AsSpan(0, cols), accumulate: true)));
        Assert.Equal(0, Allocations.AfterWarmUp(() => Gemv.Multiply(w, rows, cols, cols + 1, x, y, accumulate: false)));
        Assert.Equal(0, Allocations.AfterWarmUp(() => Gemv.MultiplyTransposed(w, rows, cols, cols + 1, x, y, accumulate: true)));
    }
}
