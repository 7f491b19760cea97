using System.Text;

namespace SpanAttention.Data;

/// <summary>
/// Unicode NFC normalisation that also works when .NET runs in globalization-invariant mode (as
/// SpanAttention builds do: <c>InvariantGlobalization=true</c>), where <see cref="string.Normalize()"/>
/// silently returns non-ASCII text unchanged and <see cref="string.IsNormalized()"/> always says true.
/// </summary>
/// <remarks>
/// When the platform normalises (ICU present, invariant mode off) its full implementation is used. Otherwise
/// a managed fallback implements the NFC algorithm (full canonical decomposition, canonical ordering by
/// combining class, canonical composition skipping composition exclusions) over the data in
/// <see cref="NfcTables"/>: Latin-1 Supplement, Latin Extended-A/B, Latin Extended Additional and
/// Devanagari (the nukta letters U+0958..U+095F decompose, ऩ ऱ ऴ compose, nukta sorts before virama).
/// Other scripts pass through unchanged in that mode.
/// </remarks>
internal static class Nfc
{
    /// <summary>Whether <see cref="string.Normalize(NormalizationForm)"/> really normalises on this runtime.</summary>
    public static readonly bool PlatformSupported = ProbePlatform();

    private static readonly Dictionary<char, (char First, char Second)> Decompositions = BuildDecompositions();
    private static readonly Dictionary<int, char> Compositions = BuildCompositions();
    private static readonly Dictionary<char, byte> Classes = BuildClasses();

    /// <summary>The NFC form of <paramref name="text"/> (the same instance when nothing changes).</summary>
    public static string Normalize(string text)
    {
        if (PlatformSupported)
        {
            return text.IsNormalized(NormalizationForm.FormC) ? text : text.Normalize(NormalizationForm.FormC);
        }
        return Managed(text);
    }

    /// <summary>The managed fallback, exposed so tests can run it whatever the runtime mode.</summary>
    internal static string Managed(string text)
    {
        bool simple = true;
        foreach (char c in text)
        {
            if (c >= '\u0300')
            {
                simple = false;
                break;
            }
        }
        if (simple)
        {
            return text; // no combining mark and no decomposable letter below U+0300 that NFC would change
        }

        // 1. Full canonical decomposition.
        var chars = new List<char>(text.Length + 8);
        foreach (char c in text)
        {
            DecomposeInto(c, chars);
        }

        // 2. Canonical ordering: stable sort of each run of non-starters by combining class.
        for (int i = 1; i < chars.Count; i++)
        {
            byte cc = Class(chars[i]);
            if (cc == 0)
            {
                continue;
            }
            for (int j = i; j > 0 && Class(chars[j - 1]) > cc; j--)
            {
                (chars[j - 1], chars[j]) = (chars[j], chars[j - 1]);
            }
        }

        // 3. Canonical composition: a mark joins the last starter unless blocked by a mark of equal or higher class.
        var result = new StringBuilder(chars.Count);
        int starter = -1;
        int lastClass = -1; // class of the last char kept after the starter; -1 when adjacent
        foreach (char c in chars)
        {
            byte cc = Class(c);
            if (starter >= 0 && (lastClass == -1 || (cc != 0 && lastClass < cc))
                && Compositions.TryGetValue((result[starter] << 16) | c, out char composite))
            {
                result[starter] = composite;
                continue;
            }
            if (cc == 0)
            {
                starter = result.Length;
                lastClass = -1;
            }
            else
            {
                lastClass = cc;
            }
            result.Append(c);
        }
        string normalized = result.ToString();
        return normalized == text ? text : normalized;
    }

    private static void DecomposeInto(char c, List<char> chars)
    {
        if (Decompositions.TryGetValue(c, out (char First, char Second) d))
        {
            DecomposeInto(d.First, chars);
            chars.Add(d.Second);
        }
        else
        {
            chars.Add(c);
        }
    }

    private static byte Class(char c) => Classes.GetValueOrDefault(c);

    private static bool ProbePlatform()
    {
        try
        {
            return "e\u0301".Normalize(NormalizationForm.FormC) == "\u00E9";
        }
        catch (PlatformNotSupportedException)
        {
            return false;
        }
    }

    private static Dictionary<char, (char, char)> BuildDecompositions()
    {
        var map = new Dictionary<char, (char, char)>(NfcTables.Decompositions.Length);
        foreach ((char composite, char first, char second, _) in NfcTables.Decompositions)
        {
            map.Add(composite, (first, second));
        }
        return map;
    }

    private static Dictionary<int, char> BuildCompositions()
    {
        var map = new Dictionary<int, char>(NfcTables.Decompositions.Length);
        foreach ((char composite, char first, char second, bool primary) in NfcTables.Decompositions)
        {
            if (primary)
            {
                map.Add((first << 16) | second, composite);
            }
        }
        return map;
    }

    private static Dictionary<char, byte> BuildClasses()
    {
        var map = new Dictionary<char, byte>(NfcTables.CombiningClasses.Length);
        foreach ((char c, byte cc) in NfcTables.CombiningClasses)
        {
            map.Add(c, cc);
        }
        return map;
    }
}
