using System.Numerics.Tensors;
using SpanAttention.Attention;
using SpanAttention.Kernels;
using SpanAttention.Recurrent;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// The prepared decoding path: <see cref="Encode(ReadOnlySpan{int}, ReadOnlySpan{int}, int, int, InferenceWeights?)"/> and
/// <see cref="DecoderStep(int, int, ReadOnlySpan{int}, InferenceWeights?)"/> with an <see cref="InferenceWeights"/>.
/// Same equations as the plain path (class remarks), computed row by row with packed GEMVs, lookup tables and the
/// per-sentence projections described on <see cref="InferenceWeights"/>: the encoder's <c>ForwardPrepared</c>, then
/// per step the embedding's projection, the decoder's <c>StepPrepared</c> and the packed output layer. Forward only:
/// a prepared step caches nothing for backward.
/// </summary>
public sealed partial class Seq2SeqModel
{
    private PreparedDecoding? _prepared;   // built on first use, then reused: steady state allocates nothing
    private InferenceWeights? _encodedWith;

    /// <summary>
    /// Builds the decoding layout of the current parameter values (<see cref="InferenceWeights"/>): packed matrices
    /// and lookup tables, about the size of the parameters again. Call once after training or loading; pass the result
    /// to <see cref="Inference.Decoding"/> or let <see cref="Inference.Translator"/> do it. Prepare again after the
    /// parameters change.
    /// </summary>
    /// <returns>An immutable object, usable by this model and its replicas from any number of threads.</returns>
    public InferenceWeights PrepareInference() => PrepareInference(InferenceWeightFormat.Float32);

    /// <summary>As <see cref="PrepareInference()"/>, with the GEMV matrices stored as <paramref name="format"/>
    /// (<see cref="InferenceWeightFormat"/>: bf16 or int8 halve or quarter the bytes a decoder step streams).</summary>
    /// <param name="format">How the matrices a decoder step multiplies by a vector are stored.</param>
    /// <returns>An immutable object, usable by this model and its replicas from any number of threads.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="format"/> is not a defined value.</exception>
    /// <exception cref="ArgumentException">Int8 and a weight is NaN or infinite.</exception>
    public InferenceWeights PrepareInference(InferenceWeightFormat format) =>
        new(Config, Parameters, GateCount(Config.Cell), packEncoder: _encoder is RecurrentEncoder, format);

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

    /// <summary>Encoder forward, decoder initial state and attention preparation; with prepared weights, the prepared path.</summary>
    internal void Encode(ReadOnlySpan<int> sourceIds, ReadOnlySpan<int> sourceLengths, int bsz, int source, InferenceWeights? weights)
    {
        Guard.SameLength(sourceLengths.Length, bsz, nameof(sourceLengths));
        Encode(new SourceInput(sourceIds, sourceLengths, bsz, source), weights);
    }

    /// <summary>As <see cref="Encode(ReadOnlySpan{int}, ReadOnlySpan{int}, int, int, InferenceWeights?)"/> for any source kind.</summary>
    internal void Encode(SourceInput input, InferenceWeights? weights)
    {
        if (weights is null)
        {
            _encodedWith = null;
            Encode(input);
            return;
        }
        int bsz = input.Batch, source = input.Steps;
        CheckPrepared(weights);
        CheckShape(bsz, source, 1);
        CheckSourceKind(input);
        Guard.SameLength(input.Lengths.Length, bsz, nameof(input));
        int a = Config.EffectiveAttentionSize;
        _prepared ??= new PreparedDecoding(_cell.GateWidth, Config.Scorer is AttentionScorer.Additive or AttentionScorer.General || Config.ProjectsDotKeys ? Math.Max(a, _h) : 0, a,
            Config.Decoder == DecoderStyle.Bahdanau);
        _prepared.Prepare(bsz, source);
        SetShape(bsz, source);
        _encodedWith = weights;
        _encoder.ForwardPrepared(weights, Parameters, input, _memory);                                                  // memory: (B, S, Denc), h_0 (B, H)
        StartDecoder();
        _decoder.PrepareSentences(weights, _work, _memory, _prepared);                                                // per-sentence projections
        _attention?.ScorerImplementation.ProjectKeysPrepared(weights, Parameters.Values, _memory.States, bsz * source, _prepared.Keys); // P = project(K) (B·S, P)
    }

    /// <summary>One decoder step (as the plain <see cref="DecoderStep(int, int, ReadOnlySpan{int})"/>); with prepared weights, the prepared path.</summary>
    internal void DecoderStep(int t, int bsz, ReadOnlySpan<int> fed, InferenceWeights? weights) => DecoderStep(t, bsz, fed, weights, default);

    /// <summary>
    /// As <see cref="DecoderStep(int, int, ReadOnlySpan{int}, InferenceWeights?)"/>; on the prepared path the rows with
    /// <paramref name="skip"/>[b] set (finished outputs) are not computed: their step-t outputs are left as they were. Each
    /// computed row reads only its own state, so its numbers do not depend on which other rows are skipped.
    /// </summary>
    /// <param name="t">Step.</param>
    /// <param name="bsz">B, the encoded batch's.</param>
    /// <param name="fed">(B) the ids fed at step t.</param>
    /// <param name="weights">Prepared weights (the ones encoded with), or null for the plain path.</param>
    /// <param name="skip">(B) rows to leave out, or empty for none; the plain path computes every row.</param>
    internal void DecoderStep(int t, int bsz, ReadOnlySpan<int> fed, InferenceWeights? weights, ReadOnlySpan<bool> skip)
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
        int e = _e, gh = _cell.GateWidth, cs = _cell.CacheSize;
        ReadOnlySpan<float> values = Parameters.Values;
        ReadOnlySpan<float> outBias = _out.Bias!.Of(values);
        Span<float> emb = _work.Embedded(t);
        Embedding.Forward(fed, _targetEmbedding.Weight.Of(values), _v, e, emb);                        // (0) emb (B, E), validates the ids
        for (int b = 0; b < bsz; b++)
        {
            if (!skip.IsEmpty && skip[b])
            {
                continue;
            }
            Span<float> gates = _work.Cache(t).Slice(b * cs, gh);                                       // (G·H) x W_ihᵀ
            if (weights.TargetTable is not null)
            {
                weights.TargetTable.AsSpan(fed[b] * gh, gh).CopyTo(gates);                             //     W_e emb = T[y]
            }
            else
            {
                Gemv.Multiply(weights.CellIhEmbedding!, emb.Slice(b * e, e), gates, accumulate: false); //     W_e emb
            }
            _decoder.StepPrepared(weights, values, _work, _memory, _prepared!, t, b, gates);          // (1-5) h_t, o_t
            Span<float> logits = _work.Logits(t).Slice(b * _v, _v);
            Gemv.Multiply(weights.Out, _work.Output(t).Slice(b * _o, _o), logits, accumulate: false);
            TensorPrimitives.Add(logits, outBias, logits);                                             // (6) logits = W_out o + b
        }
    }
}
