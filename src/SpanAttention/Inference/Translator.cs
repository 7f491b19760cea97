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
