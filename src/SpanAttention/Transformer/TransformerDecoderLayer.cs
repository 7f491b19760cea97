using System.Numerics.Tensors;
using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Transformer;

/// <summary>
/// One decoder layer with <c>nn.TransformerDecoderLayer(E, H, F, dropout=0, batch_first=True)</c> semantics and
/// names: <c>{prefix}self_attn.*</c>, <c>multihead_attn.*</c>, <c>linear1.*</c>, <c>linear2.*</c>,
/// <c>norm1.*</c>, <c>norm2.*</c>, <c>norm3.*</c>.
/// </summary>
/// <remarks>
/// <code>
/// post-norm (PyTorch's default):  u1 = norm1(x + SA(x));    u2 = norm2(u1 + CA(u1, m));    y = norm3(u2 + FF(u2))
/// pre-norm (norm_first):          u1 = x + SA(norm1(x));    u2 = u1 + CA(norm2(u1), m);    y = u2 + FF(norm3(u2))
/// </code>
/// x is the target (B, T, E), m the encoder memory (B, S, E). SA is causal self-attention over the target
/// with the target's key padding given as lengths (tgt_mask = triu(ones, 1) plus tgt_key_padding_mask); CA
/// attends from the target to the memory with the memory's lengths (memory_key_padding_mask); FF is the
/// position-wise feed-forward. The memory is never normalised here (in pre-norm the encoder's final norm does
/// that). Backward is the same list in reverse, each residual sending its upstream gradient to both branches;
/// the memory's gradient is accumulated, since one memory feeds every layer of a stack. Dropout is not
/// applied (dropout 0, as in the goldens).
/// </remarks>
internal sealed class TransformerDecoderLayer
{
    private readonly float[] _attended;   // SA output                                 (N, E), N = B·T
    private readonly float[] _crossed;    // CA output                                 (N, E)
    private readonly float[] _fed;        // FF output                                 (N, E)
    private readonly float[] _first;      // post: x + SA(x);    pre: norm1(x)         (N, E)
    private readonly float[] _u1;         // between self- and cross-attention         (N, E)
    private readonly float[] _second;     // post: u1 + CA(u1);  pre: norm2(u1)        (N, E)
    private readonly float[] _u2;         // between cross-attention and feed-forward  (N, E)
    private readonly float[] _third;      // post: u2 + FF(u2);  pre: norm3(u2)        (N, E)
    private readonly float[] _mean1, _rstd1, _mean2, _rstd2, _mean3, _rstd3;   // (N) each
    private readonly float[] _dFirst, _dU1, _dSecond, _dU2, _dThird;           // (N, E) each
    private int _batch, _rows, _sourceSteps;

    /// <summary>Registers every tensor (in PyTorch's state_dict order) and allocates the buffers.</summary>
    /// <param name="layout">The model's layout, still being built.</param>
    /// <param name="prefix">Name prefix, e.g. <c>decoder.layers.0.</c>.</param>
    /// <param name="embedding">E (d_model).</param>
    /// <param name="heads">H (nhead).</param>
    /// <param name="feedForward">F (dim_feedforward).</param>
    /// <param name="activation">ReLU (PyTorch's default) or GELU.</param>
    /// <param name="normFirst">Pre-norm instead of post-norm.</param>
    /// <param name="maxBatch">The most batch rows per call.</param>
    /// <param name="maxTargetSteps">The most target positions T per call.</param>
    /// <param name="maxSourceSteps">The most memory positions S per call.</param>
    public TransformerDecoderLayer(ParameterLayout layout, string prefix, int embedding, int heads, int feedForward, FeedForwardActivation activation,
        bool normFirst, int maxBatch, int maxTargetSteps, int maxSourceSteps)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        SelfAttention = new MultiheadAttention(layout, prefix + "self_attn.", embedding, heads, maxBatch, maxTargetSteps, maxTargetSteps);
        CrossAttention = new MultiheadAttention(layout, prefix + "multihead_attn.", embedding, heads, maxBatch, maxTargetSteps, maxSourceSteps);
        FeedForward = new FeedForward(layout, prefix, embedding, feedForward, activation, maxBatch * maxTargetSteps);
        Norm1 = new LayerNorm(layout, prefix + "norm1", embedding);
        Norm2 = new LayerNorm(layout, prefix + "norm2", embedding);
        Norm3 = new LayerNorm(layout, prefix + "norm3", embedding);
        NormFirst = normFirst;
        int n = maxBatch * maxTargetSteps, size = n * embedding;
        _attended = new float[size];
        _crossed = new float[size];
        _fed = new float[size];
        _first = new float[size];
        _u1 = new float[size];
        _second = new float[size];
        _u2 = new float[size];
        _third = new float[size];
        _mean1 = new float[n];
        _rstd1 = new float[n];
        _mean2 = new float[n];
        _rstd2 = new float[n];
        _mean3 = new float[n];
        _rstd3 = new float[n];
        _dFirst = new float[size];
        _dU1 = new float[size];
        _dSecond = new float[size];
        _dU2 = new float[size];
        _dThird = new float[size];
    }

    /// <summary>self_attn: causal self-attention over the target.</summary>
    public MultiheadAttention SelfAttention { get; }

    /// <summary>multihead_attn: attention from the target to the memory (its weights are the alignments).</summary>
    public MultiheadAttention CrossAttention { get; }

    /// <summary>linear1, activation, linear2.</summary>
    public FeedForward FeedForward { get; }

    /// <summary>norm1 (around self-attention).</summary>
    public LayerNorm Norm1 { get; }

    /// <summary>norm2 (around cross-attention).</summary>
    public LayerNorm Norm2 { get; }

    /// <summary>norm3 (around the feed-forward).</summary>
    public LayerNorm Norm3 { get; }

    /// <summary>Pre-norm (norm_first=True) instead of post-norm.</summary>
    public bool NormFirst { get; }

    /// <summary>PyTorch's initialisation of every sublayer.</summary>
    /// <param name="parameters">The model's parameters.</param>
    /// <param name="random">Seeded random source.</param>
    public void Initialize(ParameterSet parameters, Random random)
    {
        SelfAttention.Initialize(parameters, random);
        CrossAttention.Initialize(parameters, random);
        FeedForward.Initialize(parameters, random);
        Norm1.Initialize(parameters);
        Norm2.Initialize(parameters);
        Norm3.Initialize(parameters);
    }

    /// <summary>y = DecoderLayer(x, memory).</summary>
    /// <param name="values">The model's flat parameter values.</param>
    /// <param name="x">The target: (B, T, E).</param>
    /// <param name="memory">The encoder's output: (B, S, E).</param>
    /// <param name="batch">B.</param>
    /// <param name="targetSteps">T.</param>
    /// <param name="sourceSteps">S.</param>
    /// <param name="targetLengths">Empty, or (B) valid target positions per row (tgt_key_padding_mask as lengths).</param>
    /// <param name="memoryLengths">Empty, or (B) valid memory positions per row (memory_key_padding_mask as lengths).</param>
    /// <param name="y">(B, T, E). Overwritten; must not overlap x or memory.</param>
    public void Forward(ReadOnlySpan<float> values, ReadOnlySpan<float> x, ReadOnlySpan<float> memory, int batch, int targetSteps, int sourceSteps,
        ReadOnlySpan<int> targetLengths, ReadOnlySpan<int> memoryLengths, Span<float> y)
    {
        int e = SelfAttention.Embedding, rows = batch * targetSteps, size = rows * e;
        Guard.NonNegative(rows, nameof(batch));
        Guard.Length(x.Length, size, nameof(x));
        Guard.Length(y.Length, size, nameof(y));
        x = x.Slice(0, size);
        y = y.Slice(0, size);
        _batch = batch;
        _rows = rows;
        _sourceSteps = sourceSteps;
        Span<float> attended = _attended.AsSpan(0, size), crossed = _crossed.AsSpan(0, size), fed = _fed.AsSpan(0, size);
        Span<float> first = _first.AsSpan(0, size), u1 = _u1.AsSpan(0, size), second = _second.AsSpan(0, size);
        Span<float> u2 = _u2.AsSpan(0, size), third = _third.AsSpan(0, size);
        Span<float> mean1 = _mean1.AsSpan(0, rows), rstd1 = _rstd1.AsSpan(0, rows), mean2 = _mean2.AsSpan(0, rows), rstd2 = _rstd2.AsSpan(0, rows);
        Span<float> mean3 = _mean3.AsSpan(0, rows), rstd3 = _rstd3.AsSpan(0, rows);
        if (!NormFirst)
        {
            SelfAttention.Forward(values, x, x, x, batch, targetSteps, targetSteps, targetLengths, causal: true, attended);   // (1) a = SA(x)
            TensorPrimitives.Add(x, attended, first);                                                                         // (2) r1 = x + a
            Norm1.Forward(first, rows, values, u1, mean1, rstd1);                                                             // (3) u1 = norm1(r1)
            CrossAttention.Forward(values, u1, memory, memory, batch, targetSteps, sourceSteps, memoryLengths, causal: false, crossed);   // (4) c = CA(u1, m)
            TensorPrimitives.Add(u1, crossed, second);                                                                        // (5) r2 = u1 + c
            Norm2.Forward(second, rows, values, u2, mean2, rstd2);                                                            // (6) u2 = norm2(r2)
            FeedForward.Forward(u2, rows, values, fed);                                                                       // (7) f = FF(u2)
            TensorPrimitives.Add(u2, fed, third);                                                                             // (8) r3 = u2 + f
            Norm3.Forward(third, rows, values, y, mean3, rstd3);                                                              // (9) y = norm3(r3)
        }
        else
        {
            Norm1.Forward(x, rows, values, first, mean1, rstd1);                                                              // (1) n1 = norm1(x)
            SelfAttention.Forward(values, first, first, first, batch, targetSteps, targetSteps, targetLengths, causal: true, attended);   // (2) a = SA(n1)
            TensorPrimitives.Add(x, attended, u1);                                                                            // (3) u1 = x + a
            Norm2.Forward(u1, rows, values, second, mean2, rstd2);                                                            // (4) n2 = norm2(u1)
            CrossAttention.Forward(values, second, memory, memory, batch, targetSteps, sourceSteps, memoryLengths, causal: false, crossed);   // (5) c = CA(n2, m)
            TensorPrimitives.Add(u1, crossed, u2);                                                                            // (6) u2 = u1 + c
            Norm3.Forward(u2, rows, values, third, mean3, rstd3);                                                             // (7) n3 = norm3(u2)
            FeedForward.Forward(third, rows, values, fed);                                                                    // (8) f = FF(n3)
            TensorPrimitives.Add(u2, fed, y);                                                                                 // (9) y = u2 + f
        }
    }

    /// <summary>Accumulates dx, d memory and every parameter gradient, from the buffers of the last <see cref="Forward"/>.</summary>
    /// <param name="dY">Upstream gradient: (B, T, E).</param>
    /// <param name="values">The model's flat parameter values.</param>
    /// <param name="x">The forward's target: (B, T, E).</param>
    /// <param name="memory">The forward's memory: (B, S, E).</param>
    /// <param name="gradients">The model's flat gradients, accumulated into.</param>
    /// <param name="dX">(B, T, E). Accumulated.</param>
    /// <param name="dMemory">(B, S, E). Accumulated (the memory is the key and the value of the cross-attention, and feeds every layer).</param>
    public void Backward(ReadOnlySpan<float> dY, ReadOnlySpan<float> values, ReadOnlySpan<float> x, ReadOnlySpan<float> memory, Span<float> gradients,
        Span<float> dX, Span<float> dMemory)
    {
        int e = SelfAttention.Embedding, rows = _rows, size = rows * e, memorySize = _batch * _sourceSteps * e;
        Guard.Length(dY.Length, size, nameof(dY));
        Guard.Length(dX.Length, size, nameof(dX));
        Guard.Length(dMemory.Length, memorySize, nameof(dMemory));
        dY = dY.Slice(0, size);
        x = x.Slice(0, size);
        dX = dX.Slice(0, size);
        dMemory = dMemory.Slice(0, memorySize);
        Span<float> first = _first.AsSpan(0, size), u1 = _u1.AsSpan(0, size), second = _second.AsSpan(0, size);
        Span<float> u2 = _u2.AsSpan(0, size), third = _third.AsSpan(0, size);
        Span<float> mean1 = _mean1.AsSpan(0, rows), rstd1 = _rstd1.AsSpan(0, rows), mean2 = _mean2.AsSpan(0, rows), rstd2 = _rstd2.AsSpan(0, rows);
        Span<float> mean3 = _mean3.AsSpan(0, rows), rstd3 = _rstd3.AsSpan(0, rows);
        Span<float> dFirst = _dFirst.AsSpan(0, size), dU1 = _dU1.AsSpan(0, size), dSecond = _dSecond.AsSpan(0, size);
        Span<float> dU2 = _dU2.AsSpan(0, size), dThird = _dThird.AsSpan(0, size);
        dFirst.Clear();
        dSecond.Clear();
        dThird.Clear();
        if (!NormFirst)
        {
            Norm3.Backward(dY, third, mean3, rstd3, rows, values, gradients, dThird);                     // (9) dr3 = norm3'(dy)
            dThird.CopyTo(dU2);                                                                            // (8) residual: du2 = dr3 ...
            FeedForward.Backward(dThird, u2, rows, values, gradients, dU2);                               // (7) ... + FF'(dr3)
            Norm2.Backward(dU2, second, mean2, rstd2, rows, values, gradients, dSecond);                  // (6) dr2 = norm2'(du2)
            dSecond.CopyTo(dU1);                                                                           // (5) residual: du1 = dr2 ...
            CrossAttention.Backward(dSecond, values, u1, memory, memory, gradients, dU1, dMemory, dMemory);   // (4) ... + CA'(dr2); dm += key and value parts
            Norm1.Backward(dU1, first, mean1, rstd1, rows, values, gradients, dFirst);                    // (3) dr1 = norm1'(du1)
            TensorPrimitives.Add(dX, dFirst, dX);                                                         // (2) residual: dx += dr1 ...
            SelfAttention.Backward(dFirst, values, x, x, x, gradients, dX, dX, dX);                       // (1) ... + SA'(dr1) (query = key = value = x)
        }
        else
        {
            dY.CopyTo(dU2);                                                                                // (9) residual: du2 = dy ...
            FeedForward.Backward(dY, third, rows, values, gradients, dThird);                             // (8) dn3 = FF'(dy)
            Norm3.Backward(dThird, u2, mean3, rstd3, rows, values, gradients, dU2);                       // (7) ... + norm3'(dn3)
            dU2.CopyTo(dU1);                                                                               // (6) residual: du1 = du2 ...
            CrossAttention.Backward(dU2, values, second, memory, memory, gradients, dSecond, dMemory, dMemory);   // (5) dn2 = CA'(du2); dm += key and value parts
            Norm2.Backward(dSecond, u1, mean2, rstd2, rows, values, gradients, dU1);                      // (4) ... + norm2'(dn2)
            TensorPrimitives.Add(dX, dU1, dX);                                                            // (3) residual: dx += du1 ...
            SelfAttention.Backward(dU1, values, first, first, first, gradients, dFirst, dFirst, dFirst);  // (2) dn1 = SA'(du1)
            Norm1.Backward(dFirst, x, mean1, rstd1, rows, values, gradients, dX);                         // (1) ... + norm1'(dn1)
        }
    }
}
