namespace SpanAttention.Seq2Seq;

/// <summary>
/// One padded mini-batch: B source rows of S ids (or of S feature vectors, for a <see cref="EncoderKind.Features"/>
/// model) and B target rows of T ids, row-major, with per-row lengths.
/// </summary>
/// <remarks>
/// Target input row b is [BOS, y_1, ..., y_n] and target output row b is [y_1, ..., y_n, EOS] (length n + 1 =
/// <see cref="TargetLengths"/>[b]); positions past a row's length hold the padding id in both (the loss ignores them).
/// </remarks>
public sealed class Seq2SeqBatch
{
    /// <summary>Wraps existing arrays (not copied).</summary>
    /// <param name="batchSize">B ≥ 1.</param>
    /// <param name="sourceLength">S ≥ 1.</param>
    /// <param name="targetLength">T ≥ 1.</param>
    /// <param name="sourceIds">(B, S).</param>
    /// <param name="sourceLengths">(B), each in [1, S].</param>
    /// <param name="targetInput">(B, T).</param>
    /// <param name="targetOutput">(B, T).</param>
    /// <param name="targetLengths">(B), each in [1, T].</param>
    public Seq2SeqBatch(int batchSize, int sourceLength, int targetLength, int[] sourceIds, int[] sourceLengths, int[] targetInput, int[] targetOutput, int[] targetLengths)
        : this(batchSize, sourceLength, targetLength, sourceIds ?? throw new ArgumentNullException(nameof(sourceIds)), [], 0, sourceLengths, targetInput, targetOutput, targetLengths)
    {
    }

    /// <summary>Wraps existing arrays (not copied): a batch of feature grids.</summary>
    /// <param name="batchSize">B ≥ 1.</param>
    /// <param name="sourceLength">S ≥ 1: positions per grid (padded).</param>
    /// <param name="targetLength">T ≥ 1.</param>
    /// <param name="sourceFeatures">(B, S, F).</param>
    /// <param name="featureSize">F ≥ 1.</param>
    /// <param name="sourceLengths">(B), each in [1, S].</param>
    /// <param name="targetInput">(B, T).</param>
    /// <param name="targetOutput">(B, T).</param>
    /// <param name="targetLengths">(B), each in [1, T].</param>
    internal Seq2SeqBatch(int batchSize, int sourceLength, int targetLength, float[] sourceFeatures, int featureSize, int[] sourceLengths, int[] targetInput, int[] targetOutput, int[] targetLengths)
        : this(batchSize, sourceLength, targetLength, [], sourceFeatures ?? throw new ArgumentNullException(nameof(sourceFeatures)),
            featureSize >= 1 ? featureSize : throw new ArgumentOutOfRangeException(nameof(featureSize), $"featureSize must be ≥ 1, got {featureSize}."),
            sourceLengths, targetInput, targetOutput, targetLengths)
    {
    }

    /// <summary>Wraps existing arrays (not copied): a batch of images, each giving <paramref name="positions"/> memory positions.</summary>
    /// <param name="batchSize">B ≥ 1.</param>
    /// <param name="positions">S = L ≥ 1: the memory positions the encoder makes of one image (all valid).</param>
    /// <param name="targetLength">T ≥ 1.</param>
    /// <param name="pixels">(B, C, H, W).</param>
    /// <param name="image">(C, H, W), each ≥ 1.</param>
    /// <param name="targetInput">(B, T).</param>
    /// <param name="targetOutput">(B, T).</param>
    /// <param name="targetLengths">(B), each in [1, T].</param>
    internal Seq2SeqBatch(int batchSize, int positions, int targetLength, float[] pixels, (int Channels, int Height, int Width) image,
        int[] targetInput, int[] targetOutput, int[] targetLengths)
        : this(batchSize, positions, targetLength, [], [], 0, Filled(batchSize, positions), targetInput, targetOutput, targetLengths,
            pixels ?? throw new ArgumentNullException(nameof(pixels)), image)
    {
    }

    private static int[] Filled(int count, int value)
    {
        var a = new int[Math.Max(count, 0)];
        Array.Fill(a, value);
        return a;
    }

    private Seq2SeqBatch(int batchSize, int sourceLength, int targetLength, int[] sourceIds, float[] sourceFeatures, int featureSize, int[] sourceLengths,
        int[] targetInput, int[] targetOutput, int[] targetLengths, float[]? pixels = null, (int Channels, int Height, int Width) image = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(targetLength, 1);
        ArgumentNullException.ThrowIfNull(sourceLengths);
        ArgumentNullException.ThrowIfNull(targetInput);
        ArgumentNullException.ThrowIfNull(targetOutput);
        ArgumentNullException.ThrowIfNull(targetLengths);
        if (pixels is not null)
        {
            if (image.Channels < 1 || image.Height < 1 || image.Width < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(image), $"The image shape (C, H, W) = {image} must be positive.");
            }
            Expect(pixels.Length, batchSize * image.Channels * image.Height * image.Width, nameof(pixels));
        }
        else if (featureSize == 0)
        {
            Expect(sourceIds.Length, batchSize * sourceLength, nameof(sourceIds));
        }
        else
        {
            Expect(sourceFeatures.Length, batchSize * sourceLength * featureSize, nameof(sourceFeatures));
        }
        Expect(sourceLengths.Length, batchSize, nameof(sourceLengths));
        Expect(targetInput.Length, batchSize * targetLength, nameof(targetInput));
        Expect(targetOutput.Length, batchSize * targetLength, nameof(targetOutput));
        Expect(targetLengths.Length, batchSize, nameof(targetLengths));
        for (int b = 0; b < batchSize; b++)
        {
            if (sourceLengths[b] < 1 || sourceLengths[b] > sourceLength)
            {
                throw new ArgumentOutOfRangeException(nameof(sourceLengths), $"sourceLengths[{b}] = {sourceLengths[b]} is outside [1, {sourceLength}].");
            }
            if (targetLengths[b] < 1 || targetLengths[b] > targetLength)
            {
                throw new ArgumentOutOfRangeException(nameof(targetLengths), $"targetLengths[{b}] = {targetLengths[b]} is outside [1, {targetLength}].");
            }
        }
        BatchSize = batchSize;
        SourceLength = sourceLength;
        TargetLength = targetLength;
        SourceIds = sourceIds;
        SourceFeatures = sourceFeatures;
        FeatureSize = featureSize;
        SourcePixels = pixels ?? [];
        ImageShape = image;
        SourceLengths = sourceLengths;
        TargetInput = targetInput;
        TargetOutput = targetOutput;
        TargetLengths = targetLengths;
    }

    /// <summary>B.</summary>
    public int BatchSize { get; }

    /// <summary>S: padded source length.</summary>
    public int SourceLength { get; }

    /// <summary>T: padded target length.</summary>
    public int TargetLength { get; }

    /// <summary>(B, S) source ids; empty for a batch of feature grids.</summary>
    public int[] SourceIds { get; }

    /// <summary>(B, S, F) source feature vectors; empty for a batch of token ids.</summary>
    internal float[] SourceFeatures { get; }

    /// <summary>F: features per source position; 0 for a batch of token ids.</summary>
    internal int FeatureSize { get; }

    /// <summary>(B, C, H, W) source pixels; empty unless a batch of images.</summary>
    internal float[] SourcePixels { get; }

    /// <summary>(C, H, W) of each image; zeros unless a batch of images.</summary>
    internal (int Channels, int Height, int Width) ImageShape { get; }

    /// <summary>Whether this is a batch of images.</summary>
    internal bool IsImages => ImageShape.Channels > 0;

    /// <summary>The source as an encoder reads it.</summary>
    internal SourceInput Source => IsImages
        ? SourceInput.FromImages(SourcePixels, ImageShape.Channels, ImageShape.Height, ImageShape.Width, SourceLengths, BatchSize, SourceLength)
        : FeatureSize > 0
        ? SourceInput.FromFeatures(SourceFeatures, FeatureSize, SourceLengths, BatchSize, SourceLength)
        : new SourceInput(SourceIds, SourceLengths, BatchSize, SourceLength);

    /// <summary>Rows <paramref name="start"/>..start+count-1 as a batch of their own (copied), with the same S and T.</summary>
    internal Seq2SeqBatch Rows(int start, int count)
    {
        int s = SourceLength, t = TargetLength, f = FeatureSize;
        if (IsImages)
        {
            int image = ImageShape.Channels * ImageShape.Height * ImageShape.Width;
            return new Seq2SeqBatch(count, s, t, SourcePixels.AsSpan(start * image, count * image).ToArray(), ImageShape,
                TargetInput.AsSpan(start * t, count * t).ToArray(), TargetOutput.AsSpan(start * t, count * t).ToArray(),
                TargetLengths.AsSpan(start, count).ToArray());
        }
        return new Seq2SeqBatch(count, s, t,
            f == 0 ? SourceIds.AsSpan(start * s, count * s).ToArray() : [], f == 0 ? [] : SourceFeatures.AsSpan(start * s * f, count * s * f).ToArray(), f,
            SourceLengths.AsSpan(start, count).ToArray(),
            TargetInput.AsSpan(start * t, count * t).ToArray(), TargetOutput.AsSpan(start * t, count * t).ToArray(),
            TargetLengths.AsSpan(start, count).ToArray());
    }

    /// <summary>(B) valid source steps.</summary>
    public int[] SourceLengths { get; }

    /// <summary>(B, T) decoder inputs (BOS first).</summary>
    public int[] TargetInput { get; }

    /// <summary>(B, T) expected outputs (EOS last), padding past the length.</summary>
    public int[] TargetOutput { get; }

    /// <summary>(B) valid target steps.</summary>
    public int[] TargetLengths { get; }

    /// <summary>Pads sequence pairs into a batch: target input = [BOS; target], output = [target; EOS].</summary>
    /// <param name="sources">Source id sequences (each non-empty).</param>
    /// <param name="targets">Target id sequences (without BOS/EOS).</param>
    /// <param name="paddingId">Padding id.</param>
    /// <param name="bosId">BOS id.</param>
    /// <param name="eosId">EOS id.</param>
    /// <returns>The batch.</returns>
    public static Seq2SeqBatch FromSequences(IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets, int paddingId, int bosId, int eosId)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(targets);
        if (sources.Count == 0 || sources.Count != targets.Count)
        {
            throw new ArgumentException($"Need as many targets as sources (≥ 1), got {sources.Count} and {targets.Count}.", nameof(targets));
        }
        int b = sources.Count, s = 1, t = 1;
        for (int i = 0; i < b; i++)
        {
            s = Math.Max(s, sources[i].Length);
            t = Math.Max(t, targets[i].Length + 1);
        }
        var src = new int[b * s];
        var srcLen = new int[b];
        var tin = new int[b * t];
        var tout = new int[b * t];
        var tlen = new int[b];
        Array.Fill(src, paddingId);
        Array.Fill(tin, paddingId);
        Array.Fill(tout, paddingId);
        for (int i = 0; i < b; i++)
        {
            sources[i].CopyTo(src, i * s);
            srcLen[i] = sources[i].Length;
            int[] y = targets[i];
            tin[i * t] = bosId;
            y.CopyTo(tin, i * t + 1);
            y.CopyTo(tout, i * t);
            tout[i * t + y.Length] = eosId;
            tlen[i] = y.Length + 1;
        }
        return new Seq2SeqBatch(b, s, t, src, srcLen, tin, tout, tlen);
    }

    /// <summary>Pads feature grids and their targets into a batch: target input = [BOS; target], output = [target; EOS].</summary>
    /// <param name="grids">Feature grids, each (S_i, F) row-major with S_i ≥ 1.</param>
    /// <param name="featureSize">F ≥ 1.</param>
    /// <param name="targets">Target id sequences (without BOS/EOS).</param>
    /// <param name="paddingId">Padding id.</param>
    /// <param name="bosId">BOS id.</param>
    /// <param name="eosId">EOS id.</param>
    /// <returns>The batch.</returns>
    internal static Seq2SeqBatch FromFeatureGrids(IReadOnlyList<float[]> grids, int featureSize, IReadOnlyList<int[]> targets, int paddingId, int bosId, int eosId)
    {
        ArgumentNullException.ThrowIfNull(grids);
        int[][] positions = GridLengths(grids, featureSize);
        Seq2SeqBatch ids = FromSequences(positions, targets, paddingId, bosId, eosId);   // the targets, padded as for token sources
        int s = ids.SourceLength;
        var features = new float[grids.Count * s * featureSize];
        for (int i = 0; i < grids.Count; i++)
        {
            grids[i].CopyTo(features, i * s * featureSize);
        }
        return new Seq2SeqBatch(ids.BatchSize, s, ids.TargetLength, features, featureSize, ids.SourceLengths, ids.TargetInput, ids.TargetOutput, ids.TargetLengths);
    }

    /// <summary>Stacks images and pads their targets into a batch: target input = [BOS; target], output = [target; EOS].</summary>
    /// <param name="images">Images, each (C, H, W) row-major with C·H·W values.</param>
    /// <param name="image">(C, H, W) of every image.</param>
    /// <param name="positions">S = L: the memory positions the encoder makes of one image.</param>
    /// <param name="targets">Target id sequences (without BOS/EOS).</param>
    /// <param name="paddingId">Padding id.</param>
    /// <param name="bosId">BOS id.</param>
    /// <param name="eosId">EOS id.</param>
    /// <returns>The batch.</returns>
    internal static Seq2SeqBatch FromImages(IReadOnlyList<float[]> images, (int Channels, int Height, int Width) image, int positions,
        IReadOnlyList<int[]> targets, int paddingId, int bosId, int eosId)
    {
        ArgumentNullException.ThrowIfNull(images);
        int size = image.Channels * image.Height * image.Width;
        var placeholders = new int[images.Count][];
        for (int i = 0; i < images.Count; i++)
        {
            float[] x = images[i] ?? throw new ArgumentException($"images[{i}] is null.", nameof(images));
            if (x.Length != size)
            {
                throw new ArgumentException($"images[{i}] has {x.Length} values; a {image.Channels} x {image.Height} x {image.Width} image has {size}.", nameof(images));
            }
            placeholders[i] = new int[positions];
        }
        Seq2SeqBatch ids = FromSequences(placeholders, targets, paddingId, bosId, eosId);   // the targets, padded as for token sources
        var pixels = new float[images.Count * size];
        for (int i = 0; i < images.Count; i++)
        {
            images[i].CopyTo(pixels, i * size);
        }
        return new Seq2SeqBatch(ids.BatchSize, positions, ids.TargetLength, pixels, image, ids.TargetInput, ids.TargetOutput, ids.TargetLengths);
    }

    /// <summary>A placeholder id sequence per grid, as long as its number of positions (for the padding of <see cref="FromSequences"/>).</summary>
    private static int[][] GridLengths(IReadOnlyList<float[]> grids, int featureSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(featureSize, 1);
        var positions = new int[grids.Count][];
        for (int i = 0; i < grids.Count; i++)
        {
            float[] g = grids[i] ?? throw new ArgumentException($"grids[{i}] is null.", nameof(grids));
            if (g.Length == 0 || g.Length % featureSize != 0)
            {
                throw new ArgumentException($"grids[{i}] has {g.Length} values, not a positive multiple of F = {featureSize}.", nameof(grids));
            }
            positions[i] = new int[g.Length / featureSize];
        }
        return positions;
    }

    /// <summary>
    /// Groups pairs into batches of similar source length (sort by length, cut into runs of at most
    /// <paramref name="batchSize"/>), so little padding is wasted. Deterministic; shuffle the batch order per epoch.
    /// </summary>
    /// <param name="sources">Source sequences.</param>
    /// <param name="targets">Target sequences.</param>
    /// <param name="batchSize">Largest B.</param>
    /// <param name="paddingId">Padding id.</param>
    /// <param name="bosId">BOS id.</param>
    /// <param name="eosId">EOS id.</param>
    /// <returns>The batches.</returns>
    public static List<Seq2SeqBatch> Bucketed(IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets, int batchSize, int paddingId, int bosId, int eosId)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int[] order = new int[sources.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        int[] keys = new int[order.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = sources[i].Length * 4096 + targets[i].Length;
        }
        Array.Sort(keys, order);
        var batches = new List<Seq2SeqBatch>();
        for (int start = 0; start < order.Length; start += batchSize)
        {
            int n = Math.Min(batchSize, order.Length - start);
            var s = new int[n][];
            var t = new int[n][];
            for (int i = 0; i < n; i++)
            {
                s[i] = sources[order[start + i]];
                t[i] = targets[order[start + i]];
            }
            batches.Add(FromSequences(s, t, paddingId, bosId, eosId));
        }
        return batches;
    }

    private static void Expect(int actual, int expected, string name)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{name} has {actual} elements, expected {expected}.", name);
        }
    }
}
