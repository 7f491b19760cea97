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

    /// <summary>Encoder forward, decoder initial state, attention key preparation. Sets the current (B, S).</summary>
    internal void Encode(ReadOnlySpan<int> sourceIds, ReadOnlySpan<int> sourceLengths, int bsz, int source)
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
        int h = _h, bh = bsz * h;
        ParameterSet p = Parameters;
        ReadOnlySpan<float> values = p.Values;
        Span<float> srcEmb = _srcEmb.AsSpan(0, bsz * source * _e);
        Embedding.Forward(sourceIds, _sourceEmbedding.Weight.Of(values), Config.SourceVocabSize, _e, srcEmb);     // (B, S, E)
        if (_dropping)
        {
            Span<float> mask = _srcMask.AsSpan(0, srcEmb.Length);                                               // index ((row0 + b)·S + s)·E + e
            Dropout.FillMask(Dropout.Key(DropoutSeed, DropoutStep, Dropout.SourceEmbedding), (long)DropoutRowOffset * source * _e, Config.Dropout, mask);
            Dropout.Apply(srcEmb, mask);                                                                         // srcEmb = drop(E[x])
        }
        Span<float> encOut = _encOut.AsSpan(0, bsz * source * _denc);
        ReadOnlySpan<float> srcProjection = _sourceTableInEncode ? LookUpSourceProjection(sourceIds, bsz * source) : default; // (D, B·S, G·H)
        _encoder.Forward(p, bsz, source, srcEmb, sourceLengths, encOut, _encH.AsSpan(0, _states * bh),
            _lstm ? _encC.AsSpan(0, _states * bh) : default, srcProjection);                                     // (B, S, Denc), (Ls, B, H)
        Span<float> h0 = _hs.AsSpan(0, bh);
        int last = _states - (Config.Bidirectional ? 2 : 1);
        if (_bridge is not null)
        {
            Span<float> bridgeIn = _bridgeIn.AsSpan(0, 2 * bh);                                                  // (B, 2H) [h_f; h_b]
            for (int b = 0; b < bsz; b++)
            {
                _encH.AsSpan(last * bh + b * h, h).CopyTo(bridgeIn.Slice(b * 2 * h, h));
                _encH.AsSpan((last + 1) * bh + b * h, h).CopyTo(bridgeIn.Slice(b * 2 * h + h, h));
            }
            _bridge.Forward(bridgeIn, bsz, values, h0);
            TensorPrimitives.Tanh(h0, h0);                                                                       // h_0 = tanh(W [h_f; h_b] + b)
        }
        else
        {
            _encH.AsSpan(last * bh, bh).CopyTo(h0);                                                              // h_0 = last layer's final state
        }
        if (_lstm)
        {
            _cs.AsSpan(0, bh).Clear();                                                                            // c_0 = 0
        }
        if (Config.Decoder == DecoderStyle.None)
        {
            h0.CopyTo(_fixed.AsSpan(0, bh));
        }
        _attention?.PrepareKeys(values, encOut, bsz, source);
        _lengthsView = sourceLengths.Length == bsz ? CopyLengths(sourceLengths) : _lengthsView;
    }

    private int[] _lengthsBuffer = [];
    private int[] _lengthsView = [];

    private int[] CopyLengths(ReadOnlySpan<int> lengths)
    {
        if (_lengthsBuffer.Length < _maxBatch)
        {
            _lengthsBuffer = new int[_maxBatch];
        }
        lengths.CopyTo(_lengthsBuffer);
        return _lengthsBuffer;
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
        ReadOnlySpan<int> lengths = _lengthsView.AsSpan(0, bsz);
        ReadOnlySpan<float> encOut = _encOut.AsSpan(0, bsz * _source * _denc);
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

    /// <summary>Whether a teacher-forced pass uses the source table for encoder layer 0 (same rule as <see cref="UseInputTable"/>).</summary>
    private bool UseSourceTable(int bsz, int source) => !Faults.DisableInputTables && !_dropping && 2L * Config.SourceVocabSize <= (long)bsz * source;

    /// <summary>Whether the last teacher-forced <see cref="Forward"/> used the source table.</summary>
    internal bool LastPassUsedSourceTable => _sourceTablePass;

    /// <summary>
    /// Encoder layer 0's input projection by lookup: table_d = E_src W_ih_l0_dᵀ (V_src, G·H) once per direction, then
    /// row r of direction d = table_d[ids[r]]. Returns (D, B·S, G·H).
    /// </summary>
    private ReadOnlySpan<float> LookUpSourceProjection(ReadOnlySpan<int> ids, int rows)
    {
        int gw = _encoder.GateWidth, vs = Config.SourceVocabSize, e = _e;
        ReadOnlySpan<float> values = Parameters.Values;
        Span<float> projection = _srcProj.AsSpan(0, _encoder.Directions * rows * gw);
        for (int d = 0; d < _encoder.Directions; d++)
        {
            Span<float> table = _srcTable.AsSpan(d * vs * gw, vs * gw);
            Gemm.Multiply(vs, gw, e, _sourceEmbedding.Weight.Of(values), e, Transpose.No,
                _encoder.FirstLayerWeightIh(d).Of(values), e, Transpose.Yes, table, gw, false);                 // table_d = E_src W_ih_l0ᵀ (V_src, G·H)
            Span<float> rowsOut = projection.Slice(d * rows * gw, rows * gw);
            for (int r = 0; r < rows; r++)
            {
                table.Slice(ids[r] * gw, gw).CopyTo(rowsOut.Slice(r * gw, gw));
            }
        }
        return projection;
    }

    /// <summary>
    /// Backward of a table lookup gates_in[r] = table[ids[r]] with table = Emb · W[:, :E]ᵀ (W row stride ld):
    /// dtable[v] = Σ_{ids[r] = v} dGates[r]; dW[:, :E] += dtableᵀ Emb; dEmb[v] += dtable[v] W[:, :E] for v ≠ padding
    /// (as <c>Embedding.Backward</c> skips it).
    /// </summary>
    private void TableBackward(int rows, ReadOnlySpan<int> ids, ReadOnlySpan<float> dGates, int gw, int v, int e,
        ReadOnlySpan<float> embedding, ReadOnlySpan<float> weight, int ld, Span<float> dWeight, Span<float> dEmbedding)
    {
        Span<float> dTable = _dInputTable.AsSpan(0, v * gw);
        dTable.Clear();
        for (int r = 0; r < rows; r++)
        {
            Span<float> row = dTable.Slice(ids[r] * gw, gw);
            TensorPrimitives.Add(row, dGates.Slice(r * gw, gw), row);                                            // dtable[id] += dGates[r]
        }
        Gemm.Multiply(gw, e, v, dTable, gw, Transpose.Yes, embedding, e, Transpose.No, dWeight, ld, true);          // dW[:, :E] += dtableᵀ Emb (G·H, E)
        Span<float> dEmb = _dTableEmb.AsSpan(0, v * e);
        Gemm.Multiply(v, e, gw, dTable, gw, Transpose.No, weight, ld, Transpose.No, dEmb, e, false);                // (V, E) = dtable W[:, :E]
        for (int k = 0; k < v; k++)
        {
            if (k != Config.PaddingId)
            {
                Span<float> dst = dEmbedding.Slice(k * e, e);
                TensorPrimitives.Add(dst, dEmb.Slice(k * e, e), dst);
            }
        }
    }

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
