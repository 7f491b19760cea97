using System.Numerics.Tensors;
using SpanAttention.Kernels;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// Cross-entropy over logits with an ignored target id, as <c>F.cross_entropy(logits, targets,
/// ignore_index=..., reduction='mean')</c>: the mean of −log softmax(logits[n])[targets[n]] over the rows
/// whose target is not ignored. Forward caches the softmax probabilities; backward is the fused
/// softmax + NLL gradient (probs − onehot) / count.
/// </summary>
internal static class CrossEntropy
{
    /// <summary>The loss, and the probabilities backward needs.</summary>
    /// <param name="logits">Unnormalised scores: (N, V).</param>
    /// <param name="targets">Target ids: (N), each in [0, V) or equal to <paramref name="ignoreIndex"/>.</param>
    /// <param name="vocabulary">V.</param>
    /// <param name="ignoreIndex">Rows with this target count neither in the loss nor in the mean (PyTorch's default is -100).</param>
    /// <param name="probabilities">softmax(logits) per row: (N, V). Overwritten (ignored rows too).</param>
    /// <param name="count">Number of rows that count (targets not ignored).</param>
    /// <returns>The mean loss over counted rows; 0 when no row counts (PyTorch returns NaN there, which would
    /// look like divergence to a training loop).</returns>
    /// <remarks>Per row: loss = logsumexp(x) − x[t] = (max + log Σ exp(x − max)) − x[t]; the sum over rows is kept in double.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">A target is outside [0, V) and not the ignore index.</exception>
    public static float Forward(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int vocabulary, int ignoreIndex, Span<float> probabilities, out int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabulary, 1);
        int rows = targets.Length;
        Guard.Length(logits.Length, rows * vocabulary, nameof(logits));
        Guard.Length(probabilities.Length, rows * vocabulary, nameof(probabilities));
        double total = 0;
        count = 0;
        for (int n = 0; n < rows; n++)
        {
            ReadOnlySpan<float> x = logits.Slice(n * vocabulary, vocabulary);   // (V)
            Span<float> p = probabilities.Slice(n * vocabulary, vocabulary);    // (V)
            float max = TensorPrimitives.Max(x);
            TensorPrimitives.Subtract(x, max, p);
            TensorPrimitives.Exp(p, p);
            float sum = TensorPrimitives.Sum(p);
            TensorPrimitives.Multiply(p, 1f / sum, p);
            int t = targets[n];
            if (t == ignoreIndex)
            {
                continue;
            }
            if ((uint)t >= (uint)vocabulary)
            {
                throw new ArgumentOutOfRangeException(nameof(targets), t, $"Target {t} at row {n} is outside [0, {vocabulary}) and not the ignore index {ignoreIndex}.");
            }
            total += (double)max + Math.Log(sum) - x[t];
            count++;
        }
        return count == 0 ? 0f : (float)(total / count);
    }

    /// <summary>dLogits += dLoss · (probabilities − onehot(target)) / count on counted rows; ignored rows get nothing.</summary>
    /// <param name="dLoss">Gradient of the mean loss (1 when it is the objective).</param>
    /// <param name="probabilities">The probabilities of the forward pass: (N, V).</param>
    /// <param name="targets">Target ids: (N).</param>
    /// <param name="vocabulary">V.</param>
    /// <param name="ignoreIndex">The ignored target id.</param>
    /// <param name="count">The count returned by forward.</param>
    /// <param name="dLogits">Gradient of the logits: (N, V). Accumulated.</param>
    public static void Backward(float dLoss, ReadOnlySpan<float> probabilities, ReadOnlySpan<int> targets, int vocabulary, int ignoreIndex, int count, Span<float> dLogits)
    {
        int rows = targets.Length;
        Guard.Length(probabilities.Length, rows * vocabulary, nameof(probabilities));
        Guard.Length(dLogits.Length, rows * vocabulary, nameof(dLogits));
        if (count == 0)
        {
            return;
        }
        float scale = dLoss / count;
        for (int n = 0; n < rows; n++)
        {
            int t = targets[n];
            if (t == ignoreIndex)
            {
                continue;
            }
            Span<float> d = dLogits.Slice(n * vocabulary, vocabulary);
            TensorPrimitives.MultiplyAdd(probabilities.Slice(n * vocabulary, vocabulary), scale, d, d); // d += p·scale
            d[t] -= scale;                                                                              // − onehot·scale
        }
    }

    /// <summary>How many counted rows the logits' arg-max predicts correctly (ignored rows count neither way).</summary>
    /// <param name="logits">Scores: (N, V).</param>
    /// <param name="targets">Target ids: (N).</param>
    /// <param name="vocabulary">V.</param>
    /// <param name="ignoreIndex">The ignored target id.</param>
    /// <returns>The number of rows whose target is not ignored and equals the first arg-max.</returns>
    public static int CountCorrect(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int vocabulary, int ignoreIndex)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabulary, 1);
        Guard.Length(logits.Length, targets.Length * vocabulary, nameof(logits));
        int correct = 0;
        for (int n = 0; n < targets.Length; n++)
        {
            if (targets[n] != ignoreIndex && TensorPrimitives.IndexOfMax(logits.Slice(n * vocabulary, vocabulary)) == targets[n])
            {
                correct++;
            }
        }
        return correct;
    }
}
