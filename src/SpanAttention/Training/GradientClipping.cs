using System.Numerics.Tensors;

namespace SpanAttention.Training;

/// <summary>
/// Global-norm gradient clipping with the semantics of PyTorch's <c>torch.nn.utils.clip_grad_norm_</c>
/// (L2 norm): one norm over every gradient of the model, which is one flat buffer here.
/// </summary>
public static class GradientClipping
{
    /// <summary>Chunk length of the partial sums; each is accumulated in float by TensorPrimitives, chunks in double.</summary>
    private const int Chunk = 4096;

    /// <summary>The L2 norm of all gradients, sqrt(Σ g²), computed without overflow for float-range values.</summary>
    /// <param name="gradients">All gradients: (count).</param>
    /// <returns>The total norm (NaN or ∞ when a gradient is).</returns>
    public static float GlobalNorm(ReadOnlySpan<float> gradients)
    {
        double sum = 0;
        for (int i = 0; i < gradients.Length; i += Chunk)
        {
            ReadOnlySpan<float> part = gradients.Slice(i, Math.Min(Chunk, gradients.Length - i));
            double norm = TensorPrimitives.Norm(part);
            if (double.IsPositiveInfinity(norm))
            {
                // Either a gradient is ±∞, or squares of values near float.MaxValue overflowed float: rescale.
                float scale = MathF.Abs(TensorPrimitives.MaxMagnitude(part));
                norm = float.IsFinite(scale) ? Rescaled(part, scale) : double.PositiveInfinity;
            }
            sum += norm * norm; // NaN propagates
        }
        return (float)Math.Sqrt(sum);
    }

    private static double Rescaled(ReadOnlySpan<float> part, float scale)
    {
        double s = 0;
        foreach (float g in part)
        {
            double x = g / (double)scale;
            s += x * x;
        }
        return scale * Math.Sqrt(s);
    }

    /// <summary>
    /// Scales every gradient by <c>maxNorm / (norm + 1e-6)</c> when that factor is below 1 (the norm exceeds
    /// <paramref name="maxNorm"/>), exactly like <c>clip_grad_norm_(parameters, max_norm)</c>, and returns
    /// the total norm before clipping.
    /// </summary>
    /// <param name="gradients">All gradients: (count). Scaled in place.</param>
    /// <param name="maxNorm">The largest allowed total norm (positive).</param>
    /// <param name="throwIfNonFinite">Throw <see cref="NonFiniteGradientException"/> when the norm is NaN or infinite
    /// (default). When false, a non-finite norm is returned and the gradients are left as they are (PyTorch would
    /// multiply them by NaN); the caller must check the result and skip the step.</param>
    /// <returns>The total L2 norm of the gradients before clipping.</returns>
    /// <exception cref="NonFiniteGradientException">The norm is NaN or infinite and <paramref name="throwIfNonFinite"/> is set.</exception>
    public static float ClipByGlobalNorm(Span<float> gradients, float maxNorm, bool throwIfNonFinite = true)
    {
        if (!(maxNorm > 0f) || float.IsInfinity(maxNorm))
        {
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "maxNorm must be positive and finite.");
        }
        float norm = GlobalNorm(gradients);
        if (!float.IsFinite(norm))
        {
            if (throwIfNonFinite)
            {
                throw new NonFiniteGradientException($"The total gradient norm is {norm}; a gradient is NaN or infinite.");
            }
            return norm;
        }
        float coefficient = maxNorm / (norm + 1e-6f); // clip_coef = max_norm / (total_norm + 1e-6)
        if (coefficient < 1f)                          // clamp(clip_coef, max=1.0): a factor of 1 changes nothing
        {
            TensorPrimitives.Multiply(gradients, coefficient, gradients);
        }
        return norm;
    }
}
