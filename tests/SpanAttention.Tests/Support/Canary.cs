using Xunit.Sdk;

namespace SpanAttention.Tests.Support;

/// <summary>
/// A (n) slice of a larger array with <see cref="Canary.Pad"/> canary floats before and after it, so a
/// kernel that writes (or reads and then writes) past either end of its span through <c>Unsafe</c> is
/// caught: <see cref="AssertIntact"/> checks every canary bit for bit. Converts implicitly to
/// <see cref="Span{T}"/> and <see cref="ReadOnlySpan{T}"/> of the n payload elements, so it drops into a
/// kernel call where a plain array was.
/// </summary>
internal sealed class CanaryBuffer
{
    private readonly float[] _storage;

    internal CanaryBuffer(int length)
    {
        _storage = new float[length + 2 * Canary.Pad];
        Length = length;
        _storage.AsSpan().Fill(Canary.Value);
    }

    /// <summary>Number of payload elements n.</summary>
    public int Length { get; }

    /// <summary>The n payload elements.</summary>
    public Span<float> Span => _storage.AsSpan(Canary.Pad, Length);

    public ref float this[int index] => ref Span[index];

    public static implicit operator Span<float>(CanaryBuffer buffer) => buffer.Span;

    public static implicit operator ReadOnlySpan<float>(CanaryBuffer buffer) => buffer.Span;

    /// <summary>A copy of the payload.</summary>
    public float[] ToArray() => Span.ToArray();

    /// <summary>Fails naming the first canary that changed, with its offset from the payload end it guards.</summary>
    public void AssertIntact(string what = "")
    {
        int canaryBits = BitConverter.SingleToInt32Bits(Canary.Value);
        for (int k = 0; k < Canary.Pad; k++)
        {
            if (BitConverter.SingleToInt32Bits(_storage[k]) != canaryBits)
            {
                throw new XunitException($"{what}: canary {Canary.Pad - k} floats before the start of a ({Length}) span was overwritten with {_storage[k]:R}");
            }
            int after = Canary.Pad + Length + k;
            if (BitConverter.SingleToInt32Bits(_storage[after]) != canaryBits)
            {
                throw new XunitException($"{what}: canary {k} floats past the end of a ({Length}) span was overwritten with {_storage[after]:R}");
            }
        }
    }
}

/// <summary>Factories for <see cref="CanaryBuffer"/>.</summary>
internal static class Canary
{
    /// <summary>
    /// Canary floats on each side: more than the widest overrun a wrong loop bound can cause (a 512-bit
    /// store of 16 floats starting up to 15 past the end, plus the two-register unrolled loops).
    /// </summary>
    public const int Pad = 48;

    /// <summary>
    /// The canary value: finite, exactly representable and far from the data (inputs are O(1)..O(20)), so
    /// any arithmetic that reads it and writes back changes its bits, and a reduction that reads it past
    /// the end visibly changes its result (a max, a sum, a norm).
    /// </summary>
    public const float Value = 13579.25f;

    /// <summary>A zero-filled (n) payload.</summary>
    public static CanaryBuffer Zeros(int n) => Filled(n, 0f);

    /// <summary>An (n) payload filled with <paramref name="value"/> (NaN for "must be overwritten").</summary>
    public static CanaryBuffer Filled(int n, float value)
    {
        var buffer = new CanaryBuffer(n);
        buffer.Span.Fill(value);
        return buffer;
    }

    /// <summary>A payload holding a copy of <paramref name="values"/>.</summary>
    public static CanaryBuffer From(ReadOnlySpan<float> values)
    {
        var buffer = new CanaryBuffer(values.Length);
        values.CopyTo(buffer.Span);
        return buffer;
    }

    /// <summary>Asserts every buffer's canaries, naming the buffer that failed.</summary>
    public static void AssertIntact(string what, params (string Name, CanaryBuffer Buffer)[] buffers)
    {
        foreach ((string name, CanaryBuffer buffer) in buffers)
        {
            buffer.AssertIntact($"{what} {name}");
        }
    }
}
