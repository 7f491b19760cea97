namespace SpanAttention.Cli.Rendering;

/// <summary>How a renderer may use colour.</summary>
internal enum ColorMode
{
    /// <summary>No escape sequences at all: shading characters ░▒▓█ instead of colour.</summary>
    Plain,

    /// <summary>The 256-colour palette (<c>ESC[48;5;Nm</c>).</summary>
    Ansi256,

    /// <summary>24-bit colour (<c>ESC[48;2;R;G;Bm</c>).</summary>
    TrueColor,
}

/// <summary>What the terminal can show.</summary>
internal static class Terminal
{
    /// <summary>
    /// The colour mode for standard output: plain when it is redirected, when <c>NO_COLOR</c> is set to
    /// anything non-empty (no-color.org) or when <c>TERM</c> is <c>dumb</c>; 24-bit when <c>COLORTERM</c> is
    /// <c>truecolor</c> or <c>24bit</c>; otherwise the 256-colour palette, which nearly every terminal has.
    /// </summary>
    /// <param name="getEnvironmentVariable">Reads an environment variable (null when unset).</param>
    /// <param name="outputRedirected">Whether standard output is a file or pipe rather than a terminal.</param>
    /// <returns>The colour mode.</returns>
    public static ColorMode DetectColor(Func<string, string?> getEnvironmentVariable, bool outputRedirected)
    {
        ArgumentNullException.ThrowIfNull(getEnvironmentVariable);
        if (outputRedirected || !string.IsNullOrEmpty(getEnvironmentVariable("NO_COLOR")))
        {
            return ColorMode.Plain;
        }
        string? term = getEnvironmentVariable("TERM");
        if (string.Equals(term, "dumb", StringComparison.Ordinal))
        {
            return ColorMode.Plain;
        }
        string? colorTerm = getEnvironmentVariable("COLORTERM");
        return colorTerm is "truecolor" or "24bit" ? ColorMode.TrueColor : ColorMode.Ansi256;
    }

    /// <summary>Resolves a <c>--color auto|always|never</c> choice.</summary>
    /// <param name="choice">auto, always or never.</param>
    /// <param name="detected">What <see cref="DetectColor"/> found (used for auto; always upgrades plain to 256 colours).</param>
    /// <returns>The colour mode.</returns>
    public static ColorMode Resolve(string choice, ColorMode detected) => choice switch
    {
        "auto" => detected,
        "always" => detected == ColorMode.Plain ? ColorMode.Ansi256 : detected,
        "never" => ColorMode.Plain,
        _ => throw new UsageException($"--color must be auto, always or never, not '{choice}'."),
    };
}
