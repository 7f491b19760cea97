using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using SpanAttention.Kernels;
using SpanAttention.Vision;

namespace SpanAttention.Benchmarks;

/// <summary>
/// One Conv2d forward + backward (dX, dWeight, dBias) at the captioning CNN's sizes, batch B = 8:
/// "3-32@48" is 3 -> 32 channels on 48 x 48 pixels (k 3, p 1), "32-64@24" is 32 -> 64 channels on 24 x 24.
/// Fast: im2col + packed GEMM on one thread (KernelThreads.Count = 1, to compare with one core's FMA peak);
/// Naive: the generic nested-loop twin in float. Work per call: 3 GEMMs of 2·B·C_out·P·K flops
/// (forward, dWeight, dX), K = C_in·k·k, P = H_out·W_out; the GFLOP/s column divides it by the mean time.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class Conv2dBenchmarks
{
    private const int Batch = 8;
    private Conv2dGeometry _geometry;
    private Conv2d _conv = null!;
    private int _size;
    private float[] _x = [], _w = [], _b = [], _y = [], _dy = [], _dx = [], _dw = [], _db = [];

    /// <summary>The layer: "C_in-C_out@H".</summary>
    [Params("3-32@48", "32-64@24")]
    public string Layer { get; set; } = "3-32@48";

    [GlobalSetup]
    public void Setup()
    {
        (int cIn, int cOut, int size) = Parse(Layer);
        _size = size;
        _geometry = new Conv2dGeometry(cIn, cOut, 3, 1, 1);
        _conv = new Conv2d(_geometry, size, size);
        _x = BenchmarkData.Random(Batch * cIn * size * size, 1);
        _w = BenchmarkData.Random(_geometry.WeightSize, 2);
        _b = BenchmarkData.Random(cOut, 3);
        _y = new float[Batch * cOut * size * size];
        _dy = BenchmarkData.Random(_y.Length, 4);
        _dx = new float[_x.Length];
        _dw = new float[_w.Length];
        _db = new float[cOut];
        KernelThreads.Count = 1;
    }

    [Benchmark(Baseline = true)]
    public void Naive()
    {
        NaiveVision.Conv2dForward<float>(_geometry, _x, Batch, _size, _size, _w, _b, _y);
        NaiveVision.Conv2dBackward<float>(_geometry, _dy, _x, Batch, _size, _size, _w, _dx, _dw, _db);
    }

    [Benchmark]
    public void Fast()
    {
        _conv.Forward(_x, Batch, _size, _size, _w, _b, _y);
        _conv.Backward(_dy, _x, Batch, _size, _size, _w, _dx, _dw, _db);
    }

    internal static (int CIn, int COut, int Size) Parse(string layer)
    {
        string[] parts = layer.Split('-', '@');
        return (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture));
    }

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new GflopsColumn(Flops));

        private static double Flops(BenchmarkCase c)
        {
            (int cIn, int cOut, int size) = Parse((string)c.Parameters["Layer"]);
            return 3.0 * 2 * Batch * cOut * size * size * cIn * 9;
        }
    }
}
