using SpanAttention.Attention;
using SpanAttention.Parameters;
using SpanAttention.Tests.Support;
using Xunit;

namespace SpanAttention.Tests.Attention;

/// <summary>
/// The argument checks and the workspace life cycle of <see cref="AttentionLayer"/>: every wrong length is one
/// typed error naming its buffer, capacity and preparation rules hold at their edges, a Backward left without
/// its PrepareKeysBackward leaves nothing behind, and positions past a row's length are never read.
/// </summary>
public sealed class AttentionLayerArgumentTests
{
    private const int B = 2, S = 3, T = 2, Dq = 4, Dv = 3, A = 5;
    private static readonly int[] Lengths = [2, 3];

    /// <summary>A prepared layer with its parameters and inputs (fixed seeds).</summary>
    private sealed class Problem
    {
        public Problem(AttentionScorer scorer, int dk = 6, float[]? values = null)
        {
            Dk = scorer is AttentionScorer.Dot or AttentionScorer.ScaledDot ? Dq : dk;
            Layer = new AttentionLayer(scorer, Dq, Dk, Dv, A, B, S, T);
            var layout = new ParameterLayout();
            Layer.RegisterParameters(layout, "attention.");
            Parameters = new ParameterSet(layout);
            Layer.InitializeParameters(Parameters, new Random(3));
            Queries = Numerics.Random(T * B * Dq, 4);
            Keys = Numerics.Random(B * S * Dk, 5);
            Values = values ?? Numerics.Random(B * S * Dv, 6);
            Layer.PrepareKeys(Parameters.Values, Keys, B, S);
        }

        public int Dk { get; }
        public AttentionLayer Layer { get; }
        public ParameterSet Parameters { get; }
        public float[] Queries { get; }
        public float[] Keys { get; }
        public float[] Values { get; }
        public ReadOnlySpan<float> Query => Queries.AsSpan(0, B * Dq);
    }

    private static void AssertArgument(string name, Action action) =>
        Assert.Equal(name, Assert.Throws<ArgumentException>(action).ParamName);

    [Theory]
    [InlineData(0, 4, 3, "queryDim")]
    [InlineData(4, 0, 3, "keyDim")]
    [InlineData(4, 4, 0, "valueDim")]
    public void Constructor_NonPositiveSize_ThrowsNamingIt(int queryDim, int keyDim, int valueDim, string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new AttentionLayer(AttentionScorer.General, queryDim, keyDim, valueDim, 0, 1, 1));
        Assert.Equal(name, e.ParamName);
    }

    [Theory]
    [InlineData(0, 1, 1, "maxBatch")]
    [InlineData(1, 0, 1, "maxSource")]
    [InlineData(1, 1, 0, "maxSteps")]
    public void EnsureCapacity_NonPositiveSize_ThrowsNamingIt(int maxBatch, int maxSource, int maxSteps, string name)
    {
        var layer = new AttentionLayer(AttentionScorer.Dot, 4, 4, 3, 0, 2, 2);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => layer.EnsureCapacity(maxBatch, maxSource, maxSteps));
        Assert.Equal(name, e.ParamName);
    }

    [Fact]
    public void Constructor_StepsTimesSourceOverflows_ThrowsOverflow() =>
        Assert.Throws<OverflowException>(() => new AttentionLayer(AttentionScorer.Dot, 4, 4, 3, 0, maxBatch: 1, maxSource: 65536, maxSteps: 65536));

    [Fact]
    public void EnsureCapacity_NotLarger_KeepsThePreparedBatch()
    {
        var p = new Problem(AttentionScorer.General);
        p.Layer.EnsureCapacity(B, S, T);     // exactly the current capacity
        p.Layer.EnsureCapacity(1, 1, 1);     // smaller
        var weights = new float[B * S];
        var context = new float[B * Dv];
        p.Layer.Forward(p.Parameters.Values, p.Query, p.Keys, p.Values, Lengths, weights, context);   // still prepared
        Assert.Equal((B, S, T), (p.Layer.MaxBatch, p.Layer.MaxSource, p.Layer.MaxSteps));
    }

    [Theory]
    [InlineData(B + 1, S, T)]
    [InlineData(B, S + 1, T)]
    [InlineData(B, S, T + 1)]
    public void EnsureCapacity_Larger_DiscardsThePreparedBatch(int maxBatch, int maxSource, int maxSteps)
    {
        var p = new Problem(AttentionScorer.General);
        p.Layer.EnsureCapacity(maxBatch, maxSource, maxSteps);
        Assert.Throws<InvalidOperationException>(() =>
            p.Layer.Forward(p.Parameters.Values, p.Query, p.Keys, p.Values, Lengths, new float[B * S], new float[B * Dv]));
    }

    [Fact]
    public void RegisterParameters_NullOrTwice_Throws()
    {
        var layer = new AttentionLayer(AttentionScorer.General, 4, 6, 3, 0, 1, 1);
        Assert.Equal("layout", Assert.Throws<ArgumentNullException>(() => layer.RegisterParameters(null!, "a.")).ParamName);
        Assert.Equal("prefix", Assert.Throws<ArgumentNullException>(() => layer.RegisterParameters(new ParameterLayout(), null!)).ParamName);
        layer.RegisterParameters(new ParameterLayout(), "a.");
        var e = Assert.Throws<InvalidOperationException>(() => layer.RegisterParameters(new ParameterLayout(), "b."));
        Assert.Contains("already registered", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InitializeParameters_Null_Throws()
    {
        var p = new Problem(AttentionScorer.General);
        Assert.Equal("parameters", Assert.Throws<ArgumentNullException>(() => p.Layer.InitializeParameters(null!, new Random(1))).ParamName);
        Assert.Equal("random", Assert.Throws<ArgumentNullException>(() => p.Layer.InitializeParameters(p.Parameters, null!)).ParamName);
    }

    [Theory]
    [InlineData(B + 1, S)]
    [InlineData(B, S + 1)]
    public void PrepareKeys_OneOverCapacity_ThrowsCapacity(int batch, int source)
    {
        var p = new Problem(AttentionScorer.Dot);
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Layer.PrepareKeys(p.Parameters.Values, new float[batch * source * Dq], batch, source));
    }

    [Fact]
    public void PrepareKeys_WrongKeyLength_ThrowsNamingKeys()
    {
        var p = new Problem(AttentionScorer.General);
        AssertArgument("keys", () => p.Layer.PrepareKeys(p.Parameters.Values, new float[B * S * p.Dk - 1], B, S));
    }

    [Fact]
    public void PrepareKeysBackward_BeforePrepareKeysOrWrongLengths_Throws()
    {
        var fresh = new AttentionLayer(AttentionScorer.General, Dq, 6, Dv, 0, B, S);
        var layout = new ParameterLayout();
        fresh.RegisterParameters(layout, "attention.");
        var set = new ParameterSet(layout);
        Assert.Throws<InvalidOperationException>(() => fresh.PrepareKeysBackward(set.Values, new float[6], set.Gradients, new float[6]));

        var p = new Problem(AttentionScorer.General);
        int n = B * S * p.Dk;
        AssertArgument("keys", () => p.Layer.PrepareKeysBackward(p.Parameters.Values, new float[n + 1], p.Parameters.Gradients, new float[n]));
        AssertArgument("dKeys", () => p.Layer.PrepareKeysBackward(p.Parameters.Values, p.Keys, p.Parameters.Gradients, new float[n - 1]));
    }

    [Fact]
    public void Forward_WrongMaskLength_ThrowsNamingMask()
    {
        var p = new Problem(AttentionScorer.General);
        var mask = new bool[B * S - 1];
        AssertArgument("mask", () => p.Layer.Forward(p.Parameters.Values, p.Query, p.Keys, p.Values, mask, new float[B * S], new float[B * Dv]));
        AssertArgument("mask", () => p.Layer.ForwardSteps(p.Parameters.Values, p.Queries, T, p.Keys, p.Values, mask, new float[T * B * S], new float[T * B * Dv]));
    }

    [Fact]
    public void Backward_WrongLengths_ThrowNamingTheBuffer()
    {
        var p = new Problem(AttentionScorer.General);
        float[] par = p.Parameters.Values, grad = p.Parameters.Gradients;
        int bs = B * S;
        void Call(int dc = 0, int dw = 0, int w = 0, int dq = 0, int dk = 0, int dvl = 0, bool withDWeights = false) =>
            p.Layer.Backward(new float[B * Dv + dc], withDWeights ? new float[bs + dw] : default, par, p.Query, p.Keys, p.Values, Lengths,
                new float[bs + w], grad, new float[B * Dq + dq], new float[bs * p.Dk + dk], new float[bs * Dv + dvl]);
        Call();   // the right lengths pass
        Call(withDWeights: true);
        AssertArgument("dContext", () => Call(dc: 1));
        AssertArgument("dWeights", () => Call(dw: -1, withDWeights: true));
        AssertArgument("weights", () => Call(w: 1));
        AssertArgument("dQueries", () => Call(dq: -1));
        AssertArgument("dKeys", () => Call(dk: 1));
        AssertArgument("dValues", () => Call(dvl: -1));
    }

    [Fact]
    public void Backward_BeforePrepareKeys_ThrowsNotPrepared()
    {
        var layer = new AttentionLayer(AttentionScorer.Dot, Dq, Dq, Dv, 0, B, S);
        Assert.Throws<InvalidOperationException>(() => layer.Backward(new float[B * Dv], default, [], new float[B * Dq], new float[B * S * Dq],
            new float[B * S * Dv], default, new float[B * S], [], new float[B * Dq], new float[B * S * Dq], new float[B * S * Dv]));
    }

    [Fact]
    public void BackwardKeptOverload_Checks_AndAnEmptyProjectedQueryOutAccumulatesAsThePlainOverload()
    {
        var p = new Problem(AttentionScorer.Additive);
        int bs = B * S;
        var weights = new float[bs];
        var context = new float[B * Dv];
        var hidden = new float[bs * A];
        p.Layer.Forward(p.Parameters.Values, p.Query, p.Keys, p.Values, Lengths, weights, context, hidden);
        float[] dContext = Numerics.Random(B * Dv, 7);

        void Kept(float[] hiddenCache, float[] dpq, float[] gradients, float[] dQuery, float[] dKeys, float[] dValues) =>
            p.Layer.Backward(dContext, default, p.Parameters.Values, p.Query, p.Keys, p.Values, Lengths, weights,
                gradients, dQuery, dKeys, dValues, hiddenCache, dpq);

        AssertArgument("hiddenCache", () => Kept(new float[bs * A - 1], [], new float[p.Parameters.Values.Length], new float[B * Dq], new float[bs * p.Dk], new float[bs * Dv]));
        AssertArgument("dProjectedQueryOut", () => Kept(hidden, new float[B * A + 1], new float[p.Parameters.Values.Length], new float[B * Dq], new float[bs * p.Dk], new float[bs * Dv]));

        // kept hidden layer, dW_q accumulated here (empty dProjectedQueryOut) == the plain overload, which recomputes it
        var g1 = new float[p.Parameters.Values.Length];
        var dq1 = new float[B * Dq];
        var dv1 = new float[bs * Dv];
        Kept(hidden, [], g1, dq1, new float[bs * p.Dk], dv1);
        var g2 = new float[p.Parameters.Values.Length];
        var dq2 = new float[B * Dq];
        var dv2 = new float[bs * Dv];
        p.Layer.Backward(dContext, default, p.Parameters.Values, p.Query, p.Keys, p.Values, Lengths, weights, g2, dq2, new float[bs * p.Dk], dv2);
        Numerics.AssertClose(g2, g1, 1e-5f, 1e-6f, "gradients");
        Numerics.AssertClose(dq2, dq1, 1e-5f, 1e-6f, "dQuery");
        Numerics.AssertClose(dv2, dv1, 1e-5f, 1e-6f, "dValues");
        Assert.Contains(g1, v => v != 0f);
    }

    [Fact]
    public void BackwardKeptOverload_ProjectedQueryOutOnANonAdditiveScorer_Throws()
    {
        var p = new Problem(AttentionScorer.General);
        int bs = B * S;
        var e = Assert.Throws<ArgumentException>(() => p.Layer.Backward(new float[B * Dv], default, p.Parameters.Values, p.Query, p.Keys, p.Values, Lengths,
            new float[bs], p.Parameters.Gradients, new float[B * Dq], new float[bs * p.Dk], new float[bs * Dv], default, new float[B * A]));
        Assert.Equal("dProjectedQueryOut", e.ParamName);
        Assert.Contains("additive", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AccumulateQueryWeightGradient_WrongScorerOrLengths_Throws()
    {
        var dot = new Problem(AttentionScorer.Dot);
        var e = Assert.Throws<InvalidOperationException>(() => dot.Layer.AccumulateQueryWeightGradient([], 0, [], []));
        Assert.Contains("additive", e.Message, StringComparison.Ordinal);

        var p = new Problem(AttentionScorer.Additive);
        float[] g = p.Parameters.Gradients;
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Layer.AccumulateQueryWeightGradient(g, -1, new float[2 * A], new float[2 * Dq]));
        AssertArgument("dProjectedQueries", () => p.Layer.AccumulateQueryWeightGradient(g, 2, new float[2 * A - 1], new float[2 * Dq]));
        AssertArgument("queries", () => p.Layer.AccumulateQueryWeightGradient(g, 2, new float[2 * A], new float[2 * Dq - 1]));
    }

    /// <summary>One General run: PrepareKeys, Forward, Backward for one step, PrepareKeysBackward; returns (gradients, dKeys).</summary>
    private static (float[], float[]) OneBatch(Problem p, float[] keys)
    {
        p.Layer.PrepareKeys(p.Parameters.Values, keys, B, S);
        var weights = new float[B * S];
        var context = new float[B * Dv];
        p.Layer.Forward(p.Parameters.Values, p.Query, keys, p.Values, Lengths, weights, context);
        var gradients = new float[p.Parameters.Values.Length];
        var dKeys = new float[B * S * p.Dk];
        p.Layer.Backward(Numerics.Random(B * Dv, 8), default, p.Parameters.Values, p.Query, keys, p.Values, Lengths, weights,
            gradients, new float[B * Dq], dKeys, new float[B * S * Dv]);
        p.Layer.PrepareKeysBackward(p.Parameters.Values, keys, gradients, dKeys);
        return (gradients, dKeys);
    }

    [Fact]
    public void PrepareKeys_AfterABackwardWithoutPrepareKeysBackward_DropsItsKeyGradient()
    {
        float[] second = Numerics.Random(B * S * 6, 9);
        (float[] gExpected, float[] dkExpected) = OneBatch(new Problem(AttentionScorer.General), second);

        var p = new Problem(AttentionScorer.General);   // prepared on its own keys
        var weights = new float[B * S];
        p.Layer.Forward(p.Parameters.Values, p.Query, p.Keys, p.Values, Lengths, weights, new float[B * Dv]);
        p.Layer.Backward(Numerics.Random(B * Dv, 10), default, p.Parameters.Values, p.Query, p.Keys, p.Values, Lengths, weights,
            new float[p.Parameters.Values.Length], new float[B * Dq], new float[B * S * p.Dk], new float[B * S * Dv]);   // no PrepareKeysBackward
        (float[] g, float[] dk) = OneBatch(p, second);
        Assert.Equal(gExpected, g);
        Assert.Equal(dkExpected, dk);
    }

    [Theory]
    [InlineData(1)]   // one query row at a time
    [InlineData(T)]   // the bilinear (T, S) GEMM path
    public void Backward_PositionsPastALength_AreNeverRead(int steps)
    {
        float[] clean = Numerics.Random(B * S * Dv, 6);
        float[] poisoned = (float[])clean.Clone();
        for (int b = 0; b < B; b++)
        {
            poisoned.AsSpan((b * S + Lengths[b]) * Dv, (S - Lengths[b]) * Dv).Fill(float.NaN);   // row 0's last position
        }
        float[][] expected = Run(new Problem(AttentionScorer.General, values: clean));
        float[][] actual = Run(new Problem(AttentionScorer.General, values: poisoned));
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i]);
        }

        float[][] Run(Problem p)
        {
            int rows = steps * B;
            ReadOnlySpan<float> queries = p.Queries.AsSpan(0, rows * Dq);
            var weights = new float[rows * S];
            var context = new float[rows * Dv];
            p.Layer.ForwardSteps(p.Parameters.Values, queries, steps, p.Keys, p.Values, Lengths, weights, context);
            var gradients = new float[p.Parameters.Values.Length];
            var dQueries = new float[rows * Dq];
            var dKeys = new float[B * S * p.Dk];
            var dValues = new float[B * S * Dv];
            p.Layer.BackwardSteps(Numerics.Random(rows * Dv, 11), Numerics.Random(rows * S, 12), p.Parameters.Values, queries, steps, p.Keys, p.Values,
                Lengths, weights, gradients, dQueries, dKeys, dValues);
            p.Layer.PrepareKeysBackward(p.Parameters.Values, p.Keys, gradients, dKeys);
            return [weights, context, gradients, dQueries, dKeys, dValues];
        }
    }
}
