namespace SpanAttention.Data;

/// <summary>
/// Groups encoded pairs into padded mini-batches, bucketed by source length so rows of a batch have
/// (nearly) equal lengths and little padding is wasted. All batches of an epoch are built at once.
/// </summary>
/// <remarks>
/// Per epoch: shuffle the pair indices (seed, epoch), stable-sort them by source length (so equal
/// lengths stay in random order), cut consecutive runs of <c>batchSize</c>, then shuffle the batch order.
/// Every pair appears exactly once per epoch. Allocation happens here, not in the training step.
/// </remarks>
internal sealed class Batcher
{
    private readonly IReadOnlyList<EncodedPair> _pairs;

    /// <summary>Creates a batcher over <paramref name="pairs"/>.</summary>
    /// <param name="pairs">The encoded pairs (not copied; don't mutate them).</param>
    /// <param name="batchSize">Maximum rows per batch, ≥ 1 (the last batch of a length run may be smaller).</param>
    /// <param name="seed">Base seed of the per-epoch shuffles.</param>
    public Batcher(IReadOnlyList<EncodedPair> pairs, int batchSize, int seed)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _pairs = pairs;
        BatchSize = batchSize;
        Seed = seed;
    }

    /// <summary>Maximum rows per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Base seed.</summary>
    public int Seed { get; }

    /// <summary>Number of pairs.</summary>
    public int PairCount => _pairs.Count;

    /// <summary>Number of batches per epoch.</summary>
    public int BatchCount => (_pairs.Count + BatchSize - 1) / BatchSize;

    /// <summary>The shuffled, length-bucketed batches of one epoch (deterministic in seed and epoch).</summary>
    /// <param name="epoch">Epoch number (0-based); different epochs give different shuffles.</param>
    /// <returns>The batches; together they hold every pair exactly once.</returns>
    public IReadOnlyList<Batch> Epoch(int epoch)
    {
        var rng = new Random(unchecked((Seed * 1_000_003) + epoch));
        int[] order = new int[_pairs.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        rng.Shuffle(order);
        int[] bySourceLength = StableSortBySourceLength(order);
        Batch[] batches = Cut(bySourceLength);
        rng.Shuffle(batches);
        return batches;
    }

    /// <summary>Batches in a fixed order for evaluation: pairs sorted by source length (ties in input order), no shuffling.</summary>
    /// <returns>The batches; together they hold every pair exactly once.</returns>
    public IReadOnlyList<Batch> Sequential()
    {
        int[] order = new int[_pairs.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        return Cut(StableSortBySourceLength(order));
    }

    private int[] StableSortBySourceLength(int[] order)
    {
        // Counting sort by length: stable and O(n).
        int maxLength = 0;
        foreach (EncodedPair p in _pairs)
        {
            maxLength = Math.Max(maxLength, p.Source.Length);
        }
        int[] start = new int[maxLength + 2];
        foreach (int i in order)
        {
            start[_pairs[i].Source.Length + 1]++;
        }
        for (int l = 1; l < start.Length; l++)
        {
            start[l] += start[l - 1];
        }
        int[] sorted = new int[order.Length];
        foreach (int i in order)
        {
            sorted[start[_pairs[i].Source.Length]++] = i;
        }
        return sorted;
    }

    private Batch[] Cut(int[] sorted)
    {
        var batches = new Batch[BatchCount];
        for (int k = 0; k < batches.Length; k++)
        {
            int from = k * BatchSize;
            int size = Math.Min(BatchSize, sorted.Length - from);
            int[] indices = sorted.AsSpan(from, size).ToArray();
            batches[k] = Build(indices);
        }
        return batches;
    }

    private Batch Build(int[] indices)
    {
        int s = 0;
        int t = 0;
        foreach (int i in indices)
        {
            s = Math.Max(s, _pairs[i].Source.Length);
            t = Math.Max(t, _pairs[i].TargetInput.Length);
        }
        var batch = new Batch(indices.Length, s, t, indices);
        for (int b = 0; b < indices.Length; b++)
        {
            EncodedPair p = _pairs[indices[b]];
            p.Source.CopyTo(batch.Source, b * s);                   // row b of (B, S)
            p.TargetInput.CopyTo(batch.TargetInput, b * t);         // row b of (B, T)
            p.TargetOutput.CopyTo(batch.TargetOutput, b * t);       // row b of (B, T)
            batch.SourceLengths[b] = p.Source.Length;
            batch.TargetLengths[b] = p.TargetInput.Length;
        }
        return batch;
    }
}
