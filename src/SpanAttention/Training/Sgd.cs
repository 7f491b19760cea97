using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SpanAttention.Kernels;

namespace SpanAttention.Training;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay,
/// exactly as <c>torch.optim.SGD</c> (1.13, single-tensor path) over one flat parameter buffer.
/// </summary>
/// <remarks>
/// Per element, with g the gradient and p the parameter:
/// <code>
/// g = g + weight_decay * p
/// if momentum != 0:
///     b = g                                   on the first step (PyTorch clones the gradient)
///     b = momentum * b + (1 - dampening) * g  afterwards
///     g = g + momentum * b  if nesterov, else g = b
/// p = p - lr * g
/// </code>
/// The gradient buffer is read, never written. A step allocates nothing.
/// </remarks>
public sealed class Sgd : IOptimizer
{
    /// <summary>Creates the optimizer; the momentum buffer is allocated only when momentum is used.</summary>
    /// <param name="count">Number of parameters (the layout's Count).</param>
    /// <param name="learningRate">lr (PyTorch has no default; required).</param>
    /// <param name="momentum">Momentum factor, default 0 (plain SGD).</param>
    /// <param name="dampening">Dampening of the momentum, default 0.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, default 0.</param>
    /// <param name="nesterov">Nesterov momentum (needs momentum &gt; 0 and dampening = 0, as in PyTorch).</param>
    public Sgd(int count, float learningRate, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(learningRate);
        ArgumentOutOfRangeException.ThrowIfNegative(momentum);
        ArgumentOutOfRangeException.ThrowIfNegative(weightDecay);
        if (nesterov && (momentum <= 0f || dampening != 0f))
        {
            throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening.", nameof(nesterov));
        }
        Count = count;
        LearningRate = learningRate;
        Momentum = momentum;
        Dampening = dampening;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        MomentumBuffer = momentum != 0f ? new float[count] : [];
    }

    /// <summary>Number of parameters.</summary>
    public int Count { get; }

    /// <summary>lr; may be changed between steps (learning-rate decay).</summary>
    public float LearningRate { get; set; }

    /// <summary>Momentum factor.</summary>
    public float Momentum { get; }

    /// <summary>Dampening.</summary>
    public float Dampening { get; }

    /// <summary>L2 weight decay.</summary>
    public float WeightDecay { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <summary>Steps taken so far; the momentum buffer is initialised from the gradient while this is 0.</summary>
    public long StepCount { get; set; }

    /// <summary>The momentum buffer b: (count), laid out like the parameters; empty without momentum.</summary>
    public float[] MomentumBuffer { get; }

    /// <summary>Takes one step: updates <paramref name="values"/> (and the momentum buffer) in place.</summary>
    /// <param name="values">Parameters p: (count). Updated in place.</param>
    /// <param name="gradients">Gradients g: (count). Read only.</param>
    public void Step(Span<float> values, ReadOnlySpan<float> gradients)
    {
        Guard.SameLength(values.Length, Count, nameof(values));
        Guard.SameLength(gradients.Length, Count, nameof(gradients));
        var c = new Coefficients(LearningRate, Momentum, (float)(1.0 - Dampening), WeightDecay, Nesterov, StepCount == 0);
        Update(values, gradients, MomentumBuffer, c);
        StepCount++;
    }

    /// <summary>The per-step scalars.</summary>
    internal readonly record struct Coefficients(float LearningRate, float Momentum, float OneMinusDampening, float WeightDecay, bool Nesterov, bool FirstStep);

    /// <summary>The update over every element, widest path first; all paths give bit-identical results.</summary>
    internal static void Update(Span<float> p, ReadOnlySpan<float> g, Span<float> b, in Coefficients c)
    {
        Debug.Assert(g.Length == p.Length && (c.Momentum == 0f || b.Length == p.Length));
        int i = 0;
        if (Isa.Vector512)
        {
            i = UpdateVector512(p, g, b, c);
        }
        else if (Isa.Vector256)
        {
            i = UpdateVector256(p, g, b, c);
        }
        UpdateScalar(p, g, b, c, i);
    }

    /// <summary>Scalar update of elements [start, n).</summary>
    internal static void UpdateScalar(Span<float> p, ReadOnlySpan<float> g, Span<float> b, in Coefficients c, int start)
    {
        for (int i = start; i < p.Length; i++)
        {
            float d = c.WeightDecay != 0f ? MathF.FusedMultiplyAdd(p[i], c.WeightDecay, g[i]) : g[i]; // d_p = d_p.add(p, alpha=wd)
            if (c.Momentum != 0f)
            {
                float bi = c.FirstStep ? d : MathF.FusedMultiplyAdd(d, c.OneMinusDampening, b[i] * c.Momentum); // buf.mul_(m).add_(d_p, alpha=1-damp)
                b[i] = bi;
                d = c.Nesterov ? MathF.FusedMultiplyAdd(bi, c.Momentum, d) : bi;                             // d_p.add(buf, alpha=m)
            }
            p[i] = MathF.FusedMultiplyAdd(d, -c.LearningRate, p[i]);                                      // p.add_(d_p, alpha=-lr)
        }
    }

    /// <summary>256-bit update of the whole 8-element blocks; returns how many elements it did.</summary>
    internal static int UpdateVector256(Span<float> p, ReadOnlySpan<float> g, Span<float> b, in Coefficients c)
    {
        int n = p.Length - p.Length % Vector256<float>.Count;
        Vector256<float> wd = Vector256.Create(c.WeightDecay), momentum = Vector256.Create(c.Momentum);
        Vector256<float> oneMinusDampening = Vector256.Create(c.OneMinusDampening), minusLr = Vector256.Create(-c.LearningRate);
        bool decay = c.WeightDecay != 0f, useMomentum = c.Momentum != 0f;
        ref float rp = ref MemoryMarshal.GetReference(p);
        ref float rg = ref MemoryMarshal.GetReference(g);
        ref float rb = ref MemoryMarshal.GetReference(b);
        for (int i = 0; i < n; i += Vector256<float>.Count)
        {
            Vector256<float> pi = Vector256.LoadUnsafe(ref rp, (nuint)i);
            Vector256<float> d = Vector256.LoadUnsafe(ref rg, (nuint)i);
            if (decay)
            {
                d = Vector256.FusedMultiplyAdd(pi, wd, d);
            }
            if (useMomentum)
            {
                Vector256<float> bi = c.FirstStep ? d : Vector256.FusedMultiplyAdd(d, oneMinusDampening, Vector256.LoadUnsafe(ref rb, (nuint)i) * momentum);
                bi.StoreUnsafe(ref rb, (nuint)i);
                d = c.Nesterov ? Vector256.FusedMultiplyAdd(bi, momentum, d) : bi;
            }
            Vector256.FusedMultiplyAdd(d, minusLr, pi).StoreUnsafe(ref rp, (nuint)i);
        }
        return n;
    }

    /// <summary>512-bit update of the whole 16-element blocks; returns how many elements it did.</summary>
    internal static int UpdateVector512(Span<float> p, ReadOnlySpan<float> g, Span<float> b, in Coefficients c)
    {
        int n = p.Length - p.Length % Vector512<float>.Count;
        Vector512<float> wd = Vector512.Create(c.WeightDecay), momentum = Vector512.Create(c.Momentum);
        Vector512<float> oneMinusDampening = Vector512.Create(c.OneMinusDampening), minusLr = Vector512.Create(-c.LearningRate);
        bool decay = c.WeightDecay != 0f, useMomentum = c.Momentum != 0f;
        ref float rp = ref MemoryMarshal.GetReference(p);
        ref float rg = ref MemoryMarshal.GetReference(g);
        ref float rb = ref MemoryMarshal.GetReference(b);
        for (int i = 0; i < n; i += Vector512<float>.Count)
        {
            Vector512<float> pi = Vector512.LoadUnsafe(ref rp, (nuint)i);
            Vector512<float> d = Vector512.LoadUnsafe(ref rg, (nuint)i);
            if (decay)
            {
                d = Vector512.FusedMultiplyAdd(pi, wd, d);
            }
            if (useMomentum)
            {
                Vector512<float> bi = c.FirstStep ? d : Vector512.FusedMultiplyAdd(d, oneMinusDampening, Vector512.LoadUnsafe(ref rb, (nuint)i) * momentum);
                bi.StoreUnsafe(ref rb, (nuint)i);
                d = c.Nesterov ? Vector512.FusedMultiplyAdd(bi, momentum, d) : bi;
            }
            Vector512.FusedMultiplyAdd(d, minusLr, pi).StoreUnsafe(ref rp, (nuint)i);
        }
        return n;
    }
}
