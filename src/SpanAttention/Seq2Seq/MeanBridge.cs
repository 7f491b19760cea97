using System.Numerics.Tensors;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// The decoder's initial state from the mean of the valid memory rows, as Show, Attend and Tell initialises its LSTM
/// from the mean annotation: m_b = (1/n_b) Σ_{s &lt; n_b} states[b, s], h_0 = tanh(W m + b). Used by the encoders whose
/// memory has no final state of its own (a Transformer, a feature grid).
/// </summary>
/// <remarks>
/// Parameters: <c>bridge.weight</c> (H, D), <c>bridge.bias</c> (H). An empty row (n_b = 0) has m_b = 0.
/// Backward: dpre = dh_0 ⊙ (1 - h_0²); dW += dpreᵀ m, db += Σ dpre; dm = dpre W; and every valid row's
/// d(states) gains dm_b / n_b.
/// </remarks>
internal sealed class MeanBridge
{
    private readonly Linear _linear;
    private readonly int _d, _h;
    private float[] _mean = [];   // (B, D) m
    private float[] _dMean = [];  // (B, D) dm
    private float[] _dPre = [];   // (B, H) gradient before the tanh

    /// <summary>Registers <c>bridge.weight</c> (H, D) and <c>bridge.bias</c> (H).</summary>
    public MeanBridge(ParameterLayout layout, int size, int hidden)
    {
        _d = size;
        _h = hidden;
        _linear = new Linear(layout, "bridge", size, hidden);
    }

    /// <summary>PyTorch's nn.Linear initialisation.</summary>
    public void Initialize(ParameterSet parameters, Random random) => _linear.Initialize(parameters, random);

    /// <summary>Grows the workspaces for B rows; allocates only when growing.</summary>
    public void EnsureCapacity(int maxBatch)
    {
        if (_mean.Length >= maxBatch * _d)
        {
            return;
        }
        _mean = new float[maxBatch * _d];
        _dMean = new float[maxBatch * _d];
        _dPre = new float[maxBatch * _h];
    }

    /// <summary>h_0 = tanh(W mean(valid rows of <paramref name="states"/>) + b).</summary>
    /// <param name="states">(B, S, D), rows past each length ignored.</param>
    /// <param name="lengths">(B) valid rows.</param>
    /// <param name="bsz">B.</param>
    /// <param name="steps">S.</param>
    /// <param name="values">The model's parameter values.</param>
    /// <param name="h0">(B, H), overwritten.</param>
    public void Forward(ReadOnlySpan<float> states, ReadOnlySpan<int> lengths, int bsz, int steps, ReadOnlySpan<float> values, Span<float> h0)
    {
        int d = _d;
        Span<float> mean = _mean.AsSpan(0, bsz * d);
        mean.Clear();
        for (int b = 0; b < bsz; b++)
        {
            int n = lengths[b];
            Span<float> mb = mean.Slice(b * d, d);
            for (int s = 0; s < n; s++)
            {
                TensorPrimitives.Add(mb, states.Slice((b * steps + s) * d, d), mb);
            }
            if (n > 0)
            {
                TensorPrimitives.Multiply(mb, 1f / n, mb);
            }
        }
        _linear.Forward(mean, bsz, values, h0);
        TensorPrimitives.Tanh(h0, h0);
    }

    /// <summary>Backward of the last <see cref="Forward"/>: accumulates dW, db, and dm_b / n_b into every valid row of <paramref name="dStates"/>.</summary>
    /// <param name="dH0">d h_0 (B, H).</param>
    /// <param name="h0">The forward's h_0 (B, H).</param>
    /// <param name="lengths">(B) valid rows.</param>
    /// <param name="bsz">B.</param>
    /// <param name="steps">S.</param>
    /// <param name="values">The model's parameter values.</param>
    /// <param name="gradients">The model's gradients (accumulated).</param>
    /// <param name="dStates">(B, S, D), accumulated on the valid rows.</param>
    public void Backward(ReadOnlySpan<float> dH0, ReadOnlySpan<float> h0, ReadOnlySpan<int> lengths, int bsz, int steps,
        ReadOnlySpan<float> values, Span<float> gradients, Span<float> dStates)
    {
        int d = _d, bh = bsz * _h;
        Span<float> dPre = _dPre.AsSpan(0, bh);
        for (int k = 0; k < bh; k++)
        {
            dPre[k] = dH0[k] * (1f - h0[k] * h0[k]);                                  // tanh' = 1 - h_0²
        }
        Span<float> dMean = _dMean.AsSpan(0, bsz * d);
        dMean.Clear();
        _linear.Backward(dPre, _mean.AsSpan(0, bsz * d), bsz, values, gradients, dMean);
        for (int b = 0; b < bsz; b++)
        {
            int n = lengths[b];
            if (n == 0)
            {
                continue;
            }
            Span<float> dmb = dMean.Slice(b * d, d);
            TensorPrimitives.Multiply(dmb, 1f / n, dmb);                               // d m_b / d states[b, s] = 1/n_b
            for (int s = 0; s < n; s++)
            {
                Span<float> row = dStates.Slice((b * steps + s) * d, d);
                TensorPrimitives.Add(row, dmb, row);
            }
        }
    }
}
