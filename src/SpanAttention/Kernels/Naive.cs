namespace SpanAttention.Kernels;

/// <summary>
/// The naive twins of every kernel: plain scalar loops written straight from the formula, with no
/// blocking, no SIMD and no packing. They are kept on purpose, as the oracle the tests compare the
/// fast kernels against and as the baseline the benchmarks measure them against.
/// </summary>
/// <remarks>
/// The twins check their arguments exactly like the fast kernels, so a test can swap one for the other.
/// They accumulate in <see cref="float"/>, like the fast kernels, so differences come only from
/// summation order.
/// </remarks>
internal static class Naive
{
    /// <summary>
    /// C = op(A)·op(B), or C += op(A)·op(B) when <paramref name="accumulate"/> is true.
    /// </summary>
    /// <param name="m">Rows of op(A) and of C.</param>
    /// <param name="n">Columns of op(B) and of C.</param>
    /// <param name="k">Columns of op(A), rows of op(B).</param>
    /// <param name="a">A: (m, k) row-major with leading dimension <paramref name="lda"/>, or (k, m) when transposed.</param>
    /// <param name="lda">Leading dimension (row stride) of A as stored.</param>
    /// <param name="transposeA">Whether op(A) = Aᵀ.</param>
    /// <param name="b">B: (k, n) row-major, or (n, k) when transposed.</param>
    /// <param name="ldb">Leading dimension of B as stored.</param>
    /// <param name="transposeB">Whether op(B) = Bᵀ.</param>
    /// <param name="c">C: (m, n) row-major with leading dimension <paramref name="ldc"/>.</param>
    /// <param name="ldc">Leading dimension of C.</param>
    /// <param name="accumulate">Add to C instead of overwriting it.</param>
    public static void Gemm(
        int m, int n, int k,
        ReadOnlySpan<float> a, int lda, Transpose transposeA,
        ReadOnlySpan<float> b, int ldb, Transpose transposeB,
        Span<float> c, int ldc, bool accumulate)
    {
        Kernels.Gemm.CheckArguments(m, n, k, a, lda, transposeA, b, ldb, transposeB, c, ldc);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float sum = 0f;
                for (int p = 0; p < k; p++)
                {
                    float aip = transposeA == Transpose.Yes ? a[p * lda + i] : a[i * lda + p];
                    float bpj = transposeB == Transpose.Yes ? b[j * ldb + p] : b[p * ldb + j];
                    sum += aip * bpj;
                }
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
            }
        }
    }

    /// <summary>y = W·x, or y += W·x when <paramref name="accumulate"/> is true.</summary>
    /// <param name="w">W: (rows, cols) row-major with leading dimension <paramref name="ldw"/>.</param>
    /// <param name="rows">Rows of W, length of y.</param>
    /// <param name="cols">Columns of W, length of x.</param>
    /// <param name="ldw">Leading dimension of W.</param>
    /// <param name="x">x: (cols).</param>
    /// <param name="y">y: (rows).</param>
    /// <param name="accumulate">Add to y instead of overwriting it.</param>
    public static void Gemv(ReadOnlySpan<float> w, int rows, int cols, int ldw, ReadOnlySpan<float> x, Span<float> y, bool accumulate)
    {
        Kernels.Gemv.CheckArguments(w, rows, cols, ldw, x, cols, y, rows);
        for (int i = 0; i < rows; i++)
        {
            float sum = 0f;
            for (int j = 0; j < cols; j++)
            {
                sum += w[i * ldw + j] * x[j];
            }
            y[i] = accumulate ? y[i] + sum : sum;
        }
    }

    /// <summary>y = W·x, or y += W·x, over bf16 weights: each weight widened to fp32, the sum kept in fp32.</summary>
    /// <param name="w">W: (rows, cols) row-major bf16 codes (<see cref="Quantization.ToBFloat16"/>).</param>
    /// <param name="rows">Rows of W, length of y.</param>
    /// <param name="cols">Columns of W, length of x.</param>
    /// <param name="x">x: (cols).</param>
    /// <param name="y">y: (rows).</param>
    /// <param name="accumulate">Add to y instead of overwriting it.</param>
    public static void GemvBFloat16(ReadOnlySpan<ushort> w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, bool accumulate)
    {
        Guard.Matrix(w.Length, rows, cols, cols, nameof(w));
        Guard.Length(x.Length, cols, nameof(x));
        Guard.Length(y.Length, rows, nameof(y));
        for (int i = 0; i < rows; i++)
        {
            float sum = 0f;
            for (int j = 0; j < cols; j++)
            {
                sum += Quantization.FromBFloat16(w[i * cols + j]) * x[j];
            }
            y[i] = accumulate ? y[i] + sum : sum;
        }
    }

    /// <summary>y = W·x, or y += W·x, over int8 weights with a scale per row: y_i (+)= s_i Σ_j q_ij x_j.</summary>
    /// <param name="q">Q: (rows, cols) row-major int8 codes (<see cref="Quantization.ToInt8"/>).</param>
    /// <param name="scales">s: (rows) per-row scales (<see cref="Quantization.Int8Scale"/>).</param>
    /// <param name="rows">Rows of Q, length of y.</param>
    /// <param name="cols">Columns of Q, length of x.</param>
    /// <param name="x">x: (cols).</param>
    /// <param name="y">y: (rows).</param>
    /// <param name="accumulate">Add to y instead of overwriting it.</param>
    public static void GemvInt8(ReadOnlySpan<sbyte> q, ReadOnlySpan<float> scales, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, bool accumulate)
    {
        Guard.Matrix(q.Length, rows, cols, cols, nameof(q));
        Guard.Length(scales.Length, rows, nameof(scales));
        Guard.Length(x.Length, cols, nameof(x));
        Guard.Length(y.Length, rows, nameof(y));
        for (int i = 0; i < rows; i++)
        {
            float sum = 0f;
            for (int j = 0; j < cols; j++)
            {
                sum += q[i * cols + j] * x[j];
            }
            y[i] = accumulate ? y[i] + scales[i] * sum : scales[i] * sum;
        }
    }

    /// <summary>y = Wᵀ·x, or y += Wᵀ·x when <paramref name="accumulate"/> is true.</summary>
    /// <param name="w">W: (rows, cols) row-major with leading dimension <paramref name="ldw"/>.</param>
    /// <param name="rows">Rows of W, length of x.</param>
    /// <param name="cols">Columns of W, length of y.</param>
    /// <param name="ldw">Leading dimension of W.</param>
    /// <param name="x">x: (rows).</param>
    /// <param name="y">y: (cols).</param>
    /// <param name="accumulate">Add to y instead of overwriting it.</param>
    public static void GemvTransposed(ReadOnlySpan<float> w, int rows, int cols, int ldw, ReadOnlySpan<float> x, Span<float> y, bool accumulate)
    {
        Kernels.Gemv.CheckArguments(w, rows, cols, ldw, x, rows, y, cols);
        for (int j = 0; j < cols; j++)
        {
            float sum = 0f;
            for (int i = 0; i < rows; i++)
            {
                sum += w[i * ldw + j] * x[i];
            }
            y[j] = accumulate ? y[j] + sum : sum;
        }
    }

    /// <summary>Stable masked softmax of one row: weights_j = exp(s_j - max) / Σ exp(s_i - max) over valid j; 0 elsewhere.</summary>
    /// <param name="scores">Logits: (n).</param>
    /// <param name="valid">Empty for no mask, else (n): true where the position may get weight.</param>
    /// <param name="weights">Output probabilities: (n). Overwritten.</param>
    public static void Softmax(ReadOnlySpan<float> scores, ReadOnlySpan<bool> valid, Span<float> weights)
    {
        Kernels.Softmax.CheckArguments(scores, valid, weights);
        int n = scores.Length;
        float max = float.NegativeInfinity;
        for (int j = 0; j < n; j++)
        {
            if (valid.IsEmpty || valid[j])
            {
                max = MathF.Max(max, scores[j]);
            }
        }
        float sum = 0f;
        for (int j = 0; j < n; j++)
        {
            weights[j] = valid.IsEmpty || valid[j] ? MathF.Exp(scores[j] - max) : 0f;
            sum += weights[j];
        }
        for (int j = 0; j < n; j++)
        {
            weights[j] = sum > 0f ? weights[j] / sum : 0f;
        }
    }

    /// <summary>Softmax backward: dScores_j += weights_j (dWeights_j - Σ_i weights_i dWeights_i).</summary>
    /// <param name="weights">Forward output: (n).</param>
    /// <param name="dWeights">Upstream gradient: (n).</param>
    /// <param name="dScores">Gradient of the logits: (n). Accumulated.</param>
    public static void SoftmaxBackward(ReadOnlySpan<float> weights, ReadOnlySpan<float> dWeights, Span<float> dScores)
    {
        Kernels.Softmax.CheckBackwardArguments(weights, dWeights, dScores);
        float dot = 0f;
        for (int i = 0; i < weights.Length; i++)
        {
            dot += weights[i] * dWeights[i];
        }
        for (int j = 0; j < weights.Length; j++)
        {
            dScores[j] += weights[j] * (dWeights[j] - dot);
        }
    }

    /// <summary>y = σ(x) = 1 / (1 + exp(-x)), element-wise.</summary>
    /// <param name="x">Input: (n).</param>
    /// <param name="y">Output: (n). Overwritten.</param>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y)
    {
        Guard.Length(y.Length, x.Length, nameof(y));
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = 1f / (1f + MathF.Exp(-x[i]));
        }
    }

    /// <summary>y = tanh(x), element-wise.</summary>
    /// <param name="x">Input: (n).</param>
    /// <param name="y">Output: (n). Overwritten.</param>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y)
    {
        Guard.Length(y.Length, x.Length, nameof(y));
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = MathF.Tanh(x[i]);
        }
    }

    /// <summary>dx += dy ⊙ y ⊙ (1 - y), where y = σ(x).</summary>
    /// <param name="y">Forward output σ(x): (n).</param>
    /// <param name="dy">Upstream gradient: (n).</param>
    /// <param name="dx">Gradient of the input: (n). Accumulated.</param>
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Guard.SameLength(dy.Length, y.Length, nameof(dy));
        Guard.SameLength(dx.Length, y.Length, nameof(dx));
        for (int i = 0; i < y.Length; i++)
        {
            dx[i] += dy[i] * y[i] * (1f - y[i]);
        }
    }

    /// <summary>dx += dy ⊙ (1 - y²), where y = tanh(x).</summary>
    /// <param name="y">Forward output tanh(x): (n).</param>
    /// <param name="dy">Upstream gradient: (n).</param>
    /// <param name="dx">Gradient of the input: (n). Accumulated.</param>
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Guard.SameLength(dy.Length, y.Length, nameof(dy));
        Guard.SameLength(dx.Length, y.Length, nameof(dx));
        for (int i = 0; i < y.Length; i++)
        {
            dx[i] += dy[i] * (1f - y[i] * y[i]);
        }
    }

    /// <summary>y = max(x, 0), element-wise.</summary>
    /// <param name="x">Input: (n).</param>
    /// <param name="y">Output: (n). Overwritten.</param>
    public static void Relu(ReadOnlySpan<float> x, Span<float> y)
    {
        Guard.Length(y.Length, x.Length, nameof(y));
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = x[i] > 0f ? x[i] : 0f;
        }
    }

    /// <summary>dx += dy ⊙ [y &gt; 0].</summary>
    /// <param name="y">Forward output: (n).</param>
    /// <param name="dy">Upstream gradient: (n).</param>
    /// <param name="dx">Gradient of the input: (n). Accumulated.</param>
    public static void ReluBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Guard.SameLength(dy.Length, y.Length, nameof(dy));
        Guard.SameLength(dx.Length, y.Length, nameof(dx));
        for (int i = 0; i < y.Length; i++)
        {
            if (y[i] > 0f)
            {
                dx[i] += dy[i];
            }
        }
    }

    /// <summary>y = x · ½ (1 + erf(x / √2)) = x · ½ erfc(-x / √2), element-wise, in double with <see cref="Erfc"/>.</summary>
    /// <param name="x">Input: (n).</param>
    /// <param name="y">Output: (n). Overwritten.</param>
    public static void Gelu(ReadOnlySpan<float> x, Span<float> y)
    {
        Guard.Length(y.Length, x.Length, nameof(y));
        for (int i = 0; i < x.Length; i++)
        {
            double xi = x[i];
            y[i] = (float)(xi * 0.5 * Erfc(-xi / Math.Sqrt(2)));
        }
    }

    /// <summary>dx += dy ⊙ (Φ(x) + x·φ(x)), in double.</summary>
    /// <param name="x">Forward input: (n).</param>
    /// <param name="dy">Upstream gradient: (n).</param>
    /// <param name="dx">Gradient of the input: (n). Accumulated.</param>
    public static void GeluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        Guard.SameLength(dy.Length, x.Length, nameof(dy));
        Guard.SameLength(dx.Length, x.Length, nameof(dx));
        for (int i = 0; i < x.Length; i++)
        {
            double xi = x[i];
            double cdf = 0.5 * Erfc(-xi / Math.Sqrt(2));
            double pdf = Math.Exp(-0.5 * xi * xi) / Math.Sqrt(2 * Math.PI);
            dx[i] = (float)(dx[i] + dy[i] * (cdf + xi * pdf));
        }
    }

    /// <summary>erfc(x) = 1 - erf(x) in double: the Maclaurin series of erf for |x| &lt; 3, the continued fraction of erfc beyond.</summary>
    /// <param name="x">Any finite value.</param>
    /// <returns>erfc(x), to about 1e-12 relative (no cancellation in either tail).</returns>
    public static double Erfc(double x)
    {
        double z = Math.Abs(x);
        if (z < 3)
        {
            // erf(x) = 2/√π Σ_n (-1)^n x^(2n+1) / (n! (2n+1)); the largest term is below e^9, so ~1e-12 absolute
            double term = x, sum = x;
            for (int n = 1; n < 200 && Math.Abs(term) > 1e-17 * Math.Abs(sum); n++)
            {
                term *= -x * x / n;
                sum += term / (2 * n + 1);
            }
            return 1 - 2 / Math.Sqrt(Math.PI) * sum;
        }
        // erfc(z) = exp(-z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))), evaluated from the tail
        double k = z;
        for (int n = 80; n >= 1; n--)
        {
            k = z + n / 2.0 / k;
        }
        double tail = Math.Exp(-z * z) / (Math.Sqrt(Math.PI) * k);
        return x < 0 ? 2 - tail : tail;
    }

    /// <summary>Σ x_i.</summary>
    /// <param name="x">Input: (n).</param>
    /// <returns>The sum.</returns>
    public static float Sum(ReadOnlySpan<float> x)
    {
        float sum = 0f;
        for (int i = 0; i < x.Length; i++)
        {
            sum += x[i];
        }
        return sum;
    }

    /// <summary>Σ x_i² (the squared L2 norm, as gradient clipping needs).</summary>
    /// <param name="x">Input: (n).</param>
    /// <returns>The squared norm.</returns>
    public static float SquaredNorm(ReadOnlySpan<float> x)
    {
        float sum = 0f;
        for (int i = 0; i < x.Length; i++)
        {
            sum += x[i] * x[i];
        }
        return sum;
    }

    /// <summary>Σ x_i y_i.</summary>
    /// <param name="x">First input: (n).</param>
    /// <param name="y">Second input: (n).</param>
    /// <returns>The dot product.</returns>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        Guard.SameLength(y.Length, x.Length, nameof(y));
        float sum = 0f;
        for (int i = 0; i < x.Length; i++)
        {
            sum += x[i] * y[i];
        }
        return sum;
    }

    /// <summary>log Σ exp(x_i), computed stably as max + log Σ exp(x_i - max).</summary>
    /// <param name="x">Input: (n), n ≥ 1.</param>
    /// <returns>The log-sum-exp.</returns>
    public static float LogSumExp(ReadOnlySpan<float> x)
    {
        Reductions.CheckNotEmpty(x, nameof(x));
        float max = float.NegativeInfinity;
        for (int i = 0; i < x.Length; i++)
        {
            max = MathF.Max(max, x[i]);
        }
        float sum = 0f;
        for (int i = 0; i < x.Length; i++)
        {
            sum += MathF.Exp(x[i] - max);
        }
        return max + MathF.Log(sum);
    }
}
