using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace SpanAttention.Kernels;

/// <summary>
/// Argument checks for the public kernel entry points. The checks are cheap comparisons; the throwing
/// is kept in separate non-inlined methods so the hot path stays small.
/// </summary>
internal static class Guard
{
    /// <summary>Checks that a row-major matrix view of <paramref name="rows"/> x <paramref name="cols"/>
    /// with leading dimension <paramref name="ld"/> fits inside a span of <paramref name="length"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Matrix(int length, int rows, int cols, int ld, string name)
    {
        if (rows < 0 || cols < 0 || ld < 0)
        {
            ThrowNegativeDimension(name, rows, cols);
        }
        if (ld < cols) // an empty row (cols = 0) accepts any ld >= 0
        {
            ThrowLeadingDimension(name, cols, ld);
        }
        if (rows > 0 && cols > 0 && (long)(rows - 1) * ld + cols > length)
        {
            ThrowTooShort(name, rows, cols, ld, length);
        }
    }

    /// <summary>Checks that a span has at least <paramref name="required"/> elements.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Length(int length, int required, string name)
    {
        if (length < required)
        {
            ThrowLength(name, required, length);
        }
    }

    /// <summary>Checks that two spans have exactly the same length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SameLength(int length, int expected, string name)
    {
        if (length != expected)
        {
            ThrowSameLength(name, expected, length);
        }
    }

    /// <summary>Checks that a dimension is not negative.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void NonNegative(int value, string name)
    {
        if (value < 0)
        {
            ThrowNegative(name, value);
        }
    }

    [DoesNotReturn]
    private static void ThrowNegativeDimension(string name, int rows, int cols) =>
        throw new ArgumentOutOfRangeException(name, $"{name}: dimensions must be non-negative, got {rows} x {cols}.");

    [DoesNotReturn]
    private static void ThrowLeadingDimension(string name, int cols, int ld) =>
        throw new ArgumentOutOfRangeException(name, $"{name}: leading dimension {ld} is smaller than the row length {cols}.");

    [DoesNotReturn]
    private static void ThrowTooShort(string name, int rows, int cols, int ld, int length) =>
        throw new ArgumentException($"{name}: a {rows} x {cols} view with leading dimension {ld} needs {(long)(rows - 1) * ld + cols} elements, the span has {length}.", name);

    [DoesNotReturn]
    private static void ThrowLength(string name, int required, int length) =>
        throw new ArgumentException($"{name}: needs at least {required} elements, the span has {length}.", name);

    [DoesNotReturn]
    private static void ThrowSameLength(string name, int expected, int length) =>
        throw new ArgumentException($"{name}: expected exactly {expected} elements, the span has {length}.", name);

    [DoesNotReturn]
    private static void ThrowNegative(string name, int value) =>
        throw new ArgumentOutOfRangeException(name, $"{name}: must be non-negative, got {value}.");
}
