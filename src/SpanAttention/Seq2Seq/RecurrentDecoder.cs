using System.Numerics.Tensors;
using SpanAttention.Attention;
using SpanAttention.Parameters;

namespace SpanAttention.Seq2Seq;

/// <summary>
/// One decoder step and its backward, for one decoder style (Bahdanau, Luong, or the fixed-context baseline): from
/// emb(y_t) and h_{t-1} to h_t and the output-layer input o_t, reading the encoder only through its
/// <see cref="EncoderMemory"/>. The model wraps each step with the embedding lookup before and the output layer after;
/// teacher-forced training, greedy and beam decoding all call the same <see cref="Step"/>.
/// </summary>
/// <remarks>
/// <see cref="Step"/> overwrites step t's slots of the <see cref="DecoderWorkspace"/>; <see cref="StepBackward"/> reads
/// them and the upstream gradients (d o_t, and d h_t in <see cref="DecoderWorkspace.DH"/>), accumulates into
/// <see cref="DecoderWorkspace.DHPrev"/>, d(memory) and the parameter gradients, and writes d emb(y_t). The numbered
/// passes match docs/derivations/seq2seq.md.
/// </remarks>
internal abstract class RecurrentDecoder
{
    protected RecurrentDecoder(IDecoderCell cell, AttentionLayer? attention, int embedding, int hidden, int context, int output)
    {
        Cell = cell;
        Attention = attention;
        E = embedding;
        H = hidden;
        Dc = context;
        O = output;
    }

    /// <summary>The recurrent cell h_t = cell(x_t, h_{t-1}).</summary>
    protected IDecoderCell Cell { get; }

    /// <summary>The attention layer; null for the fixed-context decoder.</summary>
    protected AttentionLayer? Attention { get; }

    /// <summary>E, H, Dc, O.</summary>
    protected int E { get; }

    /// <inheritdoc cref="E"/>
    protected int H { get; }

    /// <inheritdoc cref="E"/>
    protected int Dc { get; }

    /// <inheritdoc cref="E"/>
    protected int O { get; }

    /// <summary>The state slot whose rows were the attention queries: 0 when step t queries h_{t-1}, 1 when it queries h_t.</summary>
    public abstract int QuerySlot { get; }

    /// <summary>Step t's forward: h_t, c_t (LSTM), the context and alignment, and o_t (dropped out when the pass drops).</summary>
    public abstract void Step(ParameterSet parameters, DecoderWorkspace w, EncoderMemory memory, int t, in DecoderPass pass);

    /// <summary>Step t's backward: from d o_t and d h_t to d h_{t-1}, d emb(y_t), d(memory) and the parameter gradients.</summary>
    public abstract void StepBackward(ParameterSet parameters, DecoderWorkspace w, EncoderMemory memory, int t, in DecoderPass pass);

    /// <summary>
    /// The prepared decoding path, once per sentence batch after the encoder: what the prepared steps precompute from
    /// the memory (none by default).
    /// </summary>
    public virtual void PrepareSentences(InferenceWeights weights, DecoderWorkspace w, EncoderMemory memory, PreparedDecoding prepared)
    {
    }

    /// <summary>
    /// The prepared decoding path's step t for row b, the same equations as <see cref="Step"/> with packed GEMVs: on
    /// entry <paramref name="gates"/> (G·H) holds W_ih[:, :E] emb(y_t) + nothing else; writes the row's h_t, c_t and o_t.
    /// </summary>
    public abstract void StepPrepared(InferenceWeights weights, ReadOnlySpan<float> values, DecoderWorkspace w, EncoderMemory memory,
        PreparedDecoding prepared, int t, int b, Span<float> gates);

    /// <summary>Row b's h_t = cell(gates, h_{t-1}) with the packed W_hh; gates (G·H) hold the whole input projection.</summary>
    protected void CellStepPrepared(InferenceWeights weights, ReadOnlySpan<float> values, DecoderWorkspace w, PreparedDecoding prepared, int t, int b, Span<float> gates)
    {
        int h = H, cs = Cell.CacheSize;
        ReadOnlySpan<float> cPrev = w.CellState(t), cCur = w.CellState(t + 1);
        Cell.PreparedStep(weights.CellHh, weights.CellBiasIh.Of(values), weights.CellBiasHh.Of(values), gates, prepared.Gh,
            w.State(t).Slice(b * h, h), cPrev.IsEmpty ? default : cPrev.Slice(b * h, h), w.State(t + 1).Slice(b * h, h),
            cCur.IsEmpty ? default : w.CellState(t + 1).Slice(b * h, h), w.Cache(t).Slice(b * cs + Cell.GateWidth, cs - Cell.GateWidth));
    }

    /// <summary>After the last (t = 0) <see cref="StepBackward"/>: completes d h_0 in <see cref="DecoderWorkspace.DHPrev"/>.</summary>
    public virtual void FinishBackward(DecoderWorkspace w)
    {
    }

    /// <summary>
    /// Beam search: after step t, reorders the rows of the state that step t+1 reads so that new row k continues old
    /// row <paramref name="parents"/>[k]. The base reorders h_t and c_t.
    /// </summary>
    public virtual void ReorderState(DecoderWorkspace w, int t, ReadOnlySpan<int> parents, Span<float> scratch)
    {
        Reorder(w.State(t + 1), H, parents, scratch);
        Span<float> c = w.CellState(t + 1);
        if (!c.IsEmpty)
        {
            Reorder(c, H, parents, scratch);
        }
    }

    protected static void Reorder(Span<float> rows, int width, ReadOnlySpan<int> parents, Span<float> scratch)
    {
        Span<float> copy = scratch.Slice(0, rows.Length);
        rows.CopyTo(copy);
        for (int k = 0; k < parents.Length; k++)
        {
            copy.Slice(parents[k] * width, width).CopyTo(rows.Slice(k * width, width));
        }
    }

    /// <summary>dst (rows, wa + wb) = [a; b] row by row; an empty b gives zeros.</summary>
    protected static void Concat(int rows, ReadOnlySpan<float> a, int wa, ReadOnlySpan<float> b, int wb, Span<float> dst)
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

    /// <summary>d x (B, E + W) = [d emb; d rest]: copies the embedding part, adds (or copies) the rest.</summary>
    protected void SplitInputGradient(int bsz, ReadOnlySpan<float> dX, Span<float> dEmb, Span<float> dRest, bool accumulate)
    {
        int e = E, w = dRest.Length / bsz, i = e + w;
        for (int b = 0; b < bsz; b++)
        {
            ReadOnlySpan<float> row = dX.Slice(b * i, i);
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

    /// <summary>d [a; b] (rows, wa + wb): adds the first wa columns into dA and adds (or copies) the rest into dB.</summary>
    protected static void SplitOutputGradient(int rows, ReadOnlySpan<float> dConcat, Span<float> dA, int wa, Span<float> dB, int wb, bool accumulateB)
    {
        int w = wa + wb;
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = dConcat.Slice(r * w, w);
            Span<float> a = dA.Slice(r * wa, wa);
            TensorPrimitives.Add(a, row.Slice(0, wa), a);
            Span<float> b = dB.Slice(r * wb, wb);
            if (accumulateB)
            {
                TensorPrimitives.Add(b, row.Slice(wa, wb), b);
            }
            else
            {
                row.Slice(wa, wb).CopyTo(b);
            }
        }
    }
}

/// <summary>
/// How a decoder pass runs: whether the cell's input projection of the embedding comes from the input table, and
/// the dropout of the pass (0 when not training). Decoding uses <see cref="Plain"/>.
/// </summary>
/// <param name="TableColumns">E when the cell's first E input columns are projected by the input table, else 0.</param>
/// <param name="Dropout">Dropout probability; 0 for no dropout.</param>
/// <param name="DropoutSeed">The seed of the mask hash.</param>
/// <param name="DropoutStep">The step of the mask hash.</param>
/// <param name="DropoutRowOffset">The index of row 0 in the whole batch.</param>
/// <param name="Steps">T of the pass (the mask index of (b, t, j) is ((row0 + b)·T + t)·W + j).</param>
/// <param name="DropQueryGradient">Test seam: the backward drops the attention query's gradient.</param>
internal readonly record struct DecoderPass(int TableColumns, float Dropout, ulong DropoutSeed, long DropoutStep, int DropoutRowOffset, int Steps, bool DropQueryGradient)
{
    /// <summary>No table, no dropout: decoding.</summary>
    public static DecoderPass Plain => default;

    /// <summary>Whether the pass drops out.</summary>
    public bool Dropping => Dropout > 0f;

    /// <summary>
    /// Dropout of one step's (B, W) rows: the mask element of (row b, step t, column j) has index
    /// ((row0 + b)·T + t)·W + j in the whole batch's (B, T, W) tensor, so it does not depend on how the batch is split.
    /// </summary>
    public void DropRows(int tensor, int t, int bsz, int width, Span<float> mask, Span<float> rows)
    {
        ulong key = SpanAttention.Seq2Seq.Dropout.Key(DropoutSeed, DropoutStep, tensor);
        for (int b = 0; b < bsz; b++)
        {
            SpanAttention.Seq2Seq.Dropout.FillMask(key, (((long)DropoutRowOffset + b) * Steps + t) * width, Dropout, mask.Slice(b * width, width));
        }
        SpanAttention.Seq2Seq.Dropout.Apply(rows, mask);
    }
}
