using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SpanAttention.Kernels;

namespace SpanAttention.Benchmarks;

/// <summary>Sigmoid and tanh, forward and backward, over n = 1024 (four gate blocks of H = 256), against the naive twins.</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ActivationBenchmarks
{
    private float[] _x = [];
    private float[] _y = [];
    private float[] _dy = [];
    private float[] _dx = [];

    /// <summary>Vector length.</summary>
    [Params(1024, 1031)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(3);
        _x = new float[N];
        _dy = new float[N];
        for (int i = 0; i < N; i++)
        {
            _x[i] = (float)((rng.NextDouble() - 0.5) * 8);
            _dy[i] = (float)(rng.NextDouble() - 0.5);
        }
        _y = new float[N];
        _dx = new float[N];
        Activations.Tanh(_x, _y);
    }

    [Benchmark(Baseline = true, Description = "tanh naive")]
    [BenchmarkCategory("tanh")]
    public void NaiveTanh() => Naive.Tanh(_x, _y);

    [Benchmark(Description = "tanh")]
    [BenchmarkCategory("tanh")]
    public void Tanh() => Activations.Tanh(_x, _y);

    [Benchmark(Baseline = true, Description = "sigmoid naive")]
    [BenchmarkCategory("sigmoid")]
    public void NaiveSigmoid() => Naive.Sigmoid(_x, _y);

    [Benchmark(Description = "sigmoid")]
    [BenchmarkCategory("sigmoid")]
    public void Sigmoid() => Activations.Sigmoid(_x, _y);

    [Benchmark(Baseline = true, Description = "tanh backward naive")]
    [BenchmarkCategory("tanh backward")]
    public void NaiveTanhBackward() => Naive.TanhBackward(_y, _dy, _dx);

    [Benchmark(Description = "tanh backward")]
    [BenchmarkCategory("tanh backward")]
    public void TanhBackward() => Activations.TanhBackward(_y, _dy, _dx);

    [Benchmark(Baseline = true, Description = "sigmoid backward naive")]
    [BenchmarkCategory("sigmoid backward")]
    public void NaiveSigmoidBackward() => Naive.SigmoidBackward(_y, _dy, _dx);

    [Benchmark(Description = "sigmoid backward")]
    [BenchmarkCategory("sigmoid backward")]
    public void SigmoidBackward() => Activations.SigmoidBackward(_y, _dy, _dx);
}
