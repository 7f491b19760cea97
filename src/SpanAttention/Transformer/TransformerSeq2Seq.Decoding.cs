using System.Numerics.Tensors;
using SpanAttention.Kernels;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Transformer;

/// <summary>
/// Incremental decoding with a key/value cache: <see cref="StartDecoding"/> encodes the source once and projects the
/// memory into every decoder layer's cross-attention keys and values; each <see cref="DecodeStep"/> then runs one new
/// target position through the decoder layers, its self-attention reading the keys and values that earlier steps left
/// in the cache. The same equations as the training forward's row t (whose causal mask lets position t see positions
/// ≤ t only), without recomputing positions 0..t-1.
/// </summary>
/// <remarks>
/// <para>Step t, for each decoding row r (R rows; row r reads the memory of sentence σ(r)), layer by layer (post-norm):
/// <code>
/// y_0       = sqrt(E) · E_tgt[fed_r] + PE[t]                                  (R, E)
/// [q; k; v] = y W_inᵀ + b_in;  K_l[r, t] = k,  V_l[r, t] = v                  (R, 3E); cache (R, T, E) each
/// a         = out_proj(softmax(q_h K_l[r, 0..t]_hᵀ / sqrt(D)) V_l[r, 0..t]_h per head)
/// u1        = norm1(y + a)
/// c         = out_proj(softmax(q'_h KM_l[σ(r)]_hᵀ / sqrt(D); s &lt; n_σ(r)) VM_l[σ(r)]_h),  q' = u1 W_qᵀ + b_q
/// u2        = norm2(u1 + c);   y = norm3(u2 + FF(u2))
/// logits    = y W_outᵀ + b_out                                                (R, V)
/// </code>
/// KM_l = M W_kᵀ + b_k and VM_l = M W_vᵀ + b_v (B, S, E) are computed once per source in <see cref="StartDecoding"/>.
/// A step costs O(L·E·(E + F + t + S)) per row: linear in the position t, so T steps cost O(T²·E) for attention plus
/// O(T·E·(E + F)), where recomputing every prefix would cost O(T²·E·(E + F)).</para>
/// <para>The decoding buffers are allocated on the first <see cref="StartDecoding"/> for (MaxBatch rows, MaxTarget steps);
/// afterwards nothing is allocated. Decoding reuses the layers' feed-forward buffers, so it invalidates the last
/// training <see cref="Forward"/> (call Forward again before Backward).</para>
/// </remarks>
internal sealed partial class TransformerSeq2Seq
{
    private float[][] _selfKeys = [], _selfValues = [];       // [l] (R, T, E): the cache
    private float[][] _memoryKeys = [], _memoryValues = [];   // [l] (B, S, E): KM_l, VM_l
    private float[] _spare = [];                              // (R, T, E): the reorder's gather target, swapped in
    private float[] _stepInput = [], _qkv = [], _context = [], _attended = [], _sum = [], _u1 = [], _u2 = [], _query = [], _fed = [];
    private float[] _mean = [], _rstd = [];                   // (R)
    private float[] _scores = [];                             // (max(T, S))
    private float[] _crossWeights = [];                       // (R, S): last layer's cross-attention of the last step, averaged over heads
    private float[] _stepLogits = [];                         // (R, V)
    private int[] _sentence = [], _memoryLengths = [];        // (R) σ(r); (B) n_b
    private int _decodeRows, _decodeSource, _decodeStep = -1;

    /// <summary>
    /// Encodes <paramref name="batch"/> source rows once and readies <paramref name="rows"/> decoding rows, row r reading
    /// sentence <c>r % batch</c> (greedy: rows = batch; beam search over one source: batch = 1, rows = K).
    /// </summary>
    /// <param name="sourceIds">(B, S) padded token ids.</param>
    /// <param name="sourceLengths">(B) valid source steps per row, each in 0..S.</param>
    /// <param name="batch">B ≤ MaxBatch.</param>
    /// <param name="sourceSteps">S ≤ MaxSource.</param>
    /// <param name="rows">R ≤ MaxBatch, a multiple of B.</param>
    public void StartDecoding(ReadOnlySpan<int> sourceIds, ReadOnlySpan<int> sourceLengths, int batch, int sourceSteps, int rows)
    {
        CheckShape(batch, sourceSteps, 1);
        if (rows < batch || rows > MaxBatch || rows % batch != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), $"Decoding rows ({rows}) must be a multiple of the batch ({batch}) and at most {MaxBatch}.");
        }
        EnsureDecodingBuffers();
        _last = null;                                                                   // the layers' forward caches are about to be reused
        Encode(sourceIds, sourceLengths, batch, sourceSteps);
        sourceLengths.Slice(0, batch).CopyTo(_memoryLengths);
        for (int r = 0; r < rows; r++)
        {
            _sentence[r] = r % batch;
        }
        int e = _e, ee = e * e, memoryRows = batch * sourceSteps;
        ReadOnlySpan<float> values = Parameters.Values, memory = Memory(batch, sourceSteps);
        for (int l = 0; l < _decoder.Length; l++)
        {
            MultiheadAttention cross = _decoder[l].CrossAttention;
            ReadOnlySpan<float> w = cross.InProjWeight.Of(values), b = cross.InProjBias.Of(values);
            Linear.Forward(memory, memoryRows, e, e, w.Slice(ee, ee), b.Slice(e, e), _memoryKeys[l].AsSpan(0, memoryRows * e));           // KM_l (B·S, E)
            Linear.Forward(memory, memoryRows, e, e, w.Slice(2 * ee, ee), b.Slice(2 * e, e), _memoryValues[l].AsSpan(0, memoryRows * e)); // VM_l (B·S, E)
        }
        _decodeRows = rows;
        _decodeSource = sourceSteps;
        _decodeStep = -1;
    }

    /// <summary>Runs target position <paramref name="t"/> for every decoding row, fed <paramref name="fed"/>; returns the logits.</summary>
    /// <param name="t">The position: 0 after <see cref="StartDecoding"/>, then one more per call (&lt; MaxTarget).</param>
    /// <param name="fed">(R) the token each row is fed (BOS at t = 0).</param>
    /// <returns>The logits (R, V), valid until the next step.</returns>
    public ReadOnlySpan<float> DecodeStep(int t, ReadOnlySpan<int> fed)
    {
        if (_decodeRows == 0 || t != _decodeStep + 1 || t >= MaxTarget)
        {
            throw new InvalidOperationException($"Decode step {t} must follow step {_decodeStep} of a StartDecoding, below the model's {MaxTarget} target steps.");
        }
        int rows = _decodeRows, e = _e, size = rows * e, heads = Config.Heads, d = e / heads, ee = e * e;
        Guard.Length(fed.Length, rows, nameof(fed));
        ReadOnlySpan<float> values = Parameters.Values;
        Span<float> y = _stepInput.AsSpan(0, size), qkv = _qkv.AsSpan(0, 3 * size), context = _context.AsSpan(0, size);
        Span<float> attended = _attended.AsSpan(0, size), sum = _sum.AsSpan(0, size), u1 = _u1.AsSpan(0, size), u2 = _u2.AsSpan(0, size);
        Span<float> query = _query.AsSpan(0, size), fedForward = _fed.AsSpan(0, size), mean = _mean.AsSpan(0, rows), rstd = _rstd.AsSpan(0, rows);

        // y_0 = sqrt(E) · E_tgt[fed] + PE[t] (R, E)
        _targetEmbedding.Forward(fed.Slice(0, rows), values, y);
        ReadOnlySpan<float> pe = _targetInput.Table.Slice(t * e, e);
        for (int r = 0; r < rows; r++)
        {
            Span<float> row = y.Slice(r * e, e);
            TensorPrimitives.MultiplyAdd(row, MathF.Sqrt(e), pe, row);
        }
        for (int l = 0; l < _decoder.Length; l++)
        {
            TransformerDecoderLayer layer = _decoder[l];
            bool last = l == _decoder.Length - 1;

            // self-attention over the cache: [q; k; v] = y W_inᵀ + b_in (R, 3E); K_l[r, t] = k, V_l[r, t] = v
            MultiheadAttention self = layer.SelfAttention;
            Linear.Forward(y, rows, e, 3 * e, self.InProjWeight.Of(values), self.InProjBias.Of(values), qkv);
            Span<float> keys = _selfKeys[l], cachedValues = _selfValues[l];
            for (int r = 0; r < rows; r++)
            {
                int at = (r * MaxTarget + t) * e;
                qkv.Slice(r * 3 * e + e, e).CopyTo(keys.Slice(at, e));
                qkv.Slice(r * 3 * e + 2 * e, e).CopyTo(cachedValues.Slice(at, e));
                Attend(qkv.Slice(r * 3 * e, e), keys.Slice(r * MaxTarget * e, (t + 1) * e), cachedValues.Slice(r * MaxTarget * e, (t + 1) * e),
                    t + 1, t + 1, heads, d, default, context.Slice(r * e, e));
            }
            self.OutProj.Forward(context, rows, values, attended);                                         // a (R, E)
            TensorPrimitives.Add(y, attended, sum);
            layer.Norm1.Forward(sum, rows, values, u1, mean, rstd);                                         // u1 = norm1(y + a)

            // cross-attention over the projected memory: q' = u1 W_qᵀ + b_q (R, E)
            MultiheadAttention cross = layer.CrossAttention;
            Linear.Forward(u1, rows, e, e, cross.InProjWeight.Of(values).Slice(0, ee), cross.InProjBias.Of(values).Slice(0, e), query);
            int s = _decodeSource;
            for (int r = 0; r < rows; r++)
            {
                int sentence = _sentence[r];
                Span<float> weights = last ? _crossWeights.AsSpan(r * s, s) : default;
                Attend(query.Slice(r * e, e), _memoryKeys[l].AsSpan(sentence * s * e, s * e), _memoryValues[l].AsSpan(sentence * s * e, s * e),
                    s, _memoryLengths[sentence], heads, d, weights, context.Slice(r * e, e));
            }
            cross.OutProj.Forward(context, rows, values, attended);                                        // c (R, E)
            TensorPrimitives.Add(u1, attended, sum);
            layer.Norm2.Forward(sum, rows, values, u2, mean, rstd);                                         // u2 = norm2(u1 + c)

            // feed-forward: y = norm3(u2 + FF(u2))
            layer.FeedForward.Forward(u2, rows, values, fedForward);
            TensorPrimitives.Add(u2, fedForward, sum);
            layer.Norm3.Forward(sum, rows, values, y, mean, rstd);
        }

        // logits = y W_outᵀ + b_out (R, V)
        Span<float> logits = _stepLogits.AsSpan(0, rows * _v);
        _out.Forward(y, rows, values, logits);
        _decodeStep = t;
        return logits;
    }

    /// <summary>The last step's cross-attention of the last decoder layer, averaged over the heads: (R, S).</summary>
    public ReadOnlySpan<float> StepCrossWeights => _crossWeights.AsSpan(0, _decodeRows * _decodeSource);

    /// <summary>
    /// Beam search's reordering after the last step t: row r continues row <paramref name="parents"/>[r], so it
    /// takes that row's cached keys and values of positions 0..t (every layer). Rows share one source, so the memory
    /// stays.
    /// </summary>
    /// <param name="parents">(R) the row each new row extends.</param>
    public void ReorderDecoding(ReadOnlySpan<int> parents)
    {
        int rows = _decodeRows, span = (_decodeStep + 1) * _e, stride = MaxTarget * _e;
        Guard.Length(parents.Length, rows, nameof(parents));
        for (int r = 0; r < rows; r++)
        {
            if ((uint)parents[r] >= (uint)rows || _sentence[parents[r]] != _sentence[r])
            {
                throw new ArgumentOutOfRangeException(nameof(parents), $"parents[{r}] = {parents[r]} must be a row in 0..{rows - 1} of the same source.");
            }
        }
        for (int l = 0; l < _decoder.Length; l++)
        {
            _selfKeys[l] = Gather(_selfKeys[l], parents, rows, span, stride);
            _selfValues[l] = Gather(_selfValues[l], parents, rows, span, stride);
        }
    }

    /// <summary>spare[r] = cache[parents[r]] (the first <paramref name="span"/> floats of each row); returns the gathered buffer, the old cache becoming the spare.</summary>
    private float[] Gather(float[] cache, ReadOnlySpan<int> parents, int rows, int span, int stride)
    {
        for (int r = 0; r < rows; r++)
        {
            cache.AsSpan(parents[r] * stride, span).CopyTo(_spare.AsSpan(r * stride, span));
        }
        float[] gathered = _spare;
        _spare = cache;
        return gathered;
    }

    /// <summary>
    /// One query row over n key/value rows, per head: context_h = softmax(q_h K_hᵀ / sqrt(D) over the first
    /// <paramref name="valid"/> keys) V_h; with <paramref name="averaged"/>, the weights averaged over the heads.
    /// </summary>
    /// <param name="q">(E).</param>
    /// <param name="keys">(n, E).</param>
    /// <param name="values">(n, E).</param>
    /// <param name="n">n.</param>
    /// <param name="valid">Valid keys, 0..n; none gives a zero context.</param>
    /// <param name="heads">H.</param>
    /// <param name="d">D = E / H.</param>
    /// <param name="averaged">Empty, or (n): overwritten with the head-averaged weights.</param>
    /// <param name="context">(E). Overwritten.</param>
    private void Attend(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, int n, int valid, int heads, int d,
        Span<float> averaged, Span<float> context)
    {
        int e = _e;
        float scale = 1f / MathF.Sqrt(d);
        Span<float> scores = _scores.AsSpan(0, n);
        context.Clear();
        averaged.Clear();
        for (int h = 0; h < heads; h++)
        {
            ReadOnlySpan<float> qh = q.Slice(h * d, d);
            for (int j = 0; j < valid; j++)
            {
                scores[j] = TensorPrimitives.Dot(qh, keys.Slice(j * e + h * d, d)) * scale;
            }
            Softmax.Forward(scores, valid, scores);
            Span<float> ch = context.Slice(h * d, d);
            for (int j = 0; j < valid; j++)
            {
                TensorPrimitives.MultiplyAdd(values.Slice(j * e + h * d, d), scores[j], ch, ch);
            }
            if (!averaged.IsEmpty)
            {
                TensorPrimitives.MultiplyAdd(scores, 1f / heads, averaged, averaged);
            }
        }
    }

    /// <summary>The decoding buffers for (MaxBatch rows, MaxTarget steps, MaxSource memory steps), on first use.</summary>
    private void EnsureDecodingBuffers()
    {
        if (_sentence.Length > 0)
        {
            return;
        }
        int rows = MaxBatch, e = _e, layers = _decoder.Length, cache = rows * MaxTarget * e, memory = MaxBatch * MaxSource * e;
        _selfKeys = new float[layers][];
        _selfValues = new float[layers][];
        _memoryKeys = new float[layers][];
        _memoryValues = new float[layers][];
        for (int l = 0; l < layers; l++)
        {
            _selfKeys[l] = new float[cache];
            _selfValues[l] = new float[cache];
            _memoryKeys[l] = new float[memory];
            _memoryValues[l] = new float[memory];
        }
        _spare = new float[cache];
        _stepInput = new float[rows * e];
        _qkv = new float[3 * rows * e];
        _context = new float[rows * e];
        _attended = new float[rows * e];
        _sum = new float[rows * e];
        _u1 = new float[rows * e];
        _u2 = new float[rows * e];
        _query = new float[rows * e];
        _fed = new float[rows * e];
        _mean = new float[rows];
        _rstd = new float[rows];
        _scores = new float[Math.Max(MaxTarget, MaxSource)];
        _crossWeights = new float[rows * MaxSource];
        _stepLogits = new float[rows * _v];
        _memoryLengths = new int[MaxBatch];
        _sentence = new int[rows];
    }
}
