namespace SpanAttention.Tests.Support;

/// <summary>Measures what a warmed-up call allocates on the calling thread.</summary>
internal static class Allocations
{
    private const int CallsPerWindow = 10;
    private const int Windows = 5;

    /// <summary>
    /// Calls <paramref name="action"/> <paramref name="warmUpCalls"/> times to warm up (JIT, tiered compilation,
    /// lazily sized workspaces, the kernel worker thread; enough calls to meet every shape the action cycles through),
    /// then measures windows of ten calls each and returns the bytes allocated on this
    /// thread by the least-allocating window (it stops at the first window that allocates nothing, after at
    /// most five).
    /// </summary>
    /// <remarks>
    /// Steady state means: something that allocates on every call, or on every few calls, allocates in every
    /// window and so still fails the caller's "0 bytes". What the smallest window forgives is a one-off that
    /// lands after the warm-up only on a timing-dependent path, e.g. the first time the kernel worker is slow
    /// enough for the caller to take a code path it had not taken yet under a loaded machine (seen once in a few
    /// dozen full-suite runs: 1,672 bytes in one two-thread GEMM window, 0 in the next).
    /// </remarks>
    public static long AfterWarmUp(Action action, int warmUpCalls = 2)
    {
        for (int i = 0; i < warmUpCalls; i++)
        {
            action();
        }
        long least = long.MaxValue;
        for (int window = 0; window < Windows && least != 0; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < CallsPerWindow; i++)
            {
                action();
            }
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return least;
    }
}
