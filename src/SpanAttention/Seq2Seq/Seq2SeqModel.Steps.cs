using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>The building blocks shared by training and decoding: encoding into the memory, one decoder step, the state reordering of beam search.</summary>
public sealed partial class Seq2SeqModel
{
    /// <summary>Encoder forward into the memory, decoder initial state, attention key preparation. Sets the current (B, S).</summary>
    internal void Encode(ReadOnlySpan<int> sourceIds, ReadOnlySpan<int> sourceLengths, int bsz, int source) =>
        Encode(new SourceInput(sourceIds, sourceLengths, bsz, source), EncoderPass.Plain with { AllowTables = false });

    /// <summary>As <see cref="Encode(ReadOnlySpan{int}, ReadOnlySpan{int}, int, int)"/> for any source kind (token ids or a feature grid).</summary>
    internal void Encode(SourceInput source) => Encode(source, EncoderPass.Plain with { AllowTables = false });

    private void Encode(SourceInput input, EncoderPass pass)
    {
        int bsz = input.Batch, source = input.Steps;
        CheckShape(bsz, source, 1);
        CheckSourceKind(input);
        _encodedWith = null;                                                                                      // the prepared path's buffers are stale now
        if (_rowPacked)
        {
            _cell.EndSteps();                                                                                     // a batch-1 Forward's packed cell weights too
            _rowPacked = false;
        }
        SetShape(bsz, source);
        _encoder.Forward(Parameters, input, pass, _memory);                                                     // 1-3: memory (B, S, Denc), h_0 (B, H)
        StartDecoder();
        _attention?.PrepareKeys(Parameters.Values, _memory.States, bsz, source);
    }

    /// <summary>Refuses a source of the wrong kind: token ids for a feature-grid or image model, a grid or images for a token model, and so on.</summary>
    private void CheckSourceKind(SourceInput source)
    {
        bool ok = Config.Encoder switch
        {
            EncoderKind.Features => source.IsFeatures,
            EncoderKind.Image => source.IsImages,
            _ => !source.IsFeatures && !source.IsImages,
        };
        if (!ok)
        {
            string given = source.IsFeatures ? "a feature grid" : source.IsImages ? "images" : "token ids";
            throw new ArgumentException(Config.Encoder switch
            {
                EncoderKind.Features => $"This model's encoder reads a feature grid (F = {Config.FeatureSize}), not {given}.",
                EncoderKind.Image => $"This model's encoder reads images ({Config.ImageChannels} x {Config.ImageHeight} x {Config.ImageWidth}, C x H x W), not {given}.",
                _ => $"This model's {Config.Encoder} encoder reads token ids, not {given}.",
            }, nameof(source));
        }
    }

    private void SetShape(int bsz, int source)
    {
        _batch = bsz;
        _source = source;
        _hasForward = false;
        _work.SetShape(bsz, source);
    }

    /// <summary>The decoder's state before step 0: h_0 from the memory, c_0 = 0 (LSTM), the fixed context c = h_0.</summary>
    private void StartDecoder()
    {
        Span<float> h0 = _work.State(0);
        _memory.InitialState.CopyTo(h0);
        _work.CellState(0).Clear();                                                                              // c_0 = 0
        h0.CopyTo(_work.FixedContext);
    }

    /// <summary>One decoder step for the current batch: reads h_{t} slot t, writes slot t+1 and the step's logits (row t of (T, B, V)).</summary>
    internal void DecoderStep(int t, int bsz, ReadOnlySpan<int> fed)
    {
        if (_encodedWith is not null)
        {
            throw new InvalidOperationException("The last Encode used prepared inference weights: pass them to DecoderStep too (or Encode without them).");
        }
        CheckStepBatch(bsz);
        Step(t, fed, DecoderPass.Plain);
    }

    /// <summary>Step t: emb(y_t) (dropped out, or looked up through the input table), the decoder's step, the output layer.</summary>
    private void Step(int t, ReadOnlySpan<int> fed, in DecoderPass pass)
    {
        int bsz = _batch, e = _e;
        ReadOnlySpan<float> values = Parameters.Values;
        Span<float> emb = _work.Embedded(t);
        _targetEmbedding.Forward(fed, values, emb);                                                    // (0) emb = E[y_t] (B, E)
        if (pass.Dropping)
        {
            pass.DropRows(Dropout.TargetEmbedding, t, bsz, e, _work.EmbeddingMask(t), emb);            // (0') emb = drop(E[y_t])
        }
        if (pass.TableColumns > 0)
        {
            InputTable.LookUp(_inputTable, _cell.GateWidth, fed, bsz, _work.TableRows);                // W_ih[:, :E]·emb(y_b) by lookup
        }
        _decoder.Step(Parameters, _work, _memory, t, pass);                                            // (1-5) h_t, o_t
        _out.Forward(_work.Output(t), bsz, values, _work.Logits(t));                                   // (6) logits = W_out o + b
    }

    /// <summary>
    /// Whether a teacher-forced pass of (B, T) uses the input table: worth it when the V table rows cost at most half of
    /// the T·B rows they replace. Never with embedding dropout: the table holds the projection of the plain embedding rows.
    /// </summary>
    private bool UseInputTable(int bsz, int steps, bool dropping) => !Faults.DisableInputTables && !dropping && 2L * _v <= (long)steps * bsz;

    /// <summary>The test seam (<see cref="Seq2SeqFaults"/>); <see cref="Seq2SeqFaults.None"/> outside tests.</summary>
    internal Seq2SeqFaults Faults { get; set; } = Seq2SeqFaults.None;

    /// <summary>Whether the last teacher-forced <see cref="Forward"/> used the input table.</summary>
    internal bool LastPassUsedInputTable => _forwardPass.TableColumns > 0;

    /// <summary>Whether the last teacher-forced <see cref="Forward"/> used the encoder's source table.</summary>
    internal bool LastPassUsedSourceTable => _encoder is RecurrentEncoder { LastPassUsedTable: true };

    /// <summary>The memory states of the last Encode: (B, S, Denc), padded rows 0.</summary>
    internal ReadOnlySpan<float> MemoryStates => _memory.States;

    /// <summary>The memory's valid positions per row (B) after the last encode (tests).</summary>
    internal ReadOnlySpan<int> MemoryLengths => _memory.Lengths;

    /// <summary>
    /// d(loss)/d(memory states) after the last <see cref="Backward"/>: (B, S, Denc). For a feature-grid encoder this is
    /// d(loss)/d(features) (its bridge's share included); for the others, what the decoder owes the memory.
    /// </summary>
    internal ReadOnlySpan<float> MemoryStateGradients => _memory.DStates;

    /// <summary>The decoder's initial state h_0 of the last Encode: (B, H).</summary>
    internal ReadOnlySpan<float> MemoryInitialState => _memory.InitialState;

    /// <summary>Logits of step t: (B, V).</summary>
    internal ReadOnlySpan<float> StepLogits(int t, int bsz)
    {
        CheckStepBatch(bsz);
        return _work.Logits(t);
    }

    /// <summary>Alignment of step t: (B, S); empty for <see cref="DecoderStyle.None"/>.</summary>
    internal ReadOnlySpan<float> StepWeights(int t, int bsz)
    {
        CheckStepBatch(bsz);
        return _attention is null ? default : _work.Weights(t);
    }

    /// <summary>
    /// Beam search: after step t, reorders the rows of the state that step t+1 reads (h_t, c_t, h̃_t) so that new row k
    /// continues old row <paramref name="parents"/>[k].
    /// </summary>
    internal void ReorderState(int t, int bsz, ReadOnlySpan<int> parents, Span<float> scratch)
    {
        CheckStepBatch(bsz);
        _decoder.ReorderState(_work, t, parents, scratch);
    }

    internal int Vocabulary => _v;

    internal int StateWidth => Math.Max(_h, _o);

    private void CheckStepBatch(int bsz)
    {
        if (bsz != _batch)
        {
            throw new ArgumentException($"The batch size {bsz} is not the encoded batch's ({_batch}).", nameof(bsz));
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
