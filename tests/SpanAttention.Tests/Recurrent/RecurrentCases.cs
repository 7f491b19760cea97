using SpanAttention.Parameters;
using SpanAttention.Recurrent;
using SpanAttention.Tests.Support;

namespace SpanAttention.Tests.Recurrent;

/// <summary>One layer configuration with its random data: parameters, inputs, initial states and the
/// weights of the loss L = Σ wOut·output + Σ wH·hN + Σ wC·cN (a random linear functional).</summary>
internal sealed class LayerCase
{
    public LayerCase(RecurrentKind kind, int inputSize, int hiddenSize, int layers, bool bidirectional, int batch, int steps, int[] lengths, int seed)
    {
        Kind = kind;
        I = inputSize;
        H = hiddenSize;
        L = layers;
        Bidirectional = bidirectional;
        B = batch;
        S = steps;
        Lengths = lengths;
        var layout = new ParameterLayout();
        var rng = new Random(seed);
        int count = LayerRunner.Build(this, layout, rng, out float[] values);
        Params = values;
        ParameterCount = count;
        X = Uniform(rng, B * S * I, 1.0);
        H0 = Uniform(rng, L * D * B * H, 0.5);
        C0 = Kind == RecurrentKind.Lstm ? Uniform(rng, L * D * B * H, 0.5) : [];
        WOut = Uniform(rng, B * S * D * H, 1.0);
        WH = Uniform(rng, L * D * B * H, 1.0);
        WC = Kind == RecurrentKind.Lstm ? Uniform(rng, L * D * B * H, 1.0) : [];
    }

    public RecurrentKind Kind { get; }
    public int I { get; }
    public int H { get; }
    public int L { get; }
    public bool Bidirectional { get; }
    public int D => Bidirectional ? 2 : 1;
    public int B { get; }
    public int S { get; }
    public int[] Lengths { get; }
    public int ParameterCount { get; }
    public float[] Params { get; }
    public float[] X { get; }
    public float[] H0 { get; }
    public float[] C0 { get; }
    public float[] WOut { get; }
    public float[] WH { get; }
    public float[] WC { get; }

    public override string ToString() => $"{Kind} I={I} H={H} L={L} D={D} B={B} S={S} lengths=[{string.Join(",", Lengths)}]";

    private static float[] Uniform(Random rng, int n, double scale)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        }
        return v;
    }
}

/// <summary>Everything a layer computes for a case: forward outputs and every gradient of the loss.</summary>
internal sealed record LayerResult(float[] Output, float[] HN, float[] CN, float[] DParams, float[] DX, float[] DH0, float[] DC0);

/// <summary>Runs the fast layer (any gate type) and the double-precision oracle on a <see cref="LayerCase"/>.</summary>
internal static class LayerRunner
{
    /// <summary>Registers a layer of the case's kind, initialises it PyTorch-style and returns its parameters.</summary>
    public static int Build(LayerCase c, ParameterLayout layout, Random rng, out float[] values)
    {
        ParameterSet ps;
        int count;
        switch (c.Kind)
        {
            case RecurrentKind.Rnn:
            {
                var layer = new RecurrentLayer<RnnGates>(layout, "rnn.", c.I, c.H, c.L, c.Bidirectional);
                ps = new ParameterSet(layout);
                layer.Initialize(ps, rng);
                count = layer.ParameterCount;
                break;
            }
            case RecurrentKind.Gru:
            {
                var layer = new RecurrentLayer<GruGates>(layout, "rnn.", c.I, c.H, c.L, c.Bidirectional);
                ps = new ParameterSet(layout);
                layer.Initialize(ps, rng);
                count = layer.ParameterCount;
                break;
            }
            default:
            {
                var layer = new RecurrentLayer<LstmGates>(layout, "rnn.", c.I, c.H, c.L, c.Bidirectional);
                ps = new ParameterSet(layout);
                layer.Initialize(ps, rng);
                count = layer.ParameterCount;
                break;
            }
        }
        values = ps.Values;
        return count;
    }

    /// <summary>The fast layer for the case's kind.</summary>
    public static LayerResult Fast(LayerCase c) => c.Kind switch
    {
        RecurrentKind.Rnn => Fast<RnnGates>(c),
        RecurrentKind.Gru => Fast<GruGates>(c),
        _ => Fast<LstmGates>(c),
    };

    /// <summary>Forward then backward of <see cref="RecurrentLayer{TGates}"/> with the case's loss weights as upstream gradients.</summary>
    public static LayerResult Fast<TGates>(LayerCase c, bool withInitialState = true)
        where TGates : struct, IRecurrentGates
    {
        var layout = new ParameterLayout();
        var layer = new RecurrentLayer<TGates>(layout, "rnn.", c.I, c.H, c.L, c.Bidirectional, c.B, c.S);
        var ps = new ParameterSet(layout);
        c.Params.CopyTo(ps.Values, 0);
        int states = c.L * c.D * c.B * c.H;
        bool lstm = TGates.HasCellState;
        var output = new float[c.B * c.S * c.D * c.H];
        var hN = new float[states];
        var cN = lstm ? new float[states] : [];
        layer.Forward(ps, c.B, c.S, c.X, c.Lengths, withInitialState ? c.H0 : default, withInitialState ? c.C0 : default, output, hN, cN);
        var dX = new float[c.X.Length];
        var dH0 = new float[states];
        var dC0 = lstm ? new float[states] : [];
        layer.Backward(ps, c.X, c.WOut, c.WH, c.WC, dX, dH0, dC0);
        return new LayerResult(output, hN, cN, ps.Gradients, dX, dH0, dC0);
    }

    /// <summary>The naive twin in double: forward, and its own backward.</summary>
    public static (double[] Output, double[] HN, double[] CN, double[] DParams, double[] DX, double[] DH0, double[] DC0) Naive(LayerCase c)
    {
        double[] p = ToDouble(c.Params), x = ToDouble(c.X), h0 = ToDouble(c.H0), c0 = ToDouble(c.C0);
        int states = c.L * c.D * c.B * c.H;
        var output = new double[c.B * c.S * c.D * c.H];
        var hN = new double[states];
        var cN = new double[states];
        NaiveRecurrent.Forward<double>(c.Kind, c.I, c.H, c.L, c.Bidirectional, p, c.B, c.S, x, c.Lengths, h0, c0, output, hN, cN);
        var dp = new double[p.Length];
        var dX = new double[x.Length];
        var dH0 = new double[states];
        var dC0 = new double[states];
        NaiveRecurrent.Backward<double>(c.Kind, c.I, c.H, c.L, c.Bidirectional, p, c.B, c.S, x, c.Lengths, h0, c0,
            ToDouble(c.WOut), ToDouble(c.WH), ToDouble(c.WC), dp, dX, dH0, dC0);
        return (output, hN, c.Kind == RecurrentKind.Lstm ? cN : [], dp, dX, dH0, c.Kind == RecurrentKind.Lstm ? dC0 : []);
    }

    /// <summary>The loss in double precision, with the naive forward.</summary>
    public static double Loss(LayerCase c, double[] p, double[] x, double[] h0, double[] c0)
    {
        int states = c.L * c.D * c.B * c.H;
        var output = new double[c.B * c.S * c.D * c.H];
        var hN = new double[states];
        var cN = new double[states];
        NaiveRecurrent.Forward<double>(c.Kind, c.I, c.H, c.L, c.Bidirectional, p, c.B, c.S, x, c.Lengths, h0, c0, output, hN, cN);
        double loss = 0;
        for (int i = 0; i < output.Length; i++) { loss += c.WOut[i] * output[i]; }
        for (int i = 0; i < hN.Length; i++) { loss += c.WH[i] * hN[i]; }
        for (int i = 0; i < c.WC.Length; i++) { loss += c.WC[i] * cN[i]; }
        return loss;
    }

    /// <summary>
    /// Central finite differences of the double loss with respect to every parameter, input and initial
    /// state: (L(v + ε) - L(v - ε)) / 2ε with ε = 1e-6. Truncation error O(ε²)·L''' ≈ 1e-12 and round-off
    /// ≈ 1e-16·|L|/ε ≈ 1e-9, far below the float32 errors the checks must resolve.
    /// </summary>
    public static (double[] DParams, double[] DX, double[] DH0, double[] DC0) FiniteDifferences(LayerCase c)
    {
        double[] p = ToDouble(c.Params), x = ToDouble(c.X), h0 = ToDouble(c.H0), c0 = ToDouble(c.C0);
        double Eval() => Loss(c, p, x, h0, c0);
        return (Central(p, Eval), Central(x, Eval), Central(h0, Eval), Central(c0, Eval));
    }

    // Step 1e-6: the double oracle's loss is O(1), so cancellation error is ~1e-10 and truncation ~1e-12.
    private static double[] Central(double[] v, Func<double> loss) => Support.FiniteDifferences.Central(v, loss, step: 1e-6);

    public static double[] ToDouble(float[] v) => Array.ConvertAll(v, f => (double)f);
}

/// <summary>Tolerance checks that report instead of throwing, so the teeth tests can assert a failure.</summary>
internal static class GradientCheck
{
    /// <summary>
    /// The first element with |actual - expected| &gt; rtol·|expected| + atol·max|expected|, or null when all
    /// agree (plus an optional fixed absoluteFloor). The atol part is relative to the tensor's largest element, so near-zero entries of a
    /// tensor are held to the precision its large entries can have in float32.
    /// </summary>
    public static string? Mismatch(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, double rtol, double atol, string what, double absoluteFloor = 0)
    {
        if (expected.Length != actual.Length)
        {
            return $"{what}: length {actual.Length}, expected {expected.Length}";
        }
        double scale = 0;
        foreach (double e in expected) { scale = Math.Max(scale, Math.Abs(e)); }
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(actual[i] - expected[i]);
            if (float.IsNaN(actual[i]) || diff > rtol * Math.Abs(expected[i]) + atol * Math.Max(scale, 1e-3) + absoluteFloor)
            {
                return $"{what}[{i}] of {expected.Length}: {actual[i]:R}, expected {expected[i]:R} (|diff| {diff:E2})";
            }
        }
        return null;
    }

    /// <summary>Same check for two double tensors.</summary>
    public static string? Mismatch(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double rtol, double atol, string what)
    {
        if (expected.Length != actual.Length)
        {
            return $"{what}: length {actual.Length}, expected {expected.Length}";
        }
        double scale = 0;
        foreach (double e in expected) { scale = Math.Max(scale, Math.Abs(e)); }
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = Math.Abs(actual[i] - expected[i]);
            if (double.IsNaN(actual[i]) || diff > rtol * Math.Abs(expected[i]) + atol * Math.Max(scale, 1e-3))
            {
                return $"{what}[{i}] of {expected.Length}: {actual[i]:R}, expected {expected[i]:R} (|diff| {diff:E2})";
            }
        }
        return null;
    }

    /// <summary>All gradients of a fast result against the finite-difference oracle; null when they agree.</summary>
    public static string? AgainstOracle(LayerCase c, LayerResult fast, (double[] DParams, double[] DX, double[] DH0, double[] DC0) fd, double rtol, double atol) =>
        Mismatch(fd.DParams, fast.DParams, rtol, atol, $"{c} dParams")
        ?? Mismatch(fd.DX, fast.DX, rtol, atol, $"{c} dX")
        ?? Mismatch(fd.DH0, fast.DH0, rtol, atol, $"{c} dH0")
        ?? Mismatch(fd.DC0, fast.DC0, rtol, atol, $"{c} dC0");
}
