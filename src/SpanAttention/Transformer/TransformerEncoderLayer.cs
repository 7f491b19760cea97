using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Transformer;

/// <summary>
/// One encoder layer with <c>nn.TransformerEncoderLayer(E, H, F, dropout=0, batch_first=True)</c> semantics and
/// names: <c>{prefix}self_attn.*</c>, <c>linear1.*</c>, <c>linear2.*</c>, <c>norm1.*</c>, <c>norm2.*</c>.
/// </summary>
/// <remarks>
/// <code>
/// post-norm (PyTorch's default):  u = norm1(x + SA(x));      y = norm2(u + FF(u))
/// pre-norm (norm_first):          u = x + SA(norm1(x));      y = u + FF(norm2(u))
/// </code>
/// SA is self-attention with the key padding mask given as lengths (and optionally causal); FF the
/// position-wise feed-forward. Backward is the same list in reverse, each residual sending its upstream
/// gradient to both branches. Dropout is not applied (dropout 0, as in the goldens).
/// </remarks>
internal sealed class TransformerEncoderLayer
{
    private float[] _attended = [];   // SA output: (N, E)
    private float[] _first = [];      // post: x + SA(x); pre: norm1(x)       (N, E)
    private float[] _u = [];          // the block between the two sublayers  (N, E)
    private float[] _fed = [];        // FF output                            (N, E)
    private float[] _second = [];     // post: u + FF(u); pre: norm2(u)       (N, E)
    private float[] _mean1 = [], _rstd1 = [], _mean2 = [], _rstd2 = [];   // (N) each
    private float[] _dFirst = [], _dU = [], _dSecond = [];                // (N, E) each
    private int _rows, _maxBatch, _maxSteps;

    /// <summary>Registers every tensor and allocates the buffers.</summary>
    /// <param name="layout">The model's layout, still being built.</param>
    /// <param name="prefix">Name prefix, e.g. <c>encoder.layers.0.</c>.</param>
    /// <param name="embedding">E (d_model).</param>
    /// <param name="heads">H (nhead).</param>
    /// <param name="feedForward">F (dim_feedforward).</param>
    /// <param name="activation">ReLU (PyTorch's default) or GELU.</param>
    /// <param name="normFirst">Pre-norm instead of post-norm.</param>
    /// <param name="maxBatch">The most batch rows per call.</param>
    /// <param name="maxSteps">The most positions per call.</param>
    public TransformerEncoderLayer(ParameterLayout layout, string prefix, int embedding, int heads, int feedForward, FeedForwardActivation activation,
        bool normFirst, int maxBatch, int maxSteps)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        SelfAttention = new MultiheadAttention(layout, prefix + "self_attn.", embedding, heads, maxBatch, maxSteps, maxSteps);
        FeedForward = new FeedForward(layout, prefix, embedding, feedForward, activation, maxBatch * maxSteps);
        Norm1 = new LayerNorm(layout, prefix + "norm1", embedding);
        Norm2 = new LayerNorm(layout, prefix + "norm2", embedding);
        NormFirst = normFirst;
        EnsureCapacity(maxBatch, maxSteps);
    }

    /// <summary>Grows the buffers (this layer's and its sublayers') to hold (maxBatch, maxSteps) (never shrinks). Allocates only when growing.</summary>
    /// <param name="maxBatch">The most batch rows per call.</param>
    /// <param name="maxSteps">The most positions per call.</param>
    public void EnsureCapacity(int maxBatch, int maxSteps)
    {
        if (maxBatch <= _maxBatch && maxSteps <= _maxSteps)
        {
            return;
        }
        _maxBatch = Math.Max(maxBatch, _maxBatch);
        _maxSteps = Math.Max(maxSteps, _maxSteps);
        SelfAttention.EnsureCapacity(_maxBatch, _maxSteps, _maxSteps);
        FeedForward.EnsureCapacity(_maxBatch * _maxSteps);
        int embedding = SelfAttention.Embedding, n = _maxBatch * _maxSteps;
        _attended = new float[n * embedding];
        _first = new float[n * embedding];
        _u = new float[n * embedding];
        _fed = new float[n * embedding];
        _second = new float[n * embedding];
        _mean1 = new float[n];
        _rstd1 = new float[n];
        _mean2 = new float[n];
        _rstd2 = new float[n];
        _dFirst = new float[n * embedding];
        _dU = new float[n * embedding];
        _dSecond = new float[n * embedding];
        _rows = 0;
    }

    /// <summary>self_attn.</summary>
    public MultiheadAttention SelfAttention { get; }

    /// <summary>linear1, activation, linear2.</summary>
    public FeedForward FeedForward { get; }

    /// <summary>norm1.</summary>
    public LayerNorm Norm1 { get; }

    /// <summary>norm2.</summary>
    public LayerNorm Norm2 { get; }

    /// <summary>Pre-norm (norm_first=True) instead of post-norm.</summary>
    public bool NormFirst { get; }

    /// <summary>PyTorch's initialisation of every sublayer.</summary>
    /// <param name="parameters">The model's parameters.</param>
    /// <param name="random">Seeded random source.</param>
    public void Initialize(ParameterSet parameters, Random random)
    {
        SelfAttention.Initialize(parameters, random);
        FeedForward.Initialize(parameters, random);
        Norm1.Initialize(parameters);
        Norm2.Initialize(parameters);
    }

    /// <summary>y = EncoderLayer(x).</summary>
    /// <param name="values">The model's flat parameter values.</param>
    /// <param name="x">(B, S, E).</param>
    /// <param name="batch">B.</param>
    /// <param name="steps">S.</param>
    /// <param name="lengths">Empty, or (B) valid positions per row (src_key_padding_mask as lengths).</param>
    /// <param name="causal">Whether position i attends to j ≤ i only (a causal src_mask).</param>
    /// <param name="y">(B, S, E). Overwritten; must not overlap x.</param>
    public void Forward(ReadOnlySpan<float> values, ReadOnlySpan<float> x, int batch, int steps, ReadOnlySpan<int> lengths, bool causal, Span<float> y)
    {
        int e = SelfAttention.Embedding, rows = batch * steps, size = rows * e;
        x = x.Slice(0, size);
        y = y.Slice(0, size);
        _rows = rows;
        Span<float> attended = _attended.AsSpan(0, size), first = _first.AsSpan(0, size), u = _u.AsSpan(0, size);
        Span<float> fed = _fed.AsSpan(0, size), second = _second.AsSpan(0, size);
        Span<float> mean1 = _mean1.AsSpan(0, rows), rstd1 = _rstd1.AsSpan(0, rows), mean2 = _mean2.AsSpan(0, rows), rstd2 = _rstd2.AsSpan(0, rows);
        if (!NormFirst)
        {
            SelfAttention.Forward(values, x, x, x, batch, steps, steps, lengths, causal, attended);   // (1) a = SA(x)
            System.Numerics.Tensors.TensorPrimitives.Add(x, attended, first);                           // (2) x + a
            Norm1.Forward(first, rows, values, u, mean1, rstd1);                                        // (3) u = norm1(x + a)
            FeedForward.Forward(u, rows, values, fed);                                                  // (4) f = FF(u)
            System.Numerics.Tensors.TensorPrimitives.Add(u, fed, second);                               // (5) u + f
            Norm2.Forward(second, rows, values, y, mean2, rstd2);                                       // (6) y = norm2(u + f)
        }
        else
        {
            Norm1.Forward(x, rows, values, first, mean1, rstd1);                                        // (1) n1 = norm1(x)
            SelfAttention.Forward(values, first, first, first, batch, steps, steps, lengths, causal, attended);   // (2) a = SA(n1)
            System.Numerics.Tensors.TensorPrimitives.Add(x, attended, u);                               // (3) u = x + a
            Norm2.Forward(u, rows, values, second, mean2, rstd2);                                       // (4) n2 = norm2(u)
            FeedForward.Forward(second, rows, values, fed);                                             // (5) f = FF(n2)
            System.Numerics.Tensors.TensorPrimitives.Add(u, fed, y);                                    // (6) y = u + f
        }
    }

    /// <summary>Accumulates dx and every parameter gradient, from the buffers of the last <see cref="Forward"/>.</summary>
    /// <param name="dY">Upstream gradient: (B, S, E).</param>
    /// <param name="values">The model's flat parameter values.</param>
    /// <param name="x">The forward's input: (B, S, E).</param>
    /// <param name="gradients">The model's flat gradients, accumulated into.</param>
    /// <param name="dX">(B, S, E). Accumulated.</param>
    public void Backward(ReadOnlySpan<float> dY, ReadOnlySpan<float> values, ReadOnlySpan<float> x, Span<float> gradients, Span<float> dX)
    {
        int e = SelfAttention.Embedding, rows = _rows, size = rows * e;
        Guard.Length(dY.Length, size, nameof(dY));
        Guard.Length(dX.Length, size, nameof(dX));
        dY = dY.Slice(0, size);
        x = x.Slice(0, size);
        dX = dX.Slice(0, size);
        Span<float> first = _first.AsSpan(0, size), u = _u.AsSpan(0, size), second = _second.AsSpan(0, size);
        Span<float> mean1 = _mean1.AsSpan(0, rows), rstd1 = _rstd1.AsSpan(0, rows), mean2 = _mean2.AsSpan(0, rows), rstd2 = _rstd2.AsSpan(0, rows);
        Span<float> dFirst = _dFirst.AsSpan(0, size), dU = _dU.AsSpan(0, size), dSecond = _dSecond.AsSpan(0, size);
        dFirst.Clear();
        dSecond.Clear();
        if (!NormFirst)
        {
            Norm2.Backward(dY, second, mean2, rstd2, rows, values, gradients, dSecond);                 // (6) d(u + f)
            dSecond.CopyTo(dU);                                                                          // (5) residual: du = d(u + f) ...
            FeedForward.Backward(dSecond, u, rows, values, gradients, dU);                              // (4) ... + FF's backward
            Norm1.Backward(dU, first, mean1, rstd1, rows, values, gradients, dFirst);                   // (3) d(x + a)
            System.Numerics.Tensors.TensorPrimitives.Add(dX, dFirst, dX);                               // (2) residual: dx += d(x + a) ...
            SelfAttention.Backward(dFirst, values, x, x, x, gradients, dX, dX, dX);                     // (1) ... + SA's backward (query = key = value = x)
        }
        else
        {
            dY.CopyTo(dU);                                                                               // (6) residual: du = dy ...
            FeedForward.Backward(dY, second, rows, values, gradients, dSecond);                         // (5) dn2
            Norm2.Backward(dSecond, u, mean2, rstd2, rows, values, gradients, dU);                      // (4) ... + norm2's backward
            System.Numerics.Tensors.TensorPrimitives.Add(dX, dU, dX);                                   // (3) residual: dx += du ...
            SelfAttention.Backward(dU, values, first, first, first, gradients, dFirst, dFirst, dFirst); // (2) dn1
            Norm1.Backward(dFirst, x, mean1, rstd1, rows, values, gradients, dX);                       // (1) ... + norm1's backward
        }
    }
}
