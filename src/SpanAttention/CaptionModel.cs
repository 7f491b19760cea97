using System.Globalization;
using SpanAttention.Data;
using SpanAttention.Inference;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;

namespace SpanAttention;

/// <summary>
/// A trained captioning model with its vocabulary, ready to caption images: an <see cref="EncoderKind.Image"/> model
/// reads (C, H, W) pixels in [0, 1] at the size its file records (<see cref="Preprocessing"/>), an
/// <see cref="EncoderKind.Features"/> model reads precomputed (L, F) feature grids; both decode greedily or by beam
/// search and return the words with their attention over the grid, one map per word.
/// </summary>
/// <example>
/// <code>
/// using var model = CaptionModel.Load("shapes.safetensors");
/// ImagePreprocessing p = model.Preprocessing!;          // e.g. 3 x 48 x 48
/// GeneratedCaption caption = model.Decode(pixels);         // pixels: (C, H, W) in [0, 1]
/// caption.Attention?.WriteSvg("attention.svg", caption.Text);
/// </code>
/// </example>
/// <remarks>
/// Thread safety and lifetime as <see cref="TranslationModel"/>: any number of threads may caption at once, each call
/// borrowing a workspace from a pool; <see cref="Dispose"/> releases them.
/// </remarks>
public sealed class CaptionModel : IDisposable
{
    /// <summary>The <see cref="MaxBatch"/> of <see cref="Load"/> when none is given.</summary>
    public const int DefaultMaxBatch = 32;

    private readonly Seq2SeqModel _model;
    private Translator? _translator;

    /// <summary>Wraps a captioning model and its target vocabulary (e.g. right after training it in-process).</summary>
    /// <param name="model">An <see cref="EncoderKind.Image"/> or <see cref="EncoderKind.Features"/> model, used as a template
    /// (see <see cref="TranslationModel(Seq2SeqModel, Vocabulary, Vocabulary)"/>).</param>
    /// <param name="vocabulary">The caption vocabulary (as many tokens as the configuration's target vocabulary).</param>
    /// <exception cref="ArgumentException">The model reads token ids, or the vocabulary does not fit it.</exception>
    public CaptionModel(Seq2SeqModel model, Vocabulary vocabulary)
        : this(model, vocabulary, new Dictionary<string, string>(StringComparer.Ordinal))
    {
    }

    private CaptionModel(Seq2SeqModel model, Vocabulary vocabulary, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (NotCaptioning(model.Config) is string problem)
        {
            throw new ArgumentException(problem, nameof(model));
        }
        if (Seq2SeqModelFile.CheckVocabularies(model.Config, vocabulary, vocabulary) is string mismatch)
        {
            throw new ArgumentException(mismatch, nameof(vocabulary));
        }
        _model = model;
        Vocabulary = vocabulary;
        Metadata = metadata;
        Seq2SeqConfig c = model.Config;
        Preprocessing = c.Encoder == EncoderKind.Image
            ? new ImagePreprocessing(c.ImageChannels, c.ImageHeight, c.ImageWidth, [.. c.PixelMean], [.. c.PixelStd])
            : null;
        _translator = new Translator(model);
    }

    /// <summary>Loads a captioning model file written by <c>spanattn train --task shapes|digits</c> (or
    /// <see cref="Seq2SeqModelFile.Save(string, Seq2SeqModel, Vocabulary, Vocabulary, IReadOnlyDictionary{string, string}?)"/>).</summary>
    /// <param name="path">The <c>.safetensors</c> file.</param>
    /// <param name="maxBatch">Most rows decoded at once: the chunk size of a greedy batch and the largest beam width.</param>
    /// <returns>The model, to dispose after use.</returns>
    /// <exception cref="ModelFileException">The file is not a valid model file, is a text model (its encoder reads
    /// token ids: load it with <see cref="TranslationModel.Load(string, int)"/>), or has no caption vocabulary that fits.</exception>
    /// <exception cref="IOException">The file cannot be read (e.g. <see cref="FileNotFoundException"/>).</exception>
    public static CaptionModel Load(string path, int maxBatch = DefaultMaxBatch)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        Seq2SeqModelFileContents file = Seq2SeqModelFile.Load(path, maxBatch, maxSource: 16, maxTarget: 16);
        if (NotCaptioning(file.Model.Config) is string problem)
        {
            throw new ModelFileException($"{path}: {problem} Load it with TranslationModel.Load.");
        }
        if (file.TargetVocabJson is not string json)
        {
            throw new ModelFileException($"{path}: the metadata has no caption vocabulary ('{Seq2SeqModelFile.TargetVocabKey}').");
        }
        Vocabulary vocabulary;
        try
        {
            vocabulary = Vocabulary.FromJson(json);
        }
        catch (FormatException e)
        {
            throw new ModelFileException($"{path}: bad caption vocabulary: {e.Message}", e);
        }
        if (Seq2SeqModelFile.CheckVocabularies(file.Model.Config, vocabulary, vocabulary) is string mismatch)
        {
            throw new ModelFileException($"{path}: {mismatch}");
        }
        return new CaptionModel(file.Model, vocabulary, file.Metadata);
    }

    /// <summary>The architecture.</summary>
    public Seq2SeqConfig Config => _model.Config;

    /// <summary>The wrapped model (the template the replicas share values with).</summary>
    internal Seq2SeqModel Model => _model;

    /// <summary>Whether the model has attention (and so its captions a <see cref="GeneratedCaption.Attention"/>).</summary>
    public bool HasAttention => _model.Config.Decoder != DecoderStyle.None;

    /// <summary>What an image model reads (size, channels, the normalisation it applies); null for a features model.</summary>
    public ImagePreprocessing? Preprocessing { get; }

    /// <summary>gh, rows of the grid an image model attends over; 1 for a features model (whose grid shape its file does not record).</summary>
    public int GridHeight => _model.Config.Encoder == EncoderKind.Image ? _model.Config.GridHeight : 1;

    /// <summary>gw, columns of the grid an image model attends over; 0 for a features model (its L is the input's).</summary>
    public int GridWidth => _model.Config.Encoder == EncoderKind.Image ? _model.Config.GridWidth : 0;

    /// <summary>The caption vocabulary.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>Most rows decoded at once: a greedy batch is decoded in chunks of this many images; the largest beam width.</summary>
    public int MaxBatch => _model.MaxBatch;

    /// <summary>The parameter count.</summary>
    public long ParameterCount => _model.Layout.Count;

    /// <summary>The file's whole <c>__metadata__</c> map (empty for a model built in memory).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Captions one image greedily.</summary>
    /// <param name="pixels">An image model's (C, H, W) pixels in [0, 1] (<see cref="Preprocessing"/>), or a features model's (L, F) grid.</param>
    /// <returns>The caption text.</returns>
    /// <exception cref="ArgumentException">The input has the wrong number of values, or a value is not finite.</exception>
    public string Caption(float[] pixels) => Decode(pixels).Text;

    /// <summary>Captions one image: the best caption with its words, score and attention.</summary>
    /// <param name="pixels">The input (see <see cref="Caption"/>); not copied, and kept by the caption's attention for its figure.</param>
    /// <param name="options">Greedy (default) or beam search, maximum length (<see cref="DecodingOptions.MaxSourceLength"/> does not apply).</param>
    /// <returns>The caption.</returns>
    /// <exception cref="ArgumentException">The input does not fit the model.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (e.g. a beam wider than <see cref="MaxBatch"/>).</exception>
    public GeneratedCaption Decode(float[] pixels, DecodingOptions? options = null) => Decode([pixels], options)[0];

    /// <summary>Captions many images: greedily in batches of <see cref="MaxBatch"/>; with a beam, one after the other.</summary>
    /// <param name="images">The inputs (see <see cref="Caption"/>).</param>
    /// <param name="options">Greedy (default) or beam search, maximum length.</param>
    /// <returns>One caption per input, in order.</returns>
    /// <exception cref="ArgumentException">An input does not fit the model.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public GeneratedCaption[] Decode(IReadOnlyList<float[]> images, DecodingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        options ??= new DecodingOptions();
        options.Validate();
        Translator translator = GetTranslator();
        CheckBeam(options.BeamWidth);
        int positions = 1;
        for (int i = 0; i < images.Count; i++)
        {
            positions = Math.Max(positions, CheckInput(images[i], images.Count == 1 ? "pixels" : $"images[{i}]"));
        }
        var result = new GeneratedCaption[images.Count];
        if (options.BeamWidth == 1)
        {
            Hypothesis[] hypotheses = translator.GreedyGrids(images, options.MaxLengthFor(positions));
            for (int i = 0; i < result.Length; i++)
            {
                result[i] = ToCaption(images[i], hypotheses[i]);
            }
            return result;
        }
        for (int i = 0; i < result.Length; i++)
        {
            Hypothesis best = translator.BeamGrid(images[i], options.BeamWidth, options.MaxLengthFor(Positions(images[i])), options.LengthPenalty, 1)[0];
            result[i] = ToCaption(images[i], best);
        }
        return result;
    }

    /// <summary>The <paramref name="count"/> best captions of one image by beam search, best first by
    /// <see cref="GeneratedCaption.NormalizedScore"/>.</summary>
    /// <param name="pixels">The input (see <see cref="Caption"/>).</param>
    /// <param name="count">How many to return (the beam is at least this wide); fewer when the search finishes fewer.</param>
    /// <param name="options">Beam width (default <paramref name="count"/>), maximum length, length penalty.</param>
    /// <returns>The best captions, best first.</returns>
    /// <exception cref="ArgumentException">The input does not fit the model.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> or an option is out of range.</exception>
    public GeneratedCaption[] NBest(float[] pixels, int count, DecodingOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        options ??= new DecodingOptions();
        options.Validate();
        Translator translator = GetTranslator();
        int beam = Math.Max(count, options.BeamWidth);
        CheckBeam(beam);
        int positions = CheckInput(pixels, nameof(pixels));
        Hypothesis[] hypotheses = translator.BeamGrid(pixels, beam, options.MaxLengthFor(positions), options.LengthPenalty, count);
        var result = new GeneratedCaption[hypotheses.Length];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = ToCaption(pixels, hypotheses[i]);
        }
        return result;
    }

    /// <summary>Releases the pooled workspaces. Calls made afterwards throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose() => Volatile.Write(ref _translator, null);

    /// <summary>Why a configuration is not a captioning model's, or null when it is.</summary>
    internal static string? NotCaptioning(Seq2SeqConfig config) => config.Encoder is EncoderKind.Image or EncoderKind.Features
        ? null
        : $"this is a text model (its {config.Encoder.ToString().ToLowerInvariant()} encoder reads token ids), not a captioning model (an image or feature-grid encoder).";

    private Translator GetTranslator() => Volatile.Read(ref _translator) ?? throw new ObjectDisposedException(nameof(CaptionModel));

    private void CheckBeam(int beam)
    {
        if (beam > MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(beam), beam, $"The beam width {beam} is larger than the model was loaded for ({MaxBatch}); load it with a larger maxBatch.");
        }
    }

    /// <summary>L of an input: the grid positions of an image model, S of a features model's (S, F) grid.</summary>
    private int Positions(float[] input) => Config.Encoder == EncoderKind.Image ? Config.GridHeight * Config.GridWidth : input.Length / Config.FeatureSize;

    /// <summary>Checks one input's size and values; returns its L.</summary>
    private int CheckInput(float[]? input, string name)
    {
        if (input is null)
        {
            throw new ArgumentNullException(name);
        }
        Seq2SeqConfig c = Config;
        if (Preprocessing is ImagePreprocessing p && input.Length != p.Size)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The image has {input.Length} values; the model reads (C, H, W) = ({p.Channels}, {p.Height}, {p.Width}), {p.Size} values: resize it first."), name);
        }
        if (c.Encoder == EncoderKind.Features && (input.Length == 0 || input.Length % c.FeatureSize != 0))
        {
            throw new ArgumentException($"The feature grid has {input.Length} values; the model reads (L, F) grids with F = {c.FeatureSize}, so a positive multiple of {c.FeatureSize}.", name);
        }
        int bad = Array.FindIndex(input, v => !float.IsFinite(v));
        if (bad >= 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Value {bad} of the input is {input[bad]}, not a finite number."), name);
        }
        return Positions(input);
    }

    private GeneratedCaption ToCaption(float[] input, Hypothesis h)
    {
        string[] words = Vocabulary.Decode(h.Tokens);
        CaptionAttention? attention = null;
        if (h.Alignment.Length > 0 && h.Tokens.Length > 0)
        {
            // one row per emitted id, as decoded (Words above skips a <pad> or <sos> that greedy decoding might emit)
            var rows = new string[h.Tokens.Length];
            for (int t = 0; t < rows.Length; t++)
            {
                rows[t] = Vocabulary[h.Tokens[t]];
            }
            int gw = Config.Encoder == EncoderKind.Image ? Config.GridWidth : h.SourceLength;
            attention = new CaptionAttention(rows, h.Alignment, GridHeight, gw, Preprocessing is null ? null : input, Preprocessing);
        }
        return new GeneratedCaption(string.Join(' ', words), words, h.Score, h.NormalizedScore, h.Finished, attention);
    }
}
