using SpanAttention.Data;
using SpanAttention.Inference;
using SpanAttention.IO;
using SpanAttention.Seq2Seq;
using SpanAttention.Transformer;

namespace SpanAttention;

/// <summary>
/// A trained model with its vocabularies, ready to translate text: tokenises the input with the source vocabulary,
/// appends <c>&lt;eos&gt;</c>, feeds unknown tokens as <c>&lt;unk&gt;</c> (and reports them), decodes greedily or by
/// beam search, and turns the output ids back into text.
/// </summary>
/// <example>
/// <code>
/// using var model = TranslationModel.Load("demo.safetensors");
/// string english = model.Translate("मैं खाना खा रहा हूँ");
/// </code>
/// </example>
/// <remarks>
/// <para>Thread safety: every member may be called from any number of threads at once. The parameters are shared
/// read-only; each call borrows a workspace (a replica of the model with its own activation buffers, sized for
/// <see cref="MaxBatch"/> rows) from a pool and returns it, so concurrent calls give exactly the results of the same
/// calls made one after the other. Do not change the wrapped model's parameters (train it) while translating.</para>
/// <para><see cref="Dispose"/> releases the pooled workspaces; later calls throw <see cref="ObjectDisposedException"/>.
/// The model holds no file handle: the file is read completely by <see cref="Load(string, int)"/>.</para>
/// </remarks>
public sealed partial class TranslationModel : IDisposable
{
    /// <summary>The <see cref="MaxBatch"/> of <see cref="Load(string, int)"/> when none is given.</summary>
    public const int DefaultMaxBatch = 32;

    private readonly Seq2SeqModel? _model;              // a recurrent decoder, or
    private readonly TransformerSeq2Seq? _transformer;  // the full Transformer encoder-decoder
    private IDecoder? _translator;

    /// <summary>Wraps a model and its vocabularies (e.g. right after training it in-process).</summary>
    /// <param name="model">The model; its <see cref="Seq2SeqModel.MaxBatch"/> becomes <see cref="MaxBatch"/>. It serves as
    /// a template only: decoding runs on replicas sharing its parameter values, with a decoding layout of the weights
    /// prepared here once (so after training the model further, wrap it again).</param>
    /// <param name="source">The source vocabulary (as many tokens as the configuration's source vocabulary).</param>
    /// <param name="target">The target vocabulary.</param>
    /// <exception cref="ArgumentException">The vocabularies do not fit the model.</exception>
    public TranslationModel(Seq2SeqModel model, Vocabulary source, Vocabulary target)
        : this(model, source, target, InferenceWeightFormat.Float32)
    {
    }

    /// <summary>Wraps a model and its vocabularies, decoding with the matrix-vector weights stored as <paramref name="weights"/>.</summary>
    /// <param name="model">The model (see <see cref="TranslationModel(Seq2SeqModel, Vocabulary, Vocabulary)"/>).</param>
    /// <param name="source">The source vocabulary.</param>
    /// <param name="target">The target vocabulary.</param>
    /// <param name="weights">fp32 (exact), bf16 or int8 (<see cref="InferenceWeightFormat"/>: faster batch-1 decoding,
    /// results within the format's rounding error).</param>
    /// <exception cref="ArgumentException">The vocabularies do not fit the model.</exception>
    public TranslationModel(Seq2SeqModel model, Vocabulary source, Vocabulary target, InferenceWeightFormat weights)
        : this(model, source, target, new Dictionary<string, string>(StringComparer.Ordinal), weights)
    {
    }

    private TranslationModel(Seq2SeqModel model, Vocabulary source, Vocabulary target, IReadOnlyDictionary<string, string> metadata, InferenceWeightFormat weights)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        if (Seq2SeqModelFile.CheckVocabularies(model.Config, source, target) is string problem)
        {
            throw new ArgumentException(problem, nameof(source));
        }
        _model = model;
        Config = model.Config;
        MaxBatch = model.MaxBatch;
        SourceVocabulary = source;
        TargetVocabulary = target;
        Metadata = metadata;
        WeightFormat = weights;
        _translator = new Translator(model, weights);
    }

    private TranslationModel(TransformerSeq2Seq model, Vocabulary source, Vocabulary target, IReadOnlyDictionary<string, string> metadata)
    {
        _transformer = model;
        Config = model.Config;
        MaxBatch = model.MaxBatch;
        SourceVocabulary = source;
        TargetVocabulary = target;
        Metadata = metadata;
        _translator = new TransformerTranslator(model);
    }

    /// <summary>
    /// Loads a model file written by <c>spanattn train</c> or <see cref="Seq2SeqModelFile.Save(string, Seq2SeqModel, Vocabulary, Vocabulary, IReadOnlyDictionary{string, string}?)"/>:
    /// a recurrent-decoder model, or (by the file's architecture marker) a full Transformer encoder-decoder
    /// (<see cref="Config"/>.Decoder is then <see cref="DecoderStyle.Transformer"/>).
    /// </summary>
    /// <param name="path">The <c>.safetensors</c> file.</param>
    /// <param name="maxBatch">Most rows decoded at once: the chunk size of a greedy batch and the largest beam width.</param>
    /// <returns>The model, to dispose after use.</returns>
    /// <exception cref="ModelFileException">The file is not a valid model file, has no vocabularies, or they do not fit the model.</exception>
    /// <exception cref="IOException">The file cannot be read (e.g. <see cref="FileNotFoundException"/>).</exception>
    public static TranslationModel Load(string path, int maxBatch = DefaultMaxBatch) => Load(path, maxBatch, InferenceWeightFormat.Float32);

    /// <summary>Loads a model file (see <see cref="Load(string, int)"/>) and decodes with the matrix-vector weights stored as <paramref name="weights"/>.</summary>
    /// <param name="path">The <c>.safetensors</c> file.</param>
    /// <param name="maxBatch">Most rows decoded at once.</param>
    /// <param name="weights">fp32 (exact), bf16 or int8 (<see cref="InferenceWeightFormat"/>).</param>
    /// <returns>The model, to dispose after use.</returns>
    /// <exception cref="ModelFileException">The file is not a valid model file, has no vocabularies, or they do not fit the model.</exception>
    /// <exception cref="IOException">The file cannot be read (e.g. <see cref="FileNotFoundException"/>).</exception>
    public static TranslationModel Load(string path, int maxBatch, InferenceWeightFormat weights)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        bool transformer;
        using (SafeTensorsReader header = SafeTensorsReader.Open(stream, leaveOpen: true))
        {
            transformer = header.Metadata.TryGetValue(Seq2SeqModelFile.ArchitectureKey, out string? architecture)
                && architecture == Seq2SeqModelFile.TransformerArchitecture;
        }
        stream.Position = 0;
        if (transformer)
        {
            TransformerSeq2SeqFileContents file = TransformerSeq2SeqModelFile.Load(stream, path, maxBatch, maxSource: 16, maxTarget: 16);
            (Vocabulary source, Vocabulary target) = file.ReadVocabularies();
            return new TranslationModel(file.Model, source, target, file.Metadata);
        }
        else
        {
            Seq2SeqModelFileContents file = Seq2SeqModelFile.Load(stream, path, maxBatch, maxSource: 16, maxTarget: 16);
            (Vocabulary source, Vocabulary target) = file.ReadVocabularies();
            return new TranslationModel(file.Model, source, target, file.Metadata, weights);
        }
    }

    /// <summary>How the decoding weights are stored (<see cref="InferenceWeightFormat.Float32"/> unless chosen at construction or
    /// load; a Transformer encoder-decoder always decodes with fp32 weights).</summary>
    public InferenceWeightFormat WeightFormat { get; }

    /// <summary>The architecture (a full Transformer encoder-decoder has <see cref="DecoderStyle.Transformer"/>).</summary>
    public Seq2SeqConfig Config { get; }

    /// <summary>The wrapped recurrent-decoder model (the template the replicas share values with).</summary>
    /// <exception cref="InvalidOperationException">The model is a Transformer encoder-decoder.</exception>
    internal Seq2SeqModel Model => _model ?? throw new InvalidOperationException("The model is a Transformer encoder-decoder, not a recurrent-decoder Seq2SeqModel.");

    /// <summary>The wrapped Transformer encoder-decoder, or null for a recurrent decoder.</summary>
    internal TransformerSeq2Seq? Transformer => _transformer;

    /// <summary>Whether the model has attention (and so its translations an <see cref="Translation.Alignment"/>).</summary>
    public bool HasAttention => Config.Decoder != DecoderStyle.None;

    /// <summary>The source vocabulary (and its tokenisation of input text).</summary>
    public Vocabulary SourceVocabulary { get; }

    /// <summary>The target vocabulary.</summary>
    public Vocabulary TargetVocabulary { get; }

    /// <summary>Most rows decoded at once: a greedy batch is decoded in chunks of this many texts; the largest beam width.</summary>
    public int MaxBatch { get; }

    /// <summary>The file's whole <c>__metadata__</c> map (empty for a model built in memory), e.g. <see cref="Seq2SeqModelFile.TaskKey"/>.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Translates one text greedily.</summary>
    /// <param name="text">The input, e.g. <c>मैं खाना खा रहा हूँ</c>.</param>
    /// <returns>The output text.</returns>
    /// <exception cref="ArgumentException">The text has no tokens.</exception>
    public string Translate(string text) => Decode(text).Text;

    /// <summary>Translates many texts greedily, batched (<see cref="MaxBatch"/> rows at a time, see <see cref="Decode(IReadOnlyList{string}, DecodingOptions?)"/>).</summary>
    /// <param name="texts">The inputs.</param>
    /// <returns>One output text per input, in order.</returns>
    /// <exception cref="ArgumentException">A text has no tokens.</exception>
    public string[] Translate(IReadOnlyList<string> texts)
    {
        Translation[] all = Decode(texts);
        var result = new string[all.Length];
        for (int i = 0; i < all.Length; i++)
        {
            result[i] = all[i].Text;
        }
        return result;
    }

    /// <summary>Translates one text: the best output with its tokens, score, alignment and the unknown input tokens.</summary>
    /// <param name="text">The input.</param>
    /// <param name="options">Greedy (default) or beam search, maximum length.</param>
    /// <returns>The translation.</returns>
    /// <exception cref="ArgumentException">The text has no tokens.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (e.g. a beam wider than <see cref="MaxBatch"/>).</exception>
    public Translation Decode(string text, DecodingOptions? options = null) => Decode([text], options)[0];

    /// <summary>Translates many texts on the prepared decoding path, on two threads when the machine has two cores: greedy
    /// texts sorted by length and decoded together in batches of <see cref="MaxBatch"/>; with a beam, each text by itself.
    /// Every translation is exactly the one <see cref="Decode(string, DecodingOptions?)"/> gives for that text alone with
    /// the same step limit (greedy: <see cref="DecodingOptions.MaxLength"/>, by default from the call's longest text).</summary>
    /// <param name="texts">The inputs.</param>
    /// <param name="options">Greedy (default) or beam search, maximum length.</param>
    /// <returns>One translation per input, in order.</returns>
    /// <exception cref="ArgumentException">A text has no tokens.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Translation[] Decode(IReadOnlyList<string> texts, DecodingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        options ??= new DecodingOptions();
        options.Validate();
        IDecoder translator = GetTranslator();
        CheckBeam(options.BeamWidth);
        var inputs = new EncodedInput[texts.Count];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = Encode(texts[i], i, options.MaxSourceLength, texts.Count == 1 ? "text" : $"texts[{i}]");
        }
        var sources = new int[inputs.Length][];
        var limits = new int[inputs.Length];
        int longest = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            sources[i] = inputs[i].Ids;
            longest = Math.Max(longest, inputs[i].Ids.Length);
        }
        for (int i = 0; i < inputs.Length; i++)
        {
            // greedy: one step limit for the call, from its longest input (DecodingOptions.MaxLength); beam: each its own
            limits[i] = options.MaxLengthFor(options.BeamWidth == 1 ? longest : inputs[i].Ids.Length);
        }
        var result = new Translation[inputs.Length];
        if (options.BeamWidth == 1)
        {
            Hypothesis[] hypotheses = translator is Translator recurrent ? recurrent.GreedyMany(sources, limits, Workers)
                : translator.Greedy(sources, limits.Length == 0 ? 1 : limits[0]);
            for (int i = 0; i < inputs.Length; i++)
            {
                result[i] = ToTranslation(inputs[i], hypotheses[i]);
            }
            return result;
        }
        Hypothesis[][] beams = translator is Translator beamer ? beamer.BeamMany(sources, options.BeamWidth, limits, options.LengthPenalty, 1, Workers)
            : [.. sources.Select((x, i) => translator.Beam(x, options.BeamWidth, limits[i], options.LengthPenalty, 1))];
        for (int i = 0; i < inputs.Length; i++)
        {
            result[i] = ToTranslation(inputs[i], beams[i][0]);
        }
        return result;
    }

    /// <summary>
    /// The <paramref name="count"/> best translations of one text by beam search, best first, ranked by their
    /// length-normalised score (<see cref="Translation.NormalizedScore"/>).
    /// </summary>
    /// <param name="text">The input.</param>
    /// <param name="count">How many to return (the beam is at least this wide); fewer when the search finishes fewer.</param>
    /// <param name="options">Beam width (default <paramref name="count"/>), maximum length, length penalty.</param>
    /// <returns>The best translations, best first.</returns>
    /// <exception cref="ArgumentException">The text has no tokens.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> or an option is out of range.</exception>
    public Translation[] NBest(string text, int count, DecodingOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        options ??= new DecodingOptions();
        options.Validate();
        IDecoder translator = GetTranslator();
        int beam = Math.Max(count, options.BeamWidth);
        CheckBeam(beam);
        EncodedInput input = Encode(text, 0, options.MaxSourceLength, nameof(text));
        Hypothesis[] hypotheses = translator.Beam(input.Ids, beam, options.MaxLengthFor(input.Ids.Length), options.LengthPenalty, count);
        var result = new Translation[hypotheses.Length];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = ToTranslation(input, hypotheses[i]);
        }
        return result;
    }

    /// <summary>The greedy translation's alignment: where each output token looked in the input.</summary>
    /// <param name="text">The input.</param>
    /// <returns>The alignment, with the input tokens (and <c>&lt;eos&gt;</c>) as columns and the output tokens as rows.</returns>
    /// <exception cref="ArgumentException">The text has no tokens.</exception>
    /// <exception cref="InvalidOperationException">The model has no attention, or the translation is empty.</exception>
    public Alignment Align(string text)
    {
        Translation translation = Decode(text);
        if (!HasAttention)
        {
            throw new InvalidOperationException($"The model has no attention (decoder {Config.Decoder}): there is no alignment.");
        }
        return translation.Alignment ?? throw new InvalidOperationException($"The translation of '{text}' is empty: there is no alignment.");
    }

    /// <summary>The tokens of <paramref name="text"/> that are not in the source vocabulary (fed as <c>&lt;unk&gt;</c>),
    /// in input order, one entry per occurrence.</summary>
    /// <param name="text">The input.</param>
    /// <returns>The unknown tokens; empty when every token is known.</returns>
    public string[] FindUnknownTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var unknown = new List<string>();
        SourceVocabulary.Encode(Tokenizer.Tokenize(text, SourceVocabulary.Tokenization), unknown);
        return [.. unknown];
    }

    /// <summary>Releases the pooled workspaces. Calls made afterwards throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose() => Volatile.Write(ref _translator, null);

    /// <summary>Threads a call over many texts decodes on: two when the machine has two cores or more (each with its
    /// own workspace), else one.</summary>
    private static int Workers => Math.Min(2, Environment.ProcessorCount);

    private IDecoder GetTranslator() => Volatile.Read(ref _translator) ?? throw new ObjectDisposedException(nameof(TranslationModel));

    private void CheckBeam(int beam)
    {
        if (beam > MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(beam), beam, $"The beam width {beam} is larger than the model was loaded for ({MaxBatch}); load it with a larger maxBatch.");
        }
    }

    private EncodedInput Encode(string text, int index, int maxSourceLength, string name)
    {
        if (text is null)
        {
            throw new ArgumentNullException(name);
        }
        string[] tokens = Tokenizer.Tokenize(text, SourceVocabulary.Tokenization);
        if (tokens.Length == 0)
        {
            throw new ArgumentException($"The input '{text}' has no tokens.", name);
        }
        if (tokens.Length > maxSourceLength)
        {
            throw new InputTooLongException(index, tokens.Length, maxSourceLength, name);
        }
        var unknown = new List<string>();
        int[] ids = [.. SourceVocabulary.Encode(tokens, unknown), Vocabulary.EosId];
        return new EncodedInput(tokens, ids, [.. unknown]);
    }

    private Translation ToTranslation(EncodedInput input, Hypothesis h)
    {
        string[] tokens = TargetVocabulary.Decode(h.Tokens);
        string text = Tokenizer.Join(tokens, TargetVocabulary.Tokenization);
        Alignment? alignment = null;
        if (h.Alignment.Length > 0 && h.Tokens.Length > 0)
        {
            // one row per emitted id, as decoded: Tokens above skips a <pad> or <sos> that greedy decoding might emit, the rows keep it
            var rows = new string[h.Tokens.Length];
            for (int t = 0; t < rows.Length; t++)
            {
                rows[t] = TargetVocabulary[h.Tokens[t]];
            }
            alignment = new Alignment(Alignment.Columns(input.Tokens), rows, h.Alignment);
        }
        return new Translation(text, tokens, input.Tokens, input.Unknown, h.Score, h.NormalizedScore, h.Finished, alignment);
    }

    /// <summary>An input as the model is fed it.</summary>
    /// <param name="Tokens">The tokens, without &lt;eos&gt;.</param>
    /// <param name="Ids">Their ids plus &lt;eos&gt;.</param>
    /// <param name="Unknown">The tokens fed as &lt;unk&gt;.</param>
    private sealed record EncodedInput(string[] Tokens, int[] Ids, string[] Unknown);
}
