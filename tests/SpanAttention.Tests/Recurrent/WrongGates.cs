using SpanAttention.Recurrent;

namespace SpanAttention.Tests.Recurrent;

/// <summary>A deliberately wrong GRU backward, kept for the teeth tests: it drops the direct path
/// dh_prev += dh'⊙z (a classic slip), everything else is the real GRU.</summary>
internal readonly struct WrongGruGates : IRecurrentGates
{
    public static int GateCount => GruGates.GateCount;
    public static bool HasCellState => GruGates.HasCellState;
    public static int ExtraWidth => GruGates.ExtraWidth;
    public static bool SeparateHiddenGradient => GruGates.SeparateHiddenGradient;

    public static void Forward(int hiddenSize, Span<float> gates, ReadOnlySpan<float> gh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c, Span<float> extra) =>
        GruGates.Forward(hiddenSize, gates, gh, biasIh, biasHh, hPrev, cPrev, h, c, extra);

    public static void Backward(int hiddenSize, Span<float> dh, Span<float> dc, ReadOnlySpan<float> gates, ReadOnlySpan<float> extra,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> dGates, Span<float> dGatesHh)
    {
        GruGates.Backward(hiddenSize, dh, dc, gates, extra, hPrev, cPrev, dGates, dGatesHh);
        dh.Slice(0, hiddenSize).Clear(); // wrong: forgets dh'⊙z
    }
}

/// <summary>A deliberately wrong LSTM backward: it cuts the cell-state path dc_prev = dc'⊙f.</summary>
internal readonly struct WrongLstmGates : IRecurrentGates
{
    public static int GateCount => LstmGates.GateCount;
    public static bool HasCellState => LstmGates.HasCellState;
    public static int ExtraWidth => LstmGates.ExtraWidth;
    public static bool SeparateHiddenGradient => LstmGates.SeparateHiddenGradient;

    public static void Forward(int hiddenSize, Span<float> gates, ReadOnlySpan<float> gh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c, Span<float> extra) =>
        LstmGates.Forward(hiddenSize, gates, gh, biasIh, biasHh, hPrev, cPrev, h, c, extra);

    public static void Backward(int hiddenSize, Span<float> dh, Span<float> dc, ReadOnlySpan<float> gates, ReadOnlySpan<float> extra,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> dGates, Span<float> dGatesHh)
    {
        LstmGates.Backward(hiddenSize, dh, dc, gates, extra, hPrev, cPrev, dGates, dGatesHh);
        dc.Slice(0, hiddenSize).Clear(); // wrong: forgets dc'⊙f
    }
}
