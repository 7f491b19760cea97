using SpanAttention.Kernels;
using Xunit;

namespace SpanAttention.Tests.LargeKernels;

/// <summary>The persistent worker's hand-off protocol: every part runs exactly once, errors surface, it stays usable.</summary>
public unsafe class KernelWorkerTests
{
    private struct Counts
    {
        public fixed int PerPart[8];
        public int ThrowOnPart;
    }

    private static void CountPart(void* state, int part)
    {
        var counts = (Counts*)state;
        Interlocked.Increment(ref counts->PerPart[part]);
        if (part == counts->ThrowOnPart)
        {
            throw new InvalidOperationException($"part {part} failed");
        }
    }

    private static bool Invoke(ref Counts counts, int parts)
    {
        fixed (Counts* state = &counts)
        {
            return KernelWorker.TryInvoke(&CountPart, state, parts);
        }
    }

    [Fact]
    public void TryInvoke_ManyQuickCalls_RunEveryPartExactlyOnce()
    {
        // Quick calls hit every interleaving of the hand-off: the worker taking the job, arriving late,
        // or the caller withdrawing it after running every part itself.
        // Calls that find the worker busy (other tests run in parallel) run nothing and do not count.
        int invoked = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int call = 0; invoked < 3000 && clock.Elapsed.TotalSeconds < 20; call++)
        {
            int parts = 2 + call % 7;
            var counts = new Counts { ThrowOnPart = -1 };
            if (Invoke(ref counts, parts))
            {
                invoked++;
                for (int p = 0; p < 8; p++)
                {
                    Assert.Equal(p < parts ? 1 : 0, counts.PerPart[p]);
                }
            }
        }
        Assert.True(invoked > 0);
    }

    [Fact]
    public void TryInvoke_PartThrows_ExceptionReachesCallerAndWorkerStaysUsable()
    {
        for (int throwOn = 0; throwOn < 4; throwOn++)
        {
            var counts = new Counts { ThrowOnPart = throwOn };
            bool ran = false;
            var ex = Record.Exception(() => ran = Invoke(ref counts, 4));
            if (ex is null)
            {
                Assert.False(ran); // the worker was busy with another test: nothing ran
                continue;
            }
            Assert.IsType<InvalidOperationException>(ex);
            Assert.Contains($"part {throwOn} failed", ex.Message, StringComparison.Ordinal);
        }
        var ok = new Counts { ThrowOnPart = -1 };
        for (int attempt = 0; !Invoke(ref ok, 3); attempt++)
        {
            Assert.True(attempt < 1000, "the worker never became free");
            Thread.Sleep(1);
        }
        Assert.Equal(1, ok.PerPart[0]);
        Assert.Equal(1, ok.PerPart[1]);
        Assert.Equal(1, ok.PerPart[2]);
    }
}

/// <summary>The packed GEMV's two-thread split (row groups shared with the kernel worker).</summary>
public sealed class PackedGemvSplitTests
{
    [Theory]
    [InlineData(1031, 2053, false)]   // 258 groups, 8.5 MB: two parts; odd rows and columns (padding row, tail tile)
    [InlineData(3079, 1367, true)]    // 770 groups, 16.9 MB: four parts; accumulate
    public void Multiply_LargeEnoughToSplit_BitIdenticalToSingleThreaded(int rows, int cols, bool accumulate)
    {
        float[] w = Support.Numerics.Random(rows * cols, 1), x = Support.Numerics.Random(cols, 2);
        var packed = new PackedGemvMatrix(rows, cols);
        packed.Pack(w, rows, cols, cols);
        float[] expected = Support.Numerics.Random(rows, 3), actual = (float[])expected.Clone();
        Gemv.MultiplySingleThreaded(packed, x, expected, accumulate);
        long helpedBefore = KernelWorker.JobsHelped;
        for (int call = 0; call < 50 && (call == 0 || KernelWorker.JobsHelped == helpedBefore); call++)
        {
            // repeat until the worker really took part (it may be busy with another test's kernel), at most 50 calls
            float[] y = Support.Numerics.Random(rows, 3);
            Gemv.Multiply(packed, x, y, accumulate);
            Assert.Equal(expected, y);
            actual = y;
        }
        Assert.Equal(expected, actual);
        var naive = new float[rows];
        Naive.Gemv(w, rows, cols, cols, x, naive, accumulate: false);
        Support.Numerics.AssertClose(naive, accumulate ? Subtract(actual, Support.Numerics.Random(rows, 3)) : actual, 1e-4f, 1e-3f, "vs naive");
    }

    [Theory]
    [InlineData(1031, 2053, 1, false)]   // bf16, 258 groups, 4.2 MB: two parts; padding row, tail tile
    [InlineData(3079, 2731, 1, true)]    // bf16, 16.8 MB: four parts; accumulate
    [InlineData(1031, 2053, 2, true)]    // int8, 2.1 MB: two parts
    [InlineData(6151, 2731, 2, false)]   // int8, 16.8 MB: four parts
    public void MultiplyNarrow_LargeEnoughToSplit_BitIdenticalToSingleThreaded(int rows, int cols, int element, bool accumulate)
    {
        float[] w = Support.Numerics.Random(rows * cols, 4), x = Support.Numerics.Random(cols, 5);
        var packed = new PackedGemvMatrix(rows, cols, (PackedElement)element);
        packed.Pack(w, rows, cols, cols);
        float[] expected = Support.Numerics.Random(rows, 6);
        Gemv.MultiplySingleThreaded(packed, x, expected, accumulate);
        long helpedBefore = KernelWorker.JobsHelped;
        for (int call = 0; call < 50 && (call == 0 || KernelWorker.JobsHelped == helpedBefore); call++)
        {
            float[] y = Support.Numerics.Random(rows, 6);
            Gemv.Multiply(packed, x, y, accumulate);
            Assert.Equal(expected, y);
        }
    }

    private static float[] Subtract(float[] a, float[] b) => [.. a.Zip(b, (p, q) => p - q)];
}
