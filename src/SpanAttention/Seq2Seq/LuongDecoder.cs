using System.Numerics.Tensors;
using SpanAttention.Attention;
using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// Luong et al. (2015) with input feeding: step the cell first, then attend with the new state.
/// h_t = cell([emb(y_t); h̃_{t-1}], h_{t-1}) (h̃_{-1} = 0); c_t = attn(h_t); h̃_t = tanh(W_c [c_t; h_t]); o_t = drop(h̃_t),
/// and the dropped h̃_t is also what step t+1 is fed.
/// </summary>
internal sealed class LuongDecoder(IDecoderCell cell, AttentionLayer attention, Linear combine, int embedding, int hidden, int context)
    : RecurrentDecoder(cell, attention, embedding, hidden, context, hidden)
{
    /// <inheritdoc/>
    public override int QuerySlot => 1;

    /// <inheritdoc/>
    public override void Step(ParameterSet parameters, DecoderWorkspace w, EncoderMemory memory, int t, in DecoderPass pass)
    {
        int bsz = w.Batch;
        ReadOnlySpan<float> values = parameters.Values;
        ReadOnlySpan<float> states = memory.States;                                                  // keys = values (B, S, Dc)
        Span<float> x = w.Input(t), hCur = w.State(t + 1), context = w.Context(t), combined = w.Combined(t), output = w.Output(t);
        Concat(bsz, w.Embedded(t), E, t == 0 ? default : w.Output(t - 1), H, x);                    // (1) x = [emb; h̃_{t-1}] (input feeding; h̃_{-1} = 0)
        Cell.Forward(parameters, bsz, x, w.State(t), w.CellState(t), hCur, w.CellState(t + 1), w.Cache(t),
            pass.TableColumns, pass.TableColumns > 0 ? w.TableRows : default);                      // (2) h_t = cell(x, h_{t-1})
        Attention!.Forward(values, hCur, states, states, memory.Lengths, w.Weights(t), context);    // (3) c_t = attn(h_t)
        Concat(bsz, context, Dc, hCur, H, combined);                                                // (4) [c_t; h_t]
        Span<float> tilde = pass.Dropping ? w.Tilde(t) : output;
        combine.Forward(combined, bsz, values, tilde);
        TensorPrimitives.Tanh(tilde, tilde);                                                        // (5) h̃_t = tanh(W_c [c_t; h_t])
        if (pass.Dropping)
        {
            tilde.CopyTo(output);
            pass.DropRows(Dropout.DecoderOutput, t, bsz, O, w.OutputMask(t), output);               // (6) o = drop(h̃_t): read by out and fed to step t+1
        }
    }

    /// <inheritdoc/>
    public override void StepBackward(ParameterSet parameters, DecoderWorkspace w, EncoderMemory memory, int t, in DecoderPass pass)
    {
        int bsz = w.Batch, dc = Dc, h = H;
        ReadOnlySpan<float> values = parameters.Values;
        Span<float> grads = parameters.Gradients;
        ReadOnlySpan<float> states = memory.States;
        Span<float> dStates = memory.DStates;
        ReadOnlySpan<float> hCur = w.State(t + 1);
        Span<float> dH = w.DH, dPre = w.DPre, dContext = w.DContext, dX = w.DX;
        // (6) o_t is read by the output layer and fed to step t+1: dh̃ = (d o + d h̃ from t+1) ⊙ mask
        TensorPrimitives.Add(w.DOutput(t), w.DTilde, dPre);
        if (pass.Dropping)
        {
            Dropout.Apply(dPre, w.OutputMask(t));
        }
        // (5) h̃ = tanh(pre): dpre = dh̃ (1 - h̃²)
        ReadOnlySpan<float> tilde = pass.Dropping ? w.Tilde(t) : w.Output(t);
        for (int k = 0; k < dPre.Length; k++)
        {
            dPre[k] *= 1f - tilde[k] * tilde[k];
        }
        // (4) pre = W_c [c_t; h_t]: dc_t = d[:Dc], dh_t += d[Dc:]
        Span<float> dCombined = w.DCombined;
        dCombined.Clear();
        combine.Backward(dPre, w.Combined(t), bsz, values, grads, dCombined);
        for (int b = 0; b < bsz; b++)
        {
            ReadOnlySpan<float> row = dCombined.Slice(b * (dc + h), dc + h);
            row.Slice(0, dc).CopyTo(dContext.Slice(b * dc, dc));
            TensorPrimitives.Add(dH.Slice(b * h, h), row.Slice(dc, h), dH.Slice(b * h, h));
        }
        // (3) c_t = attn(query = h_t); the additive scorer's tanh layer is recomputed here (d a_t: the attention penalty's, if any)
        Attention!.Backward(dContext, w.DWeightsAt(t), values, hCur, states, states, memory.Lengths, w.Weights(t), grads,
            pass.DropQueryGradient ? dPre : dH, dStates, dStates, hiddenCache: default, w.DProjectedQuery(t));
        // (2) h_t = cell([emb; h̃_{t-1}], h_{t-1})
        Cell.Backward(parameters, bsz, dH, w.DC, w.Input(t), w.State(t), w.CellState(t), w.Cache(t), dX, w.DHPrev, w.DCPrev,
            w.DGatesAt(t), w.DGatesHhAt(t), pass.TableColumns);
        // (1) x = [emb; h̃_{t-1}]: d h̃_{t-1} for step t-1 (at t = 0, h̃_{-1} = 0 and its gradient is dropped)
        SplitInputGradient(bsz, dX, w.DEmbedded, w.DTilde, accumulate: false);
    }

    /// <inheritdoc/>
    public override void ReorderState(DecoderWorkspace w, int t, ReadOnlySpan<int> parents, Span<float> scratch)
    {
        base.ReorderState(w, t, parents, scratch);
        Reorder(w.Output(t), O, parents, scratch);                                                  // h̃_t, fed to step t+1
    }

    /// <inheritdoc/>
    public override void StepPrepared(InferenceWeights weights, ReadOnlySpan<float> values, DecoderWorkspace w, EncoderMemory memory,
        PreparedDecoding prepared, int t, int b, Span<float> gates)
    {
        int h = H, dc = Dc;
        if (t > 0)
        {
            Gemv.Multiply(weights.CellIhRest, w.Output(t - 1).Slice(b * O, h), gates, accumulate: true);            // (1) += W_r h̃_{t-1}
        }
        CellStepPrepared(weights, values, w, prepared, t, b, gates);                                                  // (2) h_t = cell(x, h_{t-1})
        Span<float> hCur = w.State(t + 1).Slice(b * h, h);
        Span<float> a = w.Weights(t).Slice(b * memory.Source, memory.Source), context = w.Context(t).Slice(b * dc, dc);
        prepared.AttendRow(Attention!.ScorerImplementation, weights, values, b, memory.Lengths[b], hCur, memory.States, dc, a, context); // (3) c_t = attn(h_t)
        Span<float> combined = w.Combined(t).Slice(b * (dc + h), dc + h);
        context.CopyTo(combined.Slice(0, dc));
        hCur.CopyTo(combined.Slice(dc, h));                                                                           // (4) [c_t; h_t]
        Span<float> output = w.Output(t).Slice(b * O, O);
        Gemv.Multiply(weights.Combine!, combined, output, accumulate: false);
        TensorPrimitives.Tanh(output, output);                                                                        // (5) h̃_t = tanh(W_c [c_t; h_t])
    }
}
