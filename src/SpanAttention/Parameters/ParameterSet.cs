using SpanAttention.Kernels;

namespace SpanAttention.Parameters;

/// <summary>
/// The values and gradients of every parameter, each in one flat buffer laid out by a
/// <see cref="ParameterLayout"/>. Forward passes read <see cref="Values"/>; backward passes accumulate
/// into <see cref="Gradients"/>, which is zeroed once per step.
/// </summary>
public sealed class ParameterSet
{
    /// <summary>Allocates zeroed values and gradients for a finished layout.</summary>
    /// <param name="layout">The layout; no slot may be added to it afterwards.</param>
    public ParameterSet(ParameterLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        Layout = layout;
        Values = new float[layout.Count];
        Gradients = new float[layout.Count];
    }

    /// <summary>
    /// Gradients of its own over another set's values: a second training thread reads the same weights and
    /// accumulates into a separate buffer, so nothing is copied per step.
    /// </summary>
    /// <param name="layout">The layout of <paramref name="values"/>.</param>
    /// <param name="values">The shared values: (layout.Count).</param>
    internal ParameterSet(ParameterLayout layout, float[] values)
    {
        Guard.SameLength(values.Length, layout.Count, nameof(values));
        Layout = layout;
        Values = values;
        Gradients = new float[layout.Count];
    }

    /// <summary>The layout shared by values and gradients.</summary>
    public ParameterLayout Layout { get; }

    /// <summary>All parameter values: (Layout.Count).</summary>
    public float[] Values { get; }

    /// <summary>All parameter gradients: (Layout.Count). Backward passes accumulate here.</summary>
    public float[] Gradients { get; }

    /// <summary>Clears every gradient (once per training step, before backward).</summary>
    public void ZeroGradients() => Array.Clear(Gradients);

    /// <summary>Fills one slot with U(-bound, bound), PyTorch's default for recurrent and linear layers (bound = 1/sqrt(fan)).</summary>
    /// <param name="slot">The slot to fill.</param>
    /// <param name="bound">Half-width of the uniform distribution.</param>
    /// <param name="random">The random source (seeded by the caller for reproducibility).</param>
    public void InitializeUniform(ParameterSlot slot, float bound, Random random)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(random);
        Span<float> values = slot.Of(Values.AsSpan());
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)((random.NextDouble() * 2 - 1) * bound);
        }
    }
}
