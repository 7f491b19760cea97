using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SpanAttention.Parameters;
using SpanAttention.Recurrent;

namespace SpanAttention.Benchmarks;

/// <summary>
/// GRU and LSTM layers (one layer, one direction, input size = H, S = 32, full lengths), forward and
/// forward+backward, against the naive per-step scalar twin (<see cref="NaiveRecurrent"/> in float; its
/// backward re-runs its forward, so "NaiveForwardBackward" is one call). H = 1024 is in
/// <see cref="RecurrentLargeBenchmarks"/>: the naive twin takes minutes there.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class RecurrentBenchmarks
{
    private const int Steps = 32;
    private readonly RecurrentFixture _fixture = new();

    /// <summary>The cell.</summary>
    [Params(RecurrentKind.Gru, RecurrentKind.Lstm)]
    public RecurrentKind Kind { get; set; }

    /// <summary>B.</summary>
    [Params(1, 32)]
    public int Batch { get; set; }

    /// <summary>H (= I).</summary>
    [Params(64, 256)]
    public int Hidden { get; set; }

    [GlobalSetup]
    public void Setup() => _fixture.Setup(Kind, Batch, Hidden, Steps);

    [Benchmark(Baseline = true), BenchmarkCategory("Forward")]
    public void NaiveForward() => _fixture.NaiveForward();

    [Benchmark, BenchmarkCategory("Forward")]
    public void Forward() => _fixture.Forward();

    [Benchmark(Baseline = true), BenchmarkCategory("ForwardBackward")]
    public void NaiveForwardBackward() => _fixture.NaiveForwardBackward();

    [Benchmark, BenchmarkCategory("ForwardBackward")]
    public void ForwardBackward() => _fixture.ForwardBackward();
}

/// <summary>The fast layers at H = 1024 (no naive baseline: it would take minutes per call).</summary>
[MemoryDiagnoser]
public class RecurrentLargeBenchmarks
{
    private readonly RecurrentFixture _fixture = new();

    /// <summary>The cell.</summary>
    [Params(RecurrentKind.Gru, RecurrentKind.Lstm)]
    public RecurrentKind Kind { get; set; }

    /// <summary>B.</summary>
    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup() => _fixture.Setup(Kind, Batch, 1024, 32);

    [Benchmark]
    public void Forward() => _fixture.Forward();

    [Benchmark]
    public void ForwardBackward() => _fixture.ForwardBackward();
}

/// <summary>Shared set-up: one layer of the chosen cell, its parameters, data and gradient buffers.</summary>
internal sealed class RecurrentFixture
{
    private RecurrentKind _kind;
    private int _batch, _hidden, _steps;
    private RecurrentLayer<GruGates>? _gru;
    private RecurrentLayer<LstmGates>? _lstm;
    private ParameterSet _parameters = null!;
    private float[] _x = [], _output = [], _hN = [], _cN = [], _dOutput = [], _dX = [], _dH0 = [], _dC0 = [];
    private int[] _lengths = [];
    private float[] _naiveOutput = [], _naiveHN = [], _naiveCN = [], _naiveDParams = [];

    public void Setup(RecurrentKind kind, int batch, int hidden, int steps)
    {
        _kind = kind;
        _batch = batch;
        _hidden = hidden;
        _steps = steps;
        var layout = new ParameterLayout();
        var random = new Random(42);
        if (kind == RecurrentKind.Gru)
        {
            _gru = new RecurrentLayer<GruGates>(layout, "rnn.", hidden, hidden, 1, false, batch, steps);
            _parameters = new ParameterSet(layout);
            _gru.Initialize(_parameters, random);
        }
        else
        {
            _lstm = new RecurrentLayer<LstmGates>(layout, "rnn.", hidden, hidden, 1, false, batch, steps);
            _parameters = new ParameterSet(layout);
            _lstm.Initialize(_parameters, random);
        }
        _x = Random(batch * steps * hidden, random);
        _dOutput = Random(batch * steps * hidden, random);
        _output = new float[batch * steps * hidden];
        _hN = new float[batch * hidden];
        _cN = new float[batch * hidden];
        _dX = new float[_x.Length];
        _dH0 = new float[batch * hidden];
        _dC0 = new float[batch * hidden];
        _lengths = Enumerable.Repeat(steps, batch).ToArray();
        _naiveOutput = new float[_output.Length];
        _naiveHN = new float[_hN.Length];
        _naiveCN = new float[_cN.Length];
        _naiveDParams = new float[_parameters.Values.Length];
        // Warm up the fast path so every workspace exists before measuring.
        ForwardBackward();
    }

    private static float[] Random(int n, Random random)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)(random.NextDouble() * 2 - 1);
        }
        return v;
    }

    public void Forward()
    {
        if (_gru is not null)
        {
            _gru.Forward(_parameters, _batch, _steps, _x, _lengths, default, default, _output, _hN, default);
        }
        else
        {
            _lstm!.Forward(_parameters, _batch, _steps, _x, _lengths, default, default, _output, _hN, _cN);
        }
    }

    public void ForwardBackward()
    {
        Forward();
        if (_gru is not null)
        {
            _gru.Backward(_parameters, _x, _dOutput, default, default, _dX, _dH0, default);
        }
        else
        {
            _lstm!.Backward(_parameters, _x, _dOutput, default, default, _dX, _dH0, _dC0);
        }
    }

    public void NaiveForward() =>
        NaiveRecurrent.Forward<float>(_kind, _hidden, _hidden, 1, false, _parameters.Values, _batch, _steps, _x, _lengths,
            default, default, _naiveOutput, _naiveHN, _naiveCN);

    public void NaiveForwardBackward() =>
        NaiveRecurrent.Backward<float>(_kind, _hidden, _hidden, 1, false, _parameters.Values, _batch, _steps, _x, _lengths,
            default, default, _dOutput, default, default, _naiveDParams, _dX, _dH0, _dC0);
}
