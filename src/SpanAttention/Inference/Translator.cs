using System.Collections.Concurrent;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Inference;

/// <summary>
/// Thread-safe inference: one loaded model's parameters shared (read-only) by any number of threads; each call
/// borrows a workspace (a <see cref="Seq2SeqModel.CreateReplica"/> sharing the parameter values) from a pool and
/// returns it. Results are identical to single-threaded <see cref="Decoding"/> on the same model with the same
/// (prepared or not) weights.
/// </summary>
/// <remarks>Do not train or otherwise modify the model's parameters while a Translator is decoding with them.</remarks>
public sealed class Translator : IDecoder
{
    private readonly Seq2SeqModel _template;
    private readonly InferenceWeights? _weights;
    private readonly ConcurrentBag<Seq2SeqModel> _pool = [];

    /// <summary>
    /// Wraps a model. The model itself is used only as a template (never for decoding here). Prepares the decoding
    /// layout once (<see cref="Seq2SeqModel.PrepareInference()"/>), shared read-only by every call.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="prepare">Whether to decode on the prepared path (default); false keeps the plain training-code path.</param>
    public Translator(Seq2SeqModel model, bool prepare = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        _template = model;
        _weights = prepare ? model.PrepareInference() : null;
    }

    /// <summary>Wraps a model and prepares its decoding layout with the GEMV matrices stored as <paramref name="format"/>
    /// (<see cref="Seq2SeqModel.PrepareInference(InferenceWeightFormat)"/>); every call then decodes on the prepared path.</summary>
    /// <param name="model">The model.</param>
    /// <param name="format">How the matrices a decoder step multiplies by a vector are stored.</param>
    public Translator(Seq2SeqModel model, InferenceWeightFormat format)
    {
        ArgumentNullException.ThrowIfNull(model);
        _template = model;
        _weights = model.PrepareInference(format);
    }

    /// <summary>The prepared weights every call decodes with, or null on the plain path.</summary>
    public InferenceWeights? Weights => _weights;

    /// <summary>The model configuration.</summary>
    public Seq2SeqConfig Config => _template.Config;

    /// <summary>Greedy decoding (see <see cref="Decoding.Greedy"/>). Thread-safe.</summary>
    /// <param name="sources">Source id sequences.</param>
    /// <param name="maxLength">Maximum decoder steps.</param>
    /// <returns>One hypothesis per source.</returns>
    public Hypothesis[] Greedy(IReadOnlyList<int[]> sources, int maxLength)
    {
        Seq2SeqModel model = Rent();
        try
        {
            return Decoding.Greedy(model, sources, maxLength, _weights);
        }
        finally
        {
            _pool.Add(model);
        }
    }

    /// <summary>Beam search (see <see cref="Decoding.Beam"/>). Thread-safe.</summary>
    /// <param name="source">Source ids.</param>
    /// <param name="beamWidth">K (≤ the model's MaxBatch).</param>
    /// <param name="maxLength">Maximum decoder steps.</param>
    /// <param name="lengthPenalty">Length-normalisation exponent.</param>
    /// <param name="nBest">Hypotheses to return.</param>
    /// <returns>The n best, best first.</returns>
    public Hypothesis[] Beam(int[] source, int beamWidth, int maxLength, float lengthPenalty = 1f, int nBest = 0)
    {
        Seq2SeqModel model = Rent();
        try
        {
            return Decoding.Beam(model, source, beamWidth, maxLength, lengthPenalty, nBest, _weights);
        }
        finally
        {
            _pool.Add(model);
        }
    }

    /// <summary>
    /// Greedy decoding of a whole list on the prepared path: the sources sorted by length (longest first, so that a
    /// chunk's rows have about the same length and the slowest chunks start first), cut into chunks of the model's
    /// MaxBatch rows, the chunks decoded by up to <paramref name="workers"/> threads, each on its own workspace; the
    /// hypotheses are put back in input order. Row i stops after <paramref name="limits"/>[i] steps, so every output is
    /// exactly the one <see cref="Greedy"/> gives for that source alone with that limit. Thread-safe.
    /// </summary>
    /// <param name="sources">Source id sequences.</param>
    /// <param name="limits">Each source's most decoder steps (≥ 1).</param>
    /// <param name="workers">Threads to decode on (1 or more; no more than there are chunks are used).</param>
    /// <returns>One hypothesis per source, in order.</returns>
    internal Hypothesis[] GreedyMany(IReadOnlyList<int[]> sources, ReadOnlySpan<int> limits, int workers)
    {
        ArgumentNullException.ThrowIfNull(sources);
        Guard(sources.Count, limits.Length);
        int[] order = ByLength(sources);
        int chunk = _template.MaxBatch, chunks = (order.Length + chunk - 1) / chunk;
        int[] sortedLimits = new int[order.Length];
        for (int i = 0; i < order.Length; i++)
        {
            sortedLimits[i] = limits[order[i]];
        }
        var results = new Hypothesis[sources.Count];
        RunOnWorkers(chunks, workers, (model, c) =>
        {
            int start = c * chunk, n = Math.Min(chunk, order.Length - start);
            Decoding.GreedyChunk(model, sources, order.AsSpan(start, n), sortedLimits.AsSpan(start, n), _weights, results);
        });
        return results;
    }

    /// <summary>Beam search of every source, the sources shared out between up to <paramref name="workers"/> threads,
    /// each on its own workspace (see <see cref="Beam"/>). Thread-safe.</summary>
    /// <param name="sources">Source id sequences.</param>
    /// <param name="beamWidth">K (≤ the model's MaxBatch).</param>
    /// <param name="limits">Each source's most decoder steps.</param>
    /// <param name="lengthPenalty">Length-normalisation exponent.</param>
    /// <param name="nBest">Hypotheses to return per source.</param>
    /// <param name="workers">Threads to decode on.</param>
    /// <returns>Per source, the n best, best first.</returns>
    internal Hypothesis[][] BeamMany(IReadOnlyList<int[]> sources, int beamWidth, ReadOnlySpan<int> limits, float lengthPenalty, int nBest, int workers)
    {
        ArgumentNullException.ThrowIfNull(sources);
        Guard(sources.Count, limits.Length);
        int[] order = ByLength(sources);
        int[] sortedLimits = new int[order.Length];
        for (int i = 0; i < order.Length; i++)
        {
            sortedLimits[i] = limits[order[i]];
        }
        var results = new Hypothesis[sources.Count][];
        RunOnWorkers(order.Length, workers, (model, i) =>
            results[order[i]] = Decoding.Beam(model, sources[order[i]], beamWidth, sortedLimits[i], lengthPenalty, nBest, _weights));
        return results;
    }

    /// <summary>Runs work items 0..count-1 on up to <paramref name="workers"/> threads (the caller's included), each
    /// thread on one rented workspace taking the next item until none is left; rethrows the first failure.</summary>
    private void RunOnWorkers(int count, int workers, Action<Seq2SeqModel, int> work)
    {
        workers = Math.Clamp(workers, 1, Math.Max(1, count));
        int next = -1;
        void Run()
        {
            Seq2SeqModel model = Rent();
            try
            {
                for (int i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
                {
                    work(model, i);
                }
            }
            catch
            {
                Interlocked.Exchange(ref next, count);                                        // stop the other threads early
                throw;
            }
            finally
            {
                _pool.Add(model);
            }
        }
        if (workers == 1)
        {
            Run();
            return;
        }
        var helpers = new Task[workers - 1];
        for (int w = 0; w < helpers.Length; w++)
        {
            helpers[w] = Task.Factory.StartNew(Run, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        Exception? failure = null;
        try
        {
            Run();
        }
        catch (Exception e)
        {
            failure = e;
        }
        foreach (Task helper in helpers)
        {
            try
            {
                helper.Wait();
            }
            catch (AggregateException e) when (e.InnerException is not null)
            {
                failure ??= e.InnerException;
            }
        }
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }

    /// <summary>Indices of the sources, longest first, ties in input order.</summary>
    private static int[] ByLength(IReadOnlyList<int[]> sources)
    {
        var order = new int[sources.Count];
        var keys = new long[sources.Count];
        for (int i = 0; i < order.Length; i++)
        {
            int[] x = sources[i] ?? throw new ArgumentException($"sources[{i}] is null.", nameof(sources));
            order[i] = i;
            keys[i] = ((long)(int.MaxValue - x.Length) << 32) | (uint)i;
        }
        Array.Sort(keys, order);
        return order;
    }

    private static void Guard(int sources, int limits)
    {
        if (limits != sources)
        {
            throw new ArgumentException($"There are {limits} step limits for {sources} sources.", nameof(limits));
        }
    }

    /// <summary>Greedy decoding of (C, H, W) images of an image model, or of (S, F) grids of a features model (see
    /// <see cref="Decoding.GreedyImages"/>, <see cref="Decoding.GreedyFeatures"/>). Thread-safe.</summary>
    internal Hypothesis[] GreedyGrids(IReadOnlyList<float[]> inputs, int maxLength) => WithReplica(model =>
        model.Config.Encoder == EncoderKind.Features
            ? Decoding.GreedyFeatures(model, inputs, maxLength, _weights)
            : Decoding.GreedyImages(model, inputs, maxLength, _weights));

    /// <summary>Beam search over one image or feature grid (see <see cref="Decoding.BeamImage"/>, <see cref="Decoding.BeamFeatures"/>). Thread-safe.</summary>
    internal Hypothesis[] BeamGrid(float[] input, int beamWidth, int maxLength, float lengthPenalty, int nBest) => WithReplica(model =>
        model.Config.Encoder == EncoderKind.Features
            ? Decoding.BeamFeatures(model, input, beamWidth, maxLength, lengthPenalty, nBest, _weights)
            : Decoding.BeamImage(model, input, beamWidth, maxLength, lengthPenalty, nBest, _weights));

    private Hypothesis[] WithReplica(Func<Seq2SeqModel, Hypothesis[]> decode)
    {
        Seq2SeqModel model = Rent();
        try
        {
            return decode(model);
        }
        finally
        {
            _pool.Add(model);
        }
    }

    private Seq2SeqModel Rent() => _pool.TryTake(out Seq2SeqModel? model) ? model : _template.CreateReplica();
}
