using SpanAttention.Data;

namespace SpanAttention;

/// <summary>One translation of one input text (<see cref="TranslationModel.Decode(string, DecodingOptions?)"/>).</summary>
public sealed class Translation
{
    internal Translation(string text, string[] tokens, string[] sourceTokens, string[] unknownTokens, float score, float normalizedScore,
        bool finished, Alignment? alignment)
    {
        Text = text;
        Tokens = tokens;
        SourceTokens = sourceTokens;
        UnknownTokens = unknownTokens;
        Score = score;
        NormalizedScore = normalizedScore;
        Finished = finished;
        Alignment = alignment;
    }

    /// <summary>The output text: <see cref="Tokens"/> joined as the target vocabulary's tokenisation joins them.</summary>
    public string Text { get; }

    /// <summary>The output tokens, without <c>&lt;sos&gt;</c> and the final <c>&lt;eos&gt;</c>.</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>The input as the source vocabulary tokenised it, without the <c>&lt;eos&gt;</c> the model was fed after it.</summary>
    public IReadOnlyList<string> SourceTokens { get; }

    /// <summary>The input tokens that are not in the source vocabulary and were fed as <c>&lt;unk&gt;</c>, in input order,
    /// one entry per occurrence; empty when every token was known.</summary>
    public IReadOnlyList<string> UnknownTokens { get; }

    /// <summary>Sum of the log-probabilities of every emitted token, the final <c>&lt;eos&gt;</c> included when it was emitted.</summary>
    public float Score { get; }

    /// <summary>
    /// The length-normalised score that ranks beam hypotheses: <see cref="Score"/> / n^α, with n the number of output
    /// tokens (the <c>&lt;eos&gt;</c> not counted) and α <see cref="DecodingOptions.LengthPenalty"/>. Equals
    /// <see cref="Score"/> for greedy decoding.
    /// </summary>
    public float NormalizedScore { get; }

    /// <summary>Whether the model emitted <c>&lt;eos&gt;</c> (false: the output was cut at the maximum length).</summary>
    public bool Finished { get; }

    /// <summary>Where each output token looked in the input; null for a model without attention or an empty output.</summary>
    public Alignment? Alignment { get; }
}

/// <summary>
/// The attention weights of one translation: row t holds the weights over the input that the decoder step emitting
/// output token t computed (each row sums to 1).
/// </summary>
public sealed class Alignment
{
    private readonly float[] _weights;

    internal Alignment(string[] sourceTokens, string[] targetTokens, float[] weights)
    {
        SourceTokens = sourceTokens;
        TargetTokens = targetTokens;
        _weights = weights;
    }

    /// <summary>The columns: the input tokens and the <c>&lt;eos&gt;</c> fed after them (S entries).</summary>
    public IReadOnlyList<string> SourceTokens { get; }

    /// <summary>The rows: the output tokens (T entries).</summary>
    public IReadOnlyList<string> TargetTokens { get; }

    /// <summary>The weights, (T, S) row-major.</summary>
    public ReadOnlySpan<float> Weights => _weights;

    /// <summary>The weight output token <paramref name="target"/> gave input token <paramref name="source"/>.</summary>
    /// <param name="target">Row, 0 ≤ t &lt; T.</param>
    /// <param name="source">Column, 0 ≤ s &lt; S.</param>
    public float this[int target, int source]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)target, (uint)TargetTokens.Count, nameof(target));
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)source, (uint)SourceTokens.Count, nameof(source));
            return _weights[target * SourceTokens.Count + source];
        }
    }

    /// <summary>The input position output token <paramref name="target"/> looked at most (the first on a tie).</summary>
    /// <param name="target">Row, 0 ≤ t &lt; T.</param>
    public int MostAttended(int target)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)target, (uint)TargetTokens.Count, nameof(target));
        return System.Numerics.Tensors.TensorPrimitives.IndexOfMax(_weights.AsSpan(target * SourceTokens.Count, SourceTokens.Count));
    }

    internal static string[] Columns(string[] sourceTokens) => [.. sourceTokens, Vocabulary.Eos];
}

/// <summary>How <see cref="TranslationModel"/> decodes.</summary>
public sealed record DecodingOptions
{
    /// <summary>Beam width K: 1 decodes greedily (the default); more keeps the K best partial outputs
    /// (at most <see cref="TranslationModel.MaxBatch"/>).</summary>
    public int BeamWidth { get; init; } = 1;

    /// <summary>
    /// Most decoder steps per output, the <c>&lt;eos&gt;</c> step included; 0 (the default) applies
    /// <see cref="Inference.DecodeLimits.MaxOutputLength"/>: 2·S + 10 for an input of S tokens plus its
    /// <c>&lt;eos&gt;</c> (in one <see cref="TranslationModel.Decode(IReadOnlyList{string}, DecodingOptions?)"/> call
    /// of several greedy inputs, S of the longest, so that the batch shares one step count).
    /// </summary>
    public int MaxLength { get; init; }

    /// <summary>The longest input accepted, in tokens (<c>&lt;eos&gt;</c> not counted); a longer one is an
    /// <see cref="InputTooLongException"/>. Default <see cref="Inference.DecodeLimits.DefaultMaxSourceLength"/>.</summary>
    public int MaxSourceLength { get; init; } = Inference.DecodeLimits.DefaultMaxSourceLength;

    /// <summary>α of the beam's length normalisation (<see cref="Translation.NormalizedScore"/>); 0 ranks by raw
    /// log-probability. Default 1.</summary>
    public float LengthPenalty { get; init; } = 1f;

    internal void Validate()
    {
        if (BeamWidth < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(BeamWidth), BeamWidth, "The beam width must be at least 1.");
        }
        if (MaxLength < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxLength), MaxLength, "The maximum length must be 0 (automatic) or positive.");
        }
        if (MaxSourceLength < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSourceLength), MaxSourceLength, "The maximum source length must be at least 1.");
        }
        if (!float.IsFinite(LengthPenalty) || LengthPenalty < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(LengthPenalty), LengthPenalty, "The length penalty must be finite and not negative.");
        }
    }

    internal int MaxLengthFor(int sourceIds) => MaxLength > 0 ? MaxLength : Inference.DecodeLimits.MaxOutputLength(sourceIds);
}
