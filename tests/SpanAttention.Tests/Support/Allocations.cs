namespace SpanAttention.Tests.Support;

/// <summary>Measures what a warmed-up call allocates on the calling thread.</summary>
internal static class Allocations
{
    /// <summary>
    /// Calls <paramref name="action"/> twice to warm up (JIT, tiered compilation, lazily sized workspaces, the
    /// kernel worker thread), then returns the bytes allocated on this thread by ten more calls.
    /// </summary>
    public static long AfterWarmUp(Action action)
    {
        action();
        action();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            action();
        }
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
