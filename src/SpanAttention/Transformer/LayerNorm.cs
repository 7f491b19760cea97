using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Transformer;

/// <summary>
/// Layer normalisation over the last dimension, as <c>nn.LayerNorm(E)</c>: every row x of length E becomes
/// y = γ ⊙ (x - μ) / sqrt(σ² + ε) + β with μ and the biased variance σ² of that row and ε = 1e-5.
/// Registers <c>{name}.weight</c> (γ, [E]) and <c>{name}.bias</c> (β, [E]).
/// </summary>
/// <remarks>Forward caches μ and r = 1/sqrt(σ² + ε) per row, which is all backward needs besides x (docs/derivations/transformer.md).</remarks>
internal sealed class LayerNorm
{
    /// <summary>PyTorch's default ε.</summary>
    public const float DefaultEpsilon = 1e-5f;

    /// <summary>Registers the tensors.</summary>
    /// <param name="layout">The model's layout, still being built.</param>
    /// <param name="name">Module name, e.g. <c>encoder.layers.0.norm1</c>.</param>
    /// <param name="features">E, the normalised size.</param>
    /// <param name="epsilon">ε added to the variance.</param>
    public LayerNorm(ParameterLayout layout, string name, int features, float epsilon = DefaultEpsilon)
    {
        ArgumentNullException.ThrowIfNull(layout);
        Weight = layout.Add(name + ".weight", features);
        Bias = layout.Add(name + ".bias", features);
        Features = features;
        Epsilon = epsilon;
    }

    /// <summary>E.</summary>
    public int Features { get; }

    /// <summary>ε.</summary>
    public float Epsilon { get; }

    /// <summary>γ: (E).</summary>
    public ParameterSlot Weight { get; }

    /// <summary>β: (E).</summary>
    public ParameterSlot Bias { get; }

    /// <summary>PyTorch's initialisation: γ = 1, β = 0.</summary>
    /// <param name="parameters">The model's parameters.</param>
    public void Initialize(ParameterSet parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Weight.Of(parameters.Values.AsSpan()).Fill(1f);
        Bias.Of(parameters.Values.AsSpan()).Clear();
    }

    /// <summary>y = γ ⊙ (x - μ) · r + β for every row.</summary>
    /// <param name="x">Input: (N, E).</param>
    /// <param name="rows">N.</param>
    /// <param name="values">The model's flat parameter values.</param>
    /// <param name="y">Output: (N, E). Overwritten. May be the same span as <paramref name="x"/> only if backward does not need x.</param>
    /// <param name="mean">Cache μ: (N). Overwritten.</param>
    /// <param name="rstd">Cache r = 1 / sqrt(σ² + ε): (N). Overwritten.</param>
    public void Forward(ReadOnlySpan<float> x, int rows, ReadOnlySpan<float> values, Span<float> y, Span<float> mean, Span<float> rstd)
    {
        int e = Features;
        Guard.NonNegative(rows, nameof(rows));
        Guard.Length(x.Length, rows * e, nameof(x));
        Guard.Length(y.Length, rows * e, nameof(y));
        Guard.Length(mean.Length, rows, nameof(mean));
        Guard.Length(rstd.Length, rows, nameof(rstd));
        ReadOnlySpan<float> gamma = Weight.Of(values), beta = Bias.Of(values);
        for (int n = 0; n < rows; n++)
        {
            ReadOnlySpan<float> xn = x.Slice(n * e, e);
            Span<float> yn = y.Slice(n * e, e);
            float mu = Reductions.Sum(xn) / e;                        // pass 1: μ = Σ x / E
            float variance = 0f;                                       // pass 2: σ² = Σ (x - μ)² / E (two passes: no cancellation)
            for (int i = 0; i < e; i++)
            {
                float c = xn[i] - mu;
                variance += c * c;
            }
            float r = 1f / MathF.Sqrt(variance / e + Epsilon);
            for (int i = 0; i < e; i++)                                // pass 3: y = γ x̂ + β, x̂ = (x - μ) r
            {
                yn[i] = gamma[i] * ((xn[i] - mu) * r) + beta[i];
            }
            mean[n] = mu;
            rstd[n] = r;
        }
    }

    /// <summary>Accumulates dX, dγ and dβ.</summary>
    /// <param name="dY">Upstream gradient: (N, E).</param>
    /// <param name="x">The forward input: (N, E).</param>
    /// <param name="mean">The forward's μ: (N).</param>
    /// <param name="rstd">The forward's r: (N).</param>
    /// <param name="rows">N.</param>
    /// <param name="values">The model's flat parameter values.</param>
    /// <param name="gradients">The model's flat gradients; γ and β are accumulated into.</param>
    /// <param name="dX">Gradient of the input: (N, E). Accumulated.</param>
    /// <remarks>
    /// With x̂ = (x - μ) r and g = dY ⊙ γ (the gradient of x̂):
    /// dβ += Σ_n dY; dγ += Σ_n dY ⊙ x̂; dX += r (g - mean(g) - x̂ · mean(g ⊙ x̂)).
    /// </remarks>
    public void Backward(ReadOnlySpan<float> dY, ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int rows,
        ReadOnlySpan<float> values, Span<float> gradients, Span<float> dX)
    {
        int e = Features;
        Guard.NonNegative(rows, nameof(rows));
        Guard.Length(dY.Length, rows * e, nameof(dY));
        Guard.Length(x.Length, rows * e, nameof(x));
        Guard.Length(dX.Length, rows * e, nameof(dX));
        Guard.Length(mean.Length, rows, nameof(mean));
        Guard.Length(rstd.Length, rows, nameof(rstd));
        ReadOnlySpan<float> gamma = Weight.Of(values);
        Span<float> dGamma = Weight.Of(gradients), dBeta = Bias.Of(gradients);
        for (int n = 0; n < rows; n++)
        {
            ReadOnlySpan<float> xn = x.Slice(n * e, e), dyn = dY.Slice(n * e, e);
            Span<float> dxn = dX.Slice(n * e, e);
            float mu = mean[n], r = rstd[n];
            float meanG = 0f, meanGXhat = 0f;                          // pass 1: the two row means, and dγ, dβ
            for (int i = 0; i < e; i++)
            {
                float xhat = (xn[i] - mu) * r;
                float g = dyn[i] * gamma[i];
                meanG += g;
                meanGXhat += g * xhat;
                dBeta[i] += dyn[i];
                dGamma[i] += dyn[i] * xhat;
            }
            meanG /= e;
            meanGXhat /= e;
            for (int i = 0; i < e; i++)                                // pass 2: dx = r (g - mean(g) - x̂ mean(g x̂))
            {
                float xhat = (xn[i] - mu) * r;
                dxn[i] += r * (dyn[i] * gamma[i] - meanG - xhat * meanGXhat);
            }
        }
    }
}
