using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using SpanAttention.Kernels;

namespace SpanAttention.Benchmarks;

/// <summary>
/// Batch-32 gate projections Y (32, 3H) = X (32, H) · Wᵀ with W stored [3H, H] (a GRU's three gates):
/// H = 256 is (32x256)·(256x768), H = 1024 is (32x1024)·(1024x3072). Packed: W packed once into a
/// <see cref="PackedMatrix"/> (as after an optimizer step); Unpacked: W packed inside every call.
/// Work per call: 2·32·3H·H flops; the GFLOP/s column divides it by the mean time.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class GemmGateProjectionBenchmarks
{
    private const int Batch = 32;
    private float[] _x = [];
    private float[] _w = [];
    private float[] _y = [];
    private PackedMatrix _packed = null!;

    /// <summary>Hidden size H: k = H, n = 3H.</summary>
    [Params(256, 1024)]
    public int Hidden { get; set; }

    /// <summary>KernelThreads.Count for the fast versions (the naive twin is always one thread).</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        int n = 3 * Hidden;
        _x = BenchmarkData.Random(Batch * Hidden, 1);
        _w = BenchmarkData.Random(n * Hidden, 2);
        _y = new float[Batch * n];
        _packed = new PackedMatrix(Hidden, n);
        _packed.Pack(_w, Hidden, Transpose.Yes);
        KernelThreads.Count = Threads;
    }

    [Benchmark(Baseline = true)]
    public void Naive() =>
        SpanAttention.Kernels.Naive.Gemm(Batch, 3 * Hidden, Hidden, _x, Hidden, Transpose.No, _w, Hidden, Transpose.Yes, _y, 3 * Hidden, false);

    [Benchmark]
    public void Unpacked() =>
        Gemm.Multiply(Batch, 3 * Hidden, Hidden, _x, Hidden, Transpose.No, _w, Hidden, Transpose.Yes, _y, 3 * Hidden, false);

    [Benchmark]
    public void Packed() => Gemm.Multiply(Batch, _x, Hidden, Transpose.No, _packed, _y, 3 * Hidden, false);

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new GflopsColumn(c => 2.0 * Batch * 3 * Param(c, "Hidden") * Param(c, "Hidden")));
    }

    internal static double Param(BenchmarkCase c, string name) => Convert.ToDouble(c.Parameters[name], System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// Square C (n, n) = A (n, n) · B (n, n) on one and two threads. n = 1024 is the headline shape (2.1 GFLOP
/// per call: the naive twin takes seconds per call); n = 255 is an odd size with edge tiles everywhere.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class GemmSquareBenchmarks
{
    private float[] _a = [];
    private float[] _b = [];
    private float[] _c = [];

    /// <summary>m = n = k.</summary>
    [Params(255, 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _a = BenchmarkData.Random(Size * Size, 1);
        _b = BenchmarkData.Random(Size * Size, 2);
        _c = new float[Size * Size];
    }

    [Benchmark(Baseline = true)]
    public void Naive() => SpanAttention.Kernels.Naive.Gemm(Size, Size, Size, _a, Size, Transpose.No, _b, Size, Transpose.No, _c, Size, false);

    [Benchmark]
    public void OneThread()
    {
        KernelThreads.Count = 1;
        Gemm.Multiply(Size, Size, Size, _a, Size, Transpose.No, _b, Size, Transpose.No, _c, Size, false);
    }

    [Benchmark]
    public void TwoThreads()
    {
        KernelThreads.Count = 2;
        Gemm.Multiply(Size, Size, Size, _a, Size, Transpose.No, _b, Size, Transpose.No, _c, Size, false);
    }

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new GflopsColumn(c => 2.0 * Math.Pow(GemmGateProjectionBenchmarks.Param(c, "Size"), 3)));
    }
}

/// <summary>Deterministic benchmark inputs.</summary>
internal static class BenchmarkData
{
    public static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        return x;
    }
}

/// <summary>A summary column: floating-point operations per call divided by the mean time, in GFLOP/s.</summary>
internal sealed class GflopsColumn(Func<BenchmarkCase, double> flopsPerCall) : IColumn
{
    public string Id => nameof(GflopsColumn);

    public string ColumnName => "GFLOP/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Floating-point operations per call (2 per multiply-add) / mean time, in 1e9 per second";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        return meanNs is > 0 ? (flopsPerCall(benchmarkCase) / meanNs.Value).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) : "-";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
