using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Recurrent;

/// <summary>
/// The four tensors of one recurrent direction, PyTorch-shaped and PyTorch-named:
/// <c>weight_ih</c> (G·H, in), <c>weight_hh</c> (G·H, H), <c>bias_ih</c> (G·H), <c>bias_hh</c> (G·H),
/// registered in that order (state_dict order).
/// </summary>
internal sealed class RecurrentWeights
{
    internal RecurrentWeights(ParameterLayout layout, string prefix, string suffix, int gates, int inputSize, int hiddenSize)
    {
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        WeightIh = layout.Add(prefix + "weight_ih" + suffix, gates * hiddenSize, inputSize);
        WeightHh = layout.Add(prefix + "weight_hh" + suffix, gates * hiddenSize, hiddenSize);
        BiasIh = layout.Add(prefix + "bias_ih" + suffix, gates * hiddenSize);
        BiasHh = layout.Add(prefix + "bias_hh" + suffix, gates * hiddenSize);
    }

    /// <summary>Input size of this direction (I for the first layer, H or 2H above it).</summary>
    public int InputSize { get; }

    /// <summary>Hidden size H.</summary>
    public int HiddenSize { get; }

    /// <summary><c>weight_ih</c>: (G·H, in).</summary>
    public ParameterSlot WeightIh { get; }

    /// <summary><c>weight_hh</c>: (G·H, H).</summary>
    public ParameterSlot WeightHh { get; }

    /// <summary><c>bias_ih</c>: (G·H).</summary>
    public ParameterSlot BiasIh { get; }

    /// <summary><c>bias_hh</c>: (G·H).</summary>
    public ParameterSlot BiasHh { get; }

    /// <summary>PyTorch's default initialisation: every tensor ~ U(-1/sqrt(H), 1/sqrt(H)).</summary>
    internal void Initialize(ParameterSet parameters, Random random)
    {
        float bound = 1f / MathF.Sqrt(HiddenSize);
        parameters.InitializeUniform(WeightIh, bound, random);
        parameters.InitializeUniform(WeightHh, bound, random);
        parameters.InitializeUniform(BiasIh, bound, random);
        parameters.InitializeUniform(BiasHh, bound, random);
    }

    /// <summary>
    /// The weight gradients of <paramref name="rows"/> steps at once, accumulated:
    /// dW_ih += dGatesᵀ·X, dW_hh += dGatesHhᵀ·Hprev, db_ih += Σ_rows dGates, db_hh += Σ_rows dGatesHh.
    /// </summary>
    /// <param name="rows">Number of (row, step) pairs N.</param>
    /// <param name="dGates">(N, G·H).</param>
    /// <param name="dGatesHh">(N, G·H).</param>
    /// <param name="x">(N, in) the inputs of those steps.</param>
    /// <param name="hPrev">(N, H) the previous hidden states of those steps.</param>
    /// <param name="ones">(N) all ones (turns the column sums into one GEMV).</param>
    /// <param name="gradients">The flat gradient buffer.</param>
    /// <param name="includeWeightIh">False when the caller forms dW_ih itself (it supplied the input projection).</param>
    internal void AccumulateWeightGradients(
        int rows, ReadOnlySpan<float> dGates, ReadOnlySpan<float> dGatesHh, ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> ones, Span<float> gradients, bool includeWeightIh = true)
    {
        int gh = WeightIh.Shape[0];
        if (includeWeightIh)
        {
            Gemm.Multiply(gh, InputSize, rows, dGates, gh, Transpose.Yes, x, InputSize, Transpose.No, WeightIh.Of(gradients), InputSize, true);
        }
        Gemm.Multiply(gh, HiddenSize, rows, dGatesHh, gh, Transpose.Yes, hPrev, HiddenSize, Transpose.No, WeightHh.Of(gradients), HiddenSize, true);
        Gemv.MultiplyTransposed(dGates, rows, gh, gh, ones.Slice(0, rows), BiasIh.Of(gradients), true);
        Gemv.MultiplyTransposed(dGatesHh, rows, gh, gh, ones.Slice(0, rows), BiasHh.Of(gradients), true);
    }
}
