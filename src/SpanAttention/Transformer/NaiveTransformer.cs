namespace SpanAttention.Transformer;

/// <summary>
/// Reference twins of the Transformer layers: the formulas of <see cref="LayerNorm"/> and
/// <see cref="MultiheadAttention"/> as plain loops in double, recomputing everything from the inputs. They are
/// the tests' oracle for the fast paths (and a readable statement of what those compute).
/// </summary>
internal static partial class NaiveTransformer
{
    /// <summary>LayerNorm forward: y = γ (x - μ) / sqrt(σ² + ε) + β per row (biased σ²).</summary>
    /// <param name="x">(N, E).</param>
    /// <param name="rows">N.</param>
    /// <param name="features">E.</param>
    /// <param name="gamma">(E).</param>
    /// <param name="beta">(E).</param>
    /// <param name="epsilon">ε.</param>
    /// <param name="y">(N, E). Overwritten.</param>
    public static void LayerNormForward(ReadOnlySpan<float> x, int rows, int features, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y)
    {
        for (int n = 0; n < rows; n++)
        {
            (double mu, double r) = Moments(x.Slice(n * features, features), epsilon);
            for (int i = 0; i < features; i++)
            {
                y[n * features + i] = (float)(gamma[i] * (x[n * features + i] - mu) * r + beta[i]);
            }
        }
    }

    /// <summary>LayerNorm backward, accumulating dx, dγ, dβ (the chain rule through μ and σ² written out term by term).</summary>
    /// <param name="dY">(N, E).</param>
    /// <param name="x">(N, E).</param>
    /// <param name="rows">N.</param>
    /// <param name="features">E.</param>
    /// <param name="gamma">(E).</param>
    /// <param name="epsilon">ε.</param>
    /// <param name="dX">(N, E). Accumulated.</param>
    /// <param name="dGamma">(E). Accumulated.</param>
    /// <param name="dBeta">(E). Accumulated.</param>
    public static void LayerNormBackward(ReadOnlySpan<float> dY, ReadOnlySpan<float> x, int rows, int features, ReadOnlySpan<float> gamma, float epsilon,
        Span<float> dX, Span<float> dGamma, Span<float> dBeta)
    {
        int e = features;
        for (int n = 0; n < rows; n++)
        {
            (double mu, double r) = Moments(x.Slice(n * e, e), epsilon);
            // y_i = γ_i x̂_i + β_i, x̂_i = (x_i - μ) r, r = (σ² + ε)^(-1/2), σ² = Σ (x - μ)² / E, μ = Σ x / E
            double dVariance = 0, dMean = 0;
            for (int i = 0; i < e; i++)
            {
                double g = dY[n * e + i] * gamma[i];                                   // ∂L/∂x̂_i
                dVariance += g * (x[n * e + i] - mu) * -0.5 * r * r * r;               // ∂x̂_i/∂σ² = -(x_i - μ) r³ / 2
                dMean += -g * r;                                                       // direct ∂x̂_i/∂μ = -r
            }
            // σ² depends on μ too, but Σ (x - μ) = 0 makes that term vanish
            for (int i = 0; i < e; i++)
            {
                double xhat = (x[n * e + i] - mu) * r;
                double g = dY[n * e + i] * gamma[i];
                dX[n * e + i] = (float)(dX[n * e + i] + g * r + dVariance * 2 * (x[n * e + i] - mu) / e + dMean / e);
                dGamma[i] = (float)(dGamma[i] + dY[n * e + i] * xhat);
                dBeta[i] += dY[n * e + i];
            }
        }
    }

    private static (double Mean, double Rstd) Moments(ReadOnlySpan<float> x, float epsilon)
    {
        double mu = 0;
        foreach (float v in x)
        {
            mu += v;
        }
        mu /= x.Length;
        double variance = 0;
        foreach (float v in x)
        {
            variance += (v - mu) * (v - mu);
        }
        variance /= x.Length;
        return (mu, 1 / Math.Sqrt(variance + epsilon));
    }

    /// <summary>The shapes and parameters of one multi-head attention call.</summary>
    /// <param name="Embedding">E.</param>
    /// <param name="Heads">H.</param>
    /// <param name="Batch">B.</param>
    /// <param name="Queries">T.</param>
    /// <param name="Keys">S.</param>
    /// <param name="KeyLengths">(B) valid keys, or empty.</param>
    /// <param name="Causal">Query i sees keys j ≤ i only.</param>
    internal readonly record struct AttentionShape(int Embedding, int Heads, int Batch, int Queries, int Keys, int[] KeyLengths, bool Causal);

    /// <summary>Multi-head attention forward in double.</summary>
    /// <param name="shape">Shapes and masks.</param>
    /// <param name="inProjWeight">(3E, E).</param>
    /// <param name="inProjBias">(3E).</param>
    /// <param name="outProjWeight">(E, E).</param>
    /// <param name="outProjBias">(E).</param>
    /// <param name="query">(B, T, E).</param>
    /// <param name="key">(B, S, E).</param>
    /// <param name="value">(B, S, E).</param>
    /// <param name="output">(B, T, E). Overwritten.</param>
    /// <param name="weights">(B, H, T, S). Overwritten.</param>
    public static void AttentionForward(AttentionShape shape, float[] inProjWeight, float[] inProjBias, float[] outProjWeight, float[] outProjBias,
        float[] query, float[] key, float[] value, float[] output, float[] weights)
    {
        (double[] q, double[] k, double[] v, double[] a, double[] c) = AttentionPasses(shape, inProjWeight, inProjBias, query, key, value);
        int e = shape.Embedding;
        for (int n = 0; n < shape.Batch * shape.Queries; n++)
        {
            for (int o = 0; o < e; o++)
            {
                double sum = outProjBias[o];
                for (int i = 0; i < e; i++)
                {
                    sum += c[n * e + i] * outProjWeight[o * e + i];
                }
                output[n * e + o] = (float)sum;
            }
        }
        for (int i = 0; i < a.Length; i++)
        {
            weights[i] = (float)a[i];
        }
    }

    /// <summary>Multi-head attention backward in double: accumulates every gradient.</summary>
    /// <param name="shape">Shapes and masks.</param>
    /// <param name="dOutput">(B, T, E).</param>
    /// <param name="inProjWeight">(3E, E).</param>
    /// <param name="inProjBias">(3E).</param>
    /// <param name="outProjWeight">(E, E).</param>
    /// <param name="query">(B, T, E).</param>
    /// <param name="key">(B, S, E).</param>
    /// <param name="value">(B, S, E).</param>
    /// <param name="dInProjWeight">(3E, E). Accumulated.</param>
    /// <param name="dInProjBias">(3E). Accumulated.</param>
    /// <param name="dOutProjWeight">(E, E). Accumulated.</param>
    /// <param name="dOutProjBias">(E). Accumulated.</param>
    /// <param name="dQuery">(B, T, E). Accumulated.</param>
    /// <param name="dKey">(B, S, E). Accumulated.</param>
    /// <param name="dValue">(B, S, E). Accumulated.</param>
    public static void AttentionBackward(AttentionShape shape, float[] dOutput, float[] inProjWeight, float[] inProjBias, float[] outProjWeight,
        float[] query, float[] key, float[] value,
        float[] dInProjWeight, float[] dInProjBias, float[] dOutProjWeight, float[] dOutProjBias, float[] dQuery, float[] dKey, float[] dValue)
    {
        (double[] q, double[] k, double[] v, double[] a, double[] c) = AttentionPasses(shape, inProjWeight, inProjBias, query, key, value);
        int e = shape.Embedding, hs = shape.Heads, d = e / hs, bs = shape.Batch, t = shape.Queries, s = shape.Keys;
        double scale = 1 / Math.Sqrt(d);
        var dc = new double[c.Length];
        for (int n = 0; n < bs * t; n++)
        {
            for (int o = 0; o < e; o++)
            {
                double g = dOutput[n * e + o];
                dOutProjBias[o] += (float)g;
                for (int i = 0; i < e; i++)
                {
                    dc[n * e + i] += g * outProjWeight[o * e + i];
                    dOutProjWeight[o * e + i] = (float)(dOutProjWeight[o * e + i] + g * c[n * e + i]);
                }
            }
        }
        var dq = new double[q.Length];
        var dk = new double[k.Length];
        var dv = new double[v.Length];
        var da = new double[s];
        for (int b = 0; b < bs; b++)
        {
            for (int h = 0; h < hs; h++)
            {
                for (int i = 0; i < t; i++)
                {
                    int aRow = ((b * hs + h) * t + i) * s;
                    double dot = 0;
                    for (int j = 0; j < s; j++)
                    {
                        da[j] = 0;
                        for (int x = 0; x < d; x++)
                        {
                            da[j] += dc[(b * t + i) * e + h * d + x] * v[(b * s + j) * e + h * d + x];
                            dv[(b * s + j) * e + h * d + x] += a[aRow + j] * dc[(b * t + i) * e + h * d + x];
                        }
                        dot += a[aRow + j] * da[j];
                    }
                    for (int j = 0; j < s; j++)
                    {
                        double dScore = a[aRow + j] * (da[j] - dot) * scale;
                        for (int x = 0; x < d; x++)
                        {
                            dq[(b * t + i) * e + h * d + x] += dScore * k[(b * s + j) * e + h * d + x];
                            dk[(b * s + j) * e + h * d + x] += dScore * q[(b * t + i) * e + h * d + x];
                        }
                    }
                }
            }
        }
        ProjectionBackward(dq, query, bs * t, e, inProjWeight, 0, dInProjWeight, dInProjBias, dQuery);
        ProjectionBackward(dk, key, bs * s, e, inProjWeight, 1, dInProjWeight, dInProjBias, dKey);
        ProjectionBackward(dv, value, bs * s, e, inProjWeight, 2, dInProjWeight, dInProjBias, dValue);
    }

    private static void ProjectionBackward(double[] dy, float[] x, int rows, int e, float[] w, int block, float[] dW, float[] dBias, float[] dX)
    {
        for (int n = 0; n < rows; n++)
        {
            for (int o = 0; o < e; o++)
            {
                double g = dy[n * e + o];
                dBias[block * e + o] = (float)(dBias[block * e + o] + g);
                for (int i = 0; i < e; i++)
                {
                    dX[n * e + i] = (float)(dX[n * e + i] + g * w[(block * e + o) * e + i]);
                    dW[(block * e + o) * e + i] = (float)(dW[(block * e + o) * e + i] + g * x[n * e + i]);
                }
            }
        }
    }

    private static (double[] Q, double[] K, double[] V, double[] A, double[] C) AttentionPasses(AttentionShape shape, float[] w, float[] bias,
        float[] query, float[] key, float[] value)
    {
        int e = shape.Embedding, hs = shape.Heads, d = e / hs, bs = shape.Batch, t = shape.Queries, s = shape.Keys;
        double[] q = Project(query, bs * t, e, w, bias, 0), k = Project(key, bs * s, e, w, bias, 1), v = Project(value, bs * s, e, w, bias, 2);
        var a = new double[bs * hs * t * s];
        var c = new double[bs * t * e];
        for (int b = 0; b < bs; b++)
        {
            for (int h = 0; h < hs; h++)
            {
                for (int i = 0; i < t; i++)
                {
                    int aRow = ((b * hs + h) * t + i) * s;
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < s; j++)
                    {
                        bool valid = (shape.KeyLengths.Length == 0 || j < shape.KeyLengths[b]) && (!shape.Causal || j <= i);
                        double score = double.NegativeInfinity;
                        if (valid)
                        {
                            score = 0;
                            for (int x = 0; x < d; x++)
                            {
                                score += q[(b * t + i) * e + h * d + x] * k[(b * s + j) * e + h * d + x];
                            }
                            score /= Math.Sqrt(d);
                        }
                        a[aRow + j] = score;
                        max = Math.Max(max, score);
                    }
                    double sum = 0;
                    for (int j = 0; j < s; j++)
                    {
                        a[aRow + j] = double.IsNegativeInfinity(a[aRow + j]) ? 0 : Math.Exp(a[aRow + j] - max);
                        sum += a[aRow + j];
                    }
                    for (int j = 0; j < s; j++)
                    {
                        a[aRow + j] = sum > 0 ? a[aRow + j] / sum : 0;   // safe softmax: no valid key -> zeros
                        for (int x = 0; x < d; x++)
                        {
                            c[(b * t + i) * e + h * d + x] += a[aRow + j] * v[(b * s + j) * e + h * d + x];
                        }
                    }
                }
            }
        }
        return (q, k, v, a, c);
    }

    private static double[] Project(float[] x, int rows, int e, float[] w, float[] bias, int block)
    {
        var y = new double[rows * e];
        for (int n = 0; n < rows; n++)
        {
            for (int o = 0; o < e; o++)
            {
                double sum = bias[block * e + o];
                for (int i = 0; i < e; i++)
                {
                    sum += x[n * e + i] * w[(block * e + o) * e + i];
                }
                y[n * e + o] = sum;
            }
        }
        return y;
    }
}
