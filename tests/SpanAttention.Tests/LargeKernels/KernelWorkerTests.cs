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
