using System.Numerics.Tensors;
using SpanAttention.Kernels;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Transformer;

/// <summary>
/// The Transformer's input: token embeddings scaled by sqrt(E) plus the sinusoidal positional encoding of
/// "Attention Is All You Need", x[b, s] = sqrt(E) · embedding[ids[b, s]] + PE[s] with
/// PE[s, 2i] = sin(s / 10000^(2i/E)), PE[s, 2i+1] = cos(s / 10000^(2i/E)).
/// </summary>
/// <remarks>The encoding is a fixed table (no parameters); only the embedding has a gradient, sqrt(E) · dx.</remarks>
internal sealed class PositionalEncoding
{
    private float[] _table = [];     // PE: (maxSteps, E)
    private float[] _dScaled = [];   // sqrt(E)·dx: (maxTokens, E)

    /// <summary>Builds the table and the backward buffer.</summary>
    /// <param name="embedding">The token embedding (its Dimension is E).</param>
    /// <param name="maxSteps">The most positions S per sequence.</param>
    /// <param name="maxTokens">The most tokens B·S per call.</param>
    public PositionalEncoding(Embedding embedding, int maxSteps, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSteps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxTokens);
        Embedding = embedding;
        EnsureCapacity(maxSteps, maxTokens);
    }

    /// <summary>Grows the table and the backward buffer (never shrinks). Allocates only when growing.</summary>
    /// <param name="maxSteps">The most positions S per sequence.</param>
    /// <param name="maxTokens">The most tokens B·S per call.</param>
    public void EnsureCapacity(int maxSteps, int maxTokens)
    {
        int e = Embedding.Dimension;
        if (maxSteps > MaxSteps)
        {
            MaxSteps = maxSteps;
            _table = new float[maxSteps * e];
            Sinusoidal(maxSteps, e, _table);
        }
        if (maxTokens > MaxTokens)
        {
            MaxTokens = maxTokens;
            _dScaled = new float[maxTokens * e];
        }
    }

    /// <summary>The token embedding.</summary>
    public Embedding Embedding { get; }

    /// <summary>The most positions per sequence.</summary>
    public int MaxSteps { get; private set; }

    /// <summary>The most tokens per call.</summary>
    public int MaxTokens { get; private set; }

    /// <summary>The encoding table PE: (maxSteps, E).</summary>
    public ReadOnlySpan<float> Table => _table;

    /// <summary>PE[s, 2i] = sin(s·ω_i), PE[s, 2i+1] = cos(s·ω_i), ω_i = 10000^(-2i/E), computed in double.</summary>
    /// <param name="steps">S.</param>
    /// <param name="dimension">E (an odd E leaves the last column a sine).</param>
    /// <param name="table">(S, E). Overwritten.</param>
    public static void Sinusoidal(int steps, int dimension, Span<float> table)
    {
        Guard.Length(table.Length, steps * dimension, nameof(table));
        for (int s = 0; s < steps; s++)
        {
            for (int j = 0; j < dimension; j++)
            {
                double omega = Math.Exp(-(j - j % 2) * Math.Log(10000.0) / dimension);
                table[s * dimension + j] = (float)(j % 2 == 0 ? Math.Sin(s * omega) : Math.Cos(s * omega));
            }
        }
    }

    /// <summary>x = sqrt(E) · embedding[ids] + PE.</summary>
    /// <param name="ids">Token ids: (B, S).</param>
    /// <param name="batch">B.</param>
    /// <param name="steps">S ≤ MaxSteps.</param>
    /// <param name="values">The model's flat parameter values.</param>
    /// <param name="output">(B, S, E). Overwritten.</param>
    public void Forward(ReadOnlySpan<int> ids, int batch, int steps, ReadOnlySpan<float> values, Span<float> output)
    {
        int e = Embedding.Dimension;
        CheckShape(ids, batch, steps);
        output = output.Slice(0, batch * steps * e);
        Embedding.Forward(ids.Slice(0, batch * steps), values, output);
        TensorPrimitives.Multiply(output, MathF.Sqrt(e), output);
        ReadOnlySpan<float> pe = _table.AsSpan(0, steps * e);
        for (int b = 0; b < batch; b++)
        {
            Span<float> rows = output.Slice(b * steps * e, steps * e);
            TensorPrimitives.Add(rows, pe, rows);
        }
    }

    /// <summary>Accumulates the embedding's gradient: dWeight[ids] += sqrt(E) · dOutput (padding ids excluded).</summary>
    /// <param name="dOutput">(B, S, E).</param>
    /// <param name="ids">The forward's ids: (B, S).</param>
    /// <param name="batch">B.</param>
    /// <param name="steps">S.</param>
    /// <param name="gradients">The model's flat gradients, accumulated into.</param>
    public void Backward(ReadOnlySpan<float> dOutput, ReadOnlySpan<int> ids, int batch, int steps, Span<float> gradients)
    {
        int e = Embedding.Dimension;
        CheckShape(ids, batch, steps);
        Guard.Length(dOutput.Length, batch * steps * e, nameof(dOutput));
        Span<float> scaled = _dScaled.AsSpan(0, batch * steps * e);
        TensorPrimitives.Multiply(dOutput.Slice(0, scaled.Length), MathF.Sqrt(e), scaled);
        Embedding.Backward(scaled, ids.Slice(0, batch * steps), gradients);
    }

    private void CheckShape(ReadOnlySpan<int> ids, int batch, int steps)
    {
        if ((uint)steps > (uint)MaxSteps || batch < 0 || (long)batch * steps > MaxTokens)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), $"(batch, steps) = ({batch}, {steps}) exceeds the {MaxSteps} steps / {MaxTokens} tokens this encoding was built for.");
        }
        Guard.Length(ids.Length, batch * steps, nameof(ids));
    }
}
