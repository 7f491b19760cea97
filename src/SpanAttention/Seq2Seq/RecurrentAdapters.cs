using SpanAttention.Kernels;
using SpanAttention.Parameters;
using SpanAttention.Recurrent;

namespace SpanAttention.Seq2Seq;

/// <summary>The encoder stack behind an interface, so the model picks its cell at run time (one virtual call per sequence batch).</summary>
internal interface IEncoderStack
{
    void Initialize(ParameterSet parameters, Random random);

    void EnsureCapacity(int maxBatch, int maxSteps);

    int Directions { get; }

    int GateWidth { get; }

    ParameterSlot FirstLayerWeightIh(int direction);

    void Forward(ParameterSet parameters, int batch, int steps, ReadOnlySpan<float> x, ReadOnlySpan<int> lengths, Span<float> output, Span<float> hN, Span<float> cN,
        ReadOnlySpan<float> inputProjection);

    void Backward(ParameterSet parameters, ReadOnlySpan<float> x, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> dHN, Span<float> dX, Span<float> dInputProjection);

    /// <summary>One direction of one layer over one row's n steps with packed weights (<see cref="RecurrentInference{TGates}.Sequence"/>).</summary>
    void PreparedSequence(PackedGemvMatrix weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh, Span<float> gates, int n, bool reverse,
        Span<float> output, int outStride, Span<float> scratch, Span<float> hN, Span<float> cN);
}

/// <summary>The decoder cell behind an interface (one virtual call per decoder step).</summary>
internal interface IDecoderCell
{
    int CacheSize { get; }

    int GateWidth { get; }

    ParameterSlot WeightIhSlot { get; }

    void PrepareForwardSteps(ParameterSet parameters, int projectedColumns);

    void PrepareBackwardSteps(ParameterSet parameters, int projectedColumns);

    void PrepareSingleRowSteps(ParameterSet parameters, int projectedColumns);

    void EndSteps();

    void AccumulateWeightGradients(ParameterSet parameters, int rows, ReadOnlySpan<float> dGates, ReadOnlySpan<float> dGatesHh, ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev, int projectedColumns);

    void Initialize(ParameterSet parameters, Random random);

    void Forward(ParameterSet parameters, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c, Span<float> cache,
        int projectedColumns, ReadOnlySpan<float> inputProjection);

    void Backward(ParameterSet parameters, int batch, ReadOnlySpan<float> dh, ReadOnlySpan<float> dc, ReadOnlySpan<float> x,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> cache, Span<float> dX, Span<float> dHPrev, Span<float> dCPrev,
        Span<float> dGatesOut, Span<float> dGatesHhOut, int projectedColumns);

    /// <summary>One row's step with packed weights (<see cref="RecurrentInference{TGates}.Step"/>).</summary>
    void PreparedStep(PackedGemvMatrix weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh, Span<float> gates, Span<float> gh,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c, Span<float> extra);
}

internal sealed class EncoderStack<TGates>(RecurrentLayer<TGates> layer) : IEncoderStack
    where TGates : struct, IRecurrentGates
{
    public void Initialize(ParameterSet parameters, Random random) => layer.Initialize(parameters, random);

    public void EnsureCapacity(int maxBatch, int maxSteps) => layer.EnsureCapacity(maxBatch, maxSteps);

    public int Directions => layer.Directions;

    public int GateWidth => TGates.GateCount * layer.HiddenSize;

    public ParameterSlot FirstLayerWeightIh(int direction) => layer.Weights(0, direction).WeightIh;

    public void Forward(ParameterSet parameters, int batch, int steps, ReadOnlySpan<float> x, ReadOnlySpan<int> lengths, Span<float> output, Span<float> hN, Span<float> cN,
        ReadOnlySpan<float> inputProjection) =>
        layer.Forward(parameters, batch, steps, x, lengths, default, default, output, hN, cN, inputProjection);

    public void Backward(ParameterSet parameters, ReadOnlySpan<float> x, ReadOnlySpan<float> dOutput, ReadOnlySpan<float> dHN, Span<float> dX, Span<float> dInputProjection) =>
        layer.Backward(parameters, x, dOutput, dHN, default, dX, default, default, dInputProjection);

    public void PreparedSequence(PackedGemvMatrix weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh, Span<float> gates, int n, bool reverse,
        Span<float> output, int outStride, Span<float> scratch, Span<float> hN, Span<float> cN) =>
        RecurrentInference<TGates>.Sequence(weightHh, biasIh, biasHh, gates, n, reverse, output, outStride, scratch, hN, cN);
}

internal sealed class DecoderCell<TGates>(RecurrentCell<TGates> cell) : IDecoderCell
    where TGates : struct, IRecurrentGates
{
    public int CacheSize => cell.CacheSize;

    public int GateWidth => cell.GateWidth;

    public ParameterSlot WeightIhSlot => cell.Weights.WeightIh;

    public void PrepareForwardSteps(ParameterSet parameters, int projectedColumns) => cell.PrepareForwardSteps(parameters, projectedColumns);

    public void PrepareBackwardSteps(ParameterSet parameters, int projectedColumns) => cell.PrepareBackwardSteps(parameters, projectedColumns);

    public void PrepareSingleRowSteps(ParameterSet parameters, int projectedColumns) => cell.PrepareSingleRowSteps(parameters, projectedColumns);

    public void EndSteps() => cell.EndSteps();

    public void AccumulateWeightGradients(ParameterSet parameters, int rows, ReadOnlySpan<float> dGates, ReadOnlySpan<float> dGatesHh, ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev, int projectedColumns) =>
        cell.AccumulateWeightGradients(parameters, rows, dGates, dGatesHh, x, hPrev, projectedColumns);

    public void Initialize(ParameterSet parameters, Random random) => cell.Initialize(parameters, random);

    public void Forward(ParameterSet parameters, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c, Span<float> cache,
        int projectedColumns, ReadOnlySpan<float> inputProjection) =>
        cell.Forward(parameters, batch, x, hPrev, cPrev, h, c, cache, projectedColumns, inputProjection);

    public void Backward(ParameterSet parameters, int batch, ReadOnlySpan<float> dh, ReadOnlySpan<float> dc, ReadOnlySpan<float> x,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> cache, Span<float> dX, Span<float> dHPrev, Span<float> dCPrev,
        Span<float> dGatesOut, Span<float> dGatesHhOut, int projectedColumns) =>
        cell.Backward(parameters, batch, dh, dc, x, hPrev, cPrev, cache, dX, dHPrev, dCPrev, dGatesOut, dGatesHhOut, projectedColumns);

    public void PreparedStep(PackedGemvMatrix weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh, Span<float> gates, Span<float> gh,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, Span<float> h, Span<float> c, Span<float> extra) =>
        RecurrentInference<TGates>.Step(weightHh, biasIh, biasHh, gates, gh, hPrev, cPrev, h, c, extra);
}

/// <summary>Builds the cell-specific pieces for a <see cref="RecurrentKind"/>.</summary>
internal static class RecurrentFactory
{
    public static bool HasCellState(RecurrentKind kind) => kind == RecurrentKind.Lstm;

    public static IEncoderStack Encoder(RecurrentKind kind, ParameterLayout layout, string prefix, int input, int hidden, int layers, bool bidirectional, int maxBatch, int maxSteps) => kind switch
    {
        RecurrentKind.Rnn => new EncoderStack<RnnGates>(new RecurrentLayer<RnnGates>(layout, prefix, input, hidden, layers, bidirectional, maxBatch, maxSteps)),
        RecurrentKind.Gru => new EncoderStack<GruGates>(new RecurrentLayer<GruGates>(layout, prefix, input, hidden, layers, bidirectional, maxBatch, maxSteps)),
        RecurrentKind.Lstm => new EncoderStack<LstmGates>(new RecurrentLayer<LstmGates>(layout, prefix, input, hidden, layers, bidirectional, maxBatch, maxSteps)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static IDecoderCell Cell(RecurrentKind kind, ParameterLayout layout, string prefix, int input, int hidden, int maxBatch) => kind switch
    {
        RecurrentKind.Rnn => new DecoderCell<RnnGates>(new RecurrentCell<RnnGates>(layout, prefix, input, hidden, maxBatch)),
        RecurrentKind.Gru => new DecoderCell<GruGates>(new RecurrentCell<GruGates>(layout, prefix, input, hidden, maxBatch)),
        RecurrentKind.Lstm => new DecoderCell<LstmGates>(new RecurrentCell<LstmGates>(layout, prefix, input, hidden, maxBatch)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
