using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SpanAttention.Kernels;

namespace SpanAttention.Recurrent;

/// <summary>
/// GRU gate math, PyTorch's variant (<c>nn.GRU</c>, <c>nn.GRUCell</c>), packed gate order r, z, n:
/// <code>
/// r  = σ(W_ir x + b_ir + W_hr h + b_hr)
/// z  = σ(W_iz x + b_iz + W_hz h + b_hz)
/// n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
/// h' = (1 - z) ⊙ n + z ⊙ h
/// </code>
/// Caches the activations r, z, n and hn = W_hn h + b_hn (the extra). See docs/derivations/gru.md.
/// </summary>
internal readonly struct GruGates : IRecurrentGates
{
    /// <inheritdoc/>
    public static int GateCount => 3;

    /// <inheritdoc/>
    public static bool HasCellState => false;

    /// <inheritdoc/>
    public static int ExtraWidth => 1;

    /// <inheritdoc/>
    public static bool SeparateHiddenGradient => true;

    /// <inheritdoc/>
    public static void Forward(
        int hiddenSize, Span<float> gates, ReadOnlySpan<float> gh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c, Span<float> extra)
    {
        int n = hiddenSize;
        // 1. r, z = σ((W_i x + b_i) + (W_h h + b_h)) over the first 2H rows.
        Span<float> rz = gates.Slice(0, 2 * n);                          // (2H)
        GateMath.Sum4(rz, biasIh.Slice(0, 2 * n), gh.Slice(0, 2 * n), biasHh.Slice(0, 2 * n), rz);
        Activations.Sigmoid(rz, rz);
        // 2. hn = W_hn h + b_hn (cached); n = tanh(W_in x + b_in + r ⊙ hn).
        Candidate(n, gates, gh.Slice(2 * n, n), biasIh.Slice(2 * n, n), biasHh.Slice(2 * n, n), extra.Slice(0, n));
        Span<float> nGate = gates.Slice(2 * n, n);                       // (H)
        TensorPrimitives.Tanh(nGate, nGate);
        // 3. h' = (1 - z) ⊙ n + z ⊙ h = n + z ⊙ (h - n).
        Blend(n, gates, hPrev, h);
    }

    /// <summary>hn = ghN + bhN; gates[2H..3H) = (gates[2H..3H) + biN) + r ⊙ hn.</summary>
    private static void Candidate(int n, Span<float> gates, ReadOnlySpan<float> ghN, ReadOnlySpan<float> biN, ReadOnlySpan<float> bhN, Span<float> hn)
    {
        ref float rr = ref MemoryMarshal.GetReference(gates);
        ref float rn = ref Unsafe.Add(ref rr, 2 * n);
        ref float rgh = ref MemoryMarshal.GetReference(ghN);
        ref float rbi = ref MemoryMarshal.GetReference(biN);
        ref float rbh = ref MemoryMarshal.GetReference(bhN);
        ref float rhn = ref MemoryMarshal.GetReference(hn);
        int i = 0;
        if (Isa.Vector512)
        {
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                nuint u = (nuint)i;
                Vector512<float> vhn = Vector512.LoadUnsafe(ref rgh, u) + Vector512.LoadUnsafe(ref rbh, u);
                vhn.StoreUnsafe(ref rhn, u);
                ((Vector512.LoadUnsafe(ref rn, u) + Vector512.LoadUnsafe(ref rbi, u)) + Vector512.LoadUnsafe(ref rr, u) * vhn).StoreUnsafe(ref rn, u);
            }
        }
        if (Isa.Vector256)
        {
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                nuint u = (nuint)i;
                Vector256<float> vhn = Vector256.LoadUnsafe(ref rgh, u) + Vector256.LoadUnsafe(ref rbh, u);
                vhn.StoreUnsafe(ref rhn, u);
                ((Vector256.LoadUnsafe(ref rn, u) + Vector256.LoadUnsafe(ref rbi, u)) + Vector256.LoadUnsafe(ref rr, u) * vhn).StoreUnsafe(ref rn, u);
            }
        }
        for (; i < n; i++)
        {
            float vhn = Unsafe.Add(ref rgh, i) + Unsafe.Add(ref rbh, i);
            Unsafe.Add(ref rhn, i) = vhn;
            Unsafe.Add(ref rn, i) = (Unsafe.Add(ref rn, i) + Unsafe.Add(ref rbi, i)) + Unsafe.Add(ref rr, i) * vhn;
        }
    }

    /// <summary>h = n + z ⊙ (hPrev - n); h may alias hPrev.</summary>
    private static void Blend(int n, ReadOnlySpan<float> gates, ReadOnlySpan<float> hPrev, Span<float> h)
    {
        ref float rz = ref Unsafe.Add(ref MemoryMarshal.GetReference(gates), n);
        ref float rn = ref Unsafe.Add(ref MemoryMarshal.GetReference(gates), 2 * n);
        ref float rp = ref MemoryMarshal.GetReference(hPrev);
        ref float rh = ref MemoryMarshal.GetReference(h);
        int i = 0;
        if (Isa.Vector512)
        {
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                nuint u = (nuint)i;
                Vector512<float> vn = Vector512.LoadUnsafe(ref rn, u);
                (vn + Vector512.LoadUnsafe(ref rz, u) * (Vector512.LoadUnsafe(ref rp, u) - vn)).StoreUnsafe(ref rh, u);
            }
        }
        if (Isa.Vector256)
        {
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                nuint u = (nuint)i;
                Vector256<float> vn = Vector256.LoadUnsafe(ref rn, u);
                (vn + Vector256.LoadUnsafe(ref rz, u) * (Vector256.LoadUnsafe(ref rp, u) - vn)).StoreUnsafe(ref rh, u);
            }
        }
        for (; i < n; i++)
        {
            float vn = Unsafe.Add(ref rn, i);
            Unsafe.Add(ref rh, i) = vn + Unsafe.Add(ref rz, i) * (Unsafe.Add(ref rp, i) - vn);
        }
    }

    /// <inheritdoc/>
    public static void Backward(
        int hiddenSize, Span<float> dh, Span<float> dc, ReadOnlySpan<float> gates, ReadOnlySpan<float> extra,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> dGates, Span<float> dGatesHh)
    {
        // Reverse of Forward, per element (dh' = dh):
        //   3. h' = n + z ⊙ (h - n):   dn = dh'⊙(1 - z)   dz = dh'⊙(h - n)   dh_prev (direct) = dh'⊙z
        //   2. n = tanh(an):           dan = dn⊙(1 - n²)  (input and hidden part both get dan; the hidden
        //      an = ... + r ⊙ hn:      dhn = dan⊙r        pre-activation of n is hn, so dGatesHh_n = dan⊙r)
        //                              dr = dan⊙hn
        //   1. r, z = σ(ar), σ(az):    dar = dr⊙r(1 - r)  daz = dz⊙z(1 - z)
        int n = hiddenSize;
        ref float rdh = ref MemoryMarshal.GetReference(dh);
        ref float rr = ref MemoryMarshal.GetReference(gates);
        ref float rz = ref Unsafe.Add(ref rr, n);
        ref float rn = ref Unsafe.Add(ref rr, 2 * n);
        ref float rhn = ref MemoryMarshal.GetReference(extra);
        ref float rp = ref MemoryMarshal.GetReference(hPrev);
        ref float rdr = ref MemoryMarshal.GetReference(dGates);
        ref float rdz = ref Unsafe.Add(ref rdr, n);
        ref float rdn = ref Unsafe.Add(ref rdr, 2 * n);
        ref float rhr = ref MemoryMarshal.GetReference(dGatesHh);
        ref float rhz = ref Unsafe.Add(ref rhr, n);
        ref float rhnn = ref Unsafe.Add(ref rhr, 2 * n);
        int i = 0;
        if (Isa.Vector512)
        {
            Vector512<float> one = Vector512<float>.One;
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                nuint u = (nuint)i;
                Vector512<float> d = Vector512.LoadUnsafe(ref rdh, u);
                Vector512<float> r = Vector512.LoadUnsafe(ref rr, u);
                Vector512<float> z = Vector512.LoadUnsafe(ref rz, u);
                Vector512<float> g = Vector512.LoadUnsafe(ref rn, u);
                Vector512<float> dan = d * (one - z) * (one - g * g);
                Vector512<float> dar = dan * Vector512.LoadUnsafe(ref rhn, u) * r * (one - r);
                Vector512<float> daz = d * (Vector512.LoadUnsafe(ref rp, u) - g) * z * (one - z);
                dar.StoreUnsafe(ref rdr, u);
                daz.StoreUnsafe(ref rdz, u);
                dan.StoreUnsafe(ref rdn, u);
                dar.StoreUnsafe(ref rhr, u);
                daz.StoreUnsafe(ref rhz, u);
                (dan * r).StoreUnsafe(ref rhnn, u);
                (d * z).StoreUnsafe(ref rdh, u);
            }
        }
        if (Isa.Vector256)
        {
            Vector256<float> one = Vector256<float>.One;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                nuint u = (nuint)i;
                Vector256<float> d = Vector256.LoadUnsafe(ref rdh, u);
                Vector256<float> r = Vector256.LoadUnsafe(ref rr, u);
                Vector256<float> z = Vector256.LoadUnsafe(ref rz, u);
                Vector256<float> g = Vector256.LoadUnsafe(ref rn, u);
                Vector256<float> dan = d * (one - z) * (one - g * g);
                Vector256<float> dar = dan * Vector256.LoadUnsafe(ref rhn, u) * r * (one - r);
                Vector256<float> daz = d * (Vector256.LoadUnsafe(ref rp, u) - g) * z * (one - z);
                dar.StoreUnsafe(ref rdr, u);
                daz.StoreUnsafe(ref rdz, u);
                dan.StoreUnsafe(ref rdn, u);
                dar.StoreUnsafe(ref rhr, u);
                daz.StoreUnsafe(ref rhz, u);
                (dan * r).StoreUnsafe(ref rhnn, u);
                (d * z).StoreUnsafe(ref rdh, u);
            }
        }
        for (; i < n; i++)
        {
            float d = Unsafe.Add(ref rdh, i);
            float r = Unsafe.Add(ref rr, i);
            float z = Unsafe.Add(ref rz, i);
            float g = Unsafe.Add(ref rn, i);
            float dan = d * (1f - z) * (1f - g * g);
            float dar = dan * Unsafe.Add(ref rhn, i) * r * (1f - r);
            float daz = d * (Unsafe.Add(ref rp, i) - g) * z * (1f - z);
            Unsafe.Add(ref rdr, i) = dar;
            Unsafe.Add(ref rdz, i) = daz;
            Unsafe.Add(ref rdn, i) = dan;
            Unsafe.Add(ref rhr, i) = dar;
            Unsafe.Add(ref rhz, i) = daz;
            Unsafe.Add(ref rhnn, i) = dan * r;
            Unsafe.Add(ref rdh, i) = d * z;
        }
    }
}
