using System.Numerics.Tensors;
using SpanAttention.Attention;
using SpanAttention.Attention.Scorers;
using SpanAttention.Kernels;
using SpanAttention.Recurrent;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// The prepared decoding path: <see cref="Encode(ReadOnlySpan{int}, ReadOnlySpan{int}, int, int, InferenceWeights?)"/> and
/// <see cref="DecoderStep(int, int, ReadOnlySpan{int}, InferenceWeights?)"/> with an <see cref="InferenceWeights"/>.
/// Same equations as the plain path (class remarks), computed row by row with packed GEMVs, lookup tables and the
/// per-sentence projections described on <see cref="InferenceWeights"/>. Forward only: a prepared step caches
/// nothing for backward.
/// </summary>
public sealed partial class Seq2SeqModel
{
    // Prepared-path workspaces, sized on first use by EnsurePrepared (then reused: steady state allocates nothing).
    private int _pBatch, _pSource;
    private float[] _pKeys = [];        // (B, S, P) projected keys: K W_kᵀ + b (Additive) or K Wᵀ (General)
    private float[] _pU = [];           // (B, S, G·H) Bahdanau: U = K W_rᵀ, so W_r c = Σ_j a_j U_j
    private float[] _pFixedGates = [];  // (B, G·H) None: W_r c, constant over the steps
    private float[] _pGh = [];          // (G·H) W_hh h
    private float[] _pEncGates = [];    // (S, G·H) one encoder direction's input projections
    private float[] _pLayer = [];       // (2, S, D·H) outputs of the layers below the last, alternating
    private float[] _pScratch = [];     // RecurrentInference scratch
    private float[] _pQuery = [];       // (A) W_q q
    private bool _pUseU;                // this sentence batch uses U (S ≤ Dc)
    private InferenceWeights? _encodedWith;

    /// <summary>
    /// Builds the decoding layout of the current parameter values (<see cref="InferenceWeights"/>): packed matrices
    /// and lookup tables, about the size of the parameters again. Call once after training or loading; pass the result
    /// to <see cref="Inference.Decoding"/> or let <see cref="Inference.Translator"/> do it. Prepare again after the
    /// parameters change.
    /// </summary>
    /// <returns>An immutable object, usable by this model and its replicas from any number of threads.</returns>
    public InferenceWeights PrepareInference() => new(Config, Parameters, GateCount(Config.Cell));

    private static int GateCount(RecurrentKind kind) => kind switch
    {
        RecurrentKind.Rnn => RnnGates.GateCount,
        RecurrentKind.Gru => GruGates.GateCount,
        _ => LstmGates.GateCount,
    };

    private void CheckPrepared(InferenceWeights weights)
    {
        if (!ReferenceEquals(weights.Parameters, Parameters))
        {
            throw new ArgumentException("These inference weights were prepared from another model's parameters; call PrepareInference on this model (or the one it was replicated from).", nameof(weights));
        }
    }

    private void EnsurePrepared(int bsz, int source)
    {
        if (bsz <= _pBatch && source <= _pSource)
        {
            return;
        }
        int b = _pBatch = Math.Max(bsz, _pBatch);
        int s = _pSource = Math.Max(source, _pSource);
        int gh = GateCount(Config.Cell) * _h, a = Config.EffectiveAttentionSize;
        int directions = Config.Bidirectional ? 2 : 1;
        _pKeys = Config.Scorer is AttentionScorer.Additive or AttentionScorer.General ? new float[b * s * Math.Max(a, _h)] : [];
        _pU = Config.Decoder == DecoderStyle.Bahdanau ? new float[b * s * gh] : [];
        _pFixedGates = new float[b * gh];
        _pGh = new float[gh];
        _pEncGates = new float[s * gh];
        _pLayer = Config.EncoderLayers > 1 ? new float[2 * s * directions * _h] : [];
        _pScratch = new float[gh + 4 * _h];                 // RecurrentInference.SequenceScratch: G·H + ExtraWidth·H + 3·H, ExtraWidth ≤ 1
        _pQuery = new float[a];
    }

    /// <summary>Encoder forward, decoder initial state and attention preparation; with prepared weights, the prepared path.</summary>
    internal void Encode(ReadOnlySpan<int> sourceIds, ReadOnlySpan<int> sourceLengths, int bsz, int source, InferenceWeights? weights)
    {
        if (weights is null)
        {
            _encodedWith = null;
            Encode(sourceIds, sourceLengths, bsz, source);
            return;
        }
        CheckPrepared(weights);
        CheckShape(bsz, source, 1);
        Guard.SameLength(sourceLengths.Length, bsz, nameof(sourceLengths));
        EnsurePrepared(bsz, source);
        _batch = bsz;
        _source = source;
        _hasForward = false;
        _encodedWith = weights;
        _lengthsView = CopyLengths(sourceLengths);
        int h = _h, bh = bsz * h, e = _e, gh = GateCount(Config.Cell) * h;
        int directions = Config.Bidirectional ? 2 : 1, layers = Config.EncoderLayers;
        ReadOnlySpan<float> values = Parameters.Values;
        Span<float> srcEmb = _srcEmb.AsSpan(0, bsz * source * e);
        Embedding.Forward(sourceIds, _sourceEmbedding.Weight.Of(values), Config.SourceVocabSize, e, srcEmb);     // (B, S, E), validates the ids
        Span<float> encOut = _encOut.AsSpan(0, bsz * source * _denc);                                          // (B, S, Denc)
        Span<float> gates = _pEncGates.AsSpan(0, source * gh);
        for (int b = 0; b < bsz; b++)
        {
            int n = sourceLengths[b];
            if ((uint)n > (uint)source)
            {
                throw new ArgumentOutOfRangeException(nameof(sourceLengths), $"{nameof(sourceLengths)}[{b}] = {n} must be in 0..{source}.");
            }
            if (b > 0 && n == sourceLengths[b - 1] && sourceIds.Slice(b * source, source).SequenceEqual(sourceIds.Slice((b - 1) * source, source)))
            {
                // Same source as the row above (beam search encodes one source K times): copy its encoding.
                encOut.Slice((b - 1) * source * _denc, source * _denc).CopyTo(encOut.Slice(b * source * _denc, source * _denc));
                for (int s = 0; s < _states; s++)
                {
                    _encH.AsSpan(s * bh + (b - 1) * h, h).CopyTo(_encH.AsSpan(s * bh + b * h, h));
                    if (_lstm)
                    {
                        _encC.AsSpan(s * bh + (b - 1) * h, h).CopyTo(_encC.AsSpan(s * bh + b * h, h));
                    }
                }
                continue;
            }
            for (int k = 0; k < layers; k++)
            {
                int width = directions * h;                                                                 // D·H
                int input = k == 0 ? e : width;
                ReadOnlySpan<float> x = k == 0 ? srcEmb.Slice(b * source * e, source * e)
                    : _pLayer.AsSpan(((k - 1) & 1) * source * width, source * width);                      // (S, in)
                Span<float> output = k == layers - 1 ? encOut.Slice(b * source * width, source * width)
                    : _pLayer.AsSpan((k & 1) * source * width, source * width);                            // (S, D·H)
                output.Slice(n * width).Clear();                                                            // padded steps: 0
                for (int d = 0; d < directions; d++)
                {
                    int s = k * directions + d;
                    Span<float> g = gates.Slice(0, n * gh);                                                 // (n, G·H)
                    PackedMatrix? ihT = weights.EncoderIhT[s];
                    if (ihT is null)
                    {
                        int vs = Config.SourceVocabSize;
                        ReadOnlySpan<float> table = weights.SourceTable.AsSpan(d * vs * gh, vs * gh);      // (Vs, G·H)
                        for (int t = 0; t < n; t++)
                        {
                            table.Slice(sourceIds[b * source + t] * gh, gh).CopyTo(g.Slice(t * gh, gh));    // x_t W_ihᵀ = T_src[id]
                        }
                    }
                    else if (n > 0)
                    {
                        Gemm.Multiply(n, x, input, Transpose.No, ihT, g, gh, accumulate: false);           // (n, G·H) = X W_ihᵀ
                    }
                    EncoderSequence(weights.EncoderHh[s], weights.EncoderBiasIh[s].Of(values), weights.EncoderBiasHh[s].Of(values), g, n, d == 1,
                        output.Slice(d * h), width,
                        _encH.AsSpan(s * bh + b * h, h), _lstm ? _encC.AsSpan(s * bh + b * h, h) : default);
                }
            }
        }

        // Decoder initial state h_0 (LSTM c_0 = 0), as the plain path.
        Span<float> h0 = _hs.AsSpan(0, bh);
        int last = _states - directions;
        for (int b = 0; b < bsz; b++)
        {
            Span<float> h0b = h0.Slice(b * h, h);
            if (weights.Bridge is not null)
            {
                Span<float> bridgeIn = _bridgeIn.AsSpan(0, 2 * h);                                                   // [h_f; h_b]
                _encH.AsSpan(last * bh + b * h, h).CopyTo(bridgeIn.Slice(0, h));
                _encH.AsSpan((last + 1) * bh + b * h, h).CopyTo(bridgeIn.Slice(h, h));
                Gemv.Multiply(weights.Bridge, bridgeIn, h0b, accumulate: false);
                TensorPrimitives.Add(h0b, _bridge!.Bias!.Of(values), h0b);
                TensorPrimitives.Tanh(h0b, h0b);                                                                     // h_0 = tanh(W [h_f; h_b] + b)
            }
            else
            {
                _encH.AsSpan(last * bh + b * h, h).CopyTo(h0b);
            }
        }
        if (_lstm)
        {
            _cs.AsSpan(0, bh).Clear();
        }

        // Per-sentence projections for the decoder.
        int rows = bsz * source;
        switch (Config.Decoder)
        {
            case DecoderStyle.None:
                h0.CopyTo(_fixed.AsSpan(0, bh));
                for (int b = 0; b < bsz; b++)
                {
                    Gemv.Multiply(weights.CellIhRest, h0.Slice(b * h, h), _pFixedGates.AsSpan(b * gh, gh), accumulate: false);   // W_r c (G·H)
                }
                return;
            case DecoderStyle.Bahdanau:
                _pUseU = source <= _dc;
                if (_pUseU)
                {
                    Gemm.Multiply(rows, encOut, _dc, Transpose.No, weights.CellIhRestT!, _pU.AsSpan(0, rows * gh), gh, accumulate: false); // U = K W_rᵀ (B·S, G·H)
                }
                break;
            default:
                break;
        }
        if (_attention is not null)
        {
            _attention.ScorerImplementation.ProjectKeysPrepared(weights, values, encOut, rows, _pKeys);         // P = project(K) (B·S, P), packed weights
        }
    }

    private void EncoderSequence(PackedGemvMatrix weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh, Span<float> gates, int n, bool reverse,
        Span<float> output, int stride, Span<float> hN, Span<float> cN)
    {
        switch (Config.Cell)
        {
            case RecurrentKind.Rnn:
                RecurrentInference<RnnGates>.Sequence(weightHh, biasIh, biasHh, gates, n, reverse, output, stride, _pScratch, hN, cN);
                break;
            case RecurrentKind.Gru:
                RecurrentInference<GruGates>.Sequence(weightHh, biasIh, biasHh, gates, n, reverse, output, stride, _pScratch, hN, cN);
                break;
            default:
                RecurrentInference<LstmGates>.Sequence(weightHh, biasIh, biasHh, gates, n, reverse, output, stride, _pScratch, hN, cN);
                break;
        }
    }

    private void CellStep(PackedGemvMatrix weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh, Span<float> gates, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c, Span<float> extra)
    {
        switch (Config.Cell)
        {
            case RecurrentKind.Rnn:
                RecurrentInference<RnnGates>.Step(weightHh, biasIh, biasHh, gates, _pGh, hPrev, cPrev, h, c, extra);
                break;
            case RecurrentKind.Gru:
                RecurrentInference<GruGates>.Step(weightHh, biasIh, biasHh, gates, _pGh, hPrev, cPrev, h, c, extra);
                break;
            default:
                RecurrentInference<LstmGates>.Step(weightHh, biasIh, biasHh, gates, _pGh, hPrev, cPrev, h, c, extra);
                break;
        }
    }

    /// <summary>One decoder step (as the plain <see cref="DecoderStep(int, int, ReadOnlySpan{int})"/>); with prepared weights, the prepared path.</summary>
    internal void DecoderStep(int t, int bsz, ReadOnlySpan<int> fed, InferenceWeights? weights)
    {
        if (weights is null)
        {
            DecoderStep(t, bsz, fed);
            return;
        }
        if (!ReferenceEquals(_encodedWith, weights) || bsz != _batch)
        {
            throw new InvalidOperationException("A prepared decoder step needs an Encode with the same inference weights and batch size first.");
        }
        int h = _h, e = _e, gh = GateCount(Config.Cell) * h, cs = _cell.CacheSize, bh = bsz * h;
        ReadOnlySpan<float> values = Parameters.Values;
        ReadOnlySpan<float> biasIh = weights.CellBiasIh.Of(values);
        ReadOnlySpan<float> biasHh = weights.CellBiasHh.Of(values);
        ReadOnlySpan<float> outBias = _out.Bias!.Of(values);
        ReadOnlySpan<float> encOut = _encOut.AsSpan(0, bsz * _source * _denc);
        Span<float> emb = _tgtEmb.AsSpan(t * bsz * e, bsz * e);
        Embedding.Forward(fed, _targetEmbedding.Weight.Of(values), _v, e, emb);                        // (B, E), validates the ids
        for (int b = 0; b < bsz; b++)
        {
            int n = _lengthsView[b];
            ReadOnlySpan<float> hPrev = _hs.AsSpan(t * bh + b * h, h);
            Span<float> hCur = _hs.AsSpan((t + 1) * bh + b * h, h);
            ReadOnlySpan<float> cPrev = _lstm ? _cs.AsSpan(t * bh + b * h, h) : default;
            Span<float> cCur = _lstm ? _cs.AsSpan((t + 1) * bh + b * h, h) : default;
            Span<float> rowCache = _cache.AsSpan((t * bsz + b) * cs, cs);
            Span<float> gates = rowCache.Slice(0, gh);                                                 // (G·H) x W_ihᵀ
            Span<float> outIn = _outIn.AsSpan((t * bsz + b) * _o, _o);                                  // (O)
            if (weights.TargetTable is not null)
            {
                weights.TargetTable.AsSpan(fed[b] * gh, gh).CopyTo(gates);                             //     W_e emb = T[y]
            }
            else
            {
                Gemv.Multiply(weights.CellIhEmbedding!, emb.Slice(b * e, e), gates, accumulate: false); //     W_e emb
            }
            switch (Config.Decoder)
            {
                case DecoderStyle.Bahdanau:
                {
                    Span<float> a = _weights.AsSpan((t * bsz + b) * _source, _source);
                    Span<float> context = _context.AsSpan((t * bsz + b) * _dc, _dc);
                    AttendRow(weights, b, n, hPrev, encOut, a, context);                                // (1) c_t = attn(h_{t-1})
                    if (_pUseU)
                    {
                        Gemv.MultiplyTransposed(_pU.AsSpan(b * _source * gh, n * gh), n, gh, gh, a.Slice(0, n), gates, accumulate: true); // (2) += Σ_j a_j U_j = W_r c_t
                    }
                    else
                    {
                        Gemv.Multiply(weights.CellIhRest, context, gates, accumulate: true);           // (2) += W_r c_t
                    }
                    CellStep(weights.CellHh, biasIh, biasHh, gates, hPrev, cPrev, hCur, cCur, rowCache.Slice(gh)); // (3) h_t = cell(x, h_{t-1})
                    hCur.CopyTo(outIn.Slice(0, h));
                    context.CopyTo(outIn.Slice(h, _dc));                                               // (4) o = [h_t; c_t]
                    break;
                }
                case DecoderStyle.Luong:
                {
                    if (t > 0)
                    {
                        Gemv.Multiply(weights.CellIhRest, _outIn.AsSpan(((t - 1) * bsz + b) * _o, h), gates, accumulate: true); // (1) += W_r h̃_{t-1}
                    }
                    CellStep(weights.CellHh, biasIh, biasHh, gates, hPrev, cPrev, hCur, cCur, rowCache.Slice(gh)); // (2) h_t = cell(x, h_{t-1})
                    Span<float> a = _weights.AsSpan((t * bsz + b) * _source, _source);
                    Span<float> context = _context.AsSpan((t * bsz + b) * _dc, _dc);
                    AttendRow(weights, b, n, hCur, encOut, a, context);                                 // (3) c_t = attn(h_t)
                    Span<float> comb = _comb.AsSpan((t * bsz + b) * (_dc + h), _dc + h);
                    context.CopyTo(comb.Slice(0, _dc));
                    hCur.CopyTo(comb.Slice(_dc, h));                                                   // (4) [c_t; h_t]
                    Gemv.Multiply(weights.Combine!, comb, outIn, accumulate: false);
                    TensorPrimitives.Tanh(outIn, outIn);                                               // (5) h̃_t = tanh(W_c [c_t; h_t])
                    break;
                }
                default:
                {
                    TensorPrimitives.Add(gates, _pFixedGates.AsSpan(b * gh, gh), gates);             // (1) += W_r c
                    CellStep(weights.CellHh, biasIh, biasHh, gates, hPrev, cPrev, hCur, cCur, rowCache.Slice(gh)); // (2) h_t = cell(x, h_{t-1})
                    hCur.CopyTo(outIn.Slice(0, h));
                    _fixed.AsSpan(b * h, h).CopyTo(outIn.Slice(h, h));                                 // (3) o = [h_t; c]
                    break;
                }
            }
            Span<float> logits = _logits.AsSpan((t * bsz + b) * _v, _v);
            Gemv.Multiply(weights.Out, outIn, logits, accumulate: false);
            TensorPrimitives.Add(logits, outBias, logits);                                             // (6) logits = W_out o + b
        }
    }

    /// <summary>Attention for one row b over its n valid keys: a (S) and c (Dc), as <see cref="AttentionLayer.Forward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{int}, Span{float}, Span{float})"/>.</summary>
    private void AttendRow(InferenceWeights weights, int b, int n, ReadOnlySpan<float> query, ReadOnlySpan<float> encOut, Span<float> a, Span<float> context)
    {
        int source = _source, dk = _denc;
        IAttentionScorer scorer = _attention!.ScorerImplementation;
        ReadOnlySpan<float> keys = encOut.Slice(b * source * dk, n * dk);                                 // (n, Dk); values = keys
        int p = scorer.ProjectedWidth;
        ReadOnlySpan<float> projected = scorer.ProjectsKeys ? _pKeys.AsSpan(b * source * p, n * p) : keys;  // (n, P)
        scorer.ScoresPrepared(weights, Parameters.Values, query, projected, n, _pQuery, a);               // (1) s_j = score(q, k_j)
        Softmax.Forward(a, n, a);                                                                       // (2) a = softmax(s), padding 0
        Gemv.MultiplyTransposed(keys, n, dk, dk, a.Slice(0, n), context, accumulate: false);            // (3) c = Σ_j a_j k_j
    }
}
