using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SpanAttention.Kernels;

namespace SpanAttention.Recurrent;

/// <summary>
/// Elman RNN with tanh (PyTorch <c>nn.RNN</c>, <c>nn.RNNCell</c>): h' = tanh(W_ih x + b_ih + W_hh h + b_hh).
/// One gate; the gate cache is h' itself. See docs/derivations/rnn.md.
/// </summary>
internal readonly struct RnnGates : IRecurrentGates
{
    /// <inheritdoc/>
    public static int GateCount => 1;

    /// <inheritdoc/>
    public static bool HasCellState => false;

    /// <inheritdoc/>
    public static int ExtraWidth => 0;

    /// <inheritdoc/>
    public static bool SeparateHiddenGradient => false;

    /// <inheritdoc/>
    public static void Forward(
        int hiddenSize, Span<float> gates, ReadOnlySpan<float> gh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c, Span<float> extra)
    {
        Span<float> a = gates.Slice(0, hiddenSize);                      // (H)
        GateMath.Sum4(a, biasIh, gh, biasHh, a);                         // a = (W_ih x + b_ih) + (W_hh h + b_hh)
        TensorPrimitives.Tanh(a, a);                                     // a = tanh(a) = h'
        a.CopyTo(h);
    }

    /// <inheritdoc/>
    public static void Backward(
        int hiddenSize, Span<float> dh, Span<float> dc, ReadOnlySpan<float> gates, ReadOnlySpan<float> extra,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> dGates, Span<float> dGatesHh)
    {
        // h' = tanh(a)  ->  da = dh' ⊙ (1 - h'²); dh_prev gets only the W_hh path (done by the caller).
        int n = hiddenSize;
        ref float rdh = ref MemoryMarshal.GetReference(dh);
        ref float ry = ref MemoryMarshal.GetReference(gates);
        ref float rda = ref MemoryMarshal.GetReference(dGates);
        int i = 0;
        if (Isa.Vector512)
        {
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                nuint u = (nuint)i;
                Vector512<float> y = Vector512.LoadUnsafe(ref ry, u);
                (Vector512.LoadUnsafe(ref rdh, u) * (Vector512<float>.One - y * y)).StoreUnsafe(ref rda, u);
                Vector512<float>.Zero.StoreUnsafe(ref rdh, u);
            }
        }
        if (Isa.Vector256)
        {
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                nuint u = (nuint)i;
                Vector256<float> y = Vector256.LoadUnsafe(ref ry, u);
                (Vector256.LoadUnsafe(ref rdh, u) * (Vector256<float>.One - y * y)).StoreUnsafe(ref rda, u);
                Vector256<float>.Zero.StoreUnsafe(ref rdh, u);
            }
        }
        for (; i < n; i++)
        {
            float y = Unsafe.Add(ref ry, i);
            Unsafe.Add(ref rda, i) = Unsafe.Add(ref rdh, i) * (1f - y * y);
            Unsafe.Add(ref rdh, i) = 0f;
        }
    }
}
