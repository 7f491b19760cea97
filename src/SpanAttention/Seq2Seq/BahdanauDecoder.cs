using SpanAttention.Attention;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// Bahdanau et al. (2015): attend with the previous state, then step the cell on [emb; context].
/// c_t = attn(h_{t-1}); h_t = cell([emb(y_t); c_t], h_{t-1}); o_t = drop([h_t; c_t]).
/// </summary>
internal sealed class BahdanauDecoder(IDecoderCell cell, AttentionLayer attention, int embedding, int hidden, int context)
    : RecurrentDecoder(cell, attention, embedding, hidden, context, hidden + context)
{
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
        Concat(bsz, w.Embedded(t), E, context, Dc, x);                                              // (2) x = [emb; c_t]
        Cell.Forward(parameters, bsz, x, hPrev, w.CellState(t), hCur, w.CellState(t + 1), w.Cache(t),
            pass.TableColumns, pass.TableColumns > 0 ? w.TableRows : default);                      // (3) h_t = cell(x, h_{t-1})
        Concat(bsz, hCur, H, context, Dc, output);                                                  // (4) o = [h_t; c_t]
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
        // (1) c_t = attn(query = h_{t-1}); the additive scorer's tanh layer is recomputed here
        Attention!.Backward(dContext, default, parameters.Values, hPrev, states, states, memory.Lengths, w.Weights(t), parameters.Gradients,
            pass.DropQueryGradient ? w.DPre : w.DHPrev, dStates, dStates, hiddenCache: default, w.DProjectedQuery(t));
    }
}
