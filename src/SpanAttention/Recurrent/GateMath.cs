using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SpanAttention.Kernels;

namespace SpanAttention.Recurrent;

/// <summary>Small fused element-wise loops shared by the gate kernels (Vector512, Vector256, scalar).</summary>
internal static class GateMath
{
    /// <summary>destination = a + b + c + d, element-wise over (n). <paramref name="destination"/> may alias <paramref name="a"/>.</summary>
    public static void Sum4(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, ReadOnlySpan<float> d, Span<float> destination)
    {
        int n = destination.Length;
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        ref float rc = ref MemoryMarshal.GetReference(c);
        ref float rd = ref MemoryMarshal.GetReference(d);
        ref float ro = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        if (Isa.Vector512)
        {
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                nuint u = (nuint)i;
                ((Vector512.LoadUnsafe(ref ra, u) + Vector512.LoadUnsafe(ref rb, u)) +
                 (Vector512.LoadUnsafe(ref rc, u) + Vector512.LoadUnsafe(ref rd, u))).StoreUnsafe(ref ro, u);
            }
        }
        if (Isa.Vector256)
        {
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                nuint u = (nuint)i;
                ((Vector256.LoadUnsafe(ref ra, u) + Vector256.LoadUnsafe(ref rb, u)) +
                 (Vector256.LoadUnsafe(ref rc, u) + Vector256.LoadUnsafe(ref rd, u))).StoreUnsafe(ref ro, u);
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref ro, i) = (Unsafe.Add(ref ra, i) + Unsafe.Add(ref rb, i)) + (Unsafe.Add(ref rc, i) + Unsafe.Add(ref rd, i));
        }
    }
}
