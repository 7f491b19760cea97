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
        _pKeys = Config.Scorer is AttentionScorer.Additive or AttentionScorer.General ? new float[b * s * Math.Max(a, _h)] : [];
        _pU = Config.Decoder == DecoderStyle.Bahdanau ? new float[b * s * gh] : [];
        _pFixedGates = new float[b * gh];
        _pGh = new float[gh];
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
        SetShape(bsz, source);
        _encodedWith = weights;
        int h = _h, bh = bsz * h, gh = GateCount(Config.Cell) * h;
        ReadOnlySpan<float> values = Parameters.Values;
        _encoder.ForwardPrepared(weights, Parameters, new SourceInput(sourceIds, sourceLengths, bsz, source), _memory);   // memory: (B, S, Denc), h_0 (B, H)
        StartDecoder();
        ReadOnlySpan<float> encOut = _memory.States;
        Span<float> h0 = _work.State(0);

        // Per-sentence projections for the decoder.
        int rows = bsz * source;
        switch (Config.Decoder)
        {
            case DecoderStyle.None:
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
        ReadOnlySpan<float> encOut = _memory.States;                                                   // keys = values (B, S, Denc)
        Span<float> emb = _work.Embedded(t);
        Embedding.Forward(fed, _targetEmbedding.Weight.Of(values), _v, e, emb);                        // (B, E), validates the ids
        for (int b = 0; b < bsz; b++)
        {
            int n = _memory.Lengths[b];
            ReadOnlySpan<float> hPrev = _work.State(t).Slice(b * h, h);
            Span<float> hCur = _work.State(t + 1).Slice(b * h, h);
            ReadOnlySpan<float> cPrev = _lstm ? _work.CellState(t).Slice(b * h, h) : default;
            Span<float> cCur = _lstm ? _work.CellState(t + 1).Slice(b * h, h) : default;
            Span<float> rowCache = _work.Cache(t).Slice(b * cs, cs);
            Span<float> gates = rowCache.Slice(0, gh);                                                 // (G·H) x W_ihᵀ
            Span<float> outIn = _work.Output(t).Slice(b * _o, _o);                                      // (O)
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
                    Span<float> a = _work.Weights(t).Slice(b * _source, _source);
                    Span<float> context = _work.Context(t).Slice(b * _dc, _dc);
                    AttendRow(weights, b, n, hPrev, encOut, a, context);                                // (1) c_t = attn(h_{t-1})
                    if (_pUseU)
                    {
                        Gemv.MultiplyTransposed(_pU.AsSpan(b * _source * gh, n * gh), n, gh, gh, a.Slice(0, n), gates, accumulate: true); // (2) += Σ_j a_j U_j = W_r c_t
                    }
                    else
                    {
                        Gemv.Multiply(weights.CellIhRest, context, gates, accumulate: true);           // (2) += W_r c_t
                    }
                    _cell.PreparedStep(weights.CellHh, biasIh, biasHh, gates, _pGh, hPrev, cPrev, hCur, cCur, rowCache.Slice(gh)); // (3) h_t = cell(x, h_{t-1})
                    hCur.CopyTo(outIn.Slice(0, h));
                    context.CopyTo(outIn.Slice(h, _dc));                                               // (4) o = [h_t; c_t]
                    break;
                }
                case DecoderStyle.Luong:
                {
                    if (t > 0)
                    {
                        Gemv.Multiply(weights.CellIhRest, _work.Output(t - 1).Slice(b * _o, h), gates, accumulate: true); // (1) += W_r h̃_{t-1}
                    }
                    _cell.PreparedStep(weights.CellHh, biasIh, biasHh, gates, _pGh, hPrev, cPrev, hCur, cCur, rowCache.Slice(gh)); // (2) h_t = cell(x, h_{t-1})
                    Span<float> a = _work.Weights(t).Slice(b * _source, _source);
                    Span<float> context = _work.Context(t).Slice(b * _dc, _dc);
                    AttendRow(weights, b, n, hCur, encOut, a, context);                                 // (3) c_t = attn(h_t)
                    Span<float> comb = _work.Combined(t).Slice(b * (_dc + h), _dc + h);
                    context.CopyTo(comb.Slice(0, _dc));
                    hCur.CopyTo(comb.Slice(_dc, h));                                                   // (4) [c_t; h_t]
                    Gemv.Multiply(weights.Combine!, comb, outIn, accumulate: false);
                    TensorPrimitives.Tanh(outIn, outIn);                                               // (5) h̃_t = tanh(W_c [c_t; h_t])
                    break;
                }
                default:
                {
                    TensorPrimitives.Add(gates, _pFixedGates.AsSpan(b * gh, gh), gates);             // (1) += W_r c
                    _cell.PreparedStep(weights.CellHh, biasIh, biasHh, gates, _pGh, hPrev, cPrev, hCur, cCur, rowCache.Slice(gh)); // (2) h_t = cell(x, h_{t-1})
                    hCur.CopyTo(outIn.Slice(0, h));
                    _work.FixedContext.Slice(b * h, h).CopyTo(outIn.Slice(h, h));                                 // (3) o = [h_t; c]
                    break;
                }
            }
            Span<float> logits = _work.Logits(t).Slice(b * _v, _v);
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
