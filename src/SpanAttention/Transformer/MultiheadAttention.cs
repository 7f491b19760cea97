using System.Numerics.Tensors;
using SpanAttention.Kernels;
using SpanAttention.Parameters;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Transformer;

/// <summary>
/// Multi-head scaled dot-product attention with <c>nn.MultiheadAttention(E, H, batch_first=True)</c> semantics
/// and names: <c>{prefix}in_proj_weight</c> [3E, E] (the query, key and value projections stacked in that
/// order), <c>in_proj_bias</c> [3E], <c>out_proj.weight</c> [E, E], <c>out_proj.bias</c> [E].
/// </summary>
/// <remarks>
/// For each batch row b and head h (D = E / H, head h owns columns h·D .. h·D + D - 1 of the projections):
/// <code>
/// Q = query Wqᵀ + bq                 (B, T, E)    K = key Wkᵀ + bk, V = value Wvᵀ + bv   (B, S, E)
/// scores_bh = Q_bh K_bhᵀ / sqrt(D)   (T, S)       masked positions excluded
/// A_bh = softmax(scores_bh)          (T, S)       a row with no valid key gets zeros (safe softmax)
/// C_bh = A_bh V_bh                   (T, D)       written into columns h·D.. of C (B, T, E)
/// output = C Woᵀ + bo                (B, T, E)
/// </code>
/// The key padding mask is given as valid key lengths (B): keys j ≥ keyLengths[b] are padding (PyTorch's
/// key_padding_mask[b, j] = true); the causal mask lets query i see keys j ≤ i (attn_mask = triu(ones, 1)).
/// Query, key and value may be different (cross-attention) or the same span (self-attention).
/// The layer owns its buffers, sized once for (maxB, maxT, maxS); forward keeps Q, K, V, A and C for backward,
/// and A (per head) stays readable for visualisation until the next forward.
/// </remarks>
internal sealed class MultiheadAttention
{
    private float[] _q = [], _k = [], _v = [];  // projections: (B, T, E), (B, S, E), (B, S, E)
    private float[] _weights = [];              // A: (B, H, T, S)
    private float[] _context = [];              // C: (B, T, E)
    private float[] _dq = [], _dk = [], _dv = []; // their gradients
    private float[] _dContext = [];             // (B, T, E)
    private float[] _dWeights = [];             // dA of one (b, h): (T, S)
    private float[] _dScores = [];              // dscores of one (b, h): (T, S)
    private int _b, _t, _s;

    /// <summary>Registers the tensors and allocates the buffers.</summary>
    /// <param name="layout">The model's layout, still being built.</param>
    /// <param name="prefix">Name prefix including the dot, e.g. <c>encoder.layers.0.self_attn.</c>.</param>
    /// <param name="embedding">E, the model size.</param>
    /// <param name="heads">H; must divide E.</param>
    /// <param name="maxBatch">The most batch rows per call.</param>
    /// <param name="maxQueries">The most query steps T per call.</param>
    /// <param name="maxKeys">The most key steps S per call.</param>
    public MultiheadAttention(ParameterLayout layout, string prefix, int embedding, int heads, int maxBatch, int maxQueries, int maxKeys)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(embedding);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(heads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxQueries);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxKeys);
        if (embedding % heads != 0)
        {
            throw new ArgumentException($"embedding ({embedding}) must be divisible by heads ({heads}).", nameof(heads));
        }
        Embedding = embedding;
        Heads = heads;
        HeadSize = embedding / heads;
        InProjWeight = layout.Add(prefix + "in_proj_weight", 3 * embedding, embedding);
        InProjBias = layout.Add(prefix + "in_proj_bias", 3 * embedding);
        OutProj = new Linear(layout, prefix + "out_proj", embedding, embedding);
        EnsureCapacity(maxBatch, maxQueries, maxKeys);
    }

    /// <summary>Grows the buffers to hold (maxBatch, maxQueries, maxKeys) (never shrinks). Allocates only when growing.</summary>
    /// <param name="maxBatch">The most batch rows per call.</param>
    /// <param name="maxQueries">The most query steps T per call.</param>
    /// <param name="maxKeys">The most key steps S per call.</param>
    public void EnsureCapacity(int maxBatch, int maxQueries, int maxKeys)
    {
        if (maxBatch <= MaxBatch && maxQueries <= MaxQueries && maxKeys <= MaxKeys)
        {
            return;
        }
        MaxBatch = Math.Max(maxBatch, MaxBatch);
        MaxQueries = Math.Max(maxQueries, MaxQueries);
        MaxKeys = Math.Max(maxKeys, MaxKeys);
        int embedding = Embedding, heads = Heads;
        int queries = MaxBatch * MaxQueries * embedding, keys = MaxBatch * MaxKeys * embedding;
        _q = new float[queries];
        _k = new float[keys];
        _v = new float[keys];
        _context = new float[queries];
        _weights = new float[MaxBatch * heads * MaxQueries * MaxKeys];
        _dq = new float[queries];
        _dk = new float[keys];
        _dv = new float[keys];
        _dContext = new float[queries];
        _dWeights = new float[MaxQueries * MaxKeys];
        _dScores = new float[MaxQueries * MaxKeys];
        _b = _t = _s = 0;
    }

    /// <summary>E.</summary>
    public int Embedding { get; }

    /// <summary>H.</summary>
    public int Heads { get; }

    /// <summary>D = E / H.</summary>
    public int HeadSize { get; }

    /// <summary>The most batch rows per call.</summary>
    public int MaxBatch { get; private set; }

    /// <summary>The most query steps per call.</summary>
    public int MaxQueries { get; private set; }

    /// <summary>The most key steps per call.</summary>
    public int MaxKeys { get; private set; }

    /// <summary>[Wq; Wk; Wv]: (3E, E).</summary>
    public ParameterSlot InProjWeight { get; }

    /// <summary>[bq; bk; bv]: (3E).</summary>
    public ParameterSlot InProjBias { get; }

    /// <summary>The output projection E -> E.</summary>
    public Linear OutProj { get; }

    /// <summary>The last forward's per-head attention weights A: (B, H, T, S), each row summing to 1 or (fully masked) 0.</summary>
    public ReadOnlySpan<float> Weights => _weights.AsSpan(0, _b * Heads * _t * _s);

    /// <summary>PyTorch's initialisation: in_proj_weight Xavier-uniform, out_proj.weight U(±1/sqrt(E)), both biases 0.</summary>
    /// <param name="parameters">The model's parameters.</param>
    /// <param name="random">Seeded random source.</param>
    public void Initialize(ParameterSet parameters, Random random)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.InitializeUniform(InProjWeight, MathF.Sqrt(6f / (4 * Embedding)), random);   // fan_in E + fan_out 3E
        InProjBias.Of(parameters.Values.AsSpan()).Clear();
        parameters.InitializeUniform(OutProj.Weight, 1f / MathF.Sqrt(Embedding), random);
        OutProj.Bias!.Of(parameters.Values.AsSpan()).Clear();
    }

    /// <summary>The head-averaged weights (PyTorch's average_attn_weights=True) of the last forward.</summary>
    /// <param name="averaged">(B, T, S). Overwritten.</param>
    public void AverageWeights(Span<float> averaged)
    {
        int ts = _t * _s;
        Guard.Length(averaged.Length, _b * ts, nameof(averaged));
        averaged = averaged.Slice(0, _b * ts);
        averaged.Clear();
        for (int b = 0; b < _b; b++)
        {
            Span<float> row = averaged.Slice(b * ts, ts);
            for (int h = 0; h < Heads; h++)
            {
                TensorPrimitives.Add(row, _weights.AsSpan((b * Heads + h) * ts, ts), row);
            }
            TensorPrimitives.Multiply(row, 1f / Heads, row);
        }
    }

    /// <summary>output = MultiheadAttention(query, key, value) with the given masks.</summary>
    /// <param name="values">The model's flat parameter values.</param>
    /// <param name="query">(B, T, E).</param>
    /// <param name="key">(B, S, E).</param>
    /// <param name="value">(B, S, E).</param>
    /// <param name="batch">B ≤ MaxBatch.</param>
    /// <param name="queries">T ≤ MaxQueries.</param>
    /// <param name="keys">S ≤ MaxKeys.</param>
    /// <param name="keyLengths">Empty for no padding, else (B): valid key count of each row, 0..S.</param>
    /// <param name="causal">Whether query i may only see keys j ≤ i.</param>
    /// <param name="output">(B, T, E). Overwritten; must not overlap the inputs.</param>
    public void Forward(ReadOnlySpan<float> values, ReadOnlySpan<float> query, ReadOnlySpan<float> key, ReadOnlySpan<float> value,
        int batch, int queries, int keys, ReadOnlySpan<int> keyLengths, bool causal, Span<float> output)
    {
        CheckShape(batch, queries, keys);
        int e = Embedding, d = HeadSize, ts = queries * keys;
        Guard.Length(query.Length, batch * queries * e, nameof(query));
        Guard.Length(key.Length, batch * keys * e, nameof(key));
        Guard.Length(value.Length, batch * keys * e, nameof(value));
        Guard.Length(output.Length, batch * queries * e, nameof(output));
        if (!keyLengths.IsEmpty)
        {
            Guard.SameLength(keyLengths.Length, batch, nameof(keyLengths));
            foreach (int length in keyLengths)
            {
                if ((uint)length > (uint)keys)
                {
                    throw new ArgumentOutOfRangeException(nameof(keyLengths), $"{nameof(keyLengths)}: every length must be in 0..{keys}, got {length}.");
                }
            }
        }
        _b = batch;
        _t = queries;
        _s = keys;
        query = query.Slice(0, batch * queries * e);
        key = key.Slice(0, batch * keys * e);
        value = value.Slice(0, batch * keys * e);
        ReadOnlySpan<float> w = InProjWeight.Of(values), bias = InProjBias.Of(values);
        Span<float> q = _q.AsSpan(0, batch * queries * e), k = _k.AsSpan(0, batch * keys * e), v = _v.AsSpan(0, batch * keys * e);
        Span<float> c = _context.AsSpan(0, batch * queries * e);
        // 1. projections (the three row blocks of in_proj_weight)
        Linear.Forward(query, batch * queries, e, e, w.Slice(0, e * e), bias.Slice(0, e), q);               // Q (B·T, E)
        Linear.Forward(key, batch * keys, e, e, w.Slice(e * e, e * e), bias.Slice(e, e), k);                // K (B·S, E)
        Linear.Forward(value, batch * keys, e, e, w.Slice(2 * e * e, e * e), bias.Slice(2 * e, e), v);     // V (B·S, E)
        float scale = 1f / MathF.Sqrt(d);
        for (int b = 0; b < batch; b++)
        {
            int validKeys = keyLengths.IsEmpty ? keys : keyLengths[b];
            for (int h = 0; h < Heads; h++)
            {
                int qOffset = b * queries * e + h * d, kOffset = b * keys * e + h * d;
                Span<float> a = _weights.AsSpan((b * Heads + h) * ts, ts);
                // 2. scores = Q_bh K_bhᵀ / sqrt(D): (T, D)·(D, S), both read as strided column blocks (row stride E)
                Gemm.Multiply(queries, keys, d, q.Slice(qOffset), e, Transpose.No, k.Slice(kOffset), e, Transpose.Yes, a, keys, accumulate: false);
                TensorPrimitives.Multiply(a, scale, a);
                // 3. A = softmax over each row's valid keys (padding, and j > i when causal); none valid -> zeros
                for (int i = 0; i < queries; i++)
                {
                    int valid = causal ? Math.Min(validKeys, i + 1) : validKeys;
                    Span<float> row = a.Slice(i * keys, keys);
                    Softmax.Forward(row, valid, row);
                }
                // 4. C_bh = A V_bh: (T, S)·(S, D) into columns h·D.. of C
                Gemm.Multiply(queries, d, keys, a, keys, Transpose.No, v.Slice(kOffset), e, Transpose.No, c.Slice(qOffset), e, accumulate: false);
            }
        }
        // 5. output = C Woᵀ + bo
        OutProj.Forward(c, batch * queries, values, output.Slice(0, batch * queries * e));
    }

    /// <summary>Accumulates d query, d key, d value and every parameter gradient, from the buffers of the last <see cref="Forward"/>.</summary>
    /// <param name="dOutput">Upstream gradient: (B, T, E).</param>
    /// <param name="values">The model's flat parameter values.</param>
    /// <param name="query">The forward's query: (B, T, E).</param>
    /// <param name="key">The forward's key: (B, S, E).</param>
    /// <param name="value">The forward's value: (B, S, E).</param>
    /// <param name="gradients">The model's flat gradients, accumulated into.</param>
    /// <param name="dQuery">(B, T, E). Accumulated.</param>
    /// <param name="dKey">(B, S, E). Accumulated. May be the same span as dQuery/dValue (self-attention: the three add up).</param>
    /// <param name="dValue">(B, S, E). Accumulated.</param>
    /// <remarks>The forward's steps in reverse; masked positions have A = 0 and so get no gradient (docs/derivations/transformer.md).</remarks>
    public void Backward(ReadOnlySpan<float> dOutput, ReadOnlySpan<float> values, ReadOnlySpan<float> query, ReadOnlySpan<float> key, ReadOnlySpan<float> value,
        Span<float> gradients, Span<float> dQuery, Span<float> dKey, Span<float> dValue)
    {
        int batch = _b, queries = _t, keys = _s;
        int e = Embedding, d = HeadSize, ts = queries * keys;
        Guard.Length(dOutput.Length, batch * queries * e, nameof(dOutput));
        Guard.Length(dQuery.Length, batch * queries * e, nameof(dQuery));
        Guard.Length(dKey.Length, batch * keys * e, nameof(dKey));
        Guard.Length(dValue.Length, batch * keys * e, nameof(dValue));
        dOutput = dOutput.Slice(0, batch * queries * e);
        query = query.Slice(0, batch * queries * e);
        key = key.Slice(0, batch * keys * e);
        value = value.Slice(0, batch * keys * e);
        dQuery = dQuery.Slice(0, batch * queries * e);
        dKey = dKey.Slice(0, batch * keys * e);
        dValue = dValue.Slice(0, batch * keys * e);
        ReadOnlySpan<float> w = InProjWeight.Of(values);
        Span<float> dW = InProjWeight.Of(gradients), dBias = InProjBias.Of(gradients);
        Span<float> q = _q.AsSpan(0, batch * queries * e), k = _k.AsSpan(0, batch * keys * e), v = _v.AsSpan(0, batch * keys * e);
        Span<float> dq = _dq.AsSpan(0, q.Length), dk = _dk.AsSpan(0, k.Length), dv = _dv.AsSpan(0, v.Length);
        Span<float> dc = _dContext.AsSpan(0, batch * queries * e);
        Span<float> dA = _dWeights.AsSpan(0, ts), dScores = _dScores.AsSpan(0, ts);
        dq.Clear();
        dk.Clear();
        dv.Clear();
        dc.Clear();
        // 5. output = C Woᵀ + bo: dC = dOutput Wo, dWo += dOutputᵀ C, dbo += Σ dOutput
        OutProj.Backward(dOutput, _context.AsSpan(0, dc.Length), batch * queries, values, gradients, dc);
        float scale = 1f / MathF.Sqrt(d);
        for (int b = 0; b < batch; b++)
        {
            for (int h = 0; h < Heads; h++)
            {
                int qOffset = b * queries * e + h * d, kOffset = b * keys * e + h * d;
                ReadOnlySpan<float> a = _weights.AsSpan((b * Heads + h) * ts, ts);
                // 4. C_bh = A V_bh: dA = dC_bh V_bhᵀ (T, S); dV_bh += Aᵀ dC_bh (S, D)
                Gemm.Multiply(queries, keys, d, dc.Slice(qOffset), e, Transpose.No, v.Slice(kOffset), e, Transpose.Yes, dA, keys, accumulate: false);
                Gemm.Multiply(keys, d, queries, a, keys, Transpose.Yes, dc.Slice(qOffset), e, Transpose.No, dv.Slice(kOffset), e, accumulate: true);
                // 3. softmax: dscores = A ⊙ (dA - rowsum(A ⊙ dA)); then the 1/sqrt(D) of step 2
                dScores.Clear();
                Softmax.BackwardRows(a, dA, queries, keys, dScores);
                TensorPrimitives.Multiply(dScores, scale, dScores);
                // 2. scores = Q_bh K_bhᵀ: dQ_bh += dscores K_bh (T, D); dK_bh += dscoresᵀ Q_bh (S, D)
                Gemm.Multiply(queries, d, keys, dScores, keys, Transpose.No, k.Slice(kOffset), e, Transpose.No, dq.Slice(qOffset), e, accumulate: true);
                Gemm.Multiply(keys, d, queries, dScores, keys, Transpose.Yes, q.Slice(qOffset), e, Transpose.No, dk.Slice(kOffset), e, accumulate: true);
            }
        }
        // 1. projections: dquery += dQ Wq, dWq += dQᵀ query, dbq += Σ dQ; the same for key and value
        Linear.Backward(dq, query, batch * queries, e, e, w.Slice(0, e * e), dQuery, dW.Slice(0, e * e), dBias.Slice(0, e));
        Linear.Backward(dk, key, batch * keys, e, e, w.Slice(e * e, e * e), dKey, dW.Slice(e * e, e * e), dBias.Slice(e, e));
        Linear.Backward(dv, value, batch * keys, e, e, w.Slice(2 * e * e, e * e), dValue, dW.Slice(2 * e * e, e * e), dBias.Slice(2 * e, e));
    }

    private void CheckShape(int batch, int queries, int keys)
    {
        if ((uint)batch > (uint)MaxBatch || (uint)queries > (uint)MaxQueries || (uint)keys > (uint)MaxKeys)
        {
            throw new ArgumentOutOfRangeException(nameof(batch),
                $"(batch, queries, keys) = ({batch}, {queries}, {keys}) exceeds the ({MaxBatch}, {MaxQueries}, {MaxKeys}) this layer was built for, or is negative.");
        }
    }
}
