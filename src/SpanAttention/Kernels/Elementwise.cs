using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SpanAttention.Kernels;

/// <summary>An element-wise function of three inputs, at every vector width.</summary>
/// <remarks>
/// Implemented by small <c>readonly struct</c>s so that Elementwise.Apply is
/// specialised per operator by the JIT: no dispatch cost, and a new operation is a few lines.
/// </remarks>
internal interface ITernaryOperator
{
    /// <summary>The scalar form, used for the remainder and when no SIMD is available.</summary>
    static abstract float Invoke(float a, float b, float c);

    /// <summary>The 256-bit form.</summary>
    static abstract Vector256<float> Invoke(Vector256<float> a, Vector256<float> b, Vector256<float> c);

    /// <summary>The 512-bit form.</summary>
    static abstract Vector512<float> Invoke(Vector512<float> a, Vector512<float> b, Vector512<float> c);
}

/// <summary>An element-wise function of one input, at every vector width (see <see cref="ITernaryOperator"/>).</summary>
internal interface IUnaryOperator
{
    /// <summary>The scalar form, used for the remainder and when no SIMD is available.</summary>
    static abstract float Invoke(float x);

    /// <summary>The 256-bit form.</summary>
    static abstract Vector256<float> Invoke(Vector256<float> x);

    /// <summary>The 512-bit form.</summary>
    static abstract Vector512<float> Invoke(Vector512<float> x);
}

/// <summary>
/// The one loop behind every element-wise kernel: Vector512, then Vector256, then scalar, each gated on
/// hardware support, with the scalar loop finishing whatever the vectors leave.
/// </summary>
internal static class Elementwise
{
    /// <summary>destination[i] = TOperator(a[i], b[i], c[i]).</summary>
    /// <typeparam name="TOperator">The element-wise function.</typeparam>
    /// <param name="a">First input: (n).</param>
    /// <param name="b">Second input: (n).</param>
    /// <param name="c">Third input: (n).</param>
    /// <param name="destination">Output: (n). Overwritten. May be the same span as any input (each element is read before it is written).</param>
    public static void Apply<TOperator>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, Span<float> destination)
        where TOperator : struct, ITernaryOperator
    {
        int n = a.Length;
        Guard.SameLength(b.Length, n, nameof(b));
        Guard.SameLength(c.Length, n, nameof(c));
        Guard.SameLength(destination.Length, n, nameof(destination));
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        ref float rc = ref MemoryMarshal.GetReference(c);
        ref float rd = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        if (Isa.Vector512)
        {
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                TOperator.Invoke(
                    Vector512.LoadUnsafe(ref ra, (nuint)i),
                    Vector512.LoadUnsafe(ref rb, (nuint)i),
                    Vector512.LoadUnsafe(ref rc, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
            }
        }
        if (Isa.Vector256)
        {
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                TOperator.Invoke(
                    Vector256.LoadUnsafe(ref ra, (nuint)i),
                    Vector256.LoadUnsafe(ref rb, (nuint)i),
                    Vector256.LoadUnsafe(ref rc, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref rd, i) = TOperator.Invoke(Unsafe.Add(ref ra, i), Unsafe.Add(ref rb, i), Unsafe.Add(ref rc, i));
        }
    }

    /// <summary>destination[i] = TOperator(x[i]).</summary>
    /// <typeparam name="TOperator">The element-wise function.</typeparam>
    /// <param name="x">Input: (n).</param>
    /// <param name="destination">Output: (n). Overwritten. May be the same span as <paramref name="x"/>.</param>
    public static void Apply<TOperator>(ReadOnlySpan<float> x, Span<float> destination)
        where TOperator : struct, IUnaryOperator
    {
        int n = x.Length;
        Guard.SameLength(destination.Length, n, nameof(destination));
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float rd = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        if (Isa.Vector512)
        {
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                TOperator.Invoke(Vector512.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
            }
        }
        if (Isa.Vector256)
        {
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                TOperator.Invoke(Vector256.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref rd, i) = TOperator.Invoke(Unsafe.Add(ref rx, i));
        }
    }
}
