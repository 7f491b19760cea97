using System.Numerics.Tensors;
using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// Affine projection over rows, as <c>nn.Linear(in, out, bias)</c>: y = x Wᵀ + b for every row of x.
/// Registers <c>{name}.weight</c> [out, in] and (optionally) <c>{name}.bias</c> [out] in the caller's layout.
/// </summary>
internal sealed class Linear
{
    /// <summary>Registers the tensors.</summary>
    /// <param name="layout">The model's layout, still being built.</param>
    /// <param name="name">Module name, e.g. <c>decoder.out</c>.</param>
    /// <param name="inFeatures">Input size.</param>
    /// <param name="outFeatures">Output size.</param>
    /// <param name="bias">Whether the layer has a bias (PyTorch's default: true).</param>
    public Linear(ParameterLayout layout, string name, int inFeatures, int outFeatures, bool bias = true)
    {
        ArgumentNullException.ThrowIfNull(layout);
        Weight = layout.Add(name + ".weight", outFeatures, inFeatures);
        Bias = bias ? layout.Add(name + ".bias", outFeatures) : null;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    /// <summary>Input size.</summary>
    public int InFeatures { get; }

    /// <summary>Output size.</summary>
    public int OutFeatures { get; }

    /// <summary>The weight slot (out, in).</summary>
    public ParameterSlot Weight { get; }

    /// <summary>The bias slot (out), or null without bias.</summary>
    public ParameterSlot? Bias { get; }

    /// <summary>PyTorch's default initialisation: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)).</summary>
    /// <param name="parameters">The model's parameters.</param>
    /// <param name="random">Seeded random source.</param>
    public void Initialize(ParameterSet parameters, Random random)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        float bound = 1f / MathF.Sqrt(InFeatures);
        parameters.InitializeUniform(Weight, bound, random);
        if (Bias is not null)
        {
            parameters.InitializeUniform(Bias, bound, random);
        }
    }

    /// <summary>y = x Wᵀ + b over <paramref name="rows"/> rows.</summary>
    /// <param name="x">Input: (N, in).</param>
    /// <param name="rows">N.</param>
    /// <param name="values">The model's flat parameter values.</param>
    /// <param name="y">Output: (N, out). Overwritten.</param>
    public void Forward(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> values, Span<float> y) =>
        Forward(x, rows, InFeatures, OutFeatures, Weight.Of(values), Bias is null ? default : Bias.Of(values), y);

    /// <summary>Accumulates dX, dW and db.</summary>
    /// <param name="dY">Upstream gradient: (N, out).</param>
    /// <param name="x">The forward input: (N, in).</param>
    /// <param name="rows">N.</param>
    /// <param name="values">The model's flat parameter values.</param>
    /// <param name="gradients">The model's flat gradients; the weight and bias slots are accumulated into.</param>
    /// <param name="dX">Gradient of the input: (N, in), accumulated; empty to skip (e.g. when x is data).</param>
    public void Backward(ReadOnlySpan<float> dY, ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> values, Span<float> gradients, Span<float> dX) =>
        Backward(dY, x, rows, InFeatures, OutFeatures, Weight.Of(values), dX, Weight.Of(gradients), Bias is null ? default : Bias.Of(gradients));

    /// <summary>y = x Wᵀ + b.</summary>
    /// <param name="x">Input: (N, in).</param>
    /// <param name="rows">N.</param>
    /// <param name="inFeatures">in.</param>
    /// <param name="outFeatures">out.</param>
    /// <param name="weight">W: (out, in).</param>
    /// <param name="bias">b: (out), or empty for none.</param>
    /// <param name="y">Output: (N, out). Overwritten.</param>
    /// <remarks>Effectively computes y[n, o] = b[o] + Σ_i x[n, i] · W[o, i], one GEMM with W transposed (one GEMV for N = 1).</remarks>
    public static void Forward(ReadOnlySpan<float> x, int rows, int inFeatures, int outFeatures, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, Span<float> y)
    {
        Guard.NonNegative(rows, nameof(rows));
        Guard.SameLength(weight.Length, outFeatures * inFeatures, nameof(weight));
        if (!bias.IsEmpty)
        {
            Guard.SameLength(bias.Length, outFeatures, nameof(bias));
        }
        Guard.Length(x.Length, rows * inFeatures, nameof(x));
        Guard.Length(y.Length, rows * outFeatures, nameof(y));
        if (rows == 1)
        {
            Gemv.Multiply(weight, outFeatures, inFeatures, inFeatures, x, y, accumulate: false);   // (out) = W x: one decoder step at batch 1, no packing
        }
        else
        {
            Gemm.Multiply(rows, outFeatures, inFeatures, x, inFeatures, Transpose.No, weight, inFeatures, Transpose.Yes, y, outFeatures, accumulate: false); // (N, out)
        }
        if (!bias.IsEmpty)
        {
            for (int n = 0; n < rows; n++)
            {
                Span<float> row = y.Slice(n * outFeatures, outFeatures);
                TensorPrimitives.Add(row, bias, row);
            }
        }
    }

    /// <summary>Backward of <see cref="Forward(ReadOnlySpan{float}, int, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>.</summary>
    /// <param name="dY">Upstream gradient: (N, out).</param>
    /// <param name="x">The forward input: (N, in).</param>
    /// <param name="rows">N.</param>
    /// <param name="inFeatures">in.</param>
    /// <param name="outFeatures">out.</param>
    /// <param name="weight">W: (out, in).</param>
    /// <param name="dX">(N, in), accumulated; empty to skip.</param>
    /// <param name="dWeight">(out, in), accumulated.</param>
    /// <param name="dBias">(out), accumulated; empty when the layer has no bias.</param>
    /// <remarks>
    /// From y = x Wᵀ + b: dX += dY W (N, out)·(out, in); dW += dYᵀ x (out, N)·(N, in); db += Σ_n dY[n, :].
    /// </remarks>
    public static void Backward(ReadOnlySpan<float> dY, ReadOnlySpan<float> x, int rows, int inFeatures, int outFeatures, ReadOnlySpan<float> weight,
        Span<float> dX, Span<float> dWeight, Span<float> dBias)
    {
        Guard.NonNegative(rows, nameof(rows));
        Guard.SameLength(weight.Length, outFeatures * inFeatures, nameof(weight));
        Guard.SameLength(dWeight.Length, outFeatures * inFeatures, nameof(dWeight));
        Guard.Length(dY.Length, rows * outFeatures, nameof(dY));
        Guard.Length(x.Length, rows * inFeatures, nameof(x));
        if (!dX.IsEmpty)
        {
            Guard.Length(dX.Length, rows * inFeatures, nameof(dX));
            if (rows == 1)
            {
                Gemv.MultiplyTransposed(weight, outFeatures, inFeatures, inFeatures, dY, dX, accumulate: true);   // (in) += Wᵀ dy
            }
            else
            {
                Gemm.Multiply(rows, inFeatures, outFeatures, dY, outFeatures, Transpose.No, weight, inFeatures, Transpose.No, dX, inFeatures, accumulate: true);
            }
        }
        Gemm.Multiply(outFeatures, inFeatures, rows, dY, outFeatures, Transpose.Yes, x, inFeatures, Transpose.No, dWeight, inFeatures, accumulate: true);
        if (!dBias.IsEmpty)
        {
            Guard.SameLength(dBias.Length, outFeatures, nameof(dBias));
            for (int n = 0; n < rows; n++)
            {
                TensorPrimitives.Add(dBias, dY.Slice(n * outFeatures, outFeatures), dBias);
            }
        }
    }
}
