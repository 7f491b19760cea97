using SpanAttention.Kernels;
using SpanAttention.Parameters;

namespace SpanAttention.Recurrent;

/// <summary>
/// One recurrent step over a batch, for callers that feed inputs step by step (the decoder):
/// PyTorch's <c>nn.RNNCell</c> / <c>nn.GRUCell</c> / <c>nn.LSTMCell</c>. Parameter names drop the layer
/// suffix: <c>{prefix}weight_ih</c>, <c>weight_hh</c>, <c>bias_ih</c>, <c>bias_hh</c>.
/// </summary>
/// <typeparam name="TGates">The cell's gate math.</typeparam>
/// <remarks>
/// The caller owns the per-step cache (<see cref="CacheSize"/> floats per row), so it can keep one per
/// decoder step and run Backward in reverse order later. Projections: one GEMM over the batch each
/// (x·W_ihᵀ, h·W_hhᵀ), a GEMV at B = 1. The instance holds only backward scratch sized for maxBatch,
/// so after the first call nothing is allocated; it is not thread-safe.
/// </remarks>
internal sealed class RecurrentCell<TGates>
    where TGates : struct, IRecurrentGates
{
    private readonly float[] _gh;        // (B, G·H) h·W_hhᵀ
    private readonly float[] _dh;        // (B, H)
    private readonly float[] _dc;        // (B, H)
    private readonly float[] _dGates;    // (B, G·H)
    private readonly float[] _dGatesHh;  // (B, G·H)
    private readonly float[] _ones;      // (B)

    // Weights packed once for a run of steps with unchanged values (one teacher-forced pass), see PrepareForwardSteps.
    private PackedMatrix? _packedIhT;    // op(B) = W_ihᵀ (I, G·H): forward x·W_ihᵀ
    private PackedMatrix? _packedHhT;    // op(B) = W_hhᵀ (H, G·H): forward h·W_hhᵀ
    private PackedMatrix? _packedIh;     // op(B) = W_ih (G·H, I): backward dGates·W_ih
    private PackedMatrix? _packedHh;     // op(B) = W_hh (G·H, H): backward dGatesHh·W_hh
    private bool _forwardPacked, _backwardPacked;
    private int _packedColumns;          // the first input columns left out of the packed W_ih (see projectedColumns)

    // Batch 1: the same two weights packed for the GEMV (see PrepareSingleRowSteps); one copy serves W·x and Wᵀ·x.
    private PackedGemvMatrix? _rowIh;    // W_ih[:, P:] (G·H, I-P)
    private PackedGemvMatrix? _rowHh;    // W_hh (G·H, H)
    private bool _rowPacked;
    private int _rowColumns;             // P for _rowIh

    /// <summary>Registers the four tensors and sizes the scratch.</summary>
    /// <param name="layout">The model's parameter layout.</param>
    /// <param name="prefix">Name prefix, e.g. <c>"decoder.cell."</c>.</param>
    /// <param name="inputSize">I.</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="maxBatch">Largest batch a call may use.</param>
    public RecurrentCell(ParameterLayout layout, string prefix, int inputSize, int hiddenSize, int maxBatch = 1)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hiddenSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        Weights = new RecurrentWeights(layout, prefix, "", TGates.GateCount, inputSize, hiddenSize);
        MaxBatch = maxBatch;
        int gh = TGates.GateCount * hiddenSize;
        _gh = new float[maxBatch * gh];
        _dh = new float[maxBatch * hiddenSize];
        _dc = new float[maxBatch * hiddenSize];
        _dGates = new float[maxBatch * gh];
        _dGatesHh = new float[maxBatch * gh];
        _ones = new float[maxBatch];
        _ones.AsSpan().Fill(1f);
    }

    /// <summary>The cell's tensors.</summary>
    public RecurrentWeights Weights { get; }

    /// <summary>I.</summary>
    public int InputSize => Weights.InputSize;

    /// <summary>H.</summary>
    public int HiddenSize => Weights.HiddenSize;

    /// <summary>Largest batch.</summary>
    public int MaxBatch { get; }

    /// <summary>Floats of per-step cache per row: (G + E)·H (gate activations, then the cell's extras).</summary>
    public int CacheSize => (TGates.GateCount + TGates.ExtraWidth) * HiddenSize;

    /// <summary>Width of one row of gate pre-activation gradients: G·H (what <c>Backward</c> can store per row).</summary>
    public int GateWidth => TGates.GateCount * HiddenSize;

    /// <summary>
    /// Packs W_ihᵀ and W_hhᵀ once for the <c>Forward</c> calls that follow (batch ≥ 2), instead of letting every
    /// step's GEMM pack them again. Valid until <see cref="EndSteps"/>: call it again after the parameter values change.
    /// </summary>
    /// <param name="parameters">Parameter values (read).</param>
    /// <param name="projectedColumns">P: the steps will get input columns [0, P) already projected (see the
    /// <c>Forward</c> overload with an input projection), so only W_ih[:, P:] is packed.</param>
    /// <remarks>The packed copies are allocated on the first call (G·H·(I + H) floats), then reused.</remarks>
    public void PrepareForwardSteps(ParameterSet parameters, int projectedColumns = 0)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckProjectedColumns(projectedColumns);
        int gh = GateWidth, i = InputSize, hs = HiddenSize, k = i - projectedColumns;
        if (_packedIhT is null || _packedIhT.K != k)
        {
            _packedIhT = new PackedMatrix(k, gh);
        }
        _packedHhT ??= new PackedMatrix(hs, gh);
        _packedIhT.Pack(Weights.WeightIh.Of(parameters.Values).Slice(projectedColumns), i, Transpose.Yes); // W_ih[:, P:] (G·H, I-P) used as its transpose
        _packedHhT.Pack(Weights.WeightHh.Of(parameters.Values), hs, Transpose.Yes);                        // W_hh (G·H, H) used as W_hhᵀ
        _packedColumns = projectedColumns;
        _forwardPacked = true;
    }

    /// <summary>
    /// Packs W_ih and W_hh once for the <c>Backward</c> calls that follow (batch ≥ 2). Valid until
    /// <see cref="EndSteps"/>.
    /// </summary>
    /// <param name="parameters">Parameter values (read).</param>
    /// <param name="projectedColumns">P, as for <see cref="PrepareForwardSteps"/>: only W_ih[:, P:] is packed.</param>
    public void PrepareBackwardSteps(ParameterSet parameters, int projectedColumns = 0)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckProjectedColumns(projectedColumns);
        int gh = GateWidth, i = InputSize, hs = HiddenSize, n = i - projectedColumns;
        if (_packedIh is null || _packedIh.N != n)
        {
            _packedIh = new PackedMatrix(gh, n);
        }
        _packedHh ??= new PackedMatrix(gh, hs);
        _packedIh.Pack(Weights.WeightIh.Of(parameters.Values).Slice(projectedColumns), i, Transpose.No);
        _packedHh.Pack(Weights.WeightHh.Of(parameters.Values), hs, Transpose.No);
        _packedColumns = projectedColumns;
        _backwardPacked = true;
    }

    /// <summary>
    /// Packs W_ih[:, P:] and W_hh once for the batch-1 <c>Forward</c> and <c>Backward</c> calls that follow (a
    /// <see cref="PackedGemvMatrix"/> each: one copy serves the forward W·x and the backward Wᵀ·x). Valid until
    /// <see cref="EndSteps"/>: call it again after the parameter values change.
    /// </summary>
    /// <param name="parameters">Parameter values (read).</param>
    /// <param name="projectedColumns">P, as for <see cref="PrepareForwardSteps"/>: only W_ih[:, P:] is packed.</param>
    /// <remarks>
    /// A batch-1 step is two GEMVs over (G·H, ·) weights, bound by streaming them from cache; the packed layout is
    /// one sequential stream instead of four strided rows (the numbers are in docs/kernels.md).
    /// Packing costs about one GEMV per weight. The packed copies are allocated on the first call, then reused.
    /// </remarks>
    public void PrepareSingleRowSteps(ParameterSet parameters, int projectedColumns = 0)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckProjectedColumns(projectedColumns);
        int gh = GateWidth, i = InputSize, hs = HiddenSize, k = i - projectedColumns;
        if (_rowIh is null || _rowIh.Cols != k)
        {
            _rowIh = new PackedGemvMatrix(gh, k);
        }
        _rowHh ??= new PackedGemvMatrix(gh, hs);
        _rowIh.Pack(Weights.WeightIh.Of(parameters.Values).Slice(projectedColumns), gh, k, i);   // W_ih[:, P:] (G·H, I-P), row stride I
        _rowHh.Pack(Weights.WeightHh.Of(parameters.Values), gh, hs, hs);                         // W_hh (G·H, H)
        _rowColumns = projectedColumns;
        _rowPacked = true;
    }

    /// <summary>Forgets the packed weights: later steps read the weights directly again (safe after any update).</summary>
    public void EndSteps()
    {
        _forwardPacked = false;
        _backwardPacked = false;
        _rowPacked = false;
    }

    /// <summary>PyTorch's default initialisation: U(-1/sqrt(H), 1/sqrt(H)).</summary>
    /// <param name="parameters">The parameter set built from the layout.</param>
    /// <param name="random">Seeded random source.</param>
    public void Initialize(ParameterSet parameters, Random random)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(random);
        Weights.Initialize(parameters, random);
    }

    /// <summary>One step for B rows. Overwrites h, c and cache.</summary>
    /// <param name="parameters">Parameter values (read).</param>
    /// <param name="batch">B ≤ MaxBatch.</param>
    /// <param name="x">(B, I) inputs.</param>
    /// <param name="hPrev">(B, H) previous hidden state.</param>
    /// <param name="cPrev">(B, H) previous cell state (LSTM; empty otherwise).</param>
    /// <param name="h">(B, H) new hidden state. Must not overlap <paramref name="hPrev"/> (backward needs h_prev).</param>
    /// <param name="c">(B, H) new cell state (LSTM; empty otherwise).</param>
    /// <param name="cache">(B, CacheSize) what Backward needs. Overwritten.</param>
    public void Forward(
        ParameterSet parameters, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev,
        Span<float> h, Span<float> c, Span<float> cache) =>
        Forward(parameters, batch, x, hPrev, cPrev, h, c, cache, 0, default);

    /// <summary>
    /// One step whose first P input columns arrive already projected: gates = inputProjection + x[:, P:]·W_ih[:, P:]ᵀ.
    /// For a token embedding in those columns, inputProjection is a row of a per-token table E·W_ih[:, :P]ᵀ
    /// (the caller's lookup replaces B·P·G·H multiply-adds). Overwrites h, c and cache.
    /// </summary>
    /// <param name="parameters">Parameter values (read).</param>
    /// <param name="batch">B ≤ MaxBatch.</param>
    /// <param name="x">(B, I) inputs; columns [0, P) are not read.</param>
    /// <param name="hPrev">(B, H) previous hidden state.</param>
    /// <param name="cPrev">(B, H) previous cell state (LSTM; empty otherwise).</param>
    /// <param name="h">(B, H) new hidden state. Must not overlap <paramref name="hPrev"/>.</param>
    /// <param name="c">(B, H) new cell state (LSTM; empty otherwise).</param>
    /// <param name="cache">(B, CacheSize) what Backward needs. Overwritten.</param>
    /// <param name="projectedColumns">P, 0 ≤ P &lt; I (0: an ordinary step).</param>
    /// <param name="inputProjection">(B, G·H) x[:, :P]·W_ih[:, :P]ᵀ; empty when P = 0.</param>
    public void Forward(
        ParameterSet parameters, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev,
        Span<float> h, Span<float> c, Span<float> cache, int projectedColumns, ReadOnlySpan<float> inputProjection)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckProjectedColumns(projectedColumns);
        int hs = HiddenSize, gh = TGates.GateCount * hs, cs = CacheSize, i = InputSize;
        CheckBatch(batch);
        Guard.Length(x.Length, batch * i, nameof(x));
        Guard.Length(hPrev.Length, batch * hs, nameof(hPrev));
        Guard.Length(h.Length, batch * hs, nameof(h));
        Guard.Length(cache.Length, batch * cs, nameof(cache));
        if (TGates.HasCellState)
        {
            Guard.Length(cPrev.Length, batch * hs, nameof(cPrev));
            Guard.Length(c.Length, batch * hs, nameof(c));
        }
        ReadOnlySpan<float> values = parameters.Values;
        ReadOnlySpan<float> weightIh = Weights.WeightIh.Of(values);  // (G·H, I)
        ReadOnlySpan<float> weightHh = Weights.WeightHh.Of(values);  // (G·H, H)
        ReadOnlySpan<float> biasIh = Weights.BiasIh.Of(values);
        ReadOnlySpan<float> biasHh = Weights.BiasHh.Of(values);
        Span<float> ghAll = _gh.AsSpan(0, batch * gh);
        // 1. gates (B, G·H) = x·W_ihᵀ into the cache rows; gh (B, G·H) = h·W_hhᵀ. With P projected columns:
        //    gates = inputProjection + x[:, P:]·W_ih[:, P:]ᵀ.
        int pc = projectedColumns, k = i - pc;
        bool projected = pc > 0;
        if (projected)
        {
            Guard.Length(inputProjection.Length, batch * gh, nameof(inputProjection));
            for (int b = 0; b < batch; b++)
            {
                inputProjection.Slice(b * gh, gh).CopyTo(cache.Slice(b * cs, gh));
            }
        }
        ReadOnlySpan<float> xRest = x.Slice(pc);               // (B, I-P) view, row stride I
        ReadOnlySpan<float> weightIhRest = weightIh.Slice(pc); // (G·H, I-P) view, row stride I
        if (batch == 1 && _rowPacked && _rowColumns == pc)
        {
            Gemv.Multiply(_rowIh!, xRest.Slice(0, k), cache.Slice(0, gh), projected);
            Gemv.Multiply(_rowHh!, hPrev.Slice(0, hs), ghAll, false);
        }
        else if (batch == 1)
        {
            Gemv.Multiply(weightIhRest, gh, k, i, xRest, cache.Slice(0, gh), projected);
            Gemv.Multiply(weightHh, gh, hs, hs, hPrev, ghAll, false);
        }
        else if (_forwardPacked && _packedColumns == pc)
        {
            Gemm.Multiply(batch, xRest, i, Transpose.No, _packedIhT!, cache, cs, projected);
            Gemm.Multiply(batch, hPrev, hs, Transpose.No, _packedHhT!, ghAll, gh, false);
        }
        else
        {
            Gemm.Multiply(batch, gh, k, xRest, i, Transpose.No, weightIhRest, i, Transpose.Yes, cache, cs, projected);
            Gemm.Multiply(batch, gh, hs, hPrev, hs, Transpose.No, weightHh, hs, Transpose.Yes, ghAll, gh, false);
        }
        // 2. The gate math, row by row.
        for (int b = 0; b < batch; b++)
        {
            Span<float> rowCache = cache.Slice(b * cs, cs);
            TGates.Forward(hs, rowCache.Slice(0, gh), ghAll.Slice(b * gh, gh), biasIh, biasHh,
                hPrev.Slice(b * hs, hs), TGates.HasCellState ? cPrev.Slice(b * hs, hs) : default,
                h.Slice(b * hs, hs), TGates.HasCellState ? c.Slice(b * hs, hs) : default, rowCache.Slice(gh));
        }
    }

    /// <summary>The backward of one <c>Forward</c> step. Accumulates into every gradient.</summary>
    /// <param name="parameters">Parameter values (read) and gradients (accumulated).</param>
    /// <param name="batch">B, as in the forward call.</param>
    /// <param name="dh">(B, H) gradient of h.</param>
    /// <param name="dc">(B, H) gradient of c (LSTM), or empty for zero.</param>
    /// <param name="x">(B, I) the forward inputs.</param>
    /// <param name="hPrev">(B, H) the forward h_prev.</param>
    /// <param name="cPrev">(B, H) the forward c_prev (LSTM).</param>
    /// <param name="cache">(B, CacheSize) the forward cache.</param>
    /// <param name="dX">(B, I) accumulated; or empty to skip.</param>
    /// <param name="dHPrev">(B, H) accumulated.</param>
    /// <param name="dCPrev">(B, H) accumulated (LSTM; empty otherwise).</param>
    public void Backward(
        ParameterSet parameters, int batch, ReadOnlySpan<float> dh, ReadOnlySpan<float> dc, ReadOnlySpan<float> x,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> cache,
        Span<float> dX, Span<float> dHPrev, Span<float> dCPrev) =>
        Backward(parameters, batch, dh, dc, x, hPrev, cPrev, cache, dX, dHPrev, dCPrev, default, default, 0);

    /// <summary>
    /// The backward of one <c>Forward</c> step that leaves the weight and bias gradients to the caller: it
    /// stores this step's gate gradients in <paramref name="dGatesOut"/> / <paramref name="dGatesHhOut"/> (overwritten)
    /// so that <see cref="AccumulateWeightGradients"/> forms dW_ih, dW_hh, db_ih, db_hh for all steps with one GEMM
    /// each (k = T·B rows instead of T GEMMs with k = B). With both stores empty it accumulates them itself.
    /// </summary>
    /// <param name="parameters">Parameter values (read) and gradients (accumulated).</param>
    /// <param name="batch">B, as in the forward call.</param>
    /// <param name="dh">(B, H) gradient of h.</param>
    /// <param name="dc">(B, H) gradient of c (LSTM), or empty for zero.</param>
    /// <param name="x">(B, I) the forward inputs.</param>
    /// <param name="hPrev">(B, H) the forward h_prev.</param>
    /// <param name="cPrev">(B, H) the forward c_prev (LSTM).</param>
    /// <param name="cache">(B, CacheSize) the forward cache.</param>
    /// <param name="dX">(B, I) accumulated; or empty to skip.</param>
    /// <param name="dHPrev">(B, H) accumulated.</param>
    /// <param name="dCPrev">(B, H) accumulated (LSTM; empty otherwise).</param>
    /// <param name="dGatesOut">(B, G·H) this step's gradient of the input-side gate pre-activations, or empty.</param>
    /// <param name="dGatesHhOut">(B, G·H) the hidden-side ones (differ from dGatesOut for the GRU's n gate); unused
    /// (may be empty) for cells whose two are equal (RNN, LSTM).</param>
    /// <param name="projectedColumns">P as given to forward: dX[:, :P] is not written (the caller owns that part: the
    /// gradient of its input projection is the stored dGates) and needs <paramref name="dGatesOut"/>.</param>
    public void Backward(
        ParameterSet parameters, int batch, ReadOnlySpan<float> dh, ReadOnlySpan<float> dc, ReadOnlySpan<float> x,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> cache,
        Span<float> dX, Span<float> dHPrev, Span<float> dCPrev, Span<float> dGatesOut, Span<float> dGatesHhOut, int projectedColumns)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckProjectedColumns(projectedColumns);
        if (projectedColumns > 0 && dGatesOut.IsEmpty)
        {
            throw new ArgumentException("Projected input columns need the gate gradients stored (dGatesOut): their gradient flows through them.", nameof(dGatesOut));
        }
        int hs = HiddenSize, gh = TGates.GateCount * hs, cs = CacheSize, i = InputSize;
        CheckBatch(batch);
        Guard.Length(dh.Length, batch * hs, nameof(dh));
        Guard.Length(x.Length, batch * i, nameof(x));
        Guard.Length(hPrev.Length, batch * hs, nameof(hPrev));
        Guard.Length(cache.Length, batch * cs, nameof(cache));
        Guard.Length(dHPrev.Length, batch * hs, nameof(dHPrev));
        if (!dX.IsEmpty) { Guard.Length(dX.Length, batch * i, nameof(dX)); }
        if (TGates.HasCellState)
        {
            Guard.Length(cPrev.Length, batch * hs, nameof(cPrev));
            Guard.Length(dCPrev.Length, batch * hs, nameof(dCPrev));
            if (!dc.IsEmpty) { Guard.Length(dc.Length, batch * hs, nameof(dc)); }
        }
        ReadOnlySpan<float> values = parameters.Values;
        ReadOnlySpan<float> weightIh = Weights.WeightIh.Of(values);  // (G·H, I)
        ReadOnlySpan<float> weightHh = Weights.WeightHh.Of(values);  // (G·H, H)
        Span<float> dhWork = _dh.AsSpan(0, batch * hs);
        Span<float> dcWork = _dc.AsSpan(0, batch * hs);
        bool deferred = !dGatesOut.IsEmpty;
        if (deferred)
        {
            Guard.Length(dGatesOut.Length, batch * gh, nameof(dGatesOut));
            if (TGates.SeparateHiddenGradient)
            {
                Guard.Length(dGatesHhOut.Length, batch * gh, nameof(dGatesHhOut));
            }
        }
        Span<float> dGates = deferred ? dGatesOut.Slice(0, batch * gh) : _dGates.AsSpan(0, batch * gh);
        Span<float> dGatesHh = !TGates.SeparateHiddenGradient ? dGates
            : deferred ? dGatesHhOut.Slice(0, batch * gh) : _dGatesHh.AsSpan(0, batch * gh);
        dh.Slice(0, batch * hs).CopyTo(dhWork);
        if (TGates.HasCellState)
        {
            if (dc.IsEmpty) { dcWork.Clear(); } else { dc.Slice(0, batch * hs).CopyTo(dcWork); }
        }
        // 1. Gate math backward, row by row: dGates, the direct part of dh_prev (in dhWork) and dc_prev (in dcWork).
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<float> rowCache = cache.Slice(b * cs, cs);
            TGates.Backward(hs, dhWork.Slice(b * hs, hs), TGates.HasCellState ? dcWork.Slice(b * hs, hs) : default,
                rowCache.Slice(0, gh), rowCache.Slice(gh), hPrev.Slice(b * hs, hs),
                TGates.HasCellState ? cPrev.Slice(b * hs, hs) : default,
                dGates.Slice(b * gh, gh), TGates.SeparateHiddenGradient ? dGatesHh.Slice(b * gh, gh) : default);
        }
        // 2. dh_prev += direct + dGatesHh·W_hh; dc_prev += dc'⊙f; dx += dGates·W_ih.
        System.Numerics.Tensors.TensorPrimitives.Add(dHPrev.Slice(0, batch * hs), dhWork, dHPrev.Slice(0, batch * hs));
        if (TGates.HasCellState)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(dCPrev.Slice(0, batch * hs), dcWork, dCPrev.Slice(0, batch * hs));
        }
        // dx[:, P:] += dGates·W_ih[:, P:] (P = projected columns, normally 0)
        int pc = projectedColumns, k = i - pc;
        ReadOnlySpan<float> weightIhRest = weightIh.Slice(pc);
        Span<float> dXRest = dX.IsEmpty ? dX : dX.Slice(pc);
        if (batch == 1 && _rowPacked && _rowColumns == pc)
        {
            Gemv.MultiplyTransposed(_rowHh!, dGatesHh.Slice(0, gh), dHPrev.Slice(0, hs), true);
            if (!dX.IsEmpty)
            {
                Gemv.MultiplyTransposed(_rowIh!, dGates.Slice(0, gh), dXRest.Slice(0, k), true);
            }
        }
        else if (batch == 1)
        {
            Gemv.MultiplyTransposed(weightHh, gh, hs, hs, dGatesHh, dHPrev.Slice(0, hs), true);
            if (!dX.IsEmpty)
            {
                Gemv.MultiplyTransposed(weightIhRest, gh, k, i, dGates, dXRest.Slice(0, k), true);
            }
        }
        else if (_backwardPacked && _packedColumns == pc)
        {
            Gemm.Multiply(batch, dGatesHh, gh, Transpose.No, _packedHh!, dHPrev, hs, true);
            if (!dX.IsEmpty)
            {
                Gemm.Multiply(batch, dGates, gh, Transpose.No, _packedIh!, dXRest, i, true);
            }
        }
        else
        {
            Gemm.Multiply(batch, hs, gh, dGatesHh, gh, Transpose.No, weightHh, hs, Transpose.No, dHPrev, hs, true);
            if (!dX.IsEmpty)
            {
                Gemm.Multiply(batch, k, gh, dGates, gh, Transpose.No, weightIhRest, i, Transpose.No, dXRest, i, true);
            }
        }
        // 3. Weight and bias gradients: one GEMM each over the batch (or later, over all steps, by the caller).
        if (!deferred)
        {
            Weights.AccumulateWeightGradients(batch, dGates, dGatesHh, x.Slice(0, batch * i), hPrev.Slice(0, batch * hs), _ones, parameters.Gradients);
        }
    }

    /// <summary>
    /// The weight and bias gradients of N stored (row, step) pairs at once, accumulated:
    /// dW_ih += dGatesᵀ·X, dW_hh += dGatesHhᵀ·Hprev, db_ih += Σ dGates, db_hh += Σ dGatesHh.
    /// </summary>
    /// <param name="parameters">Gradients (accumulated).</param>
    /// <param name="rows">N, e.g. T·B.</param>
    /// <param name="dGates">(N, G·H) stored by <see cref="Backward(ParameterSet, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float}, Span{float}, Span{float}, int)"/>.</param>
    /// <param name="dGatesHh">(N, G·H) the hidden-side ones, stored the same way (ignored, may be empty, for RNN and LSTM).</param>
    /// <param name="x">(N, I) the inputs of those steps, in the same row order.</param>
    /// <param name="hPrev">(N, H) the previous hidden states of those steps.</param>
    /// <param name="projectedColumns">P as given to forward: dW_ih[:, :P] is left to the caller (whose input projection it was).</param>
    public void AccumulateWeightGradients(
        ParameterSet parameters, int rows, ReadOnlySpan<float> dGates, ReadOnlySpan<float> dGatesHh, ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev,
        int projectedColumns = 0)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckProjectedColumns(projectedColumns);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 0);
        int gh = GateWidth, i = InputSize, hs = HiddenSize;
        Guard.Length(dGates.Length, rows * gh, nameof(dGates));
        if (TGates.SeparateHiddenGradient)
        {
            Guard.Length(dGatesHh.Length, rows * gh, nameof(dGatesHh));
        }
        Guard.Length(x.Length, rows * i, nameof(x));
        Guard.Length(hPrev.Length, rows * hs, nameof(hPrev));
        Span<float> gradients = parameters.Gradients;
        ReadOnlySpan<float> dHidden = TGates.SeparateHiddenGradient ? dGatesHh.Slice(0, rows * gh) : dGates.Slice(0, rows * gh);
        int pc = projectedColumns;
        Gemm.Multiply(gh, i - pc, rows, dGates, gh, Transpose.Yes, x.Slice(pc), i, Transpose.No,
            Weights.WeightIh.Of(gradients).Slice(pc), i, true);                                                                    // dW_ih[:, P:] += dGatesᵀ X[:, P:]
        Gemm.Multiply(gh, hs, rows, dHidden, gh, Transpose.Yes, hPrev, hs, Transpose.No, Weights.WeightHh.Of(gradients), hs, true); // dW_hh (G·H, H) += dGatesHhᵀ Hprev
        Span<float> dBiasIh = Weights.BiasIh.Of(gradients), dBiasHh = Weights.BiasHh.Of(gradients);
        for (int r = 0; r < rows; r++)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(dBiasIh, dGates.Slice(r * gh, gh), dBiasIh);   // db_ih += Σ_rows dGates
            System.Numerics.Tensors.TensorPrimitives.Add(dBiasHh, dHidden.Slice(r * gh, gh), dBiasHh);  // db_hh += Σ_rows dGatesHh
        }
    }

    private void CheckProjectedColumns(int projectedColumns)
    {
        if ((uint)projectedColumns >= (uint)InputSize)
        {
            throw new ArgumentOutOfRangeException(nameof(projectedColumns), $"projected input columns {projectedColumns} are outside [0, {InputSize}).");
        }
    }

    private void CheckBatch(int batch)
    {
        if (batch < 1 || batch > MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), $"batch {batch} is outside [1, {MaxBatch}].");
        }
    }
}
