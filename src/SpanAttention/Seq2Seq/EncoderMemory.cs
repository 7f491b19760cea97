namespace SpanAttention.Seq2Seq;

/// <summary>
/// What an encoder hands the decoder, and nothing about how it was made: the memory states that attention reads as
/// keys and values, which positions of each row are valid, and the decoder's initial state; plus the gradients of
/// each, which the decoder's backward fills and the encoder's backward reads.
/// </summary>
/// <remarks>
/// <para>Shapes: states (B, S, D), lengths (B), initial state (B, H); their gradients have the same shapes. The
/// decoder only reads this object, so a recurrent encoder over token ids, a Transformer encoder or a CNN feature grid
/// are interchangeable behind <see cref="IEncoder"/>.</para>
/// <para>Sized once for (maxBatch, maxSource); <see cref="SetShape"/> picks the current (B, S) without allocating.</para>
/// </remarks>
public sealed class EncoderMemory
{
    private float[] _states = [];        // (B, S, D)
    private float[] _dStates = [];       // (B, S, D)
    private float[] _initialState = [];  // (B, H)
    private float[] _dInitialState = []; // (B, H)
    private int[] _lengths = [];         // (B)
    private int _maxBatch, _maxSource;

    /// <summary>Builds the buffers for (maxBatch, maxSource).</summary>
    /// <param name="size">D: the width of a memory state (a key and a value).</param>
    /// <param name="hidden">H: the width of the decoder's initial state.</param>
    /// <param name="maxBatch">Largest B.</param>
    /// <param name="maxSource">Largest S.</param>
    internal EncoderMemory(int size, int hidden, int maxBatch, int maxSource)
    {
        Size = size;
        Hidden = hidden;
        EnsureCapacity(maxBatch, maxSource);
    }

    /// <summary>D: the width of one memory state.</summary>
    public int Size { get; }

    /// <summary>H: the width of the decoder's initial state.</summary>
    public int Hidden { get; }

    /// <summary>The current B.</summary>
    public int Batch { get; private set; }

    /// <summary>The current S (padded).</summary>
    public int Source { get; private set; }

    /// <summary>Memory states (B, S, D): the keys and the values of attention. Rows past a row's length are 0.</summary>
    public Span<float> States => _states.AsSpan(0, Batch * Source * Size);

    /// <summary>d(loss)/d(states) (B, S, D), accumulated by the decoder's backward.</summary>
    public Span<float> DStates => _dStates.AsSpan(0, Batch * Source * Size);

    /// <summary>The valid positions of each row (B): positions 0..length-1 of row b may be attended to.</summary>
    public Span<int> Lengths => _lengths.AsSpan(0, Batch);

    /// <summary>The decoder's initial state h_0 (B, H).</summary>
    public Span<float> InitialState => _initialState.AsSpan(0, Batch * Hidden);

    /// <summary>d(loss)/d(h_0) (B, H), written by the decoder's backward.</summary>
    public Span<float> DInitialState => _dInitialState.AsSpan(0, Batch * Hidden);

    /// <summary>Grows the buffers (never shrinks). Allocates only when growing.</summary>
    /// <param name="maxBatch">Largest B.</param>
    /// <param name="maxSource">Largest S.</param>
    internal void EnsureCapacity(int maxBatch, int maxSource)
    {
        if (maxBatch <= _maxBatch && maxSource <= _maxSource)
        {
            return;
        }
        int b = _maxBatch = Math.Max(maxBatch, _maxBatch);
        int s = _maxSource = Math.Max(maxSource, _maxSource);
        _states = new float[b * s * Size];
        _dStates = new float[b * s * Size];
        _initialState = new float[b * Hidden];
        _dInitialState = new float[b * Hidden];
        _lengths = new int[b];
        Batch = Math.Min(Batch, b);
        Source = Math.Min(Source, s);
    }

    /// <summary>Sets the current (B, S) and copies the row lengths.</summary>
    /// <param name="batch">B ≤ the capacity.</param>
    /// <param name="source">S ≤ the capacity.</param>
    /// <param name="lengths">(B) valid positions per row, each in 0..S.</param>
    public void SetShape(int batch, int source, ReadOnlySpan<int> lengths)
    {
        if (batch > _maxBatch || source > _maxSource)
        {
            throw new ArgumentException($"The memory shape (B={batch}, S={source}) exceeds its capacity (B={_maxBatch}, S={_maxSource}).");
        }
        Batch = batch;
        Source = source;
        lengths.Slice(0, batch).CopyTo(_lengths);
    }
}
