namespace SpanAttention.Cli;

/// <summary>The sentences a command works on: its text arguments, or else the lines of standard input.</summary>
internal static class InputLines
{
    /// <summary>
    /// The arguments when there are any (each one sentence); otherwise every line of <paramref name="stdin"/>,
    /// trimmed, blank ones included (as empty strings), so a caller can give one output line per input line.
    /// Blank arguments are an error; input with no non-blank line is an error.
    /// </summary>
    /// <param name="arguments">The text arguments from the command line (may be empty).</param>
    /// <param name="stdin">Standard input, read only when there are no arguments.</param>
    /// <returns>At least one line, at least one of them non-empty.</returns>
    /// <exception cref="UsageException">An argument is blank.</exception>
    /// <exception cref="CliException">There is no sentence at all.</exception>
    public static IReadOnlyList<string> Read(IReadOnlyList<string>? arguments, TextReader stdin)
    {
        ArgumentNullException.ThrowIfNull(stdin);
        var lines = new List<string>();
        if (arguments is { Count: > 0 })
        {
            for (int i = 0; i < arguments.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(arguments[i]))
                {
                    throw new UsageException($"Text argument {i + 1} is empty.");
                }
                lines.Add(arguments[i].Trim());
            }
            return lines;
        }
        string? line;
        bool any = false;
        while ((line = stdin.ReadLine()) is not null)
        {
            lines.Add(line.Trim());
            any |= lines[^1].Length > 0;
        }
        if (!any)
        {
            throw new CliException("No input: give the text as arguments or one sentence per line on standard input.");
        }
        return lines;
    }

    /// <summary>
    /// As <see cref="Read"/>, in blocks of at most <paramref name="blockLines"/> lines, reading standard input only as far
    /// as the block being returned: memory stays bounded by the block size whatever the input's length.
    /// </summary>
    /// <param name="arguments">The text arguments from the command line (may be empty).</param>
    /// <param name="stdin">Standard input, read only when there are no arguments.</param>
    /// <param name="blockLines">Most lines per block, ≥ 1.</param>
    /// <returns>The blocks, in order; the lines trimmed, blank ones included as empty strings.</returns>
    /// <exception cref="UsageException">An argument is blank.</exception>
    /// <exception cref="CliException">There is no sentence at all (raised after the last block).</exception>
    public static IEnumerable<IReadOnlyList<string>> ReadBlocks(IReadOnlyList<string>? arguments, TextReader stdin, int blockLines)
    {
        ArgumentNullException.ThrowIfNull(stdin);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockLines, 1);
        if (arguments is { Count: > 0 })
        {
            IReadOnlyList<string> all = Read(arguments, stdin);
            for (int start = 0; start < all.Count; start += blockLines)
            {
                yield return all.Skip(start).Take(blockLines).ToList();
            }
            yield break;
        }
        var block = new List<string>(blockLines);
        bool any = false;
        string? line;
        while ((line = stdin.ReadLine()) is not null)
        {
            block.Add(line.Trim());
            any |= block[^1].Length > 0;
            if (block.Count == blockLines)
            {
                yield return block;
                block = new List<string>(blockLines);
            }
        }
        if (block.Count > 0)
        {
            yield return block;
        }
        if (!any)
        {
            throw new CliException("No input: give the text as arguments or one sentence per line on standard input.");
        }
    }
}
