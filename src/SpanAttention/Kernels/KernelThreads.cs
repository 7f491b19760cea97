using System.Runtime.ExceptionServices;

namespace SpanAttention.Kernels;

/// <summary>
/// How many threads the large kernels (GEMM) may use. The engine targets a 2-core machine: one call splits
/// its work between the calling thread and one persistent background worker.
/// </summary>
/// <remarks>
/// Results do not depend on this setting: every output element is computed by exactly one thread with
/// the same summation order, so 1 and 2 threads give bit-identical results. Only calls above
/// <see cref="ParallelThresholdFlops"/> are split; smaller ones stay on the calling thread, where waking
/// the worker would cost more than it saves. When several user threads call kernels at once, the one that
/// finds the worker busy simply runs single-threaded, so concurrent calls are safe.
/// </remarks>
public static class KernelThreads
{
    /// <summary>The largest supported thread count: the caller plus one worker.</summary>
    public const int MaxCount = 2;

    private static int s_count = Math.Min(MaxCount, Environment.ProcessorCount);
    private static long s_parallelThresholdFlops = 4_000_000;

    /// <summary>Threads a kernel call may use: 1 (always single-threaded) or 2. Default min(2, processor count).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not 1 or 2.</exception>
    public static int Count
    {
        get => Volatile.Read(ref s_count);
        set
        {
            if (value is < 1 or > MaxCount)
            {
                throw new ArgumentOutOfRangeException(nameof(value), $"{nameof(KernelThreads)}.{nameof(Count)}: must be 1 or {MaxCount}, got {value}.");
            }
            Volatile.Write(ref s_count, value);
        }
    }

    /// <summary>
    /// Work (2·m·n·k floating-point operations for a GEMM) from which a call is split over two threads.
    /// Default 4 MFLOP: about 50 µs on one Zen 3 core, well above the ~5-20 µs it costs to wake the worker.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public static long ParallelThresholdFlops
    {
        get => Volatile.Read(ref s_parallelThresholdFlops);
        set
        {
            if (value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), $"{nameof(KernelThreads)}.{nameof(ParallelThresholdFlops)}: must be non-negative, got {value}.");
            }
            Volatile.Write(ref s_parallelThresholdFlops, value);
        }
    }

    /// <summary>How many threads a call of <paramref name="flops"/> operations should use.</summary>
    internal static int For(long flops) => flops >= ParallelThresholdFlops ? Count : 1;
}

/// <summary>
/// One persistent background thread that runs the second half of a split kernel call. Allocation-free per
/// call (no Task, no delegate, no closure): the work is a function pointer plus a pointer to a state struct
/// on the caller's stack, which stays valid because the caller waits for the worker before returning.
/// The worker spins briefly and then blocks (ManualResetEventSlim), so an idle engine costs no CPU.
/// </summary>
internal static unsafe class KernelWorker
{
    private static readonly ManualResetEventSlim s_start = new(initialState: false, spinCount: 200);
    private static readonly ManualResetEventSlim s_done = new(initialState: false, spinCount: 200);
    private static int s_busy;
    private static Thread? s_thread;
    private static delegate*<void*, int, void> s_body;
    private static void* s_state;
    private static ExceptionDispatchInfo? s_error;
    private static long s_jobsRun;

    /// <summary>How many parts the worker has run since start-up (for tests).</summary>
    public static long JobsRun => Interlocked.Read(ref s_jobsRun);

    /// <summary>
    /// Runs <c>body(state, 0)</c> on the calling thread and <c>body(state, 1)</c> on the worker, and returns
    /// when both are done. Returns false without running anything when the worker is taken by another
    /// caller; the caller then does all the work itself.
    /// </summary>
    /// <param name="body">The work; the second argument is the part index (0 or 1).</param>
    /// <param name="state">The work's state; must stay valid until this method returns.</param>
    public static bool TryInvoke(delegate*<void*, int, void> body, void* state)
    {
        if (Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            return false;
        }
        try
        {
            s_thread ??= StartThread(); // only one caller can be here (s_busy), so no race
            s_body = body;
            s_state = state;
            s_error = null;
            s_done.Reset();
            s_start.Set(); // full fence: the worker sees body, state and the cleared error
            try
            {
                body(state, 0);
            }
            finally
            {
                s_done.Wait(); // never return (or unwind) while the worker still uses the caller's state
            }
            s_error?.Throw();
            return true;
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    private static Thread StartThread()
    {
        var thread = new Thread(Loop) { IsBackground = true, Name = "SpanAttention kernel worker" };
        thread.Start();
        return thread;
    }

    private static void Loop()
    {
        while (true)
        {
            s_start.Wait();
            s_start.Reset(); // safe: the next Set comes only after this part's s_done.Set
            try
            {
                s_body(s_state, 1);
            }
            catch (Exception e) // rethrown on the calling thread
            {
                s_error = ExceptionDispatchInfo.Capture(e);
            }
            Interlocked.Increment(ref s_jobsRun);
            s_done.Set();
        }
    }
}
