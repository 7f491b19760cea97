using System.Text;
using System.Text.Json;

namespace SpanAttention.Data;

/// <summary>
/// A token ↔ id table. Ids 0..3 are always the special tokens <c>&lt;pad&gt;</c>, <c>&lt;sos&gt;</c>,
/// <c>&lt;eos&gt;</c>, <c>&lt;unk&gt;</c>; the rest are ordered by descending training count, then by
/// ordinal string order, so the same corpus always gives the same ids.
/// </summary>
/// <remarks>
/// Serialises to a small JSON object (kept in a safetensors <c>__metadata__</c> entry):
/// <c>{"format":"spanattention-vocabulary","version":1,"tokenization":"word","tokens":["&lt;pad&gt;",...]}</c>.
/// <see cref="FromJson"/> validates everything and throws <see cref="VocabularyFormatException"/>.
/// </remarks>
public sealed class Vocabulary
{
    /// <summary>Padding token; id 0, so zero-filled arrays are all padding.</summary>
    public const string Pad = "<pad>";

    /// <summary>Start-of-sequence token fed to the decoder first.</summary>
    public const string Sos = "<sos>";

    /// <summary>End-of-sequence token.</summary>
    public const string Eos = "<eos>";

    /// <summary>Stands for every token not in the vocabulary.</summary>
    public const string Unk = "<unk>";

    /// <summary>Id of <see cref="Pad"/>.</summary>
    public const int PadId = 0;

    /// <summary>Id of <see cref="Sos"/>.</summary>
    public const int SosId = 1;

    /// <summary>Id of <see cref="Eos"/>.</summary>
    public const int EosId = 2;

    /// <summary>Id of <see cref="Unk"/>.</summary>
    public const int UnkId = 3;

    /// <summary>Number of special tokens (ids 0..3).</summary>
    public const int SpecialCount = 4;

    private const string FormatName = "spanattention-vocabulary";
    private const int FormatVersion = 1;

    private static readonly string[] Specials = [Pad, Sos, Eos, Unk];

    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;

    private Vocabulary(string[] tokens, Tokenization tokenization)
    {
        _tokens = tokens;
        Tokenization = tokenization;
        _ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++)
        {
            _ids.Add(tokens[i], i);
        }
    }

    /// <summary>How texts are cut into this vocabulary's tokens.</summary>
    public Tokenization Tokenization { get; }

    /// <summary>Number of tokens including the four specials (the V of the embedding and output layers).</summary>
    public int Count => _tokens.Length;

    /// <summary>All tokens, index = id.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>The token with id <paramref name="id"/>.</summary>
    /// <param name="id">An id in [0, Count).</param>
    public string this[int id] => (uint)id < (uint)_tokens.Length
        ? _tokens[id]
        : throw new ArgumentOutOfRangeException(nameof(id), $"Token id {id} is outside the vocabulary of {_tokens.Length} tokens.");

    /// <summary>Builds a vocabulary from the tokenised training sequences.</summary>
    /// <param name="sequences">Token sequences (sources or targets of the training split).</param>
    /// <param name="tokenization">How the sequences were tokenised (recorded for later encoding).</param>
    /// <param name="minCount">Tokens seen fewer times are left out (they encode to <c>&lt;unk&gt;</c>).</param>
    /// <param name="maxSize">Optional cap on <see cref="Count"/> (specials included); the rarest tokens go first.</param>
    /// <returns>The vocabulary: specials, then tokens by descending count, then ordinal order.</returns>
    public static Vocabulary Build(IEnumerable<IReadOnlyList<string>> sequences, Tokenization tokenization, int minCount = 1, int? maxSize = null)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentOutOfRangeException.ThrowIfLessThan(minCount, 1);
        if (maxSize is int m)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(m, SpecialCount, nameof(maxSize));
        }
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (IReadOnlyList<string> sequence in sequences)
        {
            foreach (string token in sequence)
            {
                if (string.IsNullOrEmpty(token))
                {
                    throw new ArgumentException("Token sequences must not contain empty tokens.", nameof(sequences));
                }
                if (Array.IndexOf(Specials, token) >= 0)
                {
                    continue; // a literal "<unk>" in the data is the special token, not a new word
                }
                counts[token] = counts.GetValueOrDefault(token) + 1;
            }
        }
        var kept = new List<KeyValuePair<string, int>>(counts.Count);
        foreach (KeyValuePair<string, int> kv in counts)
        {
            if (kv.Value >= minCount)
            {
                kept.Add(kv);
            }
        }
        kept.Sort(static (a, b) => a.Value != b.Value ? b.Value.CompareTo(a.Value) : string.CompareOrdinal(a.Key, b.Key));
        int size = SpecialCount + kept.Count;
        if (maxSize is int cap && cap < size)
        {
            size = cap;
        }
        string[] tokens = new string[size];
        Specials.CopyTo(tokens, 0);
        for (int i = SpecialCount; i < size; i++)
        {
            tokens[i] = kept[i - SpecialCount].Key;
        }
        return new Vocabulary(tokens, tokenization);
    }

    /// <summary>Creates a vocabulary from an explicit token list (the specials are added in front when absent).</summary>
    /// <param name="tokens">Non-special tokens in id order (or a full list starting with the four specials).</param>
    /// <param name="tokenization">How texts are tokenised.</param>
    /// <returns>The vocabulary.</returns>
    /// <exception cref="VocabularyFormatException">A token is empty or repeated, or a special token is misplaced.</exception>
    public static Vocabulary FromTokens(IEnumerable<string> tokens, Tokenization tokenization)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var list = new List<string>(tokens);
        bool hasSpecials = list.Count >= SpecialCount && list[0] == Pad && list[1] == Sos && list[2] == Eos && list[3] == Unk;
        if (!hasSpecials)
        {
            list.InsertRange(0, Specials);
        }
        string[] array = [.. list];
        Validate(array);
        return new Vocabulary(array, tokenization);
    }

    /// <summary>Looks a token up.</summary>
    /// <param name="token">The token.</param>
    /// <param name="id">Its id, or <see cref="UnkId"/> when absent.</param>
    /// <returns>Whether the token is in the vocabulary.</returns>
    public bool TryGetId(string token, out int id)
    {
        if (_ids.TryGetValue(token, out id))
        {
            return true;
        }
        id = UnkId;
        return false;
    }

    /// <summary>The id of <paramref name="token"/>, or <see cref="UnkId"/> when it is not in the vocabulary.</summary>
    /// <param name="token">The token.</param>
    /// <returns>The id.</returns>
    public int GetId(string token) => _ids.TryGetValue(token, out int id) ? id : UnkId;

    /// <summary>Whether <paramref name="token"/> is in the vocabulary.</summary>
    /// <param name="token">The token.</param>
    /// <returns>True when known.</returns>
    public bool Contains(string token) => _ids.ContainsKey(token);

    /// <summary>Encodes tokens to ids, mapping unknown tokens to <see cref="UnkId"/>.</summary>
    /// <param name="tokens">The tokens (no specials are added; see <see cref="PairEncoder"/> for that).</param>
    /// <param name="unknownTokens">When given, every unknown token is added to it (so the caller can warn).</param>
    /// <returns>The ids, one per token.</returns>
    public int[] Encode(IReadOnlyList<string> tokens, ICollection<string>? unknownTokens = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        int[] ids = new int[tokens.Count];
        for (int i = 0; i < ids.Length; i++)
        {
            if (!TryGetId(tokens[i], out ids[i]) && tokens[i] != Unk)
            {
                unknownTokens?.Add(tokens[i]);
            }
        }
        return ids;
    }

    /// <summary>Tokenises <paramref name="text"/> with <see cref="Tokenization"/> and encodes it.</summary>
    /// <param name="text">The text.</param>
    /// <param name="unknownTokens">When given, receives every unknown token.</param>
    /// <returns>The ids.</returns>
    public int[] EncodeText(string text, ICollection<string>? unknownTokens = null) =>
        Encode(Tokenizer.Tokenize(text, Tokenization), unknownTokens);

    /// <summary>Decodes ids to tokens: <c>&lt;pad&gt;</c> and <c>&lt;sos&gt;</c> are skipped and decoding
    /// stops at the first <c>&lt;eos&gt;</c> (unless <paramref name="stopAtEos"/> is false, when it is skipped too).</summary>
    /// <param name="ids">The ids.</param>
    /// <param name="stopAtEos">Whether <c>&lt;eos&gt;</c> ends the sequence.</param>
    /// <returns>The tokens; <c>&lt;unk&gt;</c> stays as <c>&lt;unk&gt;</c>.</returns>
    public string[] Decode(ReadOnlySpan<int> ids, bool stopAtEos = true)
    {
        var tokens = new List<string>(ids.Length);
        foreach (int id in ids)
        {
            if (id == EosId)
            {
                if (stopAtEos)
                {
                    break;
                }
                continue;
            }
            if (id is PadId or SosId)
            {
                continue;
            }
            tokens.Add(this[id]);
        }
        return [.. tokens];
    }

    /// <summary>Decodes ids and joins the tokens into text (words with spaces, characters concatenated).</summary>
    /// <param name="ids">The ids.</param>
    /// <returns>The text.</returns>
    public string DecodeText(ReadOnlySpan<int> ids) => Tokenizer.Join(Decode(ids), Tokenization);

    /// <summary>Serialises the vocabulary to compact JSON.</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("format", FormatName);
            writer.WriteNumber("version", FormatVersion);
            writer.WriteString("tokenization", Tokenizer.ToName(Tokenization));
            writer.WriteStartArray("tokens");
            foreach (string token in _tokens)
            {
                writer.WriteStringValue(token);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Reads a vocabulary written by <see cref="ToJson"/>, validating it.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The vocabulary.</returns>
    /// <exception cref="VocabularyFormatException">Not JSON, wrong format or version, unknown tokenization,
    /// a non-string, empty or duplicate token, or the specials not at ids 0..3.</exception>
    public static Vocabulary FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new VocabularyFormatException($"Vocabulary is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            try
            {
                return FromDocument(document.RootElement);
            }
            catch (InvalidOperationException e)
            {
                // System.Text.Json parses "\ud800" (a lone surrogate escape) but refuses to turn it into a string.
                throw new VocabularyFormatException($"Vocabulary holds a string that is not valid text (a lone surrogate \\u escape): {e.Message}", e);
            }
        }
    }

    private static Vocabulary FromDocument(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new VocabularyFormatException($"Vocabulary JSON must be an object, got {root.ValueKind}.");
        }
        string format = RequireString(root, "format");
        if (format != FormatName)
        {
            throw new VocabularyFormatException($"Vocabulary 'format' is '{format}', expected '{FormatName}'.");
        }
        if (!root.TryGetProperty("version", out JsonElement version) || version.ValueKind != JsonValueKind.Number
            || !version.TryGetInt32(out int v) || v != FormatVersion)
        {
            throw new VocabularyFormatException($"Vocabulary 'version' must be {FormatVersion}.");
        }
        string tokenizationName = RequireString(root, "tokenization");
        if (!Tokenizer.TryParse(tokenizationName, out Tokenization tokenization))
        {
            throw new VocabularyFormatException($"Vocabulary 'tokenization' is '{tokenizationName}', expected 'word' or 'char'.");
        }
        if (!root.TryGetProperty("tokens", out JsonElement tokensElement) || tokensElement.ValueKind != JsonValueKind.Array)
        {
            throw new VocabularyFormatException("Vocabulary has no 'tokens' array.");
        }
        string[] tokens = new string[tokensElement.GetArrayLength()];
        int i = 0;
        foreach (JsonElement element in tokensElement.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.String)
            {
                throw new VocabularyFormatException($"Vocabulary token {i} is a {element.ValueKind}, not a string.");
            }
            tokens[i++] = element.GetString()!;
        }
        Validate(tokens);
        return new Vocabulary(tokens, tokenization);
    }

    private static string RequireString(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement e) && e.ValueKind == JsonValueKind.String
            ? e.GetString()!
            : throw new VocabularyFormatException($"Vocabulary has no string '{name}' field.");

    private static void Validate(string[] tokens)
    {
        if (tokens.Length < SpecialCount)
        {
            throw new VocabularyFormatException($"Vocabulary has {tokens.Length} tokens; it needs at least the {SpecialCount} special tokens.");
        }
        for (int i = 0; i < SpecialCount; i++)
        {
            if (tokens[i] != Specials[i])
            {
                throw new VocabularyFormatException($"Vocabulary token {i} must be the special token '{Specials[i]}', got '{tokens[i]}'.");
            }
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; i++)
        {
            if (string.IsNullOrEmpty(tokens[i]))
            {
                throw new VocabularyFormatException($"Vocabulary token {i} is empty.");
            }
            if (!seen.Add(tokens[i]))
            {
                throw new VocabularyFormatException($"Vocabulary token '{tokens[i]}' (id {i}) appears more than once.");
            }
        }
    }
}
