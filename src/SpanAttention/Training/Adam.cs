using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SpanAttention.Kernels;

namespace SpanAttention.Training;

/// <summary>
/// Adam over one flat parameter buffer, with PyTorch's defaults and exactly the update of
/// <c>torch.optim.Adam</c> (1.13, single-tensor path, amsgrad off). The two moments are flat buffers
/// laid out like the parameters, so one loop updates every tensor of the model.
/// </summary>
/// <remarks>
/// Per element, at step t (starting at 1), with g the gradient and p the parameter:
/// <code>
/// g  = g + weight_decay * p                   // L2 penalty added to the gradient (not AdamW)
/// m  = beta1 * m + (1 - beta1) * g            // exp_avg
/// v  = beta2 * v + (1 - beta2) * g * g        // exp_avg_sq
/// step_size = lr / (1 - beta1^t)              // bias corrections in double, as Python computes them
/// denom = sqrt(v) / sqrt(1 - beta2^t) + eps
/// p  = p - step_size * m / denom
/// </code>
/// The gradient buffer is read, never written. A step allocates nothing.
/// </remarks>
public sealed class Adam : IOptimizer
{
    /// <summary>Creates the optimizer and its zeroed moments.</summary>
    /// <param name="count">Number of parameters (the layout's Count).</param>
    /// <param name="learningRate">lr, default 1e-3.</param>
    /// <param name="beta1">Decay of the first moment, default 0.9.</param>
    /// <param name="beta2">Decay of the second moment, default 0.999.</param>
    /// <param name="epsilon">eps added to the denominator, default 1e-8.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, default 0.</param>
    public Adam(int count, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0f)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(learningRate);
        if (!(beta1 >= 0f && beta1 < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 must be in [0, 1).");
        }
        if (!(beta2 >= 0f && beta2 < 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 must be in [0, 1).");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(epsilon);
        ArgumentOutOfRangeException.ThrowIfNegative(weightDecay);
        LearningRate = learningRate;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        ExpAvg = new float[count];
        ExpAvgSq = new float[count];
    }

    /// <summary>lr; may be changed between steps (learning-rate decay).</summary>
    public float LearningRate { get; set; }

    /// <summary>beta1.</summary>
    public float Beta1 { get; }

    /// <summary>beta2.</summary>
    public float Beta2 { get; }

    /// <summary>eps.</summary>
    public float Epsilon { get; }

    /// <summary>L2 weight decay.</summary>
    public float WeightDecay { get; }

    /// <summary>Steps taken so far (PyTorch's <c>state['step']</c>); settable to resume from a checkpoint.</summary>
    public long StepCount { get; set; }

    /// <summary>First moment m (PyTorch's <c>exp_avg</c>): (count), laid out like the parameters.</summary>
    public float[] ExpAvg { get; }

    /// <summary>Second moment v (PyTorch's <c>exp_avg_sq</c>): (count), laid out like the parameters.</summary>
    public float[] ExpAvgSq { get; }

    /// <summary>Takes one step: updates <paramref name="values"/> and the moments in place.</summary>
    /// <param name="values">Parameters p: (count). Updated in place.</param>
    /// <param name="gradients">Gradients g: (count). Read only.</param>
    public void Step(Span<float> values, ReadOnlySpan<float> gradients)
    {
        Guard.SameLength(values.Length, ExpAvg.Length, nameof(values));
        Guard.SameLength(gradients.Length, ExpAvg.Length, nameof(gradients));
        StepCount++;
        double biasCorrection1 = 1 - Math.Pow(Beta1, StepCount);
        double biasCorrection2 = 1 - Math.Pow(Beta2, StepCount);
        var c = new Coefficients(
            Beta1, (float)(1.0 - Beta1), Beta2, (float)(1.0 - Beta2),
            (float)(LearningRate / biasCorrection1), (float)Math.Sqrt(biasCorrection2), Epsilon, WeightDecay);
        Update(values, gradients, ExpAvg, ExpAvgSq, c);
    }

    /// <summary>The per-step scalars, as PyTorch passes them to its float kernels.</summary>
    internal readonly record struct Coefficients(
        float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
        float StepSize, float BiasCorrection2Sqrt, float Epsilon, float WeightDecay);

    /// <summary>The update over every element, widest path first; all paths give bit-identical results.</summary>
    internal static void Update(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, in Coefficients c)
    {
        Debug.Assert(g.Length == p.Length && m.Length == p.Length && v.Length == p.Length);
        int i = 0;
        if (Isa.Vector512)
        {
            i = UpdateVector512(p, g, m, v, c);
        }
        else if (Isa.Vector256)
        {
            i = UpdateVector256(p, g, m, v, c);
        }
        UpdateScalar(p, g, m, v, c, i);
    }

    /// <summary>Scalar update of elements [start, n).</summary>
    internal static void UpdateScalar(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, in Coefficients c, int start)
    {
        for (int i = start; i < p.Length; i++)
        {
            float grad = c.WeightDecay != 0f ? MathF.FusedMultiplyAdd(p[i], c.WeightDecay, g[i]) : g[i];
            float mi = MathF.FusedMultiplyAdd(grad, c.OneMinusBeta1, m[i] * c.Beta1);   // exp_avg.mul_(b1).add_(g, alpha=1-b1)
            float vi = v[i] * c.Beta2 + c.OneMinusBeta2 * grad * grad;                   // exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2)
            float denom = MathF.Sqrt(vi) / c.BiasCorrection2Sqrt + c.Epsilon;
            p[i] += -c.StepSize * mi / denom;                                            // p.addcdiv_(m, denom, value=-step_size)
            m[i] = mi;
            v[i] = vi;
        }
    }

    /// <summary>256-bit update of the whole 8-element blocks; returns how many elements it did.</summary>
    internal static int UpdateVector256(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, in Coefficients c)
    {
        int n = p.Length - p.Length % Vector256<float>.Count;
        Vector256<float> beta1 = Vector256.Create(c.Beta1), oneMinusBeta1 = Vector256.Create(c.OneMinusBeta1);
        Vector256<float> beta2 = Vector256.Create(c.Beta2), oneMinusBeta2 = Vector256.Create(c.OneMinusBeta2);
        Vector256<float> minusStepSize = Vector256.Create(-c.StepSize), bc2 = Vector256.Create(c.BiasCorrection2Sqrt);
        Vector256<float> eps = Vector256.Create(c.Epsilon), wd = Vector256.Create(c.WeightDecay);
        bool decay = c.WeightDecay != 0f;
        ref float rp = ref MemoryMarshal.GetReference(p);
        ref float rg = ref MemoryMarshal.GetReference(g);
        ref float rm = ref MemoryMarshal.GetReference(m);
        ref float rv = ref MemoryMarshal.GetReference(v);
        for (int i = 0; i < n; i += Vector256<float>.Count)
        {
            Vector256<float> pi = Vector256.LoadUnsafe(ref rp, (nuint)i);
            Vector256<float> grad = Vector256.LoadUnsafe(ref rg, (nuint)i);
            if (decay)
            {
                grad = Vector256.FusedMultiplyAdd(pi, wd, grad);
            }
            Vector256<float> mi = Vector256.FusedMultiplyAdd(grad, oneMinusBeta1, Vector256.LoadUnsafe(ref rm, (nuint)i) * beta1);
            Vector256<float> vi = Vector256.LoadUnsafe(ref rv, (nuint)i) * beta2 + oneMinusBeta2 * grad * grad;
            Vector256<float> denom = Vector256.Sqrt(vi) / bc2 + eps;
            (pi + minusStepSize * mi / denom).StoreUnsafe(ref rp, (nuint)i);
            mi.StoreUnsafe(ref rm, (nuint)i);
            vi.StoreUnsafe(ref rv, (nuint)i);
        }
        return n;
    }

    /// <summary>512-bit update of the whole 16-element blocks; returns how many elements it did.</summary>
    internal static int UpdateVector512(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, in Coefficients c)
    {
        int n = p.Length - p.Length % Vector512<float>.Count;
        Vector512<float> beta1 = Vector512.Create(c.Beta1), oneMinusBeta1 = Vector512.Create(c.OneMinusBeta1);
        Vector512<float> beta2 = Vector512.Create(c.Beta2), oneMinusBeta2 = Vector512.Create(c.OneMinusBeta2);
        Vector512<float> minusStepSize = Vector512.Create(-c.StepSize), bc2 = Vector512.Create(c.BiasCorrection2Sqrt);
        Vector512<float> eps = Vector512.Create(c.Epsilon), wd = Vector512.Create(c.WeightDecay);
        bool decay = c.WeightDecay != 0f;
        ref float rp = ref MemoryMarshal.GetReference(p);
        ref float rg = ref MemoryMarshal.GetReference(g);
        ref float rm = ref MemoryMarshal.GetReference(m);
        ref float rv = ref MemoryMarshal.GetReference(v);
        for (int i = 0; i < n; i += Vector512<float>.Count)
        {
            Vector512<float> pi = Vector512.LoadUnsafe(ref rp, (nuint)i);
            Vector512<float> grad = Vector512.LoadUnsafe(ref rg, (nuint)i);
            if (decay)
            {
                grad = Vector512.FusedMultiplyAdd(pi, wd, grad);
            }
            Vector512<float> mi = Vector512.FusedMultiplyAdd(grad, oneMinusBeta1, Vector512.LoadUnsafe(ref rm, (nuint)i) * beta1);
            Vector512<float> vi = Vector512.LoadUnsafe(ref rv, (nuint)i) * beta2 + oneMinusBeta2 * grad * grad;
            Vector512<float> denom = Vector512.Sqrt(vi) / bc2 + eps;
            (pi + minusStepSize * mi / denom).StoreUnsafe(ref rp, (nuint)i);
            mi.StoreUnsafe(ref rm, (nuint)i);
            vi.StoreUnsafe(ref rv, (nuint)i);
        }
        return n;
    }
}
