namespace SpanAttention.Recurrent;

/// <summary>
/// The element-wise part of one recurrent cell: everything between the two projections
/// (<c>gx = W_ih·x</c>, <c>gh = W_hh·h</c>) and the new state. Implemented by small <c>readonly struct</c>s
/// (<see cref="RnnGates"/>, <see cref="GruGates"/>, <see cref="LstmGates"/>) so that
/// <see cref="RecurrentLayer{TGates}"/> and <see cref="RecurrentCell{TGates}"/> are one time loop,
/// specialised per cell by the JIT (the operator pattern of <c>Kernels/Elementwise.cs</c>).
/// </summary>
/// <remarks>
/// Shapes per row (H hidden size, G = <see cref="GateCount"/>): the packed gate vector is (G·H) in PyTorch's
/// gate order; the cell's extra cache is (<see cref="ExtraWidth"/>·H). Every method works on one batch row;
/// the callers loop over rows so that padded rows can be skipped.
/// </remarks>
internal interface IRecurrentGates
{
    /// <summary>Number of packed gates G: 1 (RNN), 3 (GRU: r, z, n), 4 (LSTM: i, f, g, o).</summary>
    static abstract int GateCount { get; }

    /// <summary>Whether the cell carries a cell state c next to h (LSTM).</summary>
    static abstract bool HasCellState { get; }

    /// <summary>Extra cached values per row, in units of H (GRU: W_hn·h + b_hn; LSTM: tanh(c')).</summary>
    static abstract int ExtraWidth { get; }

    /// <summary>
    /// Whether the gradient of the hidden pre-activation differs from that of the input pre-activation
    /// (GRU: r multiplies the hidden part of the candidate), so backward needs a second buffer.
    /// </summary>
    static abstract bool SeparateHiddenGradient { get; }

    /// <summary>One step of the gate math for one row. Overwrites <paramref name="gates"/>, <paramref name="extra"/>, <paramref name="h"/> and <paramref name="c"/>.</summary>
    /// <param name="hiddenSize">H.</param>
    /// <param name="gates">(G·H). On entry W_ih·x (no bias); on exit the gate activations, cached for backward.</param>
    /// <param name="gh">(G·H) W_hh·h_prev (no bias).</param>
    /// <param name="biasIh">b_ih: (G·H).</param>
    /// <param name="biasHh">b_hh: (G·H).</param>
    /// <param name="hPrev">h_prev: (H).</param>
    /// <param name="cPrev">c_prev: (H), LSTM only (empty otherwise).</param>
    /// <param name="h">h': (H). Overwritten; may alias <paramref name="hPrev"/>.</param>
    /// <param name="c">c': (H), LSTM only. Overwritten; may alias <paramref name="cPrev"/>.</param>
    /// <param name="extra">(ExtraWidth·H) values backward needs besides the gates. Overwritten.</param>
    static abstract void Forward(
        int hiddenSize, Span<float> gates, ReadOnlySpan<float> gh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c, Span<float> extra);

    /// <summary>
    /// The backward of <see cref="Forward"/> for one row, except the W_hh path (the caller adds
    /// dGh·W_hh to dh_prev with one GEMM over the batch).
    /// </summary>
    /// <param name="hiddenSize">H.</param>
    /// <param name="dh">(H) total gradient of h' (later steps plus this step's output). Read, then overwritten with the direct part of dh_prev (GRU: dh'⊙z; others: 0).</param>
    /// <param name="dc">(H) LSTM only: total gradient of c'. Read, then overwritten with dc_prev = dc'⊙f.</param>
    /// <param name="gates">(G·H) cached activations.</param>
    /// <param name="extra">(ExtraWidth·H) cached extras.</param>
    /// <param name="hPrev">h_prev: (H).</param>
    /// <param name="cPrev">c_prev: (H), LSTM only.</param>
    /// <param name="dGates">(G·H) gradient of the input pre-activation W_ih·x + b_ih. Overwritten.</param>
    /// <param name="dGatesHh">(G·H) gradient of the hidden pre-activation W_hh·h + b_hh; overwritten, GRU only (others: empty, it equals dGates).</param>
    static abstract void Backward(
        int hiddenSize, Span<float> dh, Span<float> dc, ReadOnlySpan<float> gates, ReadOnlySpan<float> extra,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> dGates, Span<float> dGatesHh);
}
