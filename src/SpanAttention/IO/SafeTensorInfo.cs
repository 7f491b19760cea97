namespace SpanAttention.IO;

/// <summary>One validated entry of a safetensors header: name, element type, shape and where its bytes lie.</summary>
/// <param name="Name">The tensor name (a PyTorch state_dict key).</param>
/// <param name="DType">The element type.</param>
/// <param name="Shape">The shape, row-major; empty for a scalar.</param>
/// <param name="Begin">First byte, relative to the start of the data buffer.</param>
/// <param name="End">One past the last byte, relative to the start of the data buffer.</param>
public sealed record SafeTensorInfo(string Name, SafeTensorsDType DType, IReadOnlyList<long> Shape, long Begin, long End)
{
    /// <summary>The number of elements (product of <see cref="Shape"/>; checked not to overflow when the header was read).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape)
            {
                n *= d;
            }
            return n;
        }
    }

    /// <summary>The shape as text, e.g. <c>[12, 4]</c>, for messages.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>A tensor to write: a name, a shape and its float values (row-major).</summary>
/// <param name="Name">The tensor name, e.g. <c>decoder.out.weight</c>.</param>
/// <param name="Shape">The shape; the product must equal the length of <paramref name="Values"/>.</param>
/// <param name="Values">The values (F32).</param>
public sealed record SafeTensor(string Name, IReadOnlyList<int> Shape, ReadOnlyMemory<float> Values)
{
    /// <summary>One tensor per slot of a layout, viewing a flat buffer (values, or optimizer moments under a name prefix).</summary>
    /// <param name="layout">The layout.</param>
    /// <param name="buffer">A buffer laid out by <paramref name="layout"/>: (layout.Count).</param>
    /// <param name="prefix">Prepended to every slot name, e.g. <c>"optimizer.exp_avg."</c>; empty for parameters.</param>
    /// <returns>The tensors, in slot order.</returns>
    public static IReadOnlyList<SafeTensor> FromLayout(Parameters.ParameterLayout layout, ReadOnlyMemory<float> buffer, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(prefix);
        if (buffer.Length != layout.Count)
        {
            throw new ArgumentException($"The buffer has {buffer.Length} elements, the layout {layout.Count}.", nameof(buffer));
        }
        var tensors = new List<SafeTensor>(layout.Slots.Count);
        foreach (Parameters.ParameterSlot slot in layout.Slots)
        {
            tensors.Add(new SafeTensor(prefix + slot.Name, slot.Shape, buffer.Slice(slot.Offset, slot.Length)));
        }
        return tensors;
    }
}
