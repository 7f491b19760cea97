using System.Numerics.Tensors;
using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// The no-attention baseline (Cho et al. 2014; Sutskever et al. 2014): one fixed context c = h_0 for every step.
/// h_t = cell([emb(y_t); c], h_{t-1}); o_t = drop([h_t; c]).
/// </summary>
internal sealed class FixedContextDecoder(IDecoderCell cell, int embedding, int hidden)
    : RecurrentDecoder(cell, null, embedding, hidden, hidden, 2 * hidden)
{
    /// <inheritdoc/>
    public override int QuerySlot => 0;

    /// <inheritdoc/>
    public override void Step(ParameterSet parameters, DecoderWorkspace w, EncoderMemory memory, int t, in DecoderPass pass)
    {
        int bsz = w.Batch;
        ReadOnlySpan<float> fixedContext = w.FixedContext;
        Span<float> x = w.Input(t), hCur = w.State(t + 1), output = w.Output(t);
        Concat(bsz, w.Embedded(t), E, fixedContext, H, x);                                          // (1) x = [emb; c]
        Cell.Forward(parameters, bsz, x, w.State(t), w.CellState(t), hCur, w.CellState(t + 1), w.Cache(t),
            pass.TableColumns, pass.TableColumns > 0 ? w.TableRows : default);                      // (2) h_t = cell(x, h_{t-1})
        Concat(bsz, hCur, H, fixedContext, H, output);                                              // (3) o = [h_t; c]
        if (pass.Dropping)
        {
            pass.DropRows(Dropout.DecoderOutput, t, bsz, O, w.OutputMask(t), output);               // (4) o = drop(o)
        }
    }

    /// <inheritdoc/>
    public override void StepBackward(ParameterSet parameters, DecoderWorkspace w, EncoderMemory memory, int t, in DecoderPass pass)
    {
        int bsz = w.Batch;
        Span<float> dOut = w.DOutput(t), dX = w.DX;
        // (4) o = drop(o'): do' = do ⊙ mask
        if (pass.Dropping)
        {
            Dropout.Apply(dOut, w.OutputMask(t));
        }
        // (3) o = [h_t; c]: dh_t += do[:H], dc += do[H:]
        SplitOutputGradient(bsz, dOut, w.DH, H, w.DFixed, H, accumulateB: true);
        // (2) h_t = cell([emb; c], h_{t-1})
        Cell.Backward(parameters, bsz, w.DH, w.DC, w.Input(t), w.State(t), w.CellState(t), w.Cache(t), dX, w.DHPrev, w.DCPrev,
            w.DGatesAt(t), w.DGatesHhAt(t), pass.TableColumns);
        // (1) x = [emb; c]
        SplitInputGradient(bsz, dX, w.DEmbedded, w.DFixed, accumulate: true);
    }

    /// <summary>c = h_0: its gradient, summed over the steps, joins d h_0.</summary>
    public override void FinishBackward(DecoderWorkspace w)
    {
        Span<float> dH0 = w.DHPrev;
        TensorPrimitives.Add(dH0, w.DFixed, dH0);
    }

    /// <inheritdoc/>
    public override void PrepareSentences(InferenceWeights weights, DecoderWorkspace w, EncoderMemory memory, PreparedDecoding prepared)
    {
        ReadOnlySpan<float> fixedContext = w.FixedContext;
        for (int b = 0; b < memory.Batch; b++)
        {
            Gemv.Multiply(weights.CellIhRest, fixedContext.Slice(b * H, H), prepared.FixedGates(b), accumulate: false);   // W_r c (G·H), once per sentence
        }
    }

    /// <inheritdoc/>
    public override void StepPrepared(InferenceWeights weights, ReadOnlySpan<float> values, DecoderWorkspace w, EncoderMemory memory,
        PreparedDecoding prepared, int t, int b, Span<float> gates)
    {
        int h = H;
        TensorPrimitives.Add(gates, prepared.FixedGates(b), gates);                                                   // (1) += W_r c
        CellStepPrepared(weights, values, w, prepared, t, b, gates);                                                  // (2) h_t = cell(x, h_{t-1})
        Span<float> output = w.Output(t).Slice(b * O, O);
        w.State(t + 1).Slice(b * h, h).CopyTo(output.Slice(0, h));
        w.FixedContext.Slice(b * h, h).CopyTo(output.Slice(h, h));                                                    // (3) o = [h_t; c]
    }
}
