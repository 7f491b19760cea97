namespace SpanAttention.Data;

/// <summary>
/// A padded mini-batch, row-major: row b holds pair <c>PairIndices[b]</c>; every position past a row's
/// length is <see cref="Vocabulary.PadId"/> (0).
/// </summary>
internal sealed class Batch
{
    internal Batch(int size, int sourceLength, int targetLength, int[] pairIndices)
    {
        Size = size;
        SourceLength = sourceLength;
        TargetLength = targetLength;
        PairIndices = pairIndices;
        Source = new int[size * sourceLength];
        SourceLengths = new int[size];
        TargetInput = new int[size * targetLength];
        TargetOutput = new int[size * targetLength];
        TargetLengths = new int[size];
    }

    /// <summary>B, the number of rows.</summary>
    public int Size { get; }

    /// <summary>S, the longest source in the batch (the row stride of <see cref="Source"/>).</summary>
    public int SourceLength { get; }

    /// <summary>T, the longest target in the batch (the row stride of the target arrays).</summary>
    public int TargetLength { get; }

    /// <summary>Source ids, (B, S), zero-padded.</summary>
    public int[] Source { get; }

    /// <summary>Valid source steps of each row, (B).</summary>
    public int[] SourceLengths { get; }

    /// <summary>Decoder inputs (&lt;sos&gt; + tokens), (B, T), zero-padded.</summary>
    public int[] TargetInput { get; }

    /// <summary>Decoder labels (tokens + &lt;eos&gt;), (B, T), zero-padded.</summary>
    public int[] TargetOutput { get; }

    /// <summary>Valid target steps of each row, (B).</summary>
    public int[] TargetLengths { get; }

    /// <summary>Index of each row's pair in the list the batches were made from, (B).</summary>
    public int[] PairIndices { get; }

    /// <summary>Sum of the valid target steps (the number of predicted tokens).</summary>
    public int TargetTokenCount
    {
        get
        {
            int sum = 0;
            foreach (int t in TargetLengths)
            {
                sum += t;
            }
            return sum;
        }
    }
}
