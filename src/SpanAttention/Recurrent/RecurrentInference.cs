using SpanAttention.Kernels;

namespace SpanAttention.Recurrent;

/// <summary>
/// Forward-only recurrence for one sequence row with a packed W_hh (<see cref="PackedGemvMatrix"/>): the decoding
/// path of <see cref="RecurrentLayer{TGates}"/> and <see cref="RecurrentCell{TGates}"/> at batch 1, when the input
/// projection x·W_ihᵀ has already been formed (by a table lookup or one GEMM over all steps).
/// </summary>
/// <typeparam name="TGates">The cell's gate math.</typeparam>
/// <remarks>Same gate math (<see cref="IRecurrentGates.Forward"/>) as training; only the W_hh product differs
/// (packed GEMV instead of the row-major GEMV), so results agree up to float summation order. Allocation-free.</remarks>
internal static class RecurrentInference<TGates>
    where TGates : struct, IRecurrentGates
{
    /// <summary>One step: h, c = cell(gates, h_prev, c_prev).</summary>
    /// <param name="weightHh">W_hh (G·H, H), packed.</param>
    /// <param name="biasIh">b_ih (G·H).</param>
    /// <param name="biasHh">b_hh (G·H).</param>
    /// <param name="gates">(G·H) x·W_ihᵀ on entry (no bias); the gate activations on return.</param>
    /// <param name="gh">(G·H) scratch: W_hh·h_prev.</param>
    /// <param name="hPrev">(H).</param>
    /// <param name="cPrev">(H) LSTM, else empty.</param>
    /// <param name="h">(H) new state; must not overlap <paramref name="hPrev"/>.</param>
    /// <param name="c">(H) LSTM new cell state, else empty; must not overlap <paramref name="cPrev"/>.</param>
    /// <param name="extra">(ExtraWidth·H) the cell's extras (scratch here).</param>
    public static void Step(PackedGemvMatrix weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh, Span<float> gates, Span<float> gh,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c, Span<float> extra)
    {
        int hs = weightHh.Cols;
        Gemv.Multiply(weightHh, hPrev, gh, accumulate: false);                                            // gh = W_hh h_prev (G·H)
        TGates.Forward(hs, gates, gh, biasIh, biasHh, hPrev, cPrev, h, c, extra);
    }

    /// <summary>
    /// One direction over one row: n valid steps, left to right (or right to left when <paramref name="reverse"/>),
    /// from zero initial states. Writes h_t into output row t (stride <paramref name="outStride"/>); rows t ≥ n are left alone.
    /// </summary>
    /// <param name="weightHh">W_hh (G·H, H), packed.</param>
    /// <param name="biasIh">b_ih (G·H).</param>
    /// <param name="biasHh">b_hh (G·H).</param>
    /// <param name="gates">(n, G·H) input projections x_t·W_ihᵀ; overwritten with activations.</param>
    /// <param name="n">Valid steps.</param>
    /// <param name="reverse">Right to left.</param>
    /// <param name="output">h_t at output[t·outStride ..+H].</param>
    /// <param name="outStride">Row stride of output.</param>
    /// <param name="scratch">(G·H + ExtraWidth·H + 3·H) scratch.</param>
    /// <param name="hN">(H) the final state (zeros when n = 0).</param>
    /// <param name="cN">(H) LSTM final cell state, else empty.</param>
    public static void Sequence(PackedGemvMatrix weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh, Span<float> gates, int n, bool reverse,
        Span<float> output, int outStride, Span<float> scratch, Span<float> hN, Span<float> cN)
    {
        int hs = weightHh.Cols, gh = TGates.GateCount * hs, eh = TGates.ExtraWidth * hs;
        Span<float> ghStep = scratch.Slice(0, gh);
        Span<float> extra = scratch.Slice(gh, eh);
        Span<float> zero = scratch.Slice(gh + eh, hs);
        Span<float> c0 = scratch.Slice(gh + eh + hs, hs);
        Span<float> c1 = scratch.Slice(gh + eh + 2 * hs, hs);
        zero.Clear();
        c0.Clear();
        ReadOnlySpan<float> hPrev = zero;                                                                 // h_0 = 0, c_0 = 0
        for (int i = 0; i < n; i++)
        {
            int t = reverse ? n - 1 - i : i;
            Span<float> h = output.Slice(t * outStride, hs);
            Span<float> cPrev = (i & 1) == 0 ? c0 : c1;
            Span<float> c = (i & 1) == 0 ? c1 : c0;
            Step(weightHh, biasIh, biasHh, gates.Slice(t * gh, gh), ghStep, hPrev, TGates.HasCellState ? cPrev : default,
                h, TGates.HasCellState ? c : default, extra);
            hPrev = h;
        }
        hPrev.CopyTo(hN);
        if (TGates.HasCellState && !cN.IsEmpty)
        {
            ((n & 1) == 0 ? c0 : c1).CopyTo(cN);
        }
    }

    /// <summary>Scratch floats <see cref="Sequence"/> needs for hidden size H.</summary>
    /// <param name="hiddenSize">H.</param>
    /// <returns>G·H + ExtraWidth·H + 3·H.</returns>
    public static int SequenceScratch(int hiddenSize) => (TGates.GateCount + TGates.ExtraWidth + 3) * hiddenSize;
}
