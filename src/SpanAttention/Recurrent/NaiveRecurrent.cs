using System.Numerics;

namespace SpanAttention.Recurrent;

/// <summary>The three recurrent cells, for the naive twins (the fast code selects a cell by type instead).</summary>
public enum RecurrentKind
{
    /// <summary>Elman RNN with tanh: one gate.</summary>
    Rnn = 0,

    /// <summary>GRU, gates r, z, n.</summary>
    Gru = 1,

    /// <summary>LSTM, gates i, f, g, o.</summary>
    Lstm = 2,
}

/// <summary>
/// The naive twins of the recurrent cells and layers: plain per-row, per-step scalar loops written straight
/// from the equations (docs/derivations/rnn.md, gru.md, lstm.md), generic over the float type. In
/// <see cref="double"/> they are the tests' oracle; in <see cref="float"/> the benchmarks' baseline.
/// </summary>
/// <remarks>
/// Parameters are one flat span in the order <see cref="RecurrentLayer{TGates}"/> registers them (PyTorch's
/// state_dict order): for each layer, for each direction, weight_ih (G·H, in), weight_hh (G·H, H),
/// bias_ih (G·H), bias_hh (G·H). Shapes as in <see cref="RecurrentLayer{TGates}"/>. The step backward
/// recomputes the step's gates from its inputs instead of caching them (simplest, and the fast code's
/// caching is then checked against an independent path). These twins allocate their tapes per call.
/// </remarks>
internal static class NaiveRecurrent
{
    /// <summary>Number of packed gates of a cell kind.</summary>
    /// <param name="kind">The cell.</param>
    /// <returns>1, 3 or 4.</returns>
    public static int GateCount(RecurrentKind kind) => kind switch { RecurrentKind.Rnn => 1, RecurrentKind.Gru => 3, _ => 4 };

    /// <summary>Number of parameters of one direction of one layer: G·H·(in + H + 2).</summary>
    /// <param name="kind">The cell.</param>
    /// <param name="inputSize">in.</param>
    /// <param name="hiddenSize">H.</param>
    /// <returns>The count.</returns>
    public static int DirectionParameterCount(RecurrentKind kind, int inputSize, int hiddenSize) =>
        GateCount(kind) * hiddenSize * (inputSize + hiddenSize + 2);

    private static T Sigmoid<T>(T x) where T : struct, IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));

    /// <summary>One step of one row: h' (and c') from x, h, c. Overwrites h and c.</summary>
    /// <param name="kind">The cell.</param>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="p">This direction's parameters: weight_ih, weight_hh, bias_ih, bias_hh back to back.</param>
    /// <param name="x">(I).</param>
    /// <param name="hPrev">(H).</param>
    /// <param name="cPrev">(H) LSTM only.</param>
    /// <param name="h">(H) overwritten.</param>
    /// <param name="c">(H) LSTM only, overwritten.</param>
    public static void StepForward<T>(RecurrentKind kind, int inputSize, int hiddenSize, ReadOnlySpan<T> p,
        ReadOnlySpan<T> x, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> cPrev, Span<T> h, Span<T> c)
        where T : struct, IFloatingPointIeee754<T>
    {
        int hs = hiddenSize, g = GateCount(kind) * hs;
        var gx = new T[g]; // W_ih x + b_ih
        var gh = new T[g]; // W_hh h + b_hh
        Project(inputSize, hs, p, x, hPrev, gx, gh);
        for (int j = 0; j < hs; j++)
        {
            switch (kind)
            {
                case RecurrentKind.Rnn:
                    h[j] = T.Tanh(gx[j] + gh[j]);
                    break;
                case RecurrentKind.Gru:
                    T r = Sigmoid(gx[j] + gh[j]);
                    T z = Sigmoid(gx[hs + j] + gh[hs + j]);
                    T n = T.Tanh(gx[2 * hs + j] + r * gh[2 * hs + j]);
                    h[j] = (T.One - z) * n + z * hPrev[j];
                    break;
                default:
                    T i = Sigmoid(gx[j] + gh[j]);
                    T f = Sigmoid(gx[hs + j] + gh[hs + j]);
                    T gg = T.Tanh(gx[2 * hs + j] + gh[2 * hs + j]);
                    T o = Sigmoid(gx[3 * hs + j] + gh[3 * hs + j]);
                    T cn = f * cPrev[j] + i * gg;
                    c[j] = cn;
                    h[j] = o * T.Tanh(cn);
                    break;
            }
        }
    }

    /// <summary>
    /// The backward of <see cref="StepForward{T}"/> for one row (recomputing the gates). Accumulates into
    /// dp, dx, dhPrev and dcPrev.
    /// </summary>
    /// <param name="kind">The cell.</param>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="p">This direction's parameters.</param>
    /// <param name="x">(I) the step's input.</param>
    /// <param name="hPrev">(H).</param>
    /// <param name="cPrev">(H) LSTM only.</param>
    /// <param name="dh">(H) gradient of h'.</param>
    /// <param name="dc">(H) gradient of c' (LSTM only).</param>
    /// <param name="dp">This direction's parameter gradients, accumulated.</param>
    /// <param name="dx">(I) accumulated.</param>
    /// <param name="dhPrev">(H) accumulated.</param>
    /// <param name="dcPrev">(H) LSTM only, accumulated.</param>
    public static void StepBackward<T>(RecurrentKind kind, int inputSize, int hiddenSize, ReadOnlySpan<T> p,
        ReadOnlySpan<T> x, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> cPrev, ReadOnlySpan<T> dh, ReadOnlySpan<T> dc,
        Span<T> dp, Span<T> dx, Span<T> dhPrev, Span<T> dcPrev)
        where T : struct, IFloatingPointIeee754<T>
    {
        int hs = hiddenSize, g = GateCount(kind) * hs, ni = inputSize;
        var gx = new T[g];
        var gh = new T[g];
        Project(ni, hs, p, x, hPrev, gx, gh);
        var dgx = new T[g]; // gradient of W_ih x + b_ih
        var dgh = new T[g]; // gradient of W_hh h + b_hh
        for (int j = 0; j < hs; j++)
        {
            switch (kind)
            {
                case RecurrentKind.Rnn:
                {
                    T y = T.Tanh(gx[j] + gh[j]);
                    T da = dh[j] * (T.One - y * y);
                    dgx[j] = da;
                    dgh[j] = da;
                    break;
                }
                case RecurrentKind.Gru:
                {
                    T r = Sigmoid(gx[j] + gh[j]);
                    T z = Sigmoid(gx[hs + j] + gh[hs + j]);
                    T n = T.Tanh(gx[2 * hs + j] + r * gh[2 * hs + j]);
                    T dn = dh[j] * (T.One - z);
                    T dz = dh[j] * (hPrev[j] - n);
                    dhPrev[j] += dh[j] * z;
                    T dan = dn * (T.One - n * n);
                    T dr = dan * gh[2 * hs + j];
                    T dar = dr * r * (T.One - r);
                    T daz = dz * z * (T.One - z);
                    dgx[j] = dar; dgh[j] = dar;
                    dgx[hs + j] = daz; dgh[hs + j] = daz;
                    dgx[2 * hs + j] = dan; dgh[2 * hs + j] = dan * r;
                    break;
                }
                default:
                {
                    T i = Sigmoid(gx[j] + gh[j]);
                    T f = Sigmoid(gx[hs + j] + gh[hs + j]);
                    T gg = T.Tanh(gx[2 * hs + j] + gh[2 * hs + j]);
                    T o = Sigmoid(gx[3 * hs + j] + gh[3 * hs + j]);
                    T cn = f * cPrev[j] + i * gg;
                    T tc = T.Tanh(cn);
                    T dct = (dc.IsEmpty ? T.Zero : dc[j]) + dh[j] * o * (T.One - tc * tc);
                    T dAi = dct * gg * i * (T.One - i);
                    T dAf = dct * cPrev[j] * f * (T.One - f);
                    T dAg = dct * i * (T.One - gg * gg);
                    T dAo = dh[j] * tc * o * (T.One - o);
                    dcPrev[j] += dct * f;
                    dgx[j] = dAi; dgx[hs + j] = dAf; dgx[2 * hs + j] = dAg; dgx[3 * hs + j] = dAo;
                    dgh[j] = dAi; dgh[hs + j] = dAf; dgh[2 * hs + j] = dAg; dgh[3 * hs + j] = dAo;
                    break;
                }
            }
        }
        // Projections backward: W_ih (g, I) at 0, W_hh (g, H) at g·I, b_ih at g·(I+H), b_hh after it.
        int oWhh = g * ni, oBih = g * (ni + hs), oBhh = oBih + g;
        for (int r = 0; r < g; r++)
        {
            for (int j = 0; j < ni; j++)
            {
                dp[r * ni + j] += dgx[r] * x[j];
                dx[j] += dgx[r] * p[r * ni + j];
            }
            for (int j = 0; j < hs; j++)
            {
                dp[oWhh + r * hs + j] += dgh[r] * hPrev[j];
                dhPrev[j] += dgh[r] * p[oWhh + r * hs + j];
            }
            dp[oBih + r] += dgx[r];
            dp[oBhh + r] += dgh[r];
        }
    }

    /// <summary>gx = W_ih x + b_ih, gh = W_hh h + b_hh.</summary>
    private static void Project<T>(int ni, int hs, ReadOnlySpan<T> p, ReadOnlySpan<T> x, ReadOnlySpan<T> hPrev, T[] gx, T[] gh)
        where T : struct, IFloatingPointIeee754<T>
    {
        int g = gx.Length, oWhh = g * ni, oBih = g * (ni + hs), oBhh = oBih + g;
        for (int r = 0; r < g; r++)
        {
            T sx = p[oBih + r];
            for (int j = 0; j < ni; j++)
            {
                sx += p[r * ni + j] * x[j];
            }
            T sh = p[oBhh + r];
            for (int j = 0; j < hs; j++)
            {
                sh += p[oWhh + r * hs + j] * hPrev[j];
            }
            gx[r] = sx;
            gh[r] = sh;
        }
    }

    /// <summary>The whole stack forward, row by row and step by step. Shapes and semantics as <c>RecurrentLayer.Forward</c>.</summary>
    /// <param name="kind">The cell.</param>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="numLayers">L.</param>
    /// <param name="bidirectional">D = 2 when true.</param>
    /// <param name="p">All parameters, in registration order.</param>
    /// <param name="batch">B.</param>
    /// <param name="steps">S.</param>
    /// <param name="x">(B, S, I).</param>
    /// <param name="lengths">(B).</param>
    /// <param name="h0">(L·D, B, H) or empty.</param>
    /// <param name="c0">(L·D, B, H) or empty (LSTM).</param>
    /// <param name="output">(B, S, D·H), overwritten.</param>
    /// <param name="hN">(L·D, B, H), overwritten.</param>
    /// <param name="cN">(L·D, B, H), overwritten (LSTM; may be empty otherwise).</param>
    public static void Forward<T>(RecurrentKind kind, int inputSize, int hiddenSize, int numLayers, bool bidirectional,
        ReadOnlySpan<T> p, int batch, int steps, ReadOnlySpan<T> x, ReadOnlySpan<int> lengths, ReadOnlySpan<T> h0, ReadOnlySpan<T> c0,
        Span<T> output, Span<T> hN, Span<T> cN)
        where T : struct, IFloatingPointIeee754<T>
    {
        Run(kind, inputSize, hiddenSize, numLayers, bidirectional, p, batch, steps, x, lengths, h0, c0, output, hN, cN, null);
    }

    /// <summary>
    /// The whole stack backward: runs <see cref="Forward{T}"/> again keeping a tape, then walks every row back
    /// through its valid steps. Accumulates into dp, dX, dH0, dC0 (any of the last three may be empty).
    /// </summary>
    /// <param name="kind">The cell.</param>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="numLayers">L.</param>
    /// <param name="bidirectional">D = 2 when true.</param>
    /// <param name="p">All parameters.</param>
    /// <param name="batch">B.</param>
    /// <param name="steps">S.</param>
    /// <param name="x">(B, S, I).</param>
    /// <param name="lengths">(B).</param>
    /// <param name="h0">(L·D, B, H) or empty.</param>
    /// <param name="c0">(L·D, B, H) or empty.</param>
    /// <param name="dOutput">(B, S, D·H) or empty.</param>
    /// <param name="dHN">(L·D, B, H) or empty.</param>
    /// <param name="dCN">(L·D, B, H) or empty.</param>
    /// <param name="dp">Parameter gradients, accumulated.</param>
    /// <param name="dX">(B, S, I) accumulated, or empty.</param>
    /// <param name="dH0">(L·D, B, H) accumulated, or empty.</param>
    /// <param name="dC0">(L·D, B, H) accumulated, or empty.</param>
    public static void Backward<T>(RecurrentKind kind, int inputSize, int hiddenSize, int numLayers, bool bidirectional,
        ReadOnlySpan<T> p, int batch, int steps, ReadOnlySpan<T> x, ReadOnlySpan<int> lengths, ReadOnlySpan<T> h0, ReadOnlySpan<T> c0,
        ReadOnlySpan<T> dOutput, ReadOnlySpan<T> dHN, ReadOnlySpan<T> dCN, Span<T> dp, Span<T> dX, Span<T> dH0, Span<T> dC0)
        where T : struct, IFloatingPointIeee754<T>
    {
        int dirs = bidirectional ? 2 : 1, hs = hiddenSize, width = dirs * hs;
        var tape = new Tape<T>(numLayers, dirs, batch, steps, hs, inputSize);
        var output = new T[batch * steps * width];
        var hN = new T[numLayers * dirs * batch * hs];
        var cN = new T[numLayers * dirs * batch * hs];
        Run(kind, inputSize, hiddenSize, numLayers, bidirectional, p, batch, steps, x, lengths, h0, c0, output, hN, cN, tape);

        var dh = new T[hs];
        var dc = new T[hs];
        var dhPrev = new T[hs];
        var dcPrev = new T[hs];
        T[] dAbove = dOutput.IsEmpty ? new T[batch * steps * width] : dOutput.ToArray(); // gradient of this layer's output
        for (int k = numLayers - 1; k >= 0; k--)
        {
            int ni = k == 0 ? inputSize : width;
            var dInput = new T[batch * steps * ni];
            for (int d = 0; d < dirs; d++)
            {
                int s = k * dirs + d;
                int offset = ParameterOffset(kind, inputSize, hs, dirs, k, d);
                int count = DirectionParameterCount(kind, ni, hs);
                ReadOnlySpan<T> pd = p.Slice(offset, count);
                Span<T> dpd = dp.Slice(offset, count);
                for (int b = 0; b < batch; b++)
                {
                    for (int j = 0; j < hs; j++)
                    {
                        dh[j] = dHN.IsEmpty ? T.Zero : dHN[(s * batch + b) * hs + j];
                        dc[j] = dCN.IsEmpty ? T.Zero : dCN[(s * batch + b) * hs + j];
                    }
                    int len = lengths[b];
                    for (int i = len - 1; i >= 0; i--)
                    {
                        int t = d == 0 ? i : len - 1 - i;
                        int row = b * steps + t;
                        for (int j = 0; j < hs; j++)
                        {
                            dh[j] += dAbove[row * width + d * hs + j];
                        }
                        Array.Clear(dhPrev);
                        Array.Clear(dcPrev);
                        StepBackward(kind, ni, hs, pd, tape.Inputs[k].AsSpan(row * ni, ni),
                            tape.HPrev[s].AsSpan(row * hs, hs), tape.CPrev[s].AsSpan(row * hs, hs), dh, dc,
                            dpd, dInput.AsSpan(row * ni, ni), dhPrev, dcPrev);
                        dhPrev.CopyTo(dh, 0);
                        dcPrev.CopyTo(dc, 0);
                    }
                    for (int j = 0; j < hs; j++)
                    {
                        if (!dH0.IsEmpty) { dH0[(s * batch + b) * hs + j] += dh[j]; }
                        if (!dC0.IsEmpty && kind == RecurrentKind.Lstm) { dC0[(s * batch + b) * hs + j] += dc[j]; }
                    }
                }
            }
            if (k == 0)
            {
                if (!dX.IsEmpty)
                {
                    for (int i = 0; i < dInput.Length; i++) { dX[i] += dInput[i]; }
                }
            }
            else
            {
                dAbove = dInput;
            }
        }
    }

    /// <summary>Offset of layer k, direction d in the flat parameters.</summary>
    private static int ParameterOffset(RecurrentKind kind, int inputSize, int hs, int dirs, int layer, int direction)
    {
        int offset = 0;
        for (int k = 0; k <= layer; k++)
        {
            int ni = k == 0 ? inputSize : dirs * hs;
            for (int d = 0; d < dirs; d++)
            {
                if (k == layer && d == direction)
                {
                    return offset;
                }
                offset += DirectionParameterCount(kind, ni, hs);
            }
        }
        return offset;
    }

    private sealed class Tape<T>
    {
        public Tape(int layers, int dirs, int batch, int steps, int hs, int inputSize)
        {
            Inputs = new T[layers][];
            HPrev = new T[layers * dirs][];
            CPrev = new T[layers * dirs][];
            for (int k = 0; k < layers; k++)
            {
                Inputs[k] = new T[batch * steps * (k == 0 ? inputSize : dirs * hs)];
            }
            for (int s = 0; s < layers * dirs; s++)
            {
                HPrev[s] = new T[batch * steps * hs];
                CPrev[s] = new T[batch * steps * hs];
            }
        }

        public T[][] Inputs { get; }
        public T[][] HPrev { get; }
        public T[][] CPrev { get; }
    }

    private static void Run<T>(RecurrentKind kind, int inputSize, int hs, int numLayers, bool bidirectional,
        ReadOnlySpan<T> p, int batch, int steps, ReadOnlySpan<T> x, ReadOnlySpan<int> lengths, ReadOnlySpan<T> h0, ReadOnlySpan<T> c0,
        Span<T> output, Span<T> hN, Span<T> cN, Tape<T>? tape)
        where T : struct, IFloatingPointIeee754<T>
    {
        int dirs = bidirectional ? 2 : 1, width = dirs * hs;
        T[] input = x.Slice(0, batch * steps * inputSize).ToArray();
        var h = new T[hs];
        var c = new T[hs];
        var hNext = new T[hs];
        var cNext = new T[hs];
        for (int k = 0; k < numLayers; k++)
        {
            int ni = k == 0 ? inputSize : width;
            if (tape is not null)
            {
                input.CopyTo(tape.Inputs[k], 0);
            }
            var layerOut = new T[batch * steps * width]; // zero at padded steps
            for (int d = 0; d < dirs; d++)
            {
                int s = k * dirs + d;
                ReadOnlySpan<T> pd = p.Slice(ParameterOffset(kind, inputSize, hs, dirs, k, d), DirectionParameterCount(kind, ni, hs));
                for (int b = 0; b < batch; b++)
                {
                    for (int j = 0; j < hs; j++)
                    {
                        h[j] = h0.IsEmpty ? T.Zero : h0[(s * batch + b) * hs + j];
                        c[j] = c0.IsEmpty ? T.Zero : c0[(s * batch + b) * hs + j];
                    }
                    int len = lengths[b];
                    for (int i = 0; i < len; i++)
                    {
                        int t = d == 0 ? i : len - 1 - i; // the reverse direction starts at the row's last valid step
                        int row = b * steps + t;
                        if (tape is not null)
                        {
                            h.CopyTo(tape.HPrev[s], row * hs);
                            c.CopyTo(tape.CPrev[s], row * hs);
                        }
                        StepForward(kind, ni, hs, pd, input.AsSpan(row * ni, ni), h, c, hNext, cNext);
                        hNext.CopyTo(h, 0);
                        cNext.CopyTo(c, 0);
                        h.CopyTo(layerOut, row * width + d * hs);
                    }
                    for (int j = 0; j < hs; j++)
                    {
                        hN[(s * batch + b) * hs + j] = h[j];
                        if (kind == RecurrentKind.Lstm) { cN[(s * batch + b) * hs + j] = c[j]; }
                    }
                }
            }
            input = layerOut;
        }
        input.CopyTo(output);
    }
}
