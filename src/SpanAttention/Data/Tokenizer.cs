using System.Globalization;

namespace SpanAttention.Data;

/// <summary>How a text is cut into tokens.</summary>
public enum Tokenization
{
    /// <summary>Whitespace-separated words (after Unicode NFC normalisation); punctuation stays attached.</summary>
    Word,

    /// <summary>One token per text element (grapheme cluster, as <see cref="StringInfo"/> defines it), so a
    /// Devanagari consonant keeps its vowel sign, virama, nukta and candrabindu; whitespace runs become one " " token.</summary>
    Character,
}

/// <summary>
/// Word- and character-level tokenisation. Every text is first normalised to Unicode NFC, so the same
/// Devanagari word typed with precomposed or decomposed code points gives the same tokens.
/// </summary>
/// <remarks>
/// Character mode uses <see cref="StringInfo.GetTextElementEnumerator(string)"/>: a base letter plus its
/// combining marks (matra, virama, nukta, anusvara, candrabindu) is one token, never split. .NET's
/// grapheme rules keep a virama with the consonant before it (क्ष is [क्][ष]), which is lossless.
/// </remarks>
public static class Tokenizer
{
    /// <summary>Normalises <paramref name="text"/> to NFC (returns the same instance when it already is). Works in
    /// globalization-invariant mode too, for Latin and Devanagari (see the managed fallback in <c>Nfc</c>).</summary>
    /// <param name="text">Any text.</param>
    /// <returns>The NFC form.</returns>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Nfc.Normalize(text);
    }

    /// <summary>Cuts <paramref name="text"/> into tokens.</summary>
    /// <param name="text">The text; NFC-normalised first.</param>
    /// <param name="mode">Word or character tokens.</param>
    /// <returns>The tokens, possibly none (for empty or all-whitespace text).</returns>
    public static string[] Tokenize(string text, Tokenization mode) => mode switch
    {
        Tokenization.Word => Words(text),
        Tokenization.Character => Characters(text),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown tokenization."),
    };

    /// <summary>Whitespace-separated words of the NFC form of <paramref name="text"/>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The words, without empty entries.</returns>
    public static string[] Words(string text) =>
        Normalize(text).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The text elements of the NFC form of <paramref name="text"/>, with leading and trailing
    /// whitespace dropped and every inner whitespace run collapsed to a single " " token.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The characters (grapheme clusters).</returns>
    public static string[] Characters(string text)
    {
        string normalized = Normalize(text);
        var tokens = new List<string>(normalized.Length);
        bool pendingSpace = false;
        TextElementEnumerator e = StringInfo.GetTextElementEnumerator(normalized);
        while (e.MoveNext())
        {
            string element = e.GetTextElement();
            if (string.IsNullOrWhiteSpace(element))
            {
                pendingSpace = tokens.Count > 0;
                continue;
            }
            if (pendingSpace)
            {
                tokens.Add(" ");
                pendingSpace = false;
            }
            tokens.Add(element);
        }
        return [.. tokens];
    }

    /// <summary>The inverse of <see cref="Tokenize"/> for normalised text: words joined by one space, or
    /// characters concatenated.</summary>
    /// <param name="tokens">The tokens.</param>
    /// <param name="mode">How they were cut.</param>
    /// <returns>The text.</returns>
    public static string Join(IEnumerable<string> tokens, Tokenization mode)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return mode switch
        {
            Tokenization.Word => string.Join(' ', tokens),
            Tokenization.Character => string.Concat(tokens),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown tokenization."),
        };
    }

    /// <summary>The lower-case name used in files and on the command line: "word" or "char".</summary>
    /// <param name="mode">The tokenization.</param>
    /// <returns>"word" or "char".</returns>
    public static string ToName(Tokenization mode) => mode switch
    {
        Tokenization.Word => "word",
        Tokenization.Character => "char",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown tokenization."),
    };

    /// <summary>Parses "word" or "char" (also "character", any case).</summary>
    /// <param name="name">The name.</param>
    /// <param name="mode">The tokenization, when the name is known.</param>
    /// <returns>Whether the name is known.</returns>
    public static bool TryParse(string? name, out Tokenization mode)
    {
        switch (name?.Trim().ToUpperInvariant())
        {
            case "WORD":
                mode = Tokenization.Word;
                return true;
            case "CHAR" or "CHARACTER":
                mode = Tokenization.Character;
                return true;
            default:
                mode = default;
                return false;
        }
    }
}
