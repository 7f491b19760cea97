namespace SpanAttention.Parameters;

/// <summary>
/// The layout of every parameter of a model in one flat <see cref="float"/> buffer, as a list of named
/// slots. Modules register their tensors while the model is built (in a fixed order, so the layout is
/// deterministic); afterwards one allocation each holds the values, the gradients and the optimizer
/// moments, and clipping, the optimizer and serialization see a single span.
/// </summary>
public sealed class ParameterLayout
{
    private readonly List<ParameterSlot> _slots = [];
    private readonly Dictionary<string, ParameterSlot> _byName = new(StringComparer.Ordinal);

    /// <summary>Total number of floats across all slots.</summary>
    public int Count { get; private set; }

    /// <summary>The slots in registration order (which is also buffer order).</summary>
    public IReadOnlyList<ParameterSlot> Slots => _slots;

    /// <summary>Registers a tensor and returns its slot.</summary>
    /// <param name="name">Unique PyTorch state_dict name.</param>
    /// <param name="shape">Its shape, each dimension ≥ 1.</param>
    /// <returns>The new slot, placed right after the previous one.</returns>
    /// <exception cref="ArgumentException">The name is already taken, or a dimension is not positive.</exception>
    public ParameterSlot Add(string name, params int[] shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (_byName.ContainsKey(name))
        {
            throw new ArgumentException($"Parameter '{name}' is registered twice.", nameof(name));
        }
        foreach (int d in shape)
        {
            if (d <= 0)
            {
                throw new ArgumentException($"Parameter '{name}': every dimension must be positive, got [{string.Join(", ", shape)}].", nameof(shape));
            }
        }
        var slot = new ParameterSlot(name, Count, (int[])shape.Clone());
        Count = checked(Count + slot.Length);
        _slots.Add(slot);
        _byName.Add(name, slot);
        return slot;
    }

    /// <summary>The slot with the given name.</summary>
    /// <param name="name">A registered name.</param>
    /// <exception cref="KeyNotFoundException">No slot has that name.</exception>
    public ParameterSlot this[string name] =>
        _byName.TryGetValue(name, out ParameterSlot? slot) ? slot : throw new KeyNotFoundException($"No parameter named '{name}'.");

    /// <summary>Looks up a slot by name.</summary>
    /// <param name="name">The name.</param>
    /// <param name="slot">The slot, when found.</param>
    /// <returns>Whether the name is registered.</returns>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ParameterSlot? slot) =>
        _byName.TryGetValue(name, out slot);
}
