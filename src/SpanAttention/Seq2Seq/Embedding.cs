using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// Token embedding, as <c>nn.Embedding(V, E, padding_idx)</c>: a lookup of rows of weight (V, E).
/// Registers one tensor, <c>{name}.weight</c> [V, E], in the caller's <see cref="ParameterLayout"/>.
/// </summary>
/// <remarks>
/// The padding row (if any) is initialised to zeros and never receives a gradient, so it stays zero
/// under any optimizer without weight decay, exactly as in PyTorch. Forward still gathers it (a zero
/// vector), so padded positions need no special case downstream.
/// </remarks>
internal sealed class Embedding
{
    /// <summary>Registers <c>{name}.weight</c> [numEmbeddings, dimension].</summary>
    /// <param name="layout">The model's layout, still being built.</param>
    /// <param name="name">Module name, e.g. <c>decoder.embedding</c>.</param>
    /// <param name="numEmbeddings">V, the vocabulary size.</param>
    /// <param name="dimension">E, the embedding size.</param>
    /// <param name="paddingId">The padding token id in [0, V), or -1 for none.</param>
    public Embedding(ParameterLayout layout, string name, int numEmbeddings, int dimension, int paddingId = -1)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentOutOfRangeException.ThrowIfLessThan(paddingId, -1);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(paddingId, numEmbeddings);
        Weight = layout.Add(name + ".weight", numEmbeddings, dimension);
        NumEmbeddings = numEmbeddings;
        Dimension = dimension;
        PaddingId = paddingId;
    }

    /// <summary>V.</summary>
    public int NumEmbeddings { get; }

    /// <summary>E.</summary>
    public int Dimension { get; }

    /// <summary>The padding id, or -1.</summary>
    public int PaddingId { get; }

    /// <summary>The weight slot (V, E).</summary>
    public ParameterSlot Weight { get; }

    /// <summary>PyTorch's default initialisation: weight ~ N(0, 1), padding row zero.</summary>
    /// <param name="parameters">The model's parameters.</param>
    /// <param name="random">Seeded random source.</param>
    public void Initialize(ParameterSet parameters, Random random)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(random);
        Span<float> w = Weight.Of(parameters.Values.AsSpan());
        for (int i = 0; i < w.Length; i++)
        {
            // Box-Muller: one standard normal per pair of uniforms.
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            w[i] = (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        if (PaddingId >= 0)
        {
            w.Slice(PaddingId * Dimension, Dimension).Clear();
        }
    }

    /// <summary>Looks up the rows of the given ids.</summary>
    /// <param name="ids">Token ids: (N), each in [0, V).</param>
    /// <param name="values">The model's flat parameter values.</param>
    /// <param name="output">Embeddings: (N, E). Overwritten.</param>
    public void Forward(ReadOnlySpan<int> ids, ReadOnlySpan<float> values, Span<float> output) =>
        Forward(ids, Weight.Of(values), NumEmbeddings, Dimension, output);

    /// <summary>Scatter-adds the output gradient into the weight rows of the ids (padding row excluded).</summary>
    /// <param name="dOutput">Gradient of the embeddings: (N, E).</param>
    /// <param name="ids">The ids of the forward pass: (N).</param>
    /// <param name="gradients">The model's flat gradients; the weight slot is accumulated into.</param>
    public void Backward(ReadOnlySpan<float> dOutput, ReadOnlySpan<int> ids, Span<float> gradients) =>
        Backward(dOutput, ids, NumEmbeddings, Dimension, PaddingId, Weight.Of(gradients));

    /// <summary>output[i, :] = weight[ids[i], :].</summary>
    /// <param name="ids">Token ids: (N), each in [0, V).</param>
    /// <param name="weight">Embedding table: (V, E).</param>
    /// <param name="numEmbeddings">V.</param>
    /// <param name="dimension">E.</param>
    /// <param name="output">Embeddings: (N, E). Overwritten.</param>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, V).</exception>
    public static void Forward(ReadOnlySpan<int> ids, ReadOnlySpan<float> weight, int numEmbeddings, int dimension, Span<float> output)
    {
        Guard.SameLength(weight.Length, numEmbeddings * dimension, nameof(weight));
        Guard.Length(output.Length, ids.Length * dimension, nameof(output));
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            CheckId(id, i, numEmbeddings);
            weight.Slice(id * dimension, dimension).CopyTo(output.Slice(i * dimension, dimension));
        }
    }

    /// <summary>dWeight[ids[i], :] += dOutput[i, :] for every i whose id is not the padding id.</summary>
    /// <param name="dOutput">Gradient of the embeddings: (N, E).</param>
    /// <param name="ids">Token ids of the forward pass: (N).</param>
    /// <param name="numEmbeddings">V.</param>
    /// <param name="dimension">E.</param>
    /// <param name="paddingId">Rows of this id get no gradient; -1 for none.</param>
    /// <param name="dWeight">Gradient of the table: (V, E). Accumulated (repeated ids add up).</param>
    public static void Backward(ReadOnlySpan<float> dOutput, ReadOnlySpan<int> ids, int numEmbeddings, int dimension, int paddingId, Span<float> dWeight)
    {
        Guard.SameLength(dWeight.Length, numEmbeddings * dimension, nameof(dWeight));
        Guard.Length(dOutput.Length, ids.Length * dimension, nameof(dOutput));
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            CheckId(id, i, numEmbeddings);
            if (id == paddingId)
            {
                continue;
            }
            Span<float> row = dWeight.Slice(id * dimension, dimension);
            System.Numerics.Tensors.TensorPrimitives.Add(row, dOutput.Slice(i * dimension, dimension), row);
        }
    }

    private static void CheckId(int id, int position, int numEmbeddings)
    {
        if ((uint)id >= (uint)numEmbeddings)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id {id} at position {position} is outside [0, {numEmbeddings}).");
        }
    }
}
