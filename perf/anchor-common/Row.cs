using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace SpanAttention.Anchors;

/// <summary>
/// Command line and timing shared by the anchor harnesses, and their output: one JSON line per row in the
/// <c>seq2seq-json</c> format of perf/pytorch/seq2seq_bench.py (engine, mode, H, E, B, threads, median, unit,
/// gflops, flops, samples, cpu_median, reps, warmup, V, S, T, config), which perf/pytorch/compare_table.py reads.
/// </summary>
internal sealed class Row
{
    public string Mode { get; private set; } = "train";

    public int Hidden { get; private set; } = 64;

    public int Batch { get; private set; } = 32;

    public int Threads { get; private set; } = 1;

    public int Reps { get; private set; } = 10;

    public int Warmup { get; private set; } = 3;

    public string Data { get; private set; } = "";

    /// <summary>Options a harness adds (e.g. <c>--weights int8</c>), name without dashes to value.</summary>
    public Dictionary<string, string> Extra { get; } = [];

    public bool Train => Mode == "train";

    /// <summary>
    /// Parses <c>--mode train|decode --hidden H --batch B --threads N --reps R --warmup W --data DIR</c> plus the
    /// harness's own <paramref name="extraOptions"/>; decoding is batch 1 by definition of the workload.
    /// </summary>
    public static Row Parse(string[] args, params string[] extraOptions)
    {
        var row = new Row();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            string value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            int Int() => int.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture);
            switch (name)
            {
                case "--mode": row.Mode = value; break;
                case "--hidden": row.Hidden = Int(); break;
                case "--batch": row.Batch = Int(); break;
                case "--threads": row.Threads = Int(); break;
                case "--reps": row.Reps = Int(); break;
                case "--warmup": row.Warmup = Int(); break;
                case "--data": row.Data = value; break;
                default:
                    if (!name.StartsWith("--", StringComparison.Ordinal) || !extraOptions.Contains(name[2..]))
                    {
                        throw new ArgumentException($"Unknown argument '{name}'. Usage: --mode train|decode --hidden H --batch B "
                            + "--threads N --reps R --warmup W --data DIR" + string.Concat(extraOptions.Select(o => $" [--{o} VALUE]")));
                    }
                    row.Extra[name[2..]] = value;
                    break;
            }
        }
        if (row.Mode is not ("train" or "decode") || row.Hidden < 1 || row.Batch < 1 || row.Threads < 1 || row.Reps < 1 || row.Warmup < 0 || row.Data.Length == 0)
        {
            throw new ArgumentException($"Invalid arguments: mode {row.Mode}, H {row.Hidden}, B {row.Batch}, threads {row.Threads}, "
                + $"reps {row.Reps}, warmup {row.Warmup}, data '{row.Data}' (--data DIR is required).");
        }
        if (row.Mode == "decode")
        {
            row.Batch = 1;
        }
        return row;
    }

    /// <summary>
    /// Runs <paramref name="run"/> for the warm-up (at least <see cref="Warmup"/> runs and one second), then
    /// <see cref="Reps"/> timed runs; returns wall and process-CPU seconds of each timed run.
    /// </summary>
    public (double[] Wall, double[] Cpu) Time(Action run)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < Warmup || Stopwatch.GetElapsedTime(start).TotalSeconds < 1.0; i++)
        {
            run();
        }
        using Process process = Process.GetCurrentProcess();
        var wall = new double[Reps];
        var cpu = new double[Reps];
        for (int r = 0; r < Reps; r++)
        {
            process.Refresh();
            TimeSpan c0 = process.TotalProcessorTime;
            long t0 = Stopwatch.GetTimestamp();
            run();
            wall[r] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            process.Refresh();
            cpu[r] = (process.TotalProcessorTime - c0).TotalSeconds;
        }
        return (wall, cpu);
    }

    /// <summary>The row's JSON line (workload.py's FLOP formula); <paramref name="fields"/> is appended as raw JSON members.</summary>
    public string Json(string engine, double[] wall, double[] cpu, int S, int T, int V, string fields)
    {
        int tokens = Batch * T;
        double[] samples = wall.Select(s => Train ? tokens / s : s / T * 1e6).ToArray();
        double median = Median(samples);
        double flops = Train ? TrainFlopsPerStep(Hidden, Batch, S, T, V) : TrainFlopsPerStep(Hidden, 1, S, T, V) / 3 / T;
        double gflops = Train ? flops * median / tokens / 1e9 : flops / (median * 1e-6) / 1e9;
        double cpuMedian = Train ? tokens / Math.Max(Median(cpu), 1e-9) : Median(cpu) / T * 1e6;
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"{{\"engine\":\"{engine}\",\"mode\":\"{Mode}\",\"H\":{Hidden},\"E\":{Hidden},\"B\":{Batch},\"threads\":{Threads},");
        sb.Append(inv, $"\"median\":{Num(median)},\"unit\":\"{(Train ? "tokens/s" : "us/token")}\",\"gflops\":{Num(gflops)},\"flops\":{Num(flops)},");
        sb.Append("\"samples\":[").Append(string.Join(",", samples.Select(Num))).Append("],");
        sb.Append(inv, $"\"cpu_median\":{Num(cpuMedian)},\"reps\":{Reps},\"warmup\":{Warmup},\"V\":{V},\"S\":{S},\"T\":{T},");
        sb.Append(fields).Append('}');
        return sb.ToString();
    }

    /// <summary>workload.py's train_flops_per_step with E = A = H: 3 · 2 · MACs per sequence · B.</summary>
    public static double TrainFlopsPerStep(int h, int b, int s, int t, int v)
    {
        double H = h;
        double macs = s * (3 * H * H + 3 * H * H) + s * H * H + t * (H * H + s * H + s * H + 3 * H * (2 * H) + 3 * H * H + v * H);
        return 3 * 2 * macs * b;
    }

    public static string Num(double x) => double.IsFinite(x) ? x.ToString("R", CultureInfo.InvariantCulture) : "null";

    /// <summary>JSON string literal of <paramref name="s"/> (quotes and backslashes escaped).</summary>
    public static string Str(string? s) => s is null ? "null" : "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static double Median(double[] values)
    {
        double[] sorted = [.. values.Order()];
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }
}
