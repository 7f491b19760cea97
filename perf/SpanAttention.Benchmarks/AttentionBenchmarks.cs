using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SpanAttention.Attention;
using SpanAttention.Parameters;

namespace SpanAttention.Benchmarks;

/// <summary>
/// One query against S keys of size D (B = 1, one decoder step, Dq = Dk = Dv = A = D), per scorer:
/// the fast <see cref="AttentionLayer"/> against its naive twin <see cref="NaiveAttention"/>.
/// </summary>
/// <remarks>
/// The fast side includes <see cref="AttentionLayer.PrepareKeys"/> (and <see cref="AttentionLayer.PrepareKeysBackward"/>),
/// so General and Additive pay their key projection on every call, as the naive twin does: this is the
/// cost of one query, not the amortised cost of a decoder step (which is lower by that projection).
/// Bar (issue 3): at least 5x the naive twin at S = 1024, D = 256 for every scorer; 0 bytes allocated.
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class AttentionBenchmarks
{
    private AttentionLayer _layer = null!;
    private ParameterSet _parameters = null!;
    private float[] _query = [];
    private float[] _keys = [];
    private float[] _values = [];
    private float[] _weights = [];
    private float[] _context = [];
    private float[] _dContext = [];
    private float[] _dQuery = [];
    private float[] _dKeys = [];
    private float[] _dValues = [];

    /// <summary>S, the number of keys.</summary>
    [Params(16, 128, 1024)]
    public int S { get; set; }

    /// <summary>D, the key/query/value (and additive hidden) size.</summary>
    [Params(64, 256)]
    public int D { get; set; }

    /// <summary>The scorer.</summary>
    [Params(AttentionScorer.Dot, AttentionScorer.ScaledDot, AttentionScorer.General, AttentionScorer.Additive)]
    public AttentionScorer Scorer { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _layer = new AttentionLayer(Scorer, D, D, D, D, maxBatch: 1, maxSource: S);
        var layout = new ParameterLayout();
        _layer.RegisterParameters(layout, "attention.");
        _parameters = new ParameterSet(layout);
        var rng = new Random(42);
        _layer.InitializeParameters(_parameters, rng);
        _query = Random(D, rng);
        _keys = Random(S * D, rng);
        _values = Random(S * D, rng);
        _dContext = Random(D, rng);
        _weights = new float[S];
        _context = new float[D];
        _dQuery = new float[D];
        _dKeys = new float[S * D];
        _dValues = new float[S * D];
    }

    private static float[] Random(int n, Random rng)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        return x;
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Forward")]
    public void NaiveForward() =>
        NaiveAttention.Forward(_layer, _parameters.Values, _query, _keys, _values, default, _weights, _context);

    [Benchmark]
    [BenchmarkCategory("Forward")]
    public void Forward()
    {
        _layer.PrepareKeys(_parameters.Values, _keys, 1, S);
        _layer.Forward(_parameters.Values, _query, _keys, _values, ReadOnlySpan<int>.Empty, _weights, _context);
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("ForwardBackward")]
    public void NaiveForwardBackward()
    {
        NaiveAttention.Forward(_layer, _parameters.Values, _query, _keys, _values, default, _weights, _context);
        NaiveAttention.Backward(_layer, _parameters.Values, _dContext, default, _query, _keys, _values, _weights,
            _parameters.Gradients, _dQuery, _dKeys, _dValues);
    }

    [Benchmark]
    [BenchmarkCategory("ForwardBackward")]
    public void ForwardBackward()
    {
        _layer.PrepareKeys(_parameters.Values, _keys, 1, S);
        _layer.Forward(_parameters.Values, _query, _keys, _values, ReadOnlySpan<int>.Empty, _weights, _context);
        _layer.Backward(_dContext, default, _parameters.Values, _query, _keys, _values, ReadOnlySpan<int>.Empty, _weights,
            _parameters.Gradients, _dQuery, _dKeys, _dValues);
        _layer.PrepareKeysBackward(_parameters.Values, _keys, _parameters.Gradients, _dKeys);
    }
}
