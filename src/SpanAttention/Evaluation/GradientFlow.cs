using SpanAttention.Data;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Evaluation;

/// <summary>
/// How much training signal reaches each source position: for every sentence, the norm of d(loss)/d(x_j), x_j the
/// embedded source token at position j, averaged by position over a set of sentences.
/// </summary>
/// <param name="MeanNorms">Index j - 1: the mean of ‖d(loss)/d(x_j)‖ over the sentences that have a position j (1-based, the
/// source's own tokens; the end-of-sentence marker the encoder also reads is left out).</param>
/// <param name="Sentences">Index j - 1: how many sentences have a position j.</param>
/// <param name="MeanNormsFromEnd">Index k: the mean of ‖d(loss)/d(x_j)‖ at k = S - j, the token k places before the source's
/// last token (k = 0 is the last token): the number of recurrence steps a gradient entering at the final encoder state
/// crosses to reach x_j. Read by k, sentences of different lengths line up by that path length.</param>
/// <param name="SentencesFromEnd">Index k: how many sentences have a token k places before their last one.</param>
/// <remarks>
/// The loss is one sentence's teacher-forced mean token cross-entropy. With attention the decoder's gradient reaches a
/// memory state h_j directly at every target step (d(states) of the decoder's backward), so x_j is one cell step away from
/// it; without attention it enters at the final state only and reaches x_j after S - j steps of the recurrence. The
/// encoder input is where both paths end, so it is the position the two are compared at.
/// </remarks>
public sealed record GradientFlowReport(IReadOnlyList<double> MeanNorms, IReadOnlyList<int> Sentences,
    IReadOnlyList<double> MeanNormsFromEnd, IReadOnlyList<int> SentencesFromEnd)
{
    /// <summary>The longest position measured.</summary>
    public int Positions => MeanNorms.Count;
}

/// <summary>Measures <see cref="GradientFlowReport"/> with the model's own hand-written backward pass.</summary>
public static class GradientFlow
{
    /// <summary>Runs forward and backward on each pair (one sentence at a time, no dropout) and averages ‖d(loss)/d(x_j)‖ by position j.</summary>
    /// <param name="model">A model with a recurrent encoder over token ids. Its parameters are read, never changed.</param>
    /// <param name="pairs">Source/target pairs (at least one); unknown tokens map to the vocabulary's unknown id.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">No pairs, a pair whose source has no tokens, or a model without a recurrent encoder.</exception>
    public static GradientFlowReport Measure(TranslationModel model, IReadOnlyList<SentencePair> pairs) =>
        Measure(model, pairs, initialSeed: null);

    /// <summary>
    /// The same measurement on freshly initialised weights of the model's architecture (its config and vocabularies,
    /// the weights a training run with <paramref name="seed"/> starts from). Before training every model's loss is about
    /// ln(target vocabulary), so two architectures compare by their gradient paths alone rather than by how well each
    /// has learned.
    /// </summary>
    /// <param name="model">A model with a recurrent encoder over token ids; only its config and vocabularies are used.</param>
    /// <param name="pairs">Source/target pairs (at least one).</param>
    /// <param name="seed">The initialisation seed.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentException">As <see cref="Measure(TranslationModel, IReadOnlyList{SentencePair})"/>.</exception>
    public static GradientFlowReport MeasureAtInitialisation(TranslationModel model, IReadOnlyList<SentencePair> pairs, int seed) =>
        Measure(model, pairs, initialSeed: seed);

    private static GradientFlowReport Measure(TranslationModel model, IReadOnlyList<SentencePair> pairs, int? initialSeed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count == 0)
        {
            throw new ArgumentException("Gradient flow needs at least one sentence pair.", nameof(pairs));
        }
        Seq2SeqConfig config = model.Config;
        if (config.Encoder != EncoderKind.Recurrent)
        {
            throw new ArgumentException($"Gradient flow is measured at the embedded source tokens of a recurrent encoder; this model has a {config.Encoder} encoder.", nameof(model));
        }
        EncodedPair[] encoded = PairEncoder.Encode(pairs, model.SourceVocabulary, model.TargetVocabulary);
        int maxSource = 1, maxTarget = 1;
        for (int i = 0; i < encoded.Length; i++)
        {
            if (encoded[i].Source.Length <= 1)
            {
                throw new ArgumentException($"Pair {i + 1} has a source without tokens.", nameof(pairs));
            }
            maxSource = Math.Max(maxSource, encoded[i].Source.Length);
            maxTarget = Math.Max(maxTarget, encoded[i].TargetInput.Length);
        }

        // A private copy of the model at B = 1: its gradients and workspaces are scratch, the caller's model is untouched.
        // Fresh weights from the seed when measuring at initialisation.
        var copy = new Seq2SeqModel(config, 1, maxSource, maxTarget, initialSeed ?? 0);
        if (initialSeed is null)
        {
            model.Model.Parameters.Values.AsSpan().CopyTo(copy.Parameters.Values);
        }
        var encoder = (RecurrentEncoder)copy.Encoder;
        int e = config.EmbeddingSize, positions = maxSource - 1;
        var sums = new double[positions];
        var counts = new int[positions];
        var sumsFromEnd = new double[positions];
        var countsFromEnd = new int[positions];
        foreach (EncodedPair pair in encoded)
        {
            int s = pair.Source.Length, t = pair.TargetInput.Length;
            var batch = new Seq2SeqBatch(1, s, t, pair.Source, [s], pair.TargetInput, pair.TargetOutput, [t]);
            copy.Parameters.ZeroGradients();
            copy.Forward(batch);                                        // teacher forcing, eval mode (no dropout)
            copy.Backward();                                            // d(mean token loss) = 1
            ReadOnlySpan<float> dx = encoder.SourceGradient(s);         // (S, E) with B = 1
            for (int j = 0; j < s - 1; j++)                             // the source tokens; the last position is <eos>
            {
                double square = 0;
                foreach (float v in dx.Slice(j * e, e))
                {
                    square += (double)v * v;
                }
                double norm = Math.Sqrt(square);
                sums[j] += norm;
                counts[j]++;
                int k = s - 2 - j;                                      // steps from x_j to the last source token
                sumsFromEnd[k] += norm;
                countsFromEnd[k]++;
            }
        }
        return new GradientFlowReport(Means(sums, counts), counts, Means(sumsFromEnd, countsFromEnd), countsFromEnd);
    }

    private static double[] Means(double[] sums, int[] counts)
    {
        var means = new double[sums.Length];
        for (int i = 0; i < sums.Length; i++)
        {
            means[i] = counts[i] > 0 ? sums[i] / counts[i] : double.NaN;
        }
        return means;
    }
}
