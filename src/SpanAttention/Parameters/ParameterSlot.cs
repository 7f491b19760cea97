namespace SpanAttention.Parameters;

/// <summary>
/// One named tensor inside a flat parameter buffer: where it starts, how many floats it holds and its
/// PyTorch shape (row-major, <c>[out, in]</c> for weights). The same slot addresses the values, the
/// gradients and the optimizer moments, which all share one layout.
/// </summary>
public sealed class ParameterSlot
{
    internal ParameterSlot(string name, int offset, int[] shape)
    {
        Name = name;
        Offset = offset;
        Shape = shape;
        long length = 1;
        foreach (int d in shape)
        {
            length *= d;
        }
        Length = checked((int)length);
    }

    /// <summary>The PyTorch state_dict name, e.g. <c>encoder.rnn.weight_ih_l0</c>.</summary>
    public string Name { get; }

    /// <summary>Index of the first element in the flat buffer.</summary>
    public int Offset { get; }

    /// <summary>Number of elements (the product of <see cref="Shape"/>).</summary>
    public int Length { get; }

    /// <summary>The tensor's shape, row-major (copy; do not mutate).</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>This slot's view into a flat buffer (values, gradients or moments).</summary>
    /// <param name="buffer">A buffer laid out by the slot's <see cref="ParameterLayout"/>.</param>
    /// <returns>The slot's elements.</returns>
    public Span<float> Of(Span<float> buffer) => buffer.Slice(Offset, Length);

    /// <summary>This slot's read-only view into a flat buffer.</summary>
    /// <param name="buffer">A buffer laid out by the slot's <see cref="ParameterLayout"/>.</param>
    /// <returns>The slot's elements.</returns>
    public ReadOnlySpan<float> Of(ReadOnlySpan<float> buffer) => buffer.Slice(Offset, Length);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}] @ {Offset}";
}
