using SpanAttention.Attention;
using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// A model's weights re-laid out once for decoding (<see cref="Seq2SeqModel.PrepareInference()"/>): every
/// matrix that a batch-1 decoder step multiplies by a vector is a <see cref="PackedGemvMatrix"/> (one sequential
/// stream per four rows), every matrix applied to all source positions at once is a <see cref="PackedMatrix"/>,
/// and small-vocabulary embeddings are folded into the recurrent input projection as lookup tables.
/// </summary>
/// <remarks>
/// <para>What is prepared (shapes as in docs/shapes.md; G gates, Vs/V source/target vocabulary):</para>
/// <list type="bullet">
/// <item>Encoder, per layer·direction: W_hh (G·H, H) packed for GEMV; W_ih as op(B) = W_ihᵀ (in, G·H) packed for GEMM,
/// except layer 0 when Vs ≤ 4E: then the table T_src[v] = W_ih E_src[v] (Vs, G·H) replaces the input projection.</item>
/// <item>Bridge (bidirectional): W (H, 2H) packed for GEMV.</item>
/// <item>A Transformer encoder: nothing (its prepared forward is the plain one, see <see cref="TransformerEncoder"/>).</item>
/// <item>Decoder cell: W_hh packed for GEMV. W_ih = [W_e | W_r] is split at column E: the embedding part becomes the
/// table T[v] = W_e E[v] (V, G·H) when V ≤ 4E (else W_e packed for GEMV); the rest W_r (G·H, I−E) is packed for GEMV
/// and, for Bahdanau, also as op(B) = W_rᵀ so that U = K W_rᵀ (S, G·H) is formed once per sentence and
/// W_r c_t = Σ_j a_j U_j needs S·G·H multiply-adds per step instead of G·H·Dc.</item>
/// <item>Attention: Additive W_q (A, Dq) packed for GEMV and W_kᵀ packed for GEMM; General Wᵀ packed for GEMM.</item>
/// <item>Luong combine W_c (H, Dc+H) and the output layer W_out (V, O) packed for GEMV.</item>
/// </list>
/// <para>With <see cref="InferenceWeightFormat.BFloat16"/> or <see cref="InferenceWeightFormat.Int8"/> the GEMV matrices
/// above are stored narrow (the rest stays fp32) and widened to fp32 inside the kernels.</para>
/// <para>Biases, v and the embeddings themselves are read from the model's parameter values at decode time.
/// The object is immutable after construction, so any number of threads (model replicas sharing the same
/// <see cref="ParameterSet"/>) may decode with it at once. It is a snapshot: after the parameters change
/// (training, loading), prepare again. Results equal the plain path up to float summation order.</para>
/// </remarks>
public sealed class InferenceWeights
{
    /// <summary>A vocabulary up to this many times E gets a lookup table (the table is then at most this many times W_e).</summary>
    internal const int TableVocabularyFactor = 4;

    internal InferenceWeights(Seq2SeqConfig config, ParameterSet parameters, int gates, bool packEncoder, InferenceWeightFormat format)
    {
        Parameters = parameters;
        Format = format;
        _element = format switch
        {
            InferenceWeightFormat.Float32 => PackedElement.Float32,
            InferenceWeightFormat.BFloat16 => PackedElement.BFloat16,
            InferenceWeightFormat.Int8 => PackedElement.Int8,
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "The weight format must be Float32, BFloat16 or Int8."),
        };
        ParameterLayout layout = parameters.Layout;
        ReadOnlySpan<float> values = parameters.Values;
        int e = config.EmbeddingSize, h = config.HiddenSize, gh = gates * h;
        int directions = config.Bidirectional ? 2 : 1;

        // Encoder: the built-in recurrent one only (packEncoder); any other encoder's prepared forward is its plain forward.
        int recurrentLayers = packEncoder ? config.EncoderLayers : 0;
        int states = recurrentLayers * directions;
        EncoderHh = new PackedGemvMatrix[states];
        EncoderIhT = new PackedMatrix?[states];
        EncoderBiasIh = new ParameterSlot[states];
        EncoderBiasHh = new ParameterSlot[states];
        bool sourceTable = recurrentLayers > 0 && config.SourceVocabSize <= TableVocabularyFactor * e;
        SourceTable = sourceTable ? new float[directions * config.SourceVocabSize * gh] : null;
        ReadOnlySpan<float> sourceEmbedding = recurrentLayers > 0 ? layout["encoder.embedding.weight"].Of(values) : default; // (Vs, E)
        for (int k = 0; k < recurrentLayers; k++)
        {
            int input = k == 0 ? e : directions * h;
            for (int d = 0; d < directions; d++)
            {
                string suffix = $"_l{k}" + (d == 1 ? "_reverse" : "");
                ReadOnlySpan<float> wih = layout["encoder.rnn.weight_ih" + suffix].Of(values);              // (G·H, in)
                ReadOnlySpan<float> whh = layout["encoder.rnn.weight_hh" + suffix].Of(values);              // (G·H, H)
                int s = k * directions + d;
                EncoderHh[s] = Packed(whh, gh, h, h);
                EncoderBiasIh[s] = layout["encoder.rnn.bias_ih" + suffix];
                EncoderBiasHh[s] = layout["encoder.rnn.bias_hh" + suffix];
                if (k == 0 && sourceTable)
                {
                    int vs = config.SourceVocabSize;
                    Gemm.Multiply(vs, gh, e, sourceEmbedding, e, Transpose.No, wih, e, Transpose.Yes,
                        SourceTable.AsSpan(d * vs * gh, vs * gh), gh, accumulate: false);                   // T_src = E_src W_ihᵀ (Vs, G·H)
                }
                else
                {
                    var packed = new PackedMatrix(input, gh);
                    packed.Pack(wih, input, Transpose.Yes);                                                 // op(B) = W_ihᵀ (in, G·H)
                    EncoderIhT[s] = packed;
                }
            }
        }
        if (config.Bidirectional)
        {
            Bridge = Packed(layout["bridge.weight"].Of(values), h, 2 * h, 2 * h);                          // (H, 2H)
        }

        // Decoder cell: W_ih = [W_e | W_r] (G·H, E + R).
        int i = layout["decoder.cell.weight_ih"].Shape[1];
        int rest = i - e;
        ReadOnlySpan<float> cellIh = layout["decoder.cell.weight_ih"].Of(values);                         // (G·H, I)
        CellHh = Packed(layout["decoder.cell.weight_hh"].Of(values), gh, h, h);
        CellBiasIh = layout["decoder.cell.bias_ih"];
        CellBiasHh = layout["decoder.cell.bias_hh"];
        if (config.TargetVocabSize <= TableVocabularyFactor * e)
        {
            int v = config.TargetVocabSize;
            TargetTable = new float[v * gh];
            Gemm.Multiply(v, gh, e, layout["decoder.embedding.weight"].Of(values), e, Transpose.No, cellIh, i, Transpose.Yes,
                TargetTable, gh, accumulate: false);                                                         // T = E W_eᵀ (V, G·H)
        }
        else
        {
            CellIhEmbedding = Packed(cellIh, gh, e, i);                                                      // W_e (G·H, E), a view with ld = I
        }
        CellIhRest = Packed(cellIh.Slice(e), gh, rest, i);                                                   // W_r (G·H, R)
        if (config.Decoder == DecoderStyle.Bahdanau)
        {
            CellIhRestT = new PackedMatrix(rest, gh);
            CellIhRestT.Pack(cellIh.Slice(e), i, Transpose.Yes);                                             // op(B) = W_rᵀ (Dc, G·H)
        }

        // Attention.
        if (config.Decoder != DecoderStyle.None)
        {
            int a = config.EffectiveAttentionSize, dk = config.EncoderOutputSize;
            if (config.Scorer == AttentionScorer.Additive)
            {
                QueryWeight = Packed(layout["decoder.attention.W_q.weight"].Of(values), a, h, h);           // W_q (A, Dq)
                KeyWeightT = new PackedMatrix(dk, a);
                KeyWeightT.Pack(layout["decoder.attention.W_k.weight"].Of(values), dk, Transpose.Yes);       // op(B) = W_kᵀ (Dk, A)
            }
            else if (config.Scorer == AttentionScorer.General || config.ProjectsDotKeys)
            {
                string name = config.Scorer == AttentionScorer.General ? "decoder.attention.W.weight" : "decoder.attention.key_proj.weight";
                KeyWeightT = new PackedMatrix(dk, h);
                KeyWeightT.Pack(layout[name].Of(values), dk, Transpose.Yes);                                 // op(B) = Wᵀ (Dk, Dq)
            }
        }
        if (config.Decoder == DecoderStyle.Luong)
        {
            int dc = config.EncoderOutputSize;
            Combine = Packed(layout["decoder.combine.weight"].Of(values), h, dc + h, dc + h);               // W_c (H, Dc+H)
        }
        ParameterSlot outWeight = layout["decoder.out.weight"];
        Out = Packed(outWeight.Of(values), outWeight.Shape[0], outWeight.Shape[1], outWeight.Shape[1]);     // W_out (V, O)
    }

    private readonly PackedElement _element;

    /// <summary>How the GEMV matrices are stored.</summary>
    public InferenceWeightFormat Format { get; }

    /// <summary>The parameter set these weights were prepared from (a model may only decode with its own, or a replica's).</summary>
    internal ParameterSet Parameters { get; }

    /// <summary>[layer·D + direction] W_hh (G·H, H).</summary>
    internal PackedGemvMatrix[] EncoderHh { get; }

    /// <summary>[layer·D + direction] op(B) = W_ihᵀ (in, G·H); null where <see cref="SourceTable"/> replaces it.</summary>
    internal PackedMatrix?[] EncoderIhT { get; }

    /// <summary>[layer·D + direction] b_ih (G·H).</summary>
    internal ParameterSlot[] EncoderBiasIh { get; }

    /// <summary>[layer·D + direction] b_hh (G·H).</summary>
    internal ParameterSlot[] EncoderBiasHh { get; }

    /// <summary>Decoder cell b_ih (G·H).</summary>
    internal ParameterSlot CellBiasIh { get; }

    /// <summary>Decoder cell b_hh (G·H).</summary>
    internal ParameterSlot CellBiasHh { get; }

    /// <summary>(D, Vs, G·H) layer-0 input projection of every source token, or null when Vs &gt; 4E.</summary>
    internal float[]? SourceTable { get; }

    /// <summary>Bidirectional bridge W (H, 2H); null otherwise.</summary>
    internal PackedGemvMatrix? Bridge { get; }

    /// <summary>(V, G·H) decoder input projection of every target token, or null when V &gt; 4E.</summary>
    internal float[]? TargetTable { get; }

    /// <summary>W_e (G·H, E) when there is no <see cref="TargetTable"/>.</summary>
    internal PackedGemvMatrix? CellIhEmbedding { get; }

    /// <summary>W_r (G·H, I−E): the columns of W_ih after the embedding.</summary>
    internal PackedGemvMatrix CellIhRest { get; }

    /// <summary>Bahdanau: op(B) = W_rᵀ (Dc, G·H).</summary>
    internal PackedMatrix? CellIhRestT { get; }

    /// <summary>Decoder W_hh (G·H, H).</summary>
    internal PackedGemvMatrix CellHh { get; }

    /// <summary>Additive W_q (A, Dq).</summary>
    internal PackedGemvMatrix? QueryWeight { get; }

    /// <summary>Additive op(B) = W_kᵀ (Dk, A); General (and Dot/ScaledDot with a key projection) op(B) = Wᵀ (Dk, Dq).</summary>
    internal PackedMatrix? KeyWeightT { get; }

    /// <summary>Luong W_c (H, Dc+H).</summary>
    internal PackedGemvMatrix? Combine { get; }

    /// <summary>W_out (V, O).</summary>
    internal PackedGemvMatrix Out { get; }

    private PackedGemvMatrix Packed(ReadOnlySpan<float> w, int rows, int cols, int ldw)
    {
        var packed = new PackedGemvMatrix(rows, cols, _element);
        packed.Pack(w, rows, cols, ldw);
        return packed;
    }
}
