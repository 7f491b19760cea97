using System.Diagnostics;
using System.Globalization;
using System.Text;
using SpanAttention.Kernels;
using SpanAttention.Seq2Seq;
using SpanAttention.Training;

namespace SpanAttention.Benchmarks;

/// <summary>
/// The <c>seq2seq-json</c> mode: the C# side of perf/compare.sh (docs/performance.md, "The C# hook").
/// <code>
/// seq2seq-json --mode train|decode --hidden H --batch B --threads N --reps R --warmup W [--trainer-threads M]
///              [--weights fp32|bf16|int8] [--profile]
/// </code>
/// prints one JSON line per row: engine "spanattention", the row's keys, the median and every sample in the
/// row's unit (tokens/s for train = B·T / step time; us/token for decode = (encoder + 32 steps) / 32), the
/// achieved model GFLOP/s with workload.py's formula, the process-CPU-time median (<c>cpu_median</c>) and the
/// bytes allocated per timed run. Each sample is one Stopwatch-timed run after the warm-up (at least W runs and
/// 1.5 s, and until the JIT has stopped compiling; at most 500 runs / 30 s; the row records warmup_runs).
/// <c>--weights bf16|int8</c> (decoding only) stores the prepared decoding weights narrower, widened to fp32 in the
/// GEMV kernels; such rows are engine "spanattention-bf16" / "spanattention-int8".
/// <c>--profile</c> adds a Stopwatch breakdown (medians of the phases of one run) on stderr.
/// </summary>
internal static class Seq2SeqJson
{
    private const double MinWarmupSeconds = 1.5;
    private const double MinWarmupSecondsTiered = 8;
    private const int MaxWarmupRuns = 500;
    private const double MaxWarmupSeconds = 30;

    public static int Run(string[] args)
    {
        string mode = "train";
        int hidden = 64, batch = 32, threads = 1, reps = 10, warmup = 3, trainerThreads = 0;
        bool profile = false, traceAlloc = false;
        string weights = "fp32";
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"seq2seq-json: {args[i]} needs a value.");
            int NextInt() => int.Parse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--mode": mode = Next(); break;
                case "--hidden": hidden = NextInt(); break;
                case "--batch": batch = NextInt(); break;
                case "--threads": threads = NextInt(); break;
                case "--reps": reps = NextInt(); break;
                case "--warmup": warmup = NextInt(); break;
                case "--trainer-threads": trainerThreads = NextInt(); break;
                case "--weights": weights = Next(); break;
                case "--profile": profile = true; break;
                case "--trace-alloc": traceAlloc = true; break;
                default:
                    Console.Error.WriteLine($"seq2seq-json: unknown argument '{args[i]}'. Usage: seq2seq-json --mode train|decode --hidden H --batch B --threads N --reps R --warmup W [--trainer-threads M] [--weights fp32|bf16|int8] [--profile]");
                    return 2;
            }
        }
        if (mode is not ("train" or "decode") || hidden < 1 || batch < 1 || reps < 1 || warmup < 0 || threads is < 1 or > KernelThreads.MaxCount)
        {
            Console.Error.WriteLine($"seq2seq-json: invalid arguments (mode {mode}, H {hidden}, B {batch}, threads {threads} (1..{KernelThreads.MaxCount}), reps {reps}, warmup {warmup}).");
            return 2;
        }
        InferenceWeightFormat weightFormat = weights switch
        {
            "fp32" => InferenceWeightFormat.Float32,
            "bf16" => InferenceWeightFormat.BFloat16,
            "int8" => InferenceWeightFormat.Int8,
            _ => (InferenceWeightFormat)(-1),
        };
        if ((int)weightFormat < 0 || (weights != "fp32" && mode != "decode"))
        {
            Console.Error.WriteLine($"seq2seq-json: --weights must be fp32, bf16 or int8, and narrower than fp32 only with --mode decode (got '{weights}', mode {mode}).");
            return 2;
        }
        if (mode == "decode")
        {
            batch = 1; // decoding is batch 1 by definition of the workload
        }
        // N threads: KernelThreads.Count = N (GEMM) and, for training, Seq2SeqTrainerOptions.Threads = N (two
        // half batches on two threads, B ≥ 2) unless --trainer-threads says otherwise.
        trainerThreads = trainerThreads == 0 ? threads : trainerThreads;
        if (trainerThreads is < 1 or > 2)
        {
            Console.Error.WriteLine($"seq2seq-json: --trainer-threads must be 1 or 2, got {trainerThreads}.");
            return 2;
        }
        KernelThreads.Count = threads;
        var w = new Seq2SeqWorkload(hidden, batch, mode == "train" ? trainerThreads : 1) { WeightFormat = weightFormat };
        string engine = weights == "fp32" ? "spanattention" : "spanattention-" + weights;
        bool train = mode == "train";
        float lossFirst = float.NaN, lossLast = float.NaN;
        // Warm-up: at least W runs, at least MinWarmupSeconds of runs, and until the JIT has stopped compiling (the
        // process's compiled-method count unchanged over the last two runs: the tiered JIT promotes hot methods
        // to optimised code on a background thread, which a loaded machine can starve for seconds; a run on
        // tier-0 code is up to 10x slower; measured here at H = 64, B = 1: steady state only after ~8 s of runs
        // with the tiered JIT, from the first run with DOTNET_TieredCompilation=0). Capped at MaxWarmupRuns runs / MaxWarmupSeconds.
        bool tiered = !AppContext.TryGetSwitch("System.Runtime.TieredCompilation", out bool tc) || tc;
        tiered &= Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") != "0";
        if (tiered)
        {
            Console.Error.WriteLine("seq2seq-json: tiered JIT is on; warming up for at least " + MinWarmupSecondsTiered.ToString(CultureInfo.InvariantCulture)
                + " s (set DOTNET_TieredCompilation=0, as perf/compare.sh does, for optimised code from the first run).");
        }
        long warmStart = Stopwatch.GetTimestamp();
        int warmRuns = 0, stableRuns = 0;
        long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        bool WarmingUp(int i)
        {
            double elapsed = Stopwatch.GetElapsedTime(warmStart).TotalSeconds;
            if (i >= MaxWarmupRuns || (i >= warmup && elapsed > MaxWarmupSeconds))
            {
                return false;
            }
            return i < warmup || elapsed < (tiered ? MinWarmupSecondsTiered : MinWarmupSeconds) || stableRuns < 2;
        }
        for (int i = 0; WarmingUp(i); i++, warmRuns++)
        {
            long now = System.Runtime.JitInfo.GetCompiledMethodCount();
            stableRuns = now == compiled ? stableRuns + 1 : 0;
            compiled = now;
            if (train)
            {
                float loss = w.TrainStep();
                lossFirst = i == 0 ? loss : lossFirst;
            }
            else
            {
                w.Decode();
            }
        }

        using AllocationTracer? tracer = traceAlloc ? new AllocationTracer() : null;
        if (traceAlloc)
        {
            Console.Error.WriteLine($"seq2seq-json: timed runs start (main thread {Environment.CurrentManagedThreadId})");
        }
        using Process process = Process.GetCurrentProcess();
        var seconds = new double[reps];
        var cpuSeconds = new double[reps];
        long allocatedThread = 0, allocatedAll = 0;
        for (int r = 0; r < reps; r++)
        {
            process.Refresh();
            TimeSpan cpu0 = process.TotalProcessorTime;
            long a0 = GC.GetAllocatedBytesForCurrentThread();
            long g0 = GC.GetTotalAllocatedBytes(precise: true);
            long t0 = Stopwatch.GetTimestamp();
            if (train)
            {
                lossLast = w.TrainStep();
            }
            else
            {
                w.Decode();
            }
            long t1 = Stopwatch.GetTimestamp();
            allocatedThread += GC.GetAllocatedBytesForCurrentThread() - a0;
            allocatedAll += GC.GetTotalAllocatedBytes(precise: true) - g0;
            process.Refresh();
            seconds[r] = (t1 - t0) / (double)Stopwatch.Frequency;
            cpuSeconds[r] = (process.TotalProcessorTime - cpu0).TotalSeconds;
        }

        int tokens = batch * Seq2SeqWorkload.T;
        double medianSeconds = Median(seconds);
        double medianCpu = Median(cpuSeconds);
        double flops = train ? Seq2SeqWorkload.TrainFlopsPerStep(hidden, batch) : Seq2SeqWorkload.DecodeFlopsPerToken(hidden);
        var samples = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            samples[r] = train ? tokens / seconds[r] : seconds[r] / Seq2SeqWorkload.T * 1e6;
        }
        double median = Median(samples);
        double gflops = train ? flops / medianSeconds / 1e9 : flops / (median * 1e-6) / 1e9;
        double cpuMedian = train ? tokens / Math.Max(medianCpu, 1e-9) : medianCpu / Seq2SeqWorkload.T * 1e6;

        var sb = new StringBuilder(256 + 24 * reps);
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"{{\"engine\":\"{engine}\",\"mode\":\"{mode}\",\"H\":{hidden},\"E\":{hidden},\"B\":{batch},\"threads\":{threads},");
        sb.Append(inv, $"\"median\":{Num(median)},\"unit\":\"{(train ? "tokens/s" : "us/token")}\",\"gflops\":{Num(gflops)},\"flops\":{Num(flops)},");
        sb.Append("\"samples\":[");
        for (int r = 0; r < reps; r++)
        {
            sb.Append(r == 0 ? "" : ",").Append(Num(samples[r]));
        }
        sb.Append(inv, $"],\"cpu_median\":{Num(cpuMedian)},");
        if (!train)
        {
            sb.Append(inv, $"\"decode_path\":\"{w.DecodePath}\",\"weights\":\"{weights}\",");
        }
        if (train)
        {
            sb.Append(inv, $"\"step_seconds\":{Num(medianSeconds)},\"loss_first\":{Num(lossFirst)},\"loss_last\":{Num(lossLast)},");
        }
        sb.Append(inv, $"\"alloc_bytes_per_run\":{allocatedThread / reps},\"alloc_bytes_per_run_all_threads\":{allocatedAll / reps},");
        sb.Append(inv, $"\"reps\":{reps},\"warmup\":{warmup},\"warmup_runs\":{warmRuns},\"V\":{Seq2SeqWorkload.V},\"S\":{Seq2SeqWorkload.S},\"T\":{Seq2SeqWorkload.T},");
        sb.Append(inv, $"\"config\":{{\"runtime\":\"{Environment.Version}\",\"vector256\":{Lower(Isa.Vector256)},\"vector512\":{Lower(Isa.Vector512)},");
        sb.Append(inv, $"\"kernel_threads\":{KernelThreads.Count},\"parallel_threshold_flops\":{KernelThreads.ParallelThresholdFlops},\"processors\":{Environment.ProcessorCount},\"tiered_jit\":{Lower(tiered)},\"trainer_threads\":{w.Trainer.Options.Threads},");
        sb.Append(inv, $"\"model\":\"{w.Config.Describe()}\",\"parameters\":{w.Model.Layout.Count}}}}}");
        Console.WriteLine(sb.ToString());

        if (profile)
        {
            Profile(w, train, Math.Max(3, Math.Min(reps, 10)));
        }
        return 0;
    }

    /// <summary>
    /// Stopwatch breakdown of one run, medians over <paramref name="runs"/> runs (on stderr). Training: zero
    /// gradients, encoder (Encode alone, timed separately), forward (encoder + decoder steps + loss), backward,
    /// gradient norm, Adam. Decoding: encoder, 32 decoder steps.
    /// </summary>
    private static void Profile(Seq2SeqWorkload w, bool train, int runs)
    {
        var model = w.Model;
        var batch = w.TrainingBatch;
        string[] names = train ? ["zero_grad", "encode_only", "forward", "backward", "grad_norm", "adam"] : ["encode", "decoder_steps"];
        var times = new double[names.Length][];
        for (int k = 0; k < names.Length; k++)
        {
            times[k] = new double[runs];
        }
        for (int r = 0; r < runs; r++)
        {
            long t = Stopwatch.GetTimestamp();
            double Lap()
            {
                long now = Stopwatch.GetTimestamp();
                double us = (now - t) * 1e6 / Stopwatch.Frequency;
                t = now;
                return us;
            }
            if (train)
            {
                model.Parameters.ZeroGradients();
                times[0][r] = Lap();
                model.Encode(batch.SourceIds, batch.SourceLengths, batch.BatchSize, batch.SourceLength);
                times[1][r] = Lap();
                model.Forward(batch);
                times[2][r] = Lap();
                model.Backward();
                times[3][r] = Lap();
                GradientClipping.GlobalNorm(model.Parameters.Gradients);
                times[4][r] = Lap();
                w.Trainer.Optimizer.Step(model.Parameters.Values, model.Parameters.Gradients);
                times[5][r] = Lap();
            }
            else
            {
                model.Encode(batch.SourceIds.AsSpan(0, Seq2SeqWorkload.S), [Seq2SeqWorkload.S], 1, Seq2SeqWorkload.S, w.Prepared);
                times[0][r] = Lap();
                Span<int> fed = [Seq2SeqWorkload.Bos];
                for (int step = 0; step < Seq2SeqWorkload.T; step++)
                {
                    model.DecoderStep(step, 1, fed, w.Prepared);
                    fed[0] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(model.StepLogits(step, 1));
                }
                times[1][r] = Lap();
            }
        }
        var sb = new StringBuilder($"seq2seq-json profile (H={w.Hidden}, B={w.Batch}, threads={KernelThreads.Count}, median of {runs} runs, us):");
        double total = 0;
        for (int k = 0; k < names.Length; k++)
        {
            double m = Median(times[k]);
            if (names[k] != "encode_only")
            {
                total += m;
            }
            sb.Append(CultureInfo.InvariantCulture, $" {names[k]}={m:F0}");
        }
        sb.Append(CultureInfo.InvariantCulture, $" total={total:F0}");
        if (train)
        {
            sb.Append(" (forward includes its own encoder pass; encode_only is that pass timed alone)");
        }
        Console.Error.WriteLine(sb.ToString());
    }

    private static string Lower(bool b) => b ? "true" : "false";

    private static string Num(double x) => double.IsFinite(x) ? x.ToString("R", CultureInfo.InvariantCulture) : "null";

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }
}
