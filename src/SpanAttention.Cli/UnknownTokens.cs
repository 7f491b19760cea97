namespace SpanAttention.Cli;

/// <summary>
/// Collects the input tokens that are not in a model's vocabulary (and were mapped to <c>&lt;unk&gt;</c>),
/// so a command can warn once, in one line, instead of once per token.
/// </summary>
internal sealed class UnknownTokens
{
    private const int Shown = 8;
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    /// <summary>The number of unknown token occurrences seen.</summary>
    public int Occurrences { get; private set; }

    /// <summary>Records one occurrence of a token missing from the vocabulary.</summary>
    public void Add(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        Occurrences++;
        if (_counts.TryGetValue(token, out int n))
        {
            _counts[token] = n + 1;
        }
        else
        {
            _counts[token] = 1;
            _order.Add(token);
        }
    }

    /// <summary>The warning text, or null when every token was known, e.g.
    /// <c>3 unknown tokens mapped to &lt;unk&gt;: 'चाय' (2), 'दूध'</c>. At most eight distinct tokens are named.</summary>
    public string? Message()
    {
        if (Occurrences == 0)
        {
            return null;
        }
        var named = new List<string>();
        for (int i = 0; i < Math.Min(Shown, _order.Count); i++)
        {
            int n = _counts[_order[i]];
            named.Add(n == 1 ? $"'{_order[i]}'" : $"'{_order[i]}' ({n})");
        }
        string more = _order.Count > Shown ? $" and {_order.Count - Shown} more" : "";
        string noun = Occurrences == 1 ? "token" : "tokens";
        return $"{Occurrences} unknown {noun} mapped to <unk>: {string.Join(", ", named)}{more}";
    }

    /// <summary>Writes the warning to stderr, if there is one.</summary>
    public void WarnIfAny(CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Message() is string message)
        {
            context.Warn(message);
        }
    }
}
