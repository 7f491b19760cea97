using System.Diagnostics.CodeAnalysis;
using System.Numerics.Tensors;
using SpanAttention.Attention.Scorers;
using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Attention;

/// <summary>The pieces the attention passes share: the masked softmax of a row and its backward, the scores' backward, outer products, argument checks and throw helpers.</summary>
internal sealed partial class AttentionLayer
{
    // ------------------------------------------------------------------------------------------------
    // Pieces shared by the passes.
    // ------------------------------------------------------------------------------------------------

    /// <summary>A hidden cache is (B, S, A) of the prepared batch, and only the additive scorer has one.</summary>
    private void CheckHiddenCache(int length)
    {
        if (length == 0)
        {
            return;
        }
        if (Additive is null)
        {
            throw new ArgumentException("hiddenCache: only the additive scorer has a hidden layer to keep.");
        }
        if (_batch < 0)
        {
            throw new InvalidOperationException("Call PrepareKeys first.");
        }
        Guard.SameLength(length, _batch * _source * AttentionDim, "hiddenCache");
    }

    /// <summary>Softmax over the first n positions (lengths), or over the mask's valid positions; writes the whole row.</summary>
    private static void MaskedSoftmax(Span<float> row, int n, ReadOnlySpan<bool> mask)
    {
        if (mask.IsEmpty)
        {
            Softmax.Forward(row, n, row);
        }
        else
        {
            Softmax.Forward(row, mask, row);
        }
    }

    /// <summary>
    /// Backward of the context sum and the softmax for one query row, over its first n keys:
    /// dV_j += a_j dc ; da_j = v_j · dc (+ upstream da_j) ; ds_j = a_j (da_j - Σ_i a_i da_i) (overwritten).
    /// </summary>
    private static void ScoresBackward(ReadOnlySpan<float> dc, ReadOnlySpan<float> dWeights, ReadOnlySpan<float> values, ReadOnlySpan<float> a,
        int n, Span<float> dValues, Span<float> ds)
    {
        int dv = dc.Length;
        // c = Σ_j a_j v_j  ->  da_j = v_j · dc ;  dScoreWeightj += a_j dc
        Gemv.Multiply(values, n, dv, dv, dc, ds, accumulate: false);
        if (!dWeights.IsEmpty)
        {
            TensorPrimitives.Add(ds, dWeights, ds);
        }
        AddOuter(a, dc, dValues);
        // a = softmax(s)  ->  ds_j = a_j (da_j - Σ_i a_i da_i)
        SoftmaxBackwardInPlace(a, ds);
    }

    /// <summary>g ← a ⊙ (g - a · g): the softmax backward written over its own input (<see cref="Softmax.Backward"/> accumulates instead).</summary>
    private static void SoftmaxBackwardInPlace(ReadOnlySpan<float> a, Span<float> g)
    {
        float dot = TensorPrimitives.Dot(a, g);
        TensorPrimitives.Subtract(g, dot, g);
        TensorPrimitives.Multiply(g, a, g);
    }

    /// <summary>M += x yᵀ, M: (x.Length, y.Length); rows with x_i = 0 (masked positions) are skipped.</summary>
    internal static void AddOuter(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> m)
    {
        int cols = y.Length;
        for (int i = 0; i < x.Length; i++)
        {
            if (x[i] != 0f)
            {
                Span<float> row = m.Slice(i * cols, cols);
                TensorPrimitives.MultiplyAdd(y, x[i], row, row);
            }
        }
    }

    private void CheckStep(ReadOnlySpan<float> queries, int steps, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, ReadOnlySpan<int> lengths)
    {
        CheckPrepared();
        if ((uint)(steps - 1) >= (uint)MaxSteps)
        {
            ThrowCapacity(_batch, _source, steps);
        }
        Guard.SameLength(queries.Length, steps * _batch * QueryDim, nameof(queries));
        Guard.SameLength(keys.Length, _batch * _source * KeyDim, nameof(keys));
        Guard.SameLength(values.Length, _batch * _source * ValueDim, nameof(values));
        if (!lengths.IsEmpty)
        {
            Guard.SameLength(lengths.Length, _batch, nameof(lengths));
            for (int b = 0; b < lengths.Length; b++)
            {
                if ((uint)lengths[b] > (uint)_source)
                {
                    ThrowLength(nameof(lengths), b, lengths[b], _source);
                }
            }
        }
    }

    private void CheckMask(ReadOnlySpan<bool> mask)
    {
        CheckPrepared();
        Guard.SameLength(mask.Length, _batch * _source, nameof(mask));
    }

    private void CheckPrepared()
    {
        if (_batch < 0)
        {
            ThrowNotPrepared();
        }
    }

    internal static ParameterSlot Registered(ParameterSlot? slot) => slot ?? ThrowNotRegistered();

    private static void Positive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, $"{name}: must be positive, got {value}.");
        }
    }

    [DoesNotReturn]
    private void ThrowCapacity(int batch, int source, int steps) =>
        throw new ArgumentOutOfRangeException(nameof(batch),
            $"Attention shape (batch {batch}, source {source}, steps {steps}) must be in 1..(MaxBatch {MaxBatch}, MaxSource {MaxSource}, MaxSteps {MaxSteps}); call EnsureCapacity to grow the workspaces.");

    [DoesNotReturn]
    private static void ThrowLength(string name, int row, int length, int source) =>
        throw new ArgumentOutOfRangeException(name, $"{name}[{row}] = {length} must be in 0..{source}.");

    [DoesNotReturn]
    private static void ThrowNotPrepared() =>
        throw new InvalidOperationException("Call PrepareKeys for the source batch before Forward, Backward or PrepareKeysBackward.");

    [DoesNotReturn]
    private static ParameterSlot ThrowNotRegistered() =>
        throw new InvalidOperationException("This scorer has parameters: call RegisterParameters (and allocate the ParameterSet) first.");
}
