using System.Numerics.Tensors;
using SpanAttention.Attention;
using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// Bahdanau et al. (2015): attend with the previous state, then step the cell on [emb; context].
/// c_t = attn(h_{t-1}); h_t = cell([emb(y_t); c_t], h_{t-1}); o_t = drop([h_t; c_t]).
/// With the context gate of Show, Attend and Tell, g_t = σ(f_β(h_{t-1})) c_t takes the place of c_t in the cell's input
/// and in o_t.
/// </summary>
internal sealed class BahdanauDecoder(IDecoderCell cell, AttentionLayer attention, ContextGate? gate, int embedding, int hidden, int context)
    : RecurrentDecoder(cell, attention, embedding, hidden, context, hidden + context)
{
    private readonly ContextGate? _gate = gate;

    /// <inheritdoc/>
    public override int QuerySlot => 0;

    /// <inheritdoc/>
    public override void Step(ParameterSet parameters, DecoderWorkspace w, EncoderMemory memory, int t, in DecoderPass pass)
    {
        int bsz = w.Batch;
        ReadOnlySpan<float> values = parameters.Values;
        ReadOnlySpan<float> states = memory.States;                                                  // keys = values (B, S, Dc)
        ReadOnlySpan<float> hPrev = w.State(t);
        Span<float> context = w.Context(t), x = w.Input(t), hCur = w.State(t + 1), output = w.Output(t);
        Attention!.Forward(values, hPrev, states, states, memory.Lengths, w.Weights(t), context);   // (1) c_t = attn(h_{t-1})
        ReadOnlySpan<float> read = context;
        if (_gate is not null)
        {
            _gate.Forward(values, hPrev, context, bsz, w.Beta(t), w.Gated(t));                      // (1') g_t = σ(f_β(h_{t-1})) c_t
            read = w.Gated(t);
        }
        Concat(bsz, w.Embedded(t), E, read, Dc, x);                                                 // (2) x = [emb; c_t]
        Cell.Forward(parameters, bsz, x, hPrev, w.CellState(t), hCur, w.CellState(t + 1), w.Cache(t),
            pass.TableColumns, pass.TableColumns > 0 ? w.TableRows : default);                      // (3) h_t = cell(x, h_{t-1})
        Concat(bsz, hCur, H, read, Dc, output);                                                     // (4) o = [h_t; c_t]
        if (pass.Dropping)
        {
            pass.DropRows(Dropout.DecoderOutput, t, bsz, O, w.OutputMask(t), output);               // (5) o = drop(o)
        }
    }

    /// <inheritdoc/>
    public override void StepBackward(ParameterSet parameters, DecoderWorkspace w, EncoderMemory memory, int t, in DecoderPass pass)
    {
        int bsz = w.Batch;
        ReadOnlySpan<float> states = memory.States;
        Span<float> dStates = memory.DStates;
        ReadOnlySpan<float> hPrev = w.State(t);
        Span<float> dOut = w.DOutput(t), dH = w.DH, dContext = w.DContext, dX = w.DX;
        // (5) o = drop(o'): do' = do ⊙ mask
        if (pass.Dropping)
        {
            Dropout.Apply(dOut, w.OutputMask(t));
        }
        // (4) o = [h_t; c_t]: dh_t += do[:H], dc_t = do[H:]
        SplitOutputGradient(bsz, dOut, dH, H, dContext, Dc, accumulateB: false);
        // (3) h_t = cell([emb; c_t], h_{t-1})
        Cell.Backward(parameters, bsz, dH, w.DC, w.Input(t), hPrev, w.CellState(t), w.Cache(t), dX, w.DHPrev, w.DCPrev,
            w.DGatesAt(t), w.DGatesHhAt(t), pass.TableColumns);
        // (2) x = [emb; c_t]
        SplitInputGradient(bsz, dX, w.DEmbedded, dContext, accumulate: true);
        // (1') g_t = β_t c_t: dc_t = β_t dg_t, and β's share of d h_{t-1} and of the gate's weights
        _gate?.Backward(dContext, parameters.Values, hPrev, w.Context(t), w.Beta(t), bsz, parameters.Gradients, w.DHPrev);
        // (1) c_t = attn(query = h_{t-1}); the additive scorer's tanh layer is recomputed here (d a_t: the attention penalty's, if any)
        Attention!.Backward(dContext, w.DWeightsAt(t), parameters.Values, hPrev, states, states, memory.Lengths, w.Weights(t), parameters.Gradients,
            pass.DropQueryGradient ? w.DPre : w.DHPrev, dStates, dStates, hiddenCache: default, w.DProjectedQuery(t));
    }

    /// <inheritdoc/>
    public override void PrepareSentences(InferenceWeights weights, DecoderWorkspace w, EncoderMemory memory, PreparedDecoding prepared)
    {
        int rows = memory.Batch * memory.Source;
        // U folds c_t into the gates (a gated c_t needs β first); a row uses it when its own n ≤ Dc, so a row's numbers
        // do not depend on the other rows of its batch.
        prepared.UseU = _gate is null ? Dc : 0;
        if (ShortestSource(memory) <= prepared.UseU)
        {
            Gemm.Multiply(rows, memory.States, Dc, Transpose.No, weights.CellIhRestT!, prepared.AllU(rows), Cell.GateWidth, accumulate: false); // U = K W_rᵀ (B·S, G·H)
        }
    }

    private static int ShortestSource(EncoderMemory memory)
    {
        int shortest = int.MaxValue;
        foreach (int n in memory.Lengths)
        {
            shortest = Math.Min(shortest, n);
        }
        return shortest;
    }

    /// <inheritdoc/>
    public override void StepPrepared(InferenceWeights weights, ReadOnlySpan<float> values, DecoderWorkspace w, EncoderMemory memory,
        PreparedDecoding prepared, int t, int b, Span<float> gates)
    {
        int h = H, n = memory.Lengths[b], gh = Cell.GateWidth;
        Span<float> hCur = w.State(t + 1).Slice(b * h, h), output = w.Output(t).Slice(b * O, O);
        Span<float> a = w.Weights(t).Slice(b * memory.Source, memory.Source), context = w.Context(t).Slice(b * Dc, Dc);
        ReadOnlySpan<float> hPrev = w.State(t).Slice(b * h, h);
        prepared.AttendRow(Attention!.ScorerImplementation, weights, values, b, n, hPrev, memory.States, Dc, a, context); // (1) c_t = attn(h_{t-1})
        if (_gate is not null)
        {
            Span<float> gated = w.Gated(t).Slice(b * Dc, Dc);
            float beta = _gate.Beta(values, hPrev);
            w.Beta(t)[b] = beta;
            TensorPrimitives.Multiply(context, beta, gated);                                  // (1') g_t = β_t c_t
            context = gated;
        }
        if (n <= prepared.UseU)
        {
            Gemv.MultiplyTransposed(prepared.U(b).Slice(0, n * gh), n, gh, gh, a.Slice(0, n), gates, accumulate: true);  // (2) += Σ_j a_j U_j = W_r c_t
        }
        else
        {
            Gemv.Multiply(weights.CellIhRest, context, gates, accumulate: true);                                      // (2) += W_r c_t
        }
        CellStepPrepared(weights, values, w, prepared, t, b, gates);                                                  // (3) h_t = cell(x, h_{t-1})
        hCur.CopyTo(output.Slice(0, h));
        context.CopyTo(output.Slice(h, Dc));                                                                          // (4) o = [h_t; c_t]
    }
}
