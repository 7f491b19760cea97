using System.Globalization;
using System.Text;

namespace SpanAttention.Cli.Rendering;

/// <summary>
/// How many terminal columns a string takes, the way terminals compute it (wcwidth): combining marks
/// (Unicode categories Mn, Me) and format characters (Cf: zero-width joiner, soft hyphen) take 0 columns;
/// East Asian Wide and Fullwidth characters (CJK, Hangul, fullwidth forms, most emoji) take 2; everything
/// else 1.
/// </summary>
/// <remarks>
/// Devanagari: a consonant, an independent vowel and a spacing vowel sign (category Mc, e.g. ा) each count
/// 1; the virama ् and the nasal signs ं ँ (Mn) count 0. So मैं is 1 + 0 + 0 = 1 column and खाना (ख ा न ा) is 4,
/// which is what xterm, VTE (GNOME Terminal), kitty and Windows Terminal advance. A conjunct such as क्ष
/// (क ् ष, 2 columns here) may be drawn narrower by a terminal that shapes it into one glyph; nothing a
/// program can query tells it that, so tables may be off by a column there. The SVG output is exact.
/// </remarks>
internal static class DisplayWidth
{
    /// <summary>The number of columns <paramref name="text"/> occupies.</summary>
    public static int Of(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int width = 0;
        foreach (Rune rune in text.EnumerateRunes())
        {
            width += Of(rune);
        }
        return width;
    }

    /// <summary>The number of columns one code point occupies: 0, 1 or 2 (control characters count 0).</summary>
    public static int Of(Rune rune)
    {
        UnicodeCategory category = Rune.GetUnicodeCategory(rune);
        if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format or UnicodeCategory.Control)
        {
            return 0;
        }
        return IsWide(rune.Value) ? 2 : 1;
    }

    /// <summary>Pads <paramref name="text"/> with spaces on the right to <paramref name="columns"/> columns.</summary>
    public static string PadRight(string text, int columns)
    {
        int pad = columns - Of(text);
        return pad > 0 ? text + new string(' ', pad) : text;
    }

    /// <summary>Pads <paramref name="text"/> with spaces on the left to <paramref name="columns"/> columns.</summary>
    public static string PadLeft(string text, int columns)
    {
        int pad = columns - Of(text);
        return pad > 0 ? new string(' ', pad) + text : text;
    }

    /// <summary>East Asian Wide (W) and Fullwidth (F) ranges, condensed from Unicode's EastAsianWidth.txt.</summary>
    private static bool IsWide(int c) =>
        (c >= 0x1100 && c <= 0x115F) ||   // Hangul Jamo initial consonants
        (c >= 0x231A && c <= 0x231B) ||   // watch, hourglass
        (c >= 0x2E80 && c <= 0x303E) ||   // CJK radicals, Kangxi, CJK symbols and punctuation
        (c >= 0x3041 && c <= 0x33FF) ||   // Hiragana, Katakana, Bopomofo, CJK compatibility
        (c >= 0x3400 && c <= 0x4DBF) ||   // CJK extension A
        (c >= 0x4E00 && c <= 0x9FFF) ||   // CJK unified ideographs
        (c >= 0xA000 && c <= 0xA4CF) ||   // Yi
        (c >= 0xA960 && c <= 0xA97F) ||   // Hangul Jamo extended A
        (c >= 0xAC00 && c <= 0xD7A3) ||   // Hangul syllables
        (c >= 0xF900 && c <= 0xFAFF) ||   // CJK compatibility ideographs
        (c >= 0xFE10 && c <= 0xFE19) ||   // vertical forms
        (c >= 0xFE30 && c <= 0xFE6F) ||   // CJK compatibility forms, small form variants
        (c >= 0xFF00 && c <= 0xFF60) ||   // fullwidth forms
        (c >= 0xFFE0 && c <= 0xFFE6) ||   // fullwidth signs
        (c >= 0x1F300 && c <= 0x1F64F) || // pictographs, emoticons
        (c >= 0x1F900 && c <= 0x1F9FF) || // supplemental symbols and pictographs
        (c >= 0x20000 && c <= 0x3FFFD);   // CJK extensions B and later
}
