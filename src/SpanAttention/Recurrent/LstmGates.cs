using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SpanAttention.Kernels;

namespace SpanAttention.Recurrent;

/// <summary>
/// LSTM gate math (PyTorch <c>nn.LSTM</c>, <c>nn.LSTMCell</c>), packed gate order i, f, g, o:
/// <code>
/// i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o),   a = (W_ih x + b_ih) + (W_hh h + b_hh)
/// c' = f ⊙ c + i ⊙ g
/// h' = o ⊙ tanh(c')
/// </code>
/// Caches the activations i, f, g, o and tanh(c') (the extra). See docs/derivations/lstm.md.
/// </summary>
internal readonly struct LstmGates : IRecurrentGates
{
    /// <inheritdoc/>
    public static int GateCount => 4;

    /// <inheritdoc/>
    public static bool HasCellState => true;

    /// <inheritdoc/>
    public static int ExtraWidth => 1;

    /// <inheritdoc/>
    public static bool SeparateHiddenGradient => false;

    /// <inheritdoc/>
    public static void Forward(
        int hiddenSize, Span<float> gates, ReadOnlySpan<float> gh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c, Span<float> extra)
    {
        int n = hiddenSize;
        Span<float> a = gates.Slice(0, 4 * n);                          // (4H) pre-activations, then activations
        GateMath.Sum4(a, biasIh, gh, biasHh, a);                        // 1. a = (W_ih x + b_ih) + (W_hh h + b_hh)
        Activations.Sigmoid(a.Slice(0, 2 * n), a.Slice(0, 2 * n)); // 2. i, f = σ(a_i), σ(a_f)
        TensorPrimitives.Tanh(a.Slice(2 * n, n), a.Slice(2 * n, n));   //    g = tanh(a_g)
        Activations.Sigmoid(a.Slice(3 * n, n), a.Slice(3 * n, n)); //    o = σ(a_o)
        CellUpdate(n, a, cPrev, c);                                     // 3. c' = f ⊙ c + i ⊙ g
        Span<float> tc = extra.Slice(0, n);
        TensorPrimitives.Tanh(c.Slice(0, n), tc);                       // 4. tanh(c') (cached)
        TensorPrimitives.Multiply(a.Slice(3 * n, n), tc, h.Slice(0, n)); // 5. h' = o ⊙ tanh(c')
    }

    /// <summary>c = f ⊙ cPrev + i ⊙ g; c may alias cPrev.</summary>
    private static void CellUpdate(int n, ReadOnlySpan<float> gates, ReadOnlySpan<float> cPrev, Span<float> c)
    {
        ref float ri = ref MemoryMarshal.GetReference(gates);
        ref float rf = ref Unsafe.Add(ref ri, n);
        ref float rg = ref Unsafe.Add(ref ri, 2 * n);
        ref float rp = ref MemoryMarshal.GetReference(cPrev);
        ref float rc = ref MemoryMarshal.GetReference(c);
        int j = 0;
        if (Isa.Vector512)
        {
            for (; j <= n - Vector512<float>.Count; j += Vector512<float>.Count)
            {
                nuint u = (nuint)j;
                (Vector512.LoadUnsafe(ref rf, u) * Vector512.LoadUnsafe(ref rp, u) + Vector512.LoadUnsafe(ref ri, u) * Vector512.LoadUnsafe(ref rg, u)).StoreUnsafe(ref rc, u);
            }
        }
        if (Isa.Vector256)
        {
            for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                nuint u = (nuint)j;
                (Vector256.LoadUnsafe(ref rf, u) * Vector256.LoadUnsafe(ref rp, u) + Vector256.LoadUnsafe(ref ri, u) * Vector256.LoadUnsafe(ref rg, u)).StoreUnsafe(ref rc, u);
            }
        }
        for (; j < n; j++)
        {
            Unsafe.Add(ref rc, j) = Unsafe.Add(ref rf, j) * Unsafe.Add(ref rp, j) + Unsafe.Add(ref ri, j) * Unsafe.Add(ref rg, j);
        }
    }

    /// <inheritdoc/>
    public static void Backward(
        int hiddenSize, Span<float> dh, Span<float> dc, ReadOnlySpan<float> gates, ReadOnlySpan<float> extra,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> dGates, Span<float> dGatesHh)
    {
        // Reverse of Forward, per element:
        //   5. h' = o ⊙ tc:         do = dh'⊙tc               dc' += dh'⊙o⊙(1 - tc²)   (tc = tanh(c'))
        //   3. c' = f ⊙ c + i ⊙ g:  di = dc'⊙g  df = dc'⊙c    dg = dc'⊙i    dc_prev = dc'⊙f
        //   2. activations:         da_i = di⊙i(1-i)  da_f = df⊙f(1-f)  da_g = dg⊙(1-g²)  da_o = do⊙o(1-o)
        //   h_prev only through W_hh (the caller's GEMM): the direct part is 0.
        int n = hiddenSize;
        ref float rdh = ref MemoryMarshal.GetReference(dh);
        ref float rdc = ref MemoryMarshal.GetReference(dc);
        ref float ri = ref MemoryMarshal.GetReference(gates);
        ref float rf = ref Unsafe.Add(ref ri, n);
        ref float rg = ref Unsafe.Add(ref ri, 2 * n);
        ref float ro = ref Unsafe.Add(ref ri, 3 * n);
        ref float rtc = ref MemoryMarshal.GetReference(extra);
        ref float rp = ref MemoryMarshal.GetReference(cPrev);
        ref float rdi = ref MemoryMarshal.GetReference(dGates);
        ref float rdf = ref Unsafe.Add(ref rdi, n);
        ref float rdg = ref Unsafe.Add(ref rdi, 2 * n);
        ref float rdo = ref Unsafe.Add(ref rdi, 3 * n);
        int j = 0;
        if (Isa.Vector512)
        {
            Vector512<float> one = Vector512<float>.One;
            for (; j <= n - Vector512<float>.Count; j += Vector512<float>.Count)
            {
                nuint u = (nuint)j;
                Vector512<float> d = Vector512.LoadUnsafe(ref rdh, u);
                Vector512<float> i = Vector512.LoadUnsafe(ref ri, u);
                Vector512<float> f = Vector512.LoadUnsafe(ref rf, u);
                Vector512<float> g = Vector512.LoadUnsafe(ref rg, u);
                Vector512<float> o = Vector512.LoadUnsafe(ref ro, u);
                Vector512<float> tc = Vector512.LoadUnsafe(ref rtc, u);
                Vector512<float> dct = Vector512.LoadUnsafe(ref rdc, u) + d * o * (one - tc * tc);
                (dct * g * i * (one - i)).StoreUnsafe(ref rdi, u);
                (dct * Vector512.LoadUnsafe(ref rp, u) * f * (one - f)).StoreUnsafe(ref rdf, u);
                (dct * i * (one - g * g)).StoreUnsafe(ref rdg, u);
                (d * tc * o * (one - o)).StoreUnsafe(ref rdo, u);
                (dct * f).StoreUnsafe(ref rdc, u);
                Vector512<float>.Zero.StoreUnsafe(ref rdh, u);
            }
        }
        if (Isa.Vector256)
        {
            Vector256<float> one = Vector256<float>.One;
            for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                nuint u = (nuint)j;
                Vector256<float> d = Vector256.LoadUnsafe(ref rdh, u);
                Vector256<float> i = Vector256.LoadUnsafe(ref ri, u);
                Vector256<float> f = Vector256.LoadUnsafe(ref rf, u);
                Vector256<float> g = Vector256.LoadUnsafe(ref rg, u);
                Vector256<float> o = Vector256.LoadUnsafe(ref ro, u);
                Vector256<float> tc = Vector256.LoadUnsafe(ref rtc, u);
                Vector256<float> dct = Vector256.LoadUnsafe(ref rdc, u) + d * o * (one - tc * tc);
                (dct * g * i * (one - i)).StoreUnsafe(ref rdi, u);
                (dct * Vector256.LoadUnsafe(ref rp, u) * f * (one - f)).StoreUnsafe(ref rdf, u);
                (dct * i * (one - g * g)).StoreUnsafe(ref rdg, u);
                (d * tc * o * (one - o)).StoreUnsafe(ref rdo, u);
                (dct * f).StoreUnsafe(ref rdc, u);
                Vector256<float>.Zero.StoreUnsafe(ref rdh, u);
            }
        }
        for (; j < n; j++)
        {
            float d = Unsafe.Add(ref rdh, j);
            float i = Unsafe.Add(ref ri, j);
            float f = Unsafe.Add(ref rf, j);
            float g = Unsafe.Add(ref rg, j);
            float o = Unsafe.Add(ref ro, j);
            float tc = Unsafe.Add(ref rtc, j);
            float dct = Unsafe.Add(ref rdc, j) + d * o * (1f - tc * tc);
            Unsafe.Add(ref rdi, j) = dct * g * i * (1f - i);
            Unsafe.Add(ref rdf, j) = dct * Unsafe.Add(ref rp, j) * f * (1f - f);
            Unsafe.Add(ref rdg, j) = dct * i * (1f - g * g);
            Unsafe.Add(ref rdo, j) = d * tc * o * (1f - o);
            Unsafe.Add(ref rdc, j) = dct * f;
            Unsafe.Add(ref rdh, j) = 0f;
        }
    }
}
