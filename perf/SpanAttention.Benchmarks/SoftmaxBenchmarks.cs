using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SpanAttention.Kernels;

namespace SpanAttention.Benchmarks;

/// <summary>
/// Stable softmax over one row of n logits (an attention row over n source steps, or a small vocabulary):
/// forward, forward with a padding mask, and backward, each against its naive twin.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SoftmaxBenchmarks
{
    private float[] _scores = [];
    private float[] _weights = [];
    private float[] _dWeights = [];
    private float[] _dScores = [];
    private bool[] _valid = [];

    /// <summary>Row length.</summary>
    [Params(16, 127, 128, 1024)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(7);
        _scores = new float[N];
        _dWeights = new float[N];
        _valid = new bool[N];
        for (int i = 0; i < N; i++)
        {
            _scores[i] = (float)((rng.NextDouble() - 0.5) * 20);
            _dWeights[i] = (float)(rng.NextDouble() - 0.5);
            _valid[i] = i < N - N / 4; // the last quarter is padding
        }
        _weights = new float[N];
        _dScores = new float[N];
        Softmax.Forward(_scores, _weights);
    }

    [Benchmark(Baseline = true, Description = "forward naive")]
    [BenchmarkCategory("forward")]
    public void NaiveForward() => Naive.Softmax(_scores, ReadOnlySpan<bool>.Empty, _weights);

    [Benchmark(Description = "forward")]
    [BenchmarkCategory("forward")]
    public void Forward() => Softmax.Forward(_scores, _weights);

    [Benchmark(Baseline = true, Description = "masked forward naive")]
    [BenchmarkCategory("masked")]
    public void NaiveMaskedForward() => Naive.Softmax(_scores, _valid, _weights);

    [Benchmark(Description = "masked forward")]
    [BenchmarkCategory("masked")]
    public void MaskedForward() => Softmax.Forward(_scores, _valid, _weights);

    [Benchmark(Description = "valid-prefix forward")]
    [BenchmarkCategory("masked")]
    public void PrefixForward() => Softmax.Forward(_scores, N - N / 4, _weights);

    [Benchmark(Baseline = true, Description = "backward naive")]
    [BenchmarkCategory("backward")]
    public void NaiveBackward() => Naive.SoftmaxBackward(_weights, _dWeights, _dScores);

    [Benchmark(Description = "backward")]
    [BenchmarkCategory("backward")]
    public void Backward() => Softmax.Backward(_weights, _dWeights, _dScores);
}
