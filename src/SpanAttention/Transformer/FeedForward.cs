using SpanAttention.Kernels;
using SpanAttention.Parameters;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Transformer;

/// <summary>The activation between the two linear maps of <see cref="FeedForward"/>.</summary>
public enum FeedForwardActivation
{
    /// <summary>max(x, 0), PyTorch's default for nn.TransformerEncoderLayer.</summary>
    Relu = 0,

    /// <summary>The exact GELU x·Φ(x) (<c>F.gelu</c>, approximate='none').</summary>
    Gelu = 1,
}

/// <summary>
/// The position-wise feed-forward block of a Transformer layer: y = linear2(act(linear1(x))) on every row
/// (position) independently, with linear1: E -> F and linear2: F -> E as <c>nn.Linear</c>
/// (<c>{prefix}linear1.weight</c> [F, E], <c>linear1.bias</c>, <c>linear2.weight</c> [E, F], <c>linear2.bias</c>).
/// </summary>
/// <remarks>
/// Owns its activation buffers, sized once for at most <see cref="MaxRows"/> rows: forward caches the
/// pre-activation h = linear1(x) (GELU's backward needs it) and a = act(h) (linear2's backward needs it).
/// Dropout between act and linear2 is the caller's (dropout 0 here, as in the goldens).
/// </remarks>
internal sealed class FeedForward
{
    private float[] _hidden = [];     // h = x W1ᵀ + b1: (N, F)
    private float[] _activated = [];  // a = act(h): (N, F)
    private float[] _dActivated = []; // da = dY W2: (N, F)

    /// <summary>Registers linear1 and linear2 and allocates the buffers.</summary>
    /// <param name="layout">The model's layout, still being built.</param>
    /// <param name="prefix">Name prefix, e.g. <c>encoder.layers.0.</c> (empty for none).</param>
    /// <param name="features">E.</param>
    /// <param name="hidden">F, the feed-forward size (PyTorch's dim_feedforward).</param>
    /// <param name="activation">ReLU or GELU.</param>
    /// <param name="maxRows">The most rows (B·S) a call may have.</param>
    public FeedForward(ParameterLayout layout, string prefix, int features, int hidden, FeedForwardActivation activation, int maxRows)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRows);
        Linear1 = new Linear(layout, prefix + "linear1", features, hidden);
        Linear2 = new Linear(layout, prefix + "linear2", hidden, features);
        Activation = activation;
        EnsureCapacity(maxRows);
    }

    /// <summary>Grows the buffers to hold <paramref name="maxRows"/> rows (never shrinks). Allocates only when growing.</summary>
    /// <param name="maxRows">The most rows (B·S) a call may have.</param>
    public void EnsureCapacity(int maxRows)
    {
        if (maxRows <= MaxRows)
        {
            return;
        }
        MaxRows = maxRows;
        int hidden = Linear1.OutFeatures;
        _hidden = new float[maxRows * hidden];
        _activated = new float[maxRows * hidden];
        _dActivated = new float[maxRows * hidden];
    }

    /// <summary>E -> F.</summary>
    public Linear Linear1 { get; }

    /// <summary>F -> E.</summary>
    public Linear Linear2 { get; }

    /// <summary>The activation.</summary>
    public FeedForwardActivation Activation { get; }

    /// <summary>The most rows per call.</summary>
    public int MaxRows { get; private set; }

    /// <summary>The last forward's activations a = act(h): (N, F) for N rows (for inspection; backward overwrites them).</summary>
    public ReadOnlySpan<float> Activated(int rows) => _activated.AsSpan(0, rows * Linear1.OutFeatures);

    /// <summary>nn.Linear's default initialisation of both maps.</summary>
    /// <param name="parameters">The model's parameters.</param>
    /// <param name="random">Seeded random source.</param>
    public void Initialize(ParameterSet parameters, Random random)
    {
        Linear1.Initialize(parameters, random);
        Linear2.Initialize(parameters, random);
    }

    /// <summary>y = linear2(act(linear1(x))).</summary>
    /// <param name="x">Input: (N, E).</param>
    /// <param name="rows">N ≤ <see cref="MaxRows"/>.</param>
    /// <param name="values">The model's flat parameter values.</param>
    /// <param name="y">Output: (N, E). Overwritten; must not overlap x.</param>
    public void Forward(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> values, Span<float> y)
    {
        CheckRows(rows);
        int f = Linear1.OutFeatures;
        Span<float> h = _hidden.AsSpan(0, rows * f), a = _activated.AsSpan(0, rows * f);
        Linear1.Forward(x, rows, values, h);                               // h = x W1ᵀ + b1    (N, F)
        if (Activation == FeedForwardActivation.Relu)
        {
            Activations.Relu(h, a);                                        // a = max(h, 0)     (N, F)
        }
        else
        {
            Activations.Gelu(h, a);                                        // a = h Φ(h)        (N, F)
        }
        Linear2.Forward(a, rows, values, y);                               // y = a W2ᵀ + b2    (N, E)
    }

    /// <summary>Accumulates dX and the gradients of linear1 and linear2, from the buffers of the last <see cref="Forward"/>.</summary>
    /// <param name="dY">Upstream gradient: (N, E).</param>
    /// <param name="x">The forward input: (N, E).</param>
    /// <param name="rows">N, as in the forward.</param>
    /// <param name="values">The model's flat parameter values.</param>
    /// <param name="gradients">The model's flat gradients, accumulated into.</param>
    /// <param name="dX">Gradient of the input: (N, E). Accumulated.</param>
    public void Backward(ReadOnlySpan<float> dY, ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> values, Span<float> gradients, Span<float> dX)
    {
        CheckRows(rows);
        int f = Linear1.OutFeatures;
        Span<float> h = _hidden.AsSpan(0, rows * f), a = _activated.AsSpan(0, rows * f), da = _dActivated.AsSpan(0, rows * f);
        da.Clear();
        Linear2.Backward(dY, a, rows, values, gradients, da);              // da = dY W2, dW2 += dYᵀ a, db2 += Σ dY
        // dh = da ⊙ act'(h), written over a: the activations are not needed after linear2's backward
        Span<float> dh = a;
        dh.Clear();
        if (Activation == FeedForwardActivation.Relu)
        {
            Activations.ReluBackward(h, da, dh);                           // dh = da ⊙ [h > 0]
        }
        else
        {
            Activations.GeluBackward(h, da, dh);                           // dh = da ⊙ (Φ(h) + h φ(h))
        }
        Linear1.Backward(dh, x, rows, values, gradients, dX);               // dX += dh W1, dW1 += dhᵀ x, db1 += Σ dh
    }

    private void CheckRows(int rows)
    {
        if ((uint)rows > (uint)MaxRows)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), $"{nameof(rows)}: must be in 0..{MaxRows} (the size this layer was built for), got {rows}.");
        }
    }
}
