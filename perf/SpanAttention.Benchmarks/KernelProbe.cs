using System.Diagnostics;
using System.Globalization;
using SpanAttention.Kernels;

namespace SpanAttention.Benchmarks;

/// <summary>
/// <c>kernel-probe [trials]</c>: best-of-N Stopwatch timings of the kernels the performance bars name (sigmoid and
/// tanh at n = 1024 and 1031; GEMV at 768x256 and 3072x1024, naive, plain, packed on one thread, packed split
/// over two). For a shared machine, where BenchmarkDotNet's mean absorbs other jobs' preemptions: each trial times
/// a few back-to-back calls (about 100 µs), and the fastest of many trials is the least disturbed one. Prints one
/// line per kernel: best ns per call, the ratio to its naive twin and, for GEMV, GFLOP/s = 2·rows·cols / ns.
/// </summary>
internal static class KernelProbe
{
    public static int Run(string[] args)
    {
        int trials = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1000;
        Console.WriteLine($"kernel-probe: best of up to {trials} trials of ~100 us each (2 s at most per kernel); Vector512 {Isa.Vector512}, Vector256 {Isa.Vector256}, load average {LoadAverage()}");
        foreach (int n in new[] { 1024, 1031 })
        {
            var rng = new Random(3);
            float[] x = new float[n], y = new float[n];
            for (int i = 0; i < n; i++)
            {
                x[i] = (float)((rng.NextDouble() - 0.5) * 8);
            }
            double naive = BestNs(() => Naive.Sigmoid(x, y), trials);
            Report($"sigmoid naive n={n}", naive, naive, 0);
            Report($"sigmoid n={n}", BestNs(() => Activations.Sigmoid(x, y), trials), naive, 0);
            naive = BestNs(() => Naive.Tanh(x, y), trials);
            Report($"tanh naive n={n}", naive, naive, 0);
            Report($"tanh n={n}", BestNs(() => Activations.Tanh(x, y), trials), naive, 0);
        }
        foreach ((int rows, int cols) in new[] { (768, 256), (3072, 1024) })
        {
            var rng = new Random(42);
            float[] w = new float[rows * cols], x = new float[cols], y = new float[rows];
            for (int i = 0; i < w.Length; i++)
            {
                w[i] = (float)(rng.NextDouble() - 0.5);
            }
            for (int i = 0; i < cols; i++)
            {
                x[i] = (float)(rng.NextDouble() - 0.5);
            }
            var packed = new PackedGemvMatrix(rows, cols);
            packed.Pack(w, rows, cols, cols);
            double flops = 2.0 * rows * cols;
            string shape = $"{rows}x{cols}";
            double naive = BestNs(() => Naive.Gemv(w, rows, cols, cols, x, y, false), trials);
            Report($"gemv naive {shape}", naive, naive, flops);
            Report($"gemv {shape}", BestNs(() => Gemv.Multiply(w, rows, cols, cols, x, y, false), trials), naive, flops);
            int threads = KernelThreads.Count;
            long threshold = KernelThreads.ParallelThresholdFlops;
            try
            {
                KernelThreads.Count = 1;
                Report($"gemv packed {shape}, 1 thread", BestNs(() => Gemv.Multiply(packed, x, y, false), trials), naive, flops);
                KernelThreads.Count = Math.Min(2, Environment.ProcessorCount);
                Report($"gemv packed {shape}, default ({KernelThreads.Count} threads from {threshold / 1e6:0.#} MFLOP)", BestNs(() => Gemv.Multiply(packed, x, y, false), trials), naive, flops);
                KernelThreads.ParallelThresholdFlops = 0;
                Report($"gemv packed {shape}, always split ({KernelThreads.Count} threads)", BestNs(() => Gemv.Multiply(packed, x, y, false), trials), naive, flops);
            }
            finally
            {
                KernelThreads.Count = threads;
                KernelThreads.ParallelThresholdFlops = threshold;
            }
        }
        Console.WriteLine($"kernel-probe: done; load average {LoadAverage()}");
        return 0;
    }

    /// <summary>
    /// The fastest per-call time over short trials of back-to-back calls (about 100 µs, at least 3 calls, so a trial
    /// fits between two preemptions and its first call's cache misses are amortised), <paramref name="trials"/> of
    /// them or as many as fit in 2 s.
    /// </summary>
    private static double BestNs(Action call, int trials)
    {
        for (int i = 0; i < 50; i++)
        {
            call(); // JIT tiers, caches, the kernel worker
        }
        int reps = 3;
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < reps; i++)
            {
                call();
            }
            if (Stopwatch.GetElapsedTime(start).TotalMicroseconds >= 100 || reps >= 1 << 20)
            {
                break;
            }
            reps *= 2;
        }
        reps = Math.Max(3, reps / 2);
        double best = double.MaxValue;
        long begin = Stopwatch.GetTimestamp();
        for (int t = 0; t < trials && Stopwatch.GetElapsedTime(begin).TotalSeconds < 2; t++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < reps; i++)
            {
                call();
            }
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalNanoseconds / reps);
        }
        return best;
    }

    private static void Report(string what, double ns, double naiveNs, double flops)
    {
        string gflops = flops > 0 ? $"  {flops / ns,6:0.0} GFLOP/s" : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what,-62} {ns,11:0.0} ns  {ns / naiveNs,6:0.000} of naive{gflops}"));
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
