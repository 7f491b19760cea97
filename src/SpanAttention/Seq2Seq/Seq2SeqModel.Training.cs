using System.Numerics.Tensors;
using SpanAttention.Attention;
using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>The teacher-forced training pass: <see cref="Forward"/> and its <see cref="Backward"/>, side by side (docs/derivations/seq2seq.md).</summary>
public sealed partial class Seq2SeqModel
{
    // ------------------------------------------------------------------------------------------------
    // Training forward and backward.
    // ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Teacher-forced forward over a padded batch and the masked cross-entropy (mean over non-padding target tokens).
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
        bool dropping = Training && Config.Dropout > 0f;
        _dropping = dropping;
        _dropSteps = steps;
        // Small vocabularies (and no embedding dropout, see UseInputTable): the decoder cell's input projection of the
        // embeddings takes one of V values per token, so compute the V rows once instead of T·B (the encoder does the same).
        _tableColumns = UseInputTable(bsz, steps) ? _e : 0;
        try
        {
            var pass = new EncoderPass(dropping ? Config.Dropout : 0f, DropoutSeed, DropoutStep, DropoutRowOffset, AllowTables: !Faults.DisableInputTables);
            Encode(batch.SourceIds, batch.SourceLengths, bsz, batch.SourceLength, pass);                  // 1-3: memory and h_0
            int[] input = batch.TargetInput, output = batch.TargetOutput;
            if (_tableColumns > 0)
            {
                int gw = _cell.GateWidth;
                Gemm.Multiply(_v, gw, _e, _targetEmbedding.Weight.Of(Parameters.Values), _e, Transpose.No,
                    _cell.WeightIhSlot.Of(Parameters.Values), _i, Transpose.Yes, _inputTable.AsSpan(0, _v * gw), gw, false); // table = E_tgt W_ih[:, :E]ᵀ (V, G·H)
            }
            if (bsz > 1)
            {
                _cell.PrepareForwardSteps(Parameters, _tableColumns);   // the cell's weights, packed once for all T steps' GEMMs
            }
            else
            {
                _cell.PrepareSingleRowSteps(Parameters, _tableColumns); // B = 1: packed once for all T steps' GEMVs
                _rowPacked = true;
            }
            _tableInStep = _tableColumns > 0;
            for (int t = 0; t < steps; t++)
            {
                bool teacher = t == 0 || teacherForcingRatio >= 1f || random!.NextDouble() < teacherForcingRatio;
                Span<int> fed = _fed.AsSpan(t * bsz, bsz);
                for (int b = 0; b < bsz; b++)
                {
                    _targets[t * bsz + b] = output[b * steps + t];
                    fed[b] = teacher ? input[b * steps + t]
                        : TensorPrimitives.IndexOfMax(new ReadOnlySpan<float>(_logits, ((t - 1) * bsz + b) * _v, _v));
                }
                DecoderStep(t, bsz, fed);
            }
        }
        finally
        {
            _dropping = false;
            if (bsz > 1 || !_rowPacked)
            {
                _cell.EndSteps();   // decoding later reads the (possibly updated) weights directly
            }
            // B = 1: the single-row packed copies stay valid for this batch's Backward (the same parameter values:
            // it saves packing them again); Backward ends them, and so does the next Encode.
            _tableInStep = false;
        }
        _forwardDropped = dropping;
        int rows = steps * bsz;
        float loss = CrossEntropy.Forward(_logits.AsSpan(0, rows * _v), _targets.AsSpan(0, rows), _v, Config.PaddingId, _probs.AsSpan(0, rows * _v), out _count);
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
        int rows = _steps * _batch;
        return CrossEntropy.CountCorrect(_logits.AsSpan(0, rows * _v), _targets.AsSpan(0, rows), _v, Config.PaddingId);
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
        int bsz = _batch, steps = _steps, h = _h, e = _e, rows = steps * bsz;
        ParameterSet p = Parameters;
        ReadOnlySpan<float> values = p.Values;
        Span<float> grads = p.Gradients;
        int bh = bsz * h;
        int cacheSize = _cell.CacheSize;
        ReadOnlySpan<int> srcLengths = batch.SourceLengths;
        ReadOnlySpan<float> encOut = _memory.States;                       // keys = values (B, S, Denc)

        // 5. Loss and output layer over all T·B rows at once: dLogits = (p - onehot)/count; dOutIn = dLogits W_out.
        Span<float> dLogits = _dLogits.AsSpan(0, rows * _v);
        dLogits.Clear();
        CrossEntropy.Backward(1f, _probs.AsSpan(0, rows * _v), _targets.AsSpan(0, rows), _v, Config.PaddingId, _count, dLogits);
        Span<float> dOutIn = _dOutIn.AsSpan(0, rows * _o);
        dOutIn.Clear();
        _out.Backward(dLogits, _outIn.AsSpan(0, rows * _o), rows, values, grads, dOutIn);
        bool dropped = _forwardDropped && !faults.SkipDropoutBackward;
        if (dropped && Config.Decoder != DecoderStyle.Luong)
        {
            Dropout.Apply(dOutIn, _outMask.AsSpan(0, rows * _o));            // o = drop(o'): do' = do ⊙ mask (Luong: below, with dTilde)
        }

        Span<float> dEncOut = _memory.DStates;                             // d(keys) + d(values), accumulated by every step
        dEncOut.Clear();
        Span<float> dHPrev = _dHPrev.AsSpan(0, bh);   // gradient of h_{t-1}, filled by step t's backward
        Span<float> dH = _dH.AsSpan(0, bh);           // gradient of h_t
        Span<float> dCPrev = _lstm ? _dCPrev.AsSpan(0, bh) : default;
        Span<float> dC = _lstm ? _dC.AsSpan(0, bh) : default;
        Span<float> dTilde = _dTilde.AsSpan(0, bh);
        Span<float> dFixed = _dFixed.AsSpan(0, bh);
        Span<float> dX = _dX.AsSpan(0, bsz * _i);
        Span<float> dEmb = _dEmb.AsSpan(0, bsz * e);
        Span<float> dContext = _dContext.AsSpan(0, bsz * _dc);
        dHPrev.Clear();
        dTilde.Clear();
        dFixed.Clear();
        if (_lstm)
        {
            dCPrev.Clear();
        }
        Span<float> dTargetEmbedding = _targetEmbedding.Weight.Of(grads);
        Span<float> dQueryBahdanau = faults.DropQueryGradient ? _dPre.AsSpan(0, bh) : dHPrev;

        // 4. Decoder steps in reverse (BPTT). The cell stores each step's gate gradients (dGates (T, B, G·H)) and
        //    its weight gradients are formed after the loop with one GEMM over all T·B rows.
        int gw = _cell.GateWidth;
        Span<float> dGatesAll = _dGates.AsSpan(0, rows * gw);
        Span<float> dGatesHhAll = _dGatesHh.AsSpan(0, rows * gw);
        if (bsz > 1)
        {
            _cell.PrepareBackwardSteps(p, _tableColumns);
        }
        else if (!_rowPacked)
        {
            _cell.PrepareSingleRowSteps(p, _tableColumns);
        }
        // else: the forward's single-row copies are still valid (same parameters); its W·x and this Wᵀ·x share them
        try
        {
            for (int t = steps - 1; t >= 0; t--)
            {
                Span<float> dGatesStep = dGatesAll.Slice(t * bsz * gw, bsz * gw);
                Span<float> dGatesHhStep = dGatesHhAll.Slice(t * bsz * gw, bsz * gw);
                // what flowed back into h_t (and c_t) from step t+1 becomes this step's upstream gradient
                dHPrev.CopyTo(dH);
                dHPrev.Clear();
                if (_lstm)
                {
                    dCPrev.CopyTo(dC);
                    dCPrev.Clear();
                }
                ReadOnlySpan<float> hPrev = _hs.AsSpan(t * bh, bh);          // h_{t-1}
                ReadOnlySpan<float> hCur = _hs.AsSpan((t + 1) * bh, bh);     // h_t
                ReadOnlySpan<float> cPrev = _lstm ? _cs.AsSpan(t * bh, bh) : default;
                ReadOnlySpan<float> x = _x.AsSpan(t * bsz * _i, bsz * _i);
                ReadOnlySpan<float> cache = _cache.AsSpan(t * bsz * cacheSize, bsz * cacheSize);
                ReadOnlySpan<float> dOut = dOutIn.Slice(t * bsz * _o, bsz * _o);
                ReadOnlySpan<float> weights = _attention is null ? default : _weights.AsSpan(t * bsz * _source, bsz * _source);
                dX.Clear();
                switch (Config.Decoder)
                {
                    case DecoderStyle.Bahdanau:
                        // logits = out([h_t; c_t]): split dOut into dh_t and dc_t
                        for (int b = 0; b < bsz; b++)
                        {
                            ReadOnlySpan<float> row = dOut.Slice(b * _o, _o);
                            TensorPrimitives.Add(dH.Slice(b * h, h), row.Slice(0, h), dH.Slice(b * h, h));
                            row.Slice(h, _dc).CopyTo(dContext.Slice(b * _dc, _dc));
                        }
                        // h_t = cell([emb(y_t); c_t], h_{t-1})
                        _cell.Backward(p, bsz, dH, dC, x, hPrev, cPrev, cache, dX, dHPrev, dCPrev, dGatesStep, dGatesHhStep, _tableColumns);
                        SplitInputGradient(bsz, dX, dEmb, dContext, accumulate: true);
                        // c_t = attn(query = h_{t-1})
                        _attention!.Backward(dContext, default, values, hPrev, encOut, encOut, srcLengths, weights, grads, dQueryBahdanau, dEncOut, dEncOut,
                            hiddenCache: default, ProjectedQueryGradient(t, bsz));   // additive: the tanh layer is recomputed
                        break;
                    case DecoderStyle.Luong:
                    {
                        // logits = out(h̃_t), and h̃_t also fed step t+1: dh̃ = dOut + dTilde
                        Span<float> dPre = _dPre.AsSpan(0, bh);
                        ReadOnlySpan<float> tilde = (dropped ? _tilde : _outIn).AsSpan(t * bsz * _o, bh);
                        TensorPrimitives.Add(dOut, dTilde, dPre);
                        if (dropped)
                        {
                            Dropout.Apply(dPre, _outMask.AsSpan(t * bh, bh));           // fed and read: drop(h̃_t), so dh̃ = (dOut + dTilde) ⊙ mask
                        }
                        // h̃ = tanh(pre): dpre = dh̃ (1 - h̃²)
                        for (int k = 0; k < bh; k++)
                        {
                            dPre[k] *= 1f - tilde[k] * tilde[k];
                        }
                        // pre = W_c [c_t; h_t]
                        Span<float> dComb = _dComb.AsSpan(0, bsz * (_dc + h));
                        dComb.Clear();
                        _combine!.Backward(dPre, _comb.AsSpan(t * bsz * (_dc + h), bsz * (_dc + h)), bsz, values, grads, dComb);
                        for (int b = 0; b < bsz; b++)
                        {
                            ReadOnlySpan<float> row = dComb.Slice(b * (_dc + h), _dc + h);
                            row.Slice(0, _dc).CopyTo(dContext.Slice(b * _dc, _dc));
                            TensorPrimitives.Add(dH.Slice(b * h, h), row.Slice(_dc, h), dH.Slice(b * h, h));
                        }
                        // c_t = attn(query = h_t)
                        _attention!.Backward(dContext, default, values, hCur, encOut, encOut, srcLengths, weights, grads, faults.DropQueryGradient ? _dPre.AsSpan(0, bh) : dH, dEncOut, dEncOut,
                            hiddenCache: default, ProjectedQueryGradient(t, bsz));   // additive: the tanh layer is recomputed
                        // h_t = cell([emb(y_t); h̃_{t-1}], h_{t-1})
                        _cell.Backward(p, bsz, dH, dC, x, hPrev, cPrev, cache, dX, dHPrev, dCPrev, dGatesStep, dGatesHhStep, _tableColumns);
                        SplitInputGradient(bsz, dX, dEmb, dTilde, accumulate: false); // h̃_{-1} = 0: its gradient at t = 0 is dropped
                        break;
                    }
                    default: // None
                        for (int b = 0; b < bsz; b++)
                        {
                            ReadOnlySpan<float> row = dOut.Slice(b * _o, _o);
                            TensorPrimitives.Add(dH.Slice(b * h, h), row.Slice(0, h), dH.Slice(b * h, h));
                            TensorPrimitives.Add(dFixed.Slice(b * h, h), row.Slice(h, h), dFixed.Slice(b * h, h));
                        }
                        _cell.Backward(p, bsz, dH, dC, x, hPrev, cPrev, cache, dX, dHPrev, dCPrev, dGatesStep, dGatesHhStep, _tableColumns);
                        SplitInputGradient(bsz, dX, dEmb, dFixed, accumulate: true);
                        break;
                }
                if (_tableColumns == 0)   // else: the input table's backward below
                {
                    if (dropped)
                    {
                        Dropout.Apply(dEmb, _tgtMask.AsSpan(t * bsz * e, bsz * e));          // emb = drop(E[y_t])
                    }
                    Embedding.Backward(dEmb, _fed.AsSpan(t * bsz, bsz), _v, e, Config.PaddingId, dTargetEmbedding);
                }
            }
        }
        finally
        {
            _cell.EndSteps();
            _rowPacked = false;
        }
        // additive attention, pq = W_q q for all t: dW_q += dPQᵀ Q (queries h_{t-1} for Bahdanau, h_t for Luong).
        if (_dProjQuery.Length > 0)
        {
            int queryStart = Config.Decoder == DecoderStyle.Luong ? bh : 0;
            _attention!.AccumulateQueryWeightGradient(grads, rows, _dProjQuery.AsSpan(0, rows * _attention.AttentionDim), _hs.AsSpan(queryStart, rows * h));
        }
        // h_t = cell(x_t, h_{t-1}) for all t: dW_ih += dGatesᵀ X, dW_hh += dGatesHhᵀ H_prev (rows t·B + b; H_prev = h_0..h_{T-1}).
        _cell.AccumulateWeightGradients(p, rows, dGatesAll, dGatesHhAll, _x.AsSpan(0, rows * _i), _hs.AsSpan(0, rows * h), _tableColumns);
        if (_tableColumns > 0)
        {
            // the decoder cell's gates_in[t, b] = table[y_tb] (table = E_tgt W_ih[:, :E]ᵀ)
            InputTable.Backward(rows, _fed.AsSpan(0, rows), dGatesAll, gw, _v, e, Config.PaddingId, _targetEmbedding.Weight.Of(values),
                _cell.WeightIhSlot.Of(values), _i, _cell.WeightIhSlot.Of(grads), _targetEmbedding.Weight.Of(grads), _dInputTable, _dTableEmb);
        }

        // 3. h_0: dHPrev now holds dh_0 (plus the fixed context's gradient for None).
        if (Config.Decoder == DecoderStyle.None)
        {
            TensorPrimitives.Add(dHPrev, dFixed, dHPrev);
        }
        _attention?.PrepareKeysBackward(values, encOut, grads, dEncOut);
        dHPrev.CopyTo(_memory.DInitialState);

        // 2-1. The encoder, from d(memory) and d(h_0).
        _encoder.Backward(p, new SourceInput(batch.SourceIds, batch.SourceLengths, bsz, _source), _memory, applyDropoutMasks: dropped);
    }
}
