using System.Numerics.Tensors;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// The teacher-forced training pass: <see cref="Forward"/> and its <see cref="Backward"/>, side by side, the backward
/// walking the forward's passes in reverse (docs/derivations/seq2seq.md).
/// </summary>
public sealed partial class Seq2SeqModel
{
    /// <summary>
    /// Teacher-forced forward over a padded batch and the masked cross-entropy (mean over non-padding target tokens), plus
    /// the attention penalty when <see cref="Seq2SeqConfig.AttentionRegularization"/> is set.
    /// </summary>
    /// <param name="batch">The batch (B ≤ MaxBatch, S ≤ MaxSource, T ≤ MaxTarget).</param>
    /// <param name="teacherForcingRatio">Probability that a step t ≥ 1 is fed the reference token; otherwise the
    /// model's own greedy prediction of step t-1 is fed (the same choice for the whole batch at that step).
    /// Backward treats a fed prediction as a constant.</param>
    /// <param name="random">Source of the teacher-forcing draws (needed only when the ratio is below 1).</param>
    /// <returns>The mean loss over counted tokens (0 if none).</returns>
    public float Forward(Seq2SeqBatch batch, float teacherForcingRatio = 1f, SplitMix64? random = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (teacherForcingRatio < 1f && random is null)
        {
            throw new ArgumentNullException(nameof(random), "A teacher-forcing ratio below 1 needs a random source.");
        }
        int bsz = batch.BatchSize, steps = batch.TargetLength;
        CheckShape(bsz, batch.SourceLength, steps);
        float dropout = Training ? Config.Dropout : 0f;
        // Small vocabularies (and no embedding dropout, see UseInputTable): the decoder cell's input projection of the
        // embeddings takes one of V values per token, so compute the V rows once instead of T·B (the encoder does the same).
        var pass = new DecoderPass(UseInputTable(bsz, steps, dropout > 0f) ? _e : 0, dropout, DropoutSeed, DropoutStep, DropoutRowOffset, steps,
            DropQueryGradient: false);
        _forwardPass = pass;
        ReadOnlySpan<float> values = Parameters.Values;
        try
        {
            // 1-3. The encoder: memory (B, S, Denc) and h_0.
            Encode(batch.Source,
                new EncoderPass(dropout, DropoutSeed, DropoutStep, DropoutRowOffset, AllowTables: !Faults.DisableInputTables));
            if (pass.TableColumns > 0)
            {
                InputTable.Build(_v, _cell.GateWidth, _e, _targetEmbedding.Weight.Of(values), _cell.WeightIhSlot.Of(values), _i,
                    _inputTable.AsSpan(0, _v * _cell.GateWidth));                                     // table = E_tgt W_ih[:, :E]ᵀ (V, G·H)
            }
            if (bsz > 1)
            {
                _cell.PrepareForwardSteps(Parameters, pass.TableColumns);   // the cell's weights, packed once for all T steps' GEMMs
            }
            else
            {
                _cell.PrepareSingleRowSteps(Parameters, pass.TableColumns); // B = 1: packed once for all T steps' GEMVs
                _rowPacked = true;
            }
            // 4. The decoder steps, each fed the reference token (or, with probability 1 - ratio, its own guess).
            int[] input = batch.TargetInput, output = batch.TargetOutput;
            Span<int> targets = _work.Targets(steps);
            for (int t = 0; t < steps; t++)
            {
                bool teacher = t == 0 || teacherForcingRatio >= 1f || random!.NextDouble() < teacherForcingRatio;
                Span<int> fed = _work.Fed(t);
                for (int b = 0; b < bsz; b++)
                {
                    targets[t * bsz + b] = output[b * steps + t];
                    fed[b] = teacher ? input[b * steps + t] : TensorPrimitives.IndexOfMax(_work.Logits(t - 1).Slice(b * _v, _v));
                }
                Step(t, fed, pass);
            }
        }
        finally
        {
            if (bsz > 1 || !_rowPacked)
            {
                _cell.EndSteps();   // decoding later reads the (possibly updated) weights directly
            }
            // B = 1: the single-row packed copies stay valid for this batch's Backward (the same parameter values:
            // it saves packing them again); Backward ends them, and so does the next Encode.
        }
        // 5. Loss over all T·B rows.
        int rows = steps * bsz;
        float loss = CrossEntropy.Forward(_work.AllLogits(steps), _work.Targets(steps), _v, Config.PaddingId, _work.Probabilities(steps), out _count);
        if (Config.AttentionRegularization > 0f)
        {
            // 5'. + λ Σ_b Σ_l (1 - Σ_t α_tbl)² / N: the doubly stochastic attention penalty
            loss += AttentionCoverage.Forward(_work.AllWeights(steps), steps, bsz, batch.SourceLength, _memory.Lengths, batch.TargetLengths,
                Config.AttentionRegularization, _count, _work.Coverage);
        }
        _steps = steps;
        _hasForward = true;
        _lastBatch = batch;
        return loss;
    }

    /// <summary>Counts the counted target tokens whose arg-max prediction (of the last <see cref="Forward"/>) is right.</summary>
    /// <returns>The number of correct non-padding tokens.</returns>
    public int CountCorrect()
    {
        RequireForward();
        return CrossEntropy.CountCorrect(_work.AllLogits(_steps), _work.Targets(_steps), _v, Config.PaddingId);
    }

    /// <summary>
    /// Backward of the last <see cref="Forward"/> (d mean loss = 1). Accumulates into <see cref="ParameterSet.Gradients"/>
    /// (zero them once per step before).
    /// </summary>
    public void Backward()
    {
        RequireForward();
        Seq2SeqFaults faults = Faults;                                     // Seq2SeqFaults.None outside tests
        Seq2SeqBatch batch = _lastBatch!;
        int bsz = _batch, steps = _steps, rows = steps * bsz;
        bool dropped = _forwardPass.Dropping && !faults.SkipDropoutBackward;
        DecoderPass pass = _forwardPass with { Dropout = dropped ? _forwardPass.Dropout : 0f, DropQueryGradient = faults.DropQueryGradient };
        ParameterSet p = Parameters;
        ReadOnlySpan<float> values = p.Values;
        Span<float> grads = p.Gradients;
        DecoderWorkspace w = _work;

        // 5. Loss and output layer over all T·B rows at once: dLogits = (p - onehot)/count; d o = dLogits W_out.
        Span<float> dLogits = w.DLogits(steps);
        dLogits.Clear();
        CrossEntropy.Backward(1f, w.Probabilities(steps), w.Targets(steps), _v, Config.PaddingId, _count, dLogits);
        Span<float> dOutputs = w.DOutputs(steps);
        dOutputs.Clear();
        _out.Backward(dLogits, w.Outputs(steps), rows, values, grads, dOutputs);
        if (Config.AttentionRegularization > 0f)
        {
            // 5'. the attention penalty: d α_t for every step, which each step's attention backward adds to its own
            AttentionCoverage.Backward(w.Coverage, steps, bsz, batch.SourceLength, _memory.Lengths, batch.TargetLengths,
                Config.AttentionRegularization, _count, w.DWeights(steps));
        }

        // 4. Decoder steps in reverse (BPTT). Each step stores its gate gradients; the cell's weight gradients are
        //    formed after the loop with one GEMM over all T·B rows.
        _memory.DStates.Clear();                                           // d(keys) + d(values), accumulated by every step
        w.DHPrev.Clear();
        w.DCPrev.Clear();
        w.DTilde.Clear();
        w.DFixed.Clear();
        Span<float> dTargetEmbedding = _targetEmbedding.Weight.Of(grads);
        if (bsz > 1)
        {
            _cell.PrepareBackwardSteps(p, pass.TableColumns);
        }
        else if (!_rowPacked)
        {
            _cell.PrepareSingleRowSteps(p, pass.TableColumns);
        }
        // else: the forward's single-row copies are still valid (same parameters); its W·x and this Wᵀ·x share them
        try
        {
            for (int t = steps - 1; t >= 0; t--)
            {
                // what flowed back into h_t (and c_t) from step t+1 becomes this step's upstream gradient
                w.DHPrev.CopyTo(w.DH);
                w.DHPrev.Clear();
                w.DCPrev.CopyTo(w.DC);
                w.DCPrev.Clear();
                w.DX.Clear();
                _decoder.StepBackward(p, w, _memory, t, pass);             // (5-1) d o_t, d h_t → d h_{t-1}, d emb(y_t)
                if (pass.TableColumns == 0)                                // else: the input table's backward below
                {
                    Span<float> dEmb = w.DEmbedded;
                    if (pass.Dropping)
                    {
                        Dropout.Apply(dEmb, w.EmbeddingMask(t));           // (0') emb = drop(E[y_t])
                    }
                    _targetEmbedding.Backward(dEmb, w.Fed(t), grads);      // (0) emb = E[y_t]
                }
            }
        }
        finally
        {
            _cell.EndSteps();
            _rowPacked = false;
        }
        // additive attention, pq = W_q q for all t: dW_q += dPQᵀ Q (queries h_{t-1} for Bahdanau, h_t for Luong).
        if (w.StoresProjectedQueryGradient)
        {
            _attention!.AccumulateQueryWeightGradient(grads, rows, w.DProjectedQueries(steps), w.States(_decoder.QuerySlot, steps));
        }
        // h_t = cell(x_t, h_{t-1}) for all t: dW_ih += dGatesᵀ X, dW_hh += dGatesHhᵀ H_prev (rows t·B + b; H_prev = h_0..h_{T-1}).
        _cell.AccumulateWeightGradients(p, rows, w.DGates(steps), w.DGatesHh(steps), w.Inputs(steps), w.States(0, steps), pass.TableColumns);
        if (pass.TableColumns > 0)
        {
            // the decoder cell's gates_in[t, b] = table[y_tb] (table = E_tgt W_ih[:, :E]ᵀ)
            InputTable.Backward(rows, w.AllFed(steps), w.DGates(steps), _cell.GateWidth, _v, _e, Config.PaddingId, _targetEmbedding.Weight.Of(values),
                _cell.WeightIhSlot.Of(values), _i, _cell.WeightIhSlot.Of(grads), dTargetEmbedding, _dInputTable, _dTableEmb);
        }

        // 3. The memory: what attention's key preparation owes it, and d h_0 (DHPrev after step 0, plus the fixed context's).
        _decoder.FinishBackward(w);
        _attention?.PrepareKeysBackward(values, _memory.States, grads, _memory.DStates);
        w.DHPrev.CopyTo(_memory.DInitialState);

        // 2-1. The encoder, from d(memory) and d(h_0).
        _encoder.Backward(p, batch.Source, _memory, applyDropoutMasks: dropped);
    }
}
