using System.Text;

namespace SpanAttention.Cli.Rendering;

/// <summary>How <see cref="TextTable"/> draws a table.</summary>
internal enum TableFormat
{
    /// <summary>Aligned columns separated by two spaces, a dashed rule under the header.</summary>
    Text,

    /// <summary>A GitHub-flavoured Markdown table (for the README).</summary>
    Markdown,
}

/// <summary>A small table renderer: columns padded by <see cref="DisplayWidth"/>, numbers right-aligned.</summary>
internal static class TextTable
{
    /// <summary>Renders a table; every line ends with a newline.</summary>
    /// <param name="headers">The column headers.</param>
    /// <param name="rows">The rows; each has one cell per header.</param>
    /// <param name="rightAligned">Per column, whether it is right-aligned (numbers); null for all left.</param>
    /// <param name="format">Text or Markdown.</param>
    /// <returns>The table.</returns>
    public static string Render(IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> rows, IReadOnlyList<bool>? rightAligned = null, TableFormat format = TableFormat.Text)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(rows);
        if (format == TableFormat.Markdown)
        {
            headers = Escape(headers);
            var escaped = new List<IReadOnlyList<string>>(rows.Count);
            foreach (IReadOnlyList<string> row in rows)
            {
                escaped.Add(Escape(row));
            }
            rows = escaped;
        }
        int n = headers.Count;
        var width = new int[n];
        for (int c = 0; c < n; c++)
        {
            width[c] = Math.Max(format == TableFormat.Markdown ? 3 : 1, DisplayWidth.Of(headers[c]));
        }
        foreach (IReadOnlyList<string> row in rows)
        {
            if (row.Count != n)
            {
                throw new ArgumentException($"A row has {row.Count} cells, the table {n} columns.", nameof(rows));
            }
            for (int c = 0; c < n; c++)
            {
                width[c] = Math.Max(width[c], DisplayWidth.Of(row[c]));
            }
        }
        bool Right(int c) => rightAligned is not null && c < rightAligned.Count && rightAligned[c];

        var text = new StringBuilder();
        void Line(IReadOnlyList<string> cells)
        {
            var line = new StringBuilder();
            for (int c = 0; c < n; c++)
            {
                string cell = Right(c) ? DisplayWidth.PadLeft(cells[c], width[c]) : DisplayWidth.PadRight(cells[c], width[c]);
                if (format == TableFormat.Markdown)
                {
                    line.Append("| ").Append(cell).Append(' ');
                }
                else
                {
                    line.Append(c == 0 ? "" : "  ").Append(cell);
                }
            }
            if (format == TableFormat.Markdown)
            {
                line.Append('|');
            }
            text.Append(line.ToString().TrimEnd()).Append('\n');
        }

        Line(headers);
        if (format == TableFormat.Markdown)
        {
            for (int c = 0; c < n; c++)
            {
                text.Append("| ").Append(Right(c) ? new string('-', width[c] - 1) + ":" : new string('-', width[c])).Append(' ');
            }
            text.Append("|\n");
        }
        else
        {
            int total = 0;
            for (int c = 0; c < n; c++)
            {
                total += width[c] + (c == 0 ? 0 : 2);
            }
            text.Append('-', total).Append('\n');
        }
        foreach (IReadOnlyList<string> row in rows)
        {
            Line(row);
        }
        return text.ToString();
    }

    /// <summary>Markdown cells: a pipe would end the cell, so it is escaped (before widths are measured).</summary>
    private static string[] Escape(IReadOnlyList<string> cells)
    {
        var result = new string[cells.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = cells[i].Replace("|", "\\|", StringComparison.Ordinal);
        }
        return result;
    }
}
