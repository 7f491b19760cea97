using SpanAttention.Visualization;

namespace SpanAttention;

/// <summary>One caption of one image (<see cref="CaptionModel.Decode(float[], DecodingOptions?)"/>).</summary>
public sealed class GeneratedCaption
{
    internal GeneratedCaption(string text, string[] words, float score, float normalizedScore, bool finished, CaptionAttention? attention)
    {
        Text = text;
        Words = words;
        Score = score;
        NormalizedScore = normalizedScore;
        Finished = finished;
        Attention = attention;
    }

    /// <summary>The caption: <see cref="Words"/> joined by spaces.</summary>
    public string Text { get; }

    /// <summary>The generated words, without <c>&lt;sos&gt;</c> and the final <c>&lt;eos&gt;</c>.</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>Sum of the log-probabilities of every emitted token, the final <c>&lt;eos&gt;</c> included when it was emitted.</summary>
    public float Score { get; }

    /// <summary>The beam's length-normalised score (<see cref="Translation.NormalizedScore"/>); equals <see cref="Score"/> for greedy decoding.</summary>
    public float NormalizedScore { get; }

    /// <summary>Whether the model emitted <c>&lt;eos&gt;</c> (false: the caption was cut at the maximum length).</summary>
    public bool Finished { get; }

    /// <summary>Where each generated word looked in the image; null for a model without attention or an empty caption.</summary>
    public CaptionAttention? Attention { get; }
}

/// <summary>
/// The attention of one caption over the encoder's grid: row t holds the L = gh·gw weights that the decoder step
/// emitting word t put on the grid's cells (each row sums to 1), cell (i, j) at i·gw + j. The grid covers the image
/// evenly, cell (i, j) the pixels x in [j·W/gw, (j+1)·W/gw), y in [i·H/gh, (i+1)·H/gh).
/// </summary>
public sealed class CaptionAttention
{
    private readonly float[] _weights;
    private readonly float[]? _pixels;
    private readonly ImagePreprocessing? _image;

    internal CaptionAttention(string[] words, float[] weights, int gridHeight, int gridWidth, float[]? pixels, ImagePreprocessing? image)
    {
        Words = words;
        _weights = weights;
        GridHeight = gridHeight;
        GridWidth = gridWidth;
        _pixels = pixels;
        _image = image;
    }

    /// <summary>The rows: one label per decoder step that emitted a word (T entries).</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>gh: rows of the grid.</summary>
    public int GridHeight { get; }

    /// <summary>gw: columns of the grid.</summary>
    public int GridWidth { get; }

    /// <summary>L = gh·gw, the weights per word.</summary>
    public int Positions => GridHeight * GridWidth;

    /// <summary>The weights, (T, L) row-major.</summary>
    public ReadOnlySpan<float> Weights => _weights;

    /// <summary>Word <paramref name="word"/>'s attention map: (gh, gw) row-major, summing to 1.</summary>
    /// <param name="word">Row, 0 ≤ t &lt; T.</param>
    public ReadOnlySpan<float> Map(int word)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)word, (uint)Words.Count, nameof(word));
        return _weights.AsSpan(word * Positions, Positions);
    }

    /// <summary>The grid cell word <paramref name="word"/> looked at most (the first on a tie).</summary>
    /// <param name="word">Row, 0 ≤ t &lt; T.</param>
    /// <returns>Its row i and column j.</returns>
    public (int Row, int Column) MostAttended(int word)
    {
        int cell = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(Map(word));
        return (cell / GridWidth, cell % GridWidth);
    }

    /// <summary>
    /// The figure of Show, Attend and Tell as SVG text: the captioned image once per word, that word's map upsampled,
    /// smoothed and laid over it, the word below.
    /// </summary>
    /// <param name="title">An optional line above the panels (e.g. the caption).</param>
    /// <returns>A standalone SVG document.</returns>
    /// <exception cref="InvalidOperationException">The caption is of a feature grid, not of an image.</exception>
    public string ToSvg(string? title = null)
    {
        (float[] pixels, ImagePreprocessing image) = RequireImage();
        return ImageAttentionFigure.ToSvgString(pixels, image.Channels, image.Height, image.Width, Words, _weights, GridHeight, GridWidth, title);
    }

    /// <summary>Writes <see cref="ToSvg"/> to a file atomically (a temporary file in the same folder, then a rename).</summary>
    /// <param name="path">The file to create or replace; its folder must exist.</param>
    /// <param name="title">An optional line above the panels.</param>
    /// <exception cref="InvalidOperationException">The caption is of a feature grid, not of an image.</exception>
    public void WriteSvg(string path, string? title = null)
    {
        (float[] pixels, ImagePreprocessing image) = RequireImage();
        ImageAttentionFigure.WriteSvg(path, pixels, image.Channels, image.Height, image.Width, Words, _weights, GridHeight, GridWidth, title);
    }

    private (float[] Pixels, ImagePreprocessing Image) RequireImage() => _pixels is not null && _image is not null
        ? (_pixels, _image)
        : throw new InvalidOperationException("This caption is of a precomputed feature grid: there is no image to draw the attention over.");
}

/// <summary>
/// What an <see cref="Seq2Seq.EncoderKind.Image"/> model reads, from its file: (C, H, W) planar pixels in [0, 1] at
/// exactly this size. The model normalises them itself, x' = (x − Mean[c]) / Std[c] per channel, so callers resize
/// and convert to [0, 1] only.
/// </summary>
/// <param name="Channels">C: 1 grey, 3 RGB.</param>
/// <param name="Height">H, pixel rows.</param>
/// <param name="Width">W, pixel columns.</param>
/// <param name="Mean">Per channel, subtracted (C values, or empty: 0).</param>
/// <param name="Std">Per channel, divided by (C values, or empty: 1).</param>
public sealed record ImagePreprocessing(int Channels, int Height, int Width, IReadOnlyList<float> Mean, IReadOnlyList<float> Std)
{
    /// <summary>C·H·W, the values of one image.</summary>
    public int Size => Channels * Height * Width;
}
