using SpanAttention.Kernels;
using SpanAttention.Parameters;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Attention.Scorers;

/// <summary>
/// A learned projection of the keys into the query's space, P = K Wᵀ with W: [Dq, Dk] and no bias: the key side of
/// Luong's "general" score, and what lets the dot scorers read keys of another width than the query (a
/// bidirectional encoder's 2H-wide states against an H-wide decoder query).
/// </summary>
/// <remarks>
/// <para>PyTorch: W is <c>nn.Linear(Dk, Dq, bias=False)</c> applied to the keys; its state_dict name is chosen by
/// the scorer that owns it (<c>{prefix}W.weight</c> for General, <c>{prefix}key_proj.weight</c> for Dot and ScaledDot).</para>
/// <para>The projection depends only on the source batch: it runs once per batch with one GEMM, and so does its
/// backward, after the decoder steps have accumulated dP.</para>
/// </remarks>
internal sealed class KeyProjection
{
    private readonly int _queryDim;
    private readonly int _keyDim;
    private ParameterSlot? _weight;             // W [Dq, Dk]

    /// <summary>A projection from Dk-wide keys to Dq-wide rows.</summary>
    public KeyProjection(int queryDim, int keyDim)
    {
        _queryDim = queryDim;
        _keyDim = keyDim;
    }

    /// <summary>W [Dq, Dk]; null before <see cref="RegisterParameters"/>.</summary>
    public ParameterSlot? Weight => _weight;

    /// <summary>Registers W [Dq, Dk] under its full name.</summary>
    public void RegisterParameters(ParameterLayout layout, string name) => _weight = layout.Add(name, _queryDim, _keyDim);

    /// <summary>PyTorch's default nn.Linear initialisation: W ~ U(-1/sqrt(Dk), 1/sqrt(Dk)) (fan_in = Dk).</summary>
    public void InitializeParameters(ParameterSet parameters, Random random) =>
        parameters.InitializeUniform(AttentionLayer.Registered(_weight), 1f / MathF.Sqrt(_keyDim), random);

    /// <summary>P = K Wᵀ: keys (rows, Dk) -> projected (rows, Dq). Overwrites.</summary>
    public void Forward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, Span<float> projected)
    {
        int p = _queryDim;
        ReadOnlySpan<float> w = AttentionLayer.Registered(_weight).Of(parameters);               // (Dq, Dk)
        Gemm.Multiply(rows, p, _keyDim, keys, _keyDim, Transpose.No,
            w, _keyDim, Transpose.Yes, projected, p, accumulate: false);                            // P = K Wᵀ (rows, Dq)
    }

    /// <summary>Backward of <see cref="Forward"/>: dW += dPᵀ K and dK += dP W, with dP (rows, Dq). Accumulates.</summary>
    public void Backward(ReadOnlySpan<float> parameters, ReadOnlySpan<float> keys, int rows, ReadOnlySpan<float> dProjected,
        Span<float> gradients, Span<float> dKeys)
    {
        // forward: P = K Wᵀ
        int p = _queryDim, dk = _keyDim;
        ReadOnlySpan<float> w = AttentionLayer.Registered(_weight).Of(parameters);               // (Dq, Dk)
        Span<float> dW = _weight!.Of(gradients);
        Gemm.Multiply(p, dk, rows, dProjected, p, Transpose.Yes, keys, dk, Transpose.No, dW, dk, accumulate: true);     // dW += dPᵀ K
        Gemm.Multiply(rows, dk, p, dProjected, p, Transpose.No, w, dk, Transpose.No, dKeys, dk, accumulate: true);      // dK += dP W
    }

    /// <summary>The prepared decoding path: P = K Wᵀ with the packed Wᵀ of <paramref name="weights"/>; the same numbers as <see cref="Forward"/>.</summary>
    public void ForwardPrepared(InferenceWeights weights, ReadOnlySpan<float> keys, int rows, Span<float> projected) =>
        Gemm.Multiply(rows, keys, _keyDim, Transpose.No, weights.KeyWeightT!, projected.Slice(0, rows * _queryDim), _queryDim, accumulate: false); // P = K Wᵀ
}
