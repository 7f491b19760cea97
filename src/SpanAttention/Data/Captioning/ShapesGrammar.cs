namespace SpanAttention.Data.Captioning;

/// <summary>
/// The caption grammar of the <c>shapes</c> task: one noun phrase per object, objects in reading order of their
/// grid cells (top row first, each row left to right), joined by <c>and</c>:
/// <code>
/// caption := object ("and" object)*             1 to 3 objects, cells strictly increasing in reading order
/// object  := "a" size colour shape "at" row column
/// size    := "small" | "large"
/// colour  := "red" | "green" | "blue" | "yellow" | "cyan" | "magenta"
/// shape   := "circle" | "square" | "triangle" | "diamond"
/// row     := "top" | "middle" | "bottom"
/// column  := "left" | "center" | "right"
/// </code>
/// e.g. <c>a small red circle at top left and a large blue square at middle center</c>.
/// </summary>
/// <remarks>
/// Every scene has exactly one caption and every caption exactly one scene (<see cref="Caption"/> and
/// <see cref="Parse"/> are inverse), so exact match is a fair metric. The size, colour and shape words of an object
/// name it (grounded to its box); <c>a</c>, <c>at</c>, the place words and <c>and</c> name none.
/// </remarks>
internal static class ShapesGrammar
{
    /// <summary>Most objects a caption (and a scene) has.</summary>
    public const int MaxObjects = 3;

    /// <summary>Tokens per object phrase: a, size, colour, shape, at, row, column.</summary>
    public const int PhraseLength = 7;

    internal static readonly string[] SizeWords = ["small", "large"];
    internal static readonly string[] ColorWords = ["red", "green", "blue", "yellow", "cyan", "magenta"];
    internal static readonly string[] KindWords = ["circle", "square", "triangle", "diamond"];
    internal static readonly string[] RowWords = ["top", "middle", "bottom"];
    internal static readonly string[] ColumnWords = ["left", "center", "right"];

    /// <summary>Every word a caption can contain, in a fixed order (21 words).</summary>
    public static IReadOnlyList<string> Words { get; } =
        ["a", "and", "at", .. SizeWords, .. ColorWords, .. KindWords, .. RowWords, .. ColumnWords];

    /// <summary>The caption of a scene.</summary>
    /// <param name="objects">1..3 objects in canonical order (cells strictly increasing).</param>
    /// <param name="tokenObjects">Per token: the object it names, or -1.</param>
    /// <returns>The tokens.</returns>
    /// <exception cref="ArgumentException">No objects, more than three, or not in canonical order.</exception>
    public static string[] Caption(ReadOnlySpan<ShapeDescription> objects, out int[] tokenObjects)
    {
        if (objects.Length is < 1 or > MaxObjects)
        {
            throw new ArgumentException($"a scene has 1 to {MaxObjects} objects, not {objects.Length}.", nameof(objects));
        }
        int n = objects.Length * PhraseLength + objects.Length - 1;
        var tokens = new string[n];
        tokenObjects = new int[n];
        int t = 0;
        for (int i = 0; i < objects.Length; i++)
        {
            ShapeDescription o = objects[i];
            if (o.Row is < 0 or > 2 || o.Column is < 0 or > 2)
            {
                throw new ArgumentException($"object {i} is in cell ({o.Row}, {o.Column}); rows and columns are 0..2.", nameof(objects));
            }
            if (i > 0 && o.Cell <= objects[i - 1].Cell)
            {
                throw new ArgumentException($"objects must be in reading order of distinct cells; object {i} (cell {o.Cell}) follows cell {objects[i - 1].Cell}.", nameof(objects));
            }
            if (i > 0)
            {
                tokenObjects[t] = -1;
                tokens[t++] = "and";
            }
            Emit(tokens, tokenObjects, ref t, "a", -1);
            Emit(tokens, tokenObjects, ref t, SizeWords[(int)o.Size], i);
            Emit(tokens, tokenObjects, ref t, ColorWords[(int)o.Color], i);
            Emit(tokens, tokenObjects, ref t, KindWords[(int)o.Kind], i);
            Emit(tokens, tokenObjects, ref t, "at", -1);
            Emit(tokens, tokenObjects, ref t, RowWords[o.Row], -1);
            Emit(tokens, tokenObjects, ref t, ColumnWords[o.Column], -1);
        }
        return tokens;
    }

    private static void Emit(string[] tokens, int[] tokenObjects, ref int t, string word, int obj)
    {
        tokens[t] = word;
        tokenObjects[t++] = obj;
    }

    /// <summary>The scene a caption describes.</summary>
    /// <param name="tokens">A caption.</param>
    /// <returns>Its objects in canonical order.</returns>
    /// <exception cref="FormatException">The tokens are not a caption of the grammar; the message names the first wrong token.</exception>
    public static ShapeDescription[] Parse(IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return TryParse(tokens, out ShapeDescription[] objects, out string? error) ? objects : throw new FormatException(error);
    }

    /// <summary>Parses a caption without throwing (e.g. a model's output).</summary>
    /// <param name="tokens">Candidate caption.</param>
    /// <param name="objects">Its objects when it parses, else empty.</param>
    /// <param name="error">Why it does not parse, else null.</param>
    /// <returns>True when the tokens are a caption of the grammar.</returns>
    public static bool TryParse(IReadOnlyList<string> tokens, out ShapeDescription[] objects, out string? error)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        objects = [];
        var found = new List<ShapeDescription>(MaxObjects);
        int t = 0;
        while (true)
        {
            if (found.Count == MaxObjects)
            {
                error = $"token {t}: a caption names at most {MaxObjects} objects.";
                return false;
            }
            if (!Expect(tokens, t++, "a", out error)
                || !Choose(tokens, t++, SizeWords, "a size", out int size, out error)
                || !Choose(tokens, t++, ColorWords, "a colour", out int color, out error)
                || !Choose(tokens, t++, KindWords, "a shape", out int kind, out error)
                || !Expect(tokens, t++, "at", out error)
                || !Choose(tokens, t++, RowWords, "a row", out int row, out error)
                || !Choose(tokens, t++, ColumnWords, "a column", out int column, out error))
            {
                return false;
            }
            var o = new ShapeDescription((ShapeSize)size, (ShapeColor)color, (ShapeKind)kind, row, column);
            if (found.Count > 0 && o.Cell <= found[^1].Cell)
            {
                error = $"token {t - 2}: '{RowWords[row]} {ColumnWords[column]}' does not come after '{RowWords[found[^1].Row]} {ColumnWords[found[^1].Column]}' in reading order.";
                return false;
            }
            found.Add(o);
            if (t == tokens.Count)
            {
                objects = [.. found];
                error = null;
                return true;
            }
            if (!Expect(tokens, t++, "and", out error))
            {
                return false;
            }
        }
    }

    private static bool Expect(IReadOnlyList<string> tokens, int t, string word, out string? error)
    {
        if (t < tokens.Count && tokens[t] == word)
        {
            error = null;
            return true;
        }
        error = t < tokens.Count ? $"token {t}: expected '{word}', found '{tokens[t]}'." : $"token {t}: expected '{word}', the caption ended.";
        return false;
    }

    private static bool Choose(IReadOnlyList<string> tokens, int t, string[] words, string what, out int index, out string? error)
    {
        index = t < tokens.Count ? Array.IndexOf(words, tokens[t]) : -1;
        if (index >= 0)
        {
            error = null;
            return true;
        }
        error = t < tokens.Count ? $"token {t}: expected {what} ({string.Join('|', words)}), found '{tokens[t]}'." : $"token {t}: expected {what}, the caption ended.";
        return false;
    }
}
