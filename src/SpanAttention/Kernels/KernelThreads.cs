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
/// One persistent background thread that helps the calling thread with a split kernel call. Allocation-free
/// per call (no Task, no delegate, no closure): the work is a function pointer plus a pointer to a state
/// struct on the caller's stack, which stays valid because the caller never returns while the worker may
/// still touch it. The worker spins briefly and then blocks (see <see cref="Signal"/>), so an idle engine
/// costs no CPU.
/// </summary>
/// <remarks>
/// A call is cut into a fixed number of parts, which the caller and the worker claim one at a time with an
/// atomic counter. If the worker is slow to wake (the machine is busy), the caller simply claims more
/// parts, and if it has claimed them all before the worker even started, it withdraws the job and returns
/// without waiting. Which thread runs a part never changes what the part computes.
/// </remarks>
internal static unsafe class KernelWorker
{
    private const int Posted = 1, Taken = 2, Withdrawn = 3;

    private static readonly Signal s_start = new();
    private static readonly Signal s_done = new();
    private static int s_busy;
    private static int s_phase;
    private static int s_parts;
    private static int s_nextPart;
    private static Thread? s_thread;
    private static delegate*<void*, int, void> s_body;
    private static void* s_state;
    private static ExceptionDispatchInfo? s_error;
    private static long s_jobsHelped;

    /// <summary>Calls in which the worker thread ran at least one part, since start-up (for tests).</summary>
    public static long JobsHelped => Interlocked.Read(ref s_jobsHelped);

    /// <summary>
    /// Runs <c>body(state, part)</c> for every part in [0, <paramref name="parts"/>), shared between the
    /// calling thread and the worker, and returns when all are done. Returns false without running anything
    /// when the worker is taken by another caller; the caller then does the work itself.
    /// </summary>
    /// <param name="body">The work; the second argument is the part index.</param>
    /// <param name="state">The work's state; must stay valid until this method returns.</param>
    /// <param name="parts">Number of independent parts.</param>
    public static bool TryInvoke(delegate*<void*, int, void> body, void* state, int parts)
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
            s_parts = parts;
            s_nextPart = 0;
            s_error = null;
            s_done.Reset();
            Interlocked.Exchange(ref s_phase, Posted); // publishes the fields above
            s_start.Set();
            try
            {
                RunParts();
            }
            finally
            {
                // Withdraw the job if the worker has not taken it; otherwise it may still be using the
                // caller's state: wait for it.
                if (Interlocked.CompareExchange(ref s_phase, Withdrawn, Posted) != Posted)
                {
                    s_done.SpinUntilSet();
                }
            }
            s_error?.Throw();
            return true;
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
    }

    private static bool RunParts()
    {
        bool any = false;
        int part;
        while ((part = Interlocked.Increment(ref s_nextPart) - 1) < s_parts)
        {
            s_body(s_state, part);
            any = true;
        }
        return any;
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
            s_start.Reset(); // a Set that lands between Wait and Reset is not lost: the phase below says there is a job
            if (Interlocked.CompareExchange(ref s_phase, Taken, Posted) != Posted)
            {
                continue; // the caller withdrew the job (it ran every part itself)
            }
            try
            {
                if (RunParts())
                {
                    Interlocked.Increment(ref s_jobsHelped);
                }
            }
            catch (Exception e) // rethrown on the calling thread
            {
                s_error = ExceptionDispatchInfo.Capture(e);
            }
            s_done.Set();
        }
    }

    /// <summary>
    /// A manual-reset event that spins briefly, then blocks on a monitor. Unlike ManualResetEventSlim it
    /// allocates nothing after construction (that one creates its lock object on the first blocking wait,
    /// which could land on any caller's thread, mid-measurement).
    /// </summary>
    private sealed class Signal
    {
        private const int Spins = 200;
        private readonly object _lock = new();
        private volatile bool _set;

        public void Set()
        {
            lock (_lock)
            {
                _set = true;
                Monitor.PulseAll(_lock);
            }
        }

        public void Reset() => _set = false;

        /// <summary>
        /// Waits without ever blocking: spins, then yields the core (Thread.Yield / Sleep(0)), until set.
        /// The caller uses this for the worker's last part, which is already running and short. Blocking
        /// here (Monitor.Wait) would make the runtime set up its per-thread wait state on the caller's
        /// thread the first time the machine is busy enough to need it: a one-off allocation that lands on
        /// the user's thread in the middle of a steady state.
        /// </summary>
        public void SpinUntilSet()
        {
            var spinner = default(SpinWait);
            while (!_set)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }

        public void Wait()
        {
            var spinner = default(SpinWait);
            for (int i = 0; i < Spins && !_set; i++)
            {
                spinner.SpinOnce(sleep1Threshold: -1); // spins, then yields; never sleeps
            }
            if (_set)
            {
                return;
            }
            lock (_lock)
            {
                while (!_set)
                {
                    Monitor.Wait(_lock);
                }
            }
        }
    }
}
