using SpanAttention.Visualization;

namespace SpanAttention.Cli.Rendering;

/// <summary>
/// Shows the attention of one translated sentence the way <c>demo</c>, <c>attend</c> and
/// <c>translate --attention</c> do: the heatmap drawn on stdout, and optionally written as an SVG file.
/// </summary>
internal static class AttentionView
{
    /// <summary>Draws the heatmap on <see cref="CliContext.Out"/> and, when <paramref name="svgPath"/> is given, writes the SVG.</summary>
    /// <param name="context">Where to write and the colour mode.</param>
    /// <param name="sourceTokens">The S source tokens (columns).</param>
    /// <param name="targetTokens">The T generated tokens (rows).</param>
    /// <param name="weights">(T, S) row-major attention weights.</param>
    /// <param name="svgPath">The SVG file to write (atomically), or null for none.</param>
    /// <param name="title">The SVG caption (e.g. "source → translation"), or null.</param>
    /// <exception cref="HeatmapInputException">The weights do not fit the tokens.</exception>
    /// <exception cref="CliException">The SVG's folder does not exist.</exception>
    public static void Show(CliContext context, IReadOnlyList<string> sourceTokens, IReadOnlyList<string> targetTokens, ReadOnlySpan<float> weights, string? svgPath, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        AttentionHeatmap.Validate(sourceTokens, targetTokens, weights);
        if (svgPath is not null)
        {
            FileChecks.RequireOutputFolder(svgPath, "heatmap file");
        }
        context.Out.Write(TerminalHeatmap.Render(sourceTokens, targetTokens, weights, context.Color));
        if (svgPath is not null)
        {
            AttentionHeatmap.WriteSvg(svgPath, sourceTokens, targetTokens, weights, title);
            context.Out.WriteLine($"wrote {svgPath}");
        }
    }
}
