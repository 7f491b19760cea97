using System.Numerics.Tensors;
using SpanAttention.Attention;
using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>The building blocks shared by training and decoding: encoding, one decoder step, the input lookup tables and the state reordering of beam search.</summary>
public sealed partial class Seq2SeqModel
{
    // ------------------------------------------------------------------------------------------------
    // Building blocks shared by training and decoding.
    // ------------------------------------------------------------------------------------------------

    /// <summary>Encoder forward into the memory, decoder initial state, attention key preparation. Sets the current (B, S).</summary>
    internal void Encode(ReadOnlySpan<int> sourceIds, ReadOnlySpan<int> sourceLengths, int bsz, int source) =>
        Encode(sourceIds, sourceLengths, bsz, source, EncoderPass.Plain with { AllowTables = false });

    private void Encode(ReadOnlySpan<int> sourceIds, ReadOnlySpan<int> sourceLengths, int bsz, int source, EncoderPass pass)
    {
        CheckShape(bsz, source, 1);
        _encodedWith = null;                                                                                      // the prepared path's buffers are stale now
        if (_rowPacked)
        {
            _cell.EndSteps();                                                                                     // a batch-1 Forward's packed cell weights too
            _rowPacked = false;
        }
        _batch = bsz;
        _source = source;
        _hasForward = false;
        ReadOnlySpan<float> values = Parameters.Values;
        _encoder.Forward(Parameters, new SourceInput(sourceIds, sourceLengths, bsz, source), pass, _memory);     // memory: (B, S, Denc), h_0 (B, H)
        StartDecoder(bsz);
        _attention?.PrepareKeys(values, _memory.States, bsz, source);
    }

    /// <summary>The decoder's state before step 0: h_0 from the memory, c_0 = 0 (LSTM), the fixed context (None).</summary>
    private void StartDecoder(int bsz)
    {
        int bh = bsz * _h;
        Span<float> h0 = _hs.AsSpan(0, bh);
        _memory.InitialState.CopyTo(h0);
        if (_lstm)
        {
            _cs.AsSpan(0, bh).Clear();                                                                            // c_0 = 0
        }
        if (Config.Decoder == DecoderStyle.None)
        {
            h0.CopyTo(_fixed.AsSpan(0, bh));
        }
    }

    /// <summary>One decoder step for the current batch: reads h_{t} slot t, writes slot t+1 and the step's logits (row t of (T, B, V)).</summary>
    internal void DecoderStep(int t, int bsz, ReadOnlySpan<int> fed)
    {
        if (_encodedWith is not null)
        {
            throw new InvalidOperationException("The last Encode used prepared inference weights: pass them to DecoderStep too (or Encode without them).");
        }
        int h = _h, bh = bsz * h, e = _e;
        ParameterSet p = Parameters;
        ReadOnlySpan<float> values = p.Values;
        ReadOnlySpan<int> lengths = _memory.Lengths;
        ReadOnlySpan<float> encOut = _memory.States;                                                   // keys = values (B, S, Denc)
        Span<float> emb = _tgtEmb.AsSpan(t * bsz * e, bsz * e);
        Embedding.Forward(fed, _targetEmbedding.Weight.Of(values), _v, e, emb);                        // (B, E)
        if (_dropping)
        {
            DropRows(Dropout.TargetEmbedding, t, bsz, e, _tgtMask.AsSpan(t * bsz * e, bsz * e), emb);      // emb = drop(E[y_t])
        }
        Span<float> x = _x.AsSpan(t * bsz * _i, bsz * _i);                                             // (B, I)
        ReadOnlySpan<float> hPrev = _hs.AsSpan(t * bh, bh);
        Span<float> hCur = _hs.AsSpan((t + 1) * bh, bh);
        ReadOnlySpan<float> cPrev = _lstm ? _cs.AsSpan(t * bh, bh) : default;
        Span<float> cCur = _lstm ? _cs.AsSpan((t + 1) * bh, bh) : default;
        Span<float> cache = _cache.AsSpan(t * bsz * _cell.CacheSize, bsz * _cell.CacheSize);
        Span<float> outIn = _outIn.AsSpan(t * bsz * _o, bsz * _o);                                      // (B, O)
        Span<float> weights = _attention is null ? default : _weights.AsSpan(t * bsz * _source, bsz * _source);
        int tableColumns = _tableInStep ? e : 0;
        Span<float> tableRows = default;
        if (_tableInStep)
        {
            int gw = _cell.GateWidth;
            tableRows = _tableRows.AsSpan(0, bsz * gw);
            for (int b = 0; b < bsz; b++)
            {
                _inputTable.AsSpan(fed[b] * gw, gw).CopyTo(tableRows.Slice(b * gw, gw));                   // W_ih[:, :E]·emb(y_b) by lookup
            }
        }
        switch (Config.Decoder)
        {
            case DecoderStyle.Bahdanau:
            {
                Span<float> context = _context.AsSpan(t * bsz * _dc, bsz * _dc);
                _attention!.Forward(values, hPrev, encOut, encOut, lengths, weights, context);          // (1) c_t = attn(h_{t-1})
                Concat(bsz, emb, e, context, _dc, x);                                                  // (2) x = [emb; c_t]
                _cell.Forward(p, bsz, x, hPrev, cPrev, hCur, cCur, cache, tableColumns, tableRows);                             // (3) h_t = cell(x, h_{t-1})
                Concat(bsz, hCur, h, context, _dc, outIn);                                             // (4) o = [h_t; c_t]
                if (_dropping)
                {
                    DropRows(Dropout.DecoderOutput, t, bsz, _o, _outMask.AsSpan(t * bsz * _o, bsz * _o), outIn); // (5) o = drop(o)
                }
                break;
            }
            case DecoderStyle.Luong:
            {
                int w = _dc + h;
                if (t == 0)
                {
                    Concat(bsz, emb, e, default, h, x);                                                // (1) x = [emb; h̃_{-1} = 0]
                }
                else
                {
                    Concat(bsz, emb, e, _outIn.AsSpan((t - 1) * bsz * _o, bh), h, x);                  // (1) x = [emb; h̃_{t-1}] (input feeding)
                }
                _cell.Forward(p, bsz, x, hPrev, cPrev, hCur, cCur, cache, tableColumns, tableRows);                             // (2) h_t = cell(x, h_{t-1})
                Span<float> context = _context.AsSpan(t * bsz * _dc, bsz * _dc);
                _attention!.Forward(values, hCur, encOut, encOut, lengths, weights, context);          // (3) c_t = attn(h_t)
                Span<float> comb = _comb.AsSpan(t * bsz * w, bsz * w);
                Concat(bsz, context, _dc, hCur, h, comb);                                              // (4) [c_t; h_t]
                Span<float> tilde = _dropping ? _tilde.AsSpan(t * bh, bh) : outIn;
                _combine!.Forward(comb, bsz, values, tilde);
                TensorPrimitives.Tanh(tilde, tilde);                                                   // (5) h̃_t = tanh(W_c [c_t; h_t])
                if (_dropping)
                {
                    tilde.CopyTo(outIn);
                    DropRows(Dropout.DecoderOutput, t, bsz, _o, _outMask.AsSpan(t * bh, bh), outIn);   // (5') drop(h̃_t): read by out and fed to step t+1
                }
                break;
            }
            default:
            {
                ReadOnlySpan<float> fixedContext = _fixed.AsSpan(0, bh);
                Concat(bsz, emb, e, fixedContext, h, x);                                               // (1) x = [emb; c]
                _cell.Forward(p, bsz, x, hPrev, cPrev, hCur, cCur, cache, tableColumns, tableRows);                             // (2) h_t = cell(x, h_{t-1})
                Concat(bsz, hCur, h, fixedContext, h, outIn);                                          // (3) o = [h_t; c]
                if (_dropping)
                {
                    DropRows(Dropout.DecoderOutput, t, bsz, _o, _outMask.AsSpan(t * bsz * _o, bsz * _o), outIn); // (4) o = drop(o)
                }
                break;
            }
        }
        _out.Forward(outIn, bsz, values, _logits.AsSpan(t * bsz * _v, bsz * _v));                     // (6) logits = W_out o + b
    }

    /// <summary>
    /// Whether a teacher-forced pass of (B, T) uses the input table: worth it when the V table rows cost at most half of
    /// the T·B rows they replace. Never with embedding dropout: the table holds the projection of the plain embedding rows.
    /// </summary>
    private bool UseInputTable(int bsz, int steps) => !Faults.DisableInputTables && !_dropping && 2L * _v <= (long)steps * bsz;

    /// <summary>The test seam (<see cref="Seq2SeqFaults"/>); <see cref="Seq2SeqFaults.None"/> outside tests.</summary>
    internal Seq2SeqFaults Faults { get; set; } = Seq2SeqFaults.None;

    /// <summary>Whether the last teacher-forced <see cref="Forward"/> used the input table.</summary>
    internal bool LastPassUsedInputTable => _tableColumns > 0;

    /// <summary>Whether the last teacher-forced <see cref="Forward"/> used the encoder's source table.</summary>
    internal bool LastPassUsedSourceTable => _encoder.LastPassUsedTable;

    /// <summary>Step t's slot of the stored d(W_q q): (B, A); empty when the scorer has no query projection.</summary>
    private Span<float> ProjectedQueryGradient(int t, int bsz)
    {
        if (_dProjQuery.Length == 0)
        {
            return default;
        }
        int n = bsz * _attention!.AttentionDim;
        return _dProjQuery.AsSpan(t * n, n);
    }

    private int _dropSteps;

    /// <summary>
    /// Dropout of one step's (B, W) rows: the mask element of (row b, step t, column j) has index
    /// ((row0 + b)·T + t)·W + j in the whole batch's (B, T, W) tensor, so it does not depend on how the batch is split.
    /// </summary>
    private void DropRows(int tensor, int t, int bsz, int width, Span<float> mask, Span<float> rows)
    {
        ulong key = Dropout.Key(DropoutSeed, DropoutStep, tensor);
        for (int b = 0; b < bsz; b++)
        {
            Dropout.FillMask(key, (((long)DropoutRowOffset + b) * _dropSteps + t) * width, Config.Dropout, mask.Slice(b * width, width));
        }
        Dropout.Apply(rows, mask);
    }

    /// <summary>Logits of step t: (B, V).</summary>
    internal ReadOnlySpan<float> StepLogits(int t, int bsz) => _logits.AsSpan(t * bsz * _v, bsz * _v);

    /// <summary>Alignment of step t: (B, S); empty for <see cref="DecoderStyle.None"/>.</summary>
    internal ReadOnlySpan<float> StepWeights(int t, int bsz) => _attention is null ? default : _weights.AsSpan(t * bsz * _source, bsz * _source);

    /// <summary>
    /// Beam search: after step t, reorders the rows of the state that step t+1 reads (h_t, c_t, h̃_t, the fixed
    /// context) so that new row k continues old row <paramref name="parents"/>[k].
    /// </summary>
    internal void ReorderState(int t, int bsz, ReadOnlySpan<int> parents, Span<float> scratch)
    {
        Reorder(_hs.AsSpan((t + 1) * bsz * _h, bsz * _h), _h, parents, scratch);
        if (_lstm)
        {
            Reorder(_cs.AsSpan((t + 1) * bsz * _h, bsz * _h), _h, parents, scratch);
        }
        if (Config.Decoder == DecoderStyle.Luong)
        {
            Reorder(_outIn.AsSpan(t * bsz * _o, bsz * _o), _o, parents, scratch);
        }
    }

    private static void Reorder(Span<float> rows, int width, ReadOnlySpan<int> parents, Span<float> scratch)
    {
        Span<float> copy = scratch.Slice(0, rows.Length);
        rows.CopyTo(copy);
        for (int k = 0; k < parents.Length; k++)
        {
            copy.Slice(parents[k] * width, width).CopyTo(rows.Slice(k * width, width));
        }
    }

    internal int Vocabulary => _v;

    internal int StateWidth => Math.Max(_h, _o);

    private static void Concat(int rows, ReadOnlySpan<float> a, int wa, ReadOnlySpan<float> b, int wb, Span<float> dst)
    {
        int w = wa + wb;
        for (int r = 0; r < rows; r++)
        {
            a.Slice(r * wa, wa).CopyTo(dst.Slice(r * w, wa));
            if (b.IsEmpty)
            {
                dst.Slice(r * w + wa, wb).Clear();
            }
            else
            {
                b.Slice(r * wb, wb).CopyTo(dst.Slice(r * w + wa, wb));
            }
        }
    }

    /// <summary>dX (B, E + W) = [dEmb; dRest]: copies the embedding part, adds (or copies) the rest.</summary>
    private void SplitInputGradient(int bsz, ReadOnlySpan<float> dX, Span<float> dEmb, Span<float> dRest, bool accumulate)
    {
        int e = _e, w = _i - e;
        for (int b = 0; b < bsz; b++)
        {
            ReadOnlySpan<float> row = dX.Slice(b * _i, _i);
            row.Slice(0, e).CopyTo(dEmb.Slice(b * e, e));
            Span<float> rest = dRest.Slice(b * w, w);
            if (accumulate)
            {
                TensorPrimitives.Add(rest, row.Slice(e, w), rest);
            }
            else
            {
                row.Slice(e, w).CopyTo(rest);
            }
        }
    }

    private void CheckShape(int bsz, int source, int steps)
    {
        if (bsz > _maxBatch || source > _maxSource || steps > _maxTarget)
        {
            throw new ArgumentException($"Batch shape (B={bsz}, S={source}, T={steps}) exceeds the workspaces (B={_maxBatch}, S={_maxSource}, T={_maxTarget}); call EnsureCapacity first.");
        }
    }

    private void RequireForward()
    {
        if (!_hasForward)
        {
            throw new InvalidOperationException("Backward/CountCorrect need a training Forward first (decoding replaces its caches).");
        }
    }
}
