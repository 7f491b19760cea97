using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SpanAttention.Kernels;

namespace SpanAttention.Benchmarks;

/// <summary>
/// y = W·x and y = Wᵀ·x for the shapes the models use: 256x256, 768x256 (GRU gates, H = 256) and
/// 3072x1024 (GRU gates, H = 1024), plus an odd shape that exercises every remainder.
/// </summary>
/// <remarks>
/// Every call does 2·Rows·Cols flops (one multiply and one add per weight), so
/// GFLOP/s = 2·Rows·Cols / (mean time in ns). For example 768x256 at 10 us is 39.3 GFLOP/s.
/// It also reads 4·Rows·Cols bytes of weights, so GB/s = 2 x GFLOP/s: GEMV is bound by how fast W streams
/// in from the cache level it fits in (768x256 is 768 KiB, 3072x1024 is 12 MiB).
/// Ratios are per category (W·x, Wᵀ·x) against the naive twin; "packed" uses weights packed once into <see cref="PackedGemvMatrix"/>,
/// "packed bf16" / "packed int8" the inference layouts that stream 2·Rows·Cols and Rows·Cols bytes.
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class GemvBenchmarks
{
    private float[] _w = [];
    private float[] _x = [];
    private float[] _xt = [];
    private float[] _y = [];
    private float[] _yt = [];
    private PackedGemvMatrix _packed = null!;
    private PackedGemvMatrix _bf16 = null!;
    private PackedGemvMatrix _int8 = null!;

    /// <summary>(rows, cols) of W as "rows x cols".</summary>
    [Params("256x256", "768x256", "3072x1024", "771x253")]
    public string Shape { get; set; } = "256x256";

    private int Rows => int.Parse(Shape.AsSpan(0, Shape.IndexOf('x', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture);

    private int Cols => int.Parse(Shape.AsSpan(Shape.IndexOf('x', StringComparison.Ordinal) + 1), System.Globalization.CultureInfo.InvariantCulture);

    [GlobalSetup]
    public void Setup()
    {
        int rows = Rows, cols = Cols;
        var rng = new Random(42);
        _w = new float[rows * cols];
        for (int i = 0; i < _w.Length; i++)
        {
            _w[i] = (float)(rng.NextDouble() - 0.5);
        }
        _x = new float[cols];
        _xt = new float[rows];
        for (int i = 0; i < cols; i++)
        {
            _x[i] = (float)(rng.NextDouble() - 0.5);
        }
        for (int i = 0; i < rows; i++)
        {
            _xt[i] = (float)(rng.NextDouble() - 0.5);
        }
        _y = new float[rows];
        _yt = new float[cols];
        _packed = new PackedGemvMatrix(rows, cols);
        _packed.Pack(_w, rows, cols, cols);
        _bf16 = new PackedGemvMatrix(rows, cols, PackedElement.BFloat16);
        _bf16.Pack(_w, rows, cols, cols);
        _int8 = new PackedGemvMatrix(rows, cols, PackedElement.Int8);
        _int8.Pack(_w, rows, cols, cols);
    }

    [Benchmark(Baseline = true, Description = "W·x naive")]
    [BenchmarkCategory("W·x")]
    public void NaiveMultiply() => Naive.Gemv(_w, _packed.Rows, _packed.Cols, _packed.Cols, _x, _y, false);

    [Benchmark(Description = "W·x")]
    [BenchmarkCategory("W·x")]
    public void Multiply() => Gemv.Multiply(_w, _packed.Rows, _packed.Cols, _packed.Cols, _x, _y, false);

    [Benchmark(Description = "W·x packed")]
    [BenchmarkCategory("W·x")]
    public void MultiplyPacked() => Gemv.Multiply(_packed, _x, _y, false);

    [Benchmark(Description = "W·x packed bf16")]
    [BenchmarkCategory("W·x")]
    public void MultiplyPackedBFloat16() => Gemv.Multiply(_bf16, _x, _y, false);

    [Benchmark(Description = "W·x packed int8")]
    [BenchmarkCategory("W·x")]
    public void MultiplyPackedInt8() => Gemv.Multiply(_int8, _x, _y, false);

    [Benchmark(Baseline = true, Description = "Wᵀ·x naive")]
    [BenchmarkCategory("Wᵀ·x")]
    public void NaiveMultiplyTransposed() => Naive.GemvTransposed(_w, _packed.Rows, _packed.Cols, _packed.Cols, _xt, _yt, false);

    [Benchmark(Description = "Wᵀ·x")]
    [BenchmarkCategory("Wᵀ·x")]
    public void MultiplyTransposed() => Gemv.MultiplyTransposed(_w, _packed.Rows, _packed.Cols, _packed.Cols, _xt, _yt, false);

    [Benchmark(Description = "Wᵀ·x packed")]
    [BenchmarkCategory("Wᵀ·x")]
    public void MultiplyTransposedPacked() => Gemv.MultiplyTransposed(_packed, _xt, _yt, false);

    [Benchmark(Baseline = true, Description = "pack W")]
    [BenchmarkCategory("pack")]
    public void Pack() => _packed.Pack(_w, _packed.Rows, _packed.Cols, _packed.Cols);
}
