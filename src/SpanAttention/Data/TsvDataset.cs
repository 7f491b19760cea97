using System.Text;

namespace SpanAttention.Data;

/// <summary>
/// User corpora as tab-separated text: one <c>source&lt;TAB&gt;target</c> pair per line. Columns after the
/// second are ignored (so Tatoeba and Anki exports work), UTF-8 with or without a BOM, LF or CRLF line ends,
/// blank lines skipped. Text is normalised to NFC. There is no comment syntax: a line starting with '#' is data.
/// </summary>
public static class TsvDataset
{
    /// <summary>Reads every pair of a TSV file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The pairs in file order.</returns>
    /// <exception cref="DatasetFormatException">A line has no tab, or an empty source or target (the
    /// exception names the line); the file has no pairs; or it is not valid UTF-8.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IReadOnlyList<SentencePair> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var reader = new StreamReader(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true),
            detectEncodingFromByteOrderMarks: true);
        return Parse(reader, Path.GetFileName(path));
    }

    /// <summary>Parses TSV text.</summary>
    /// <param name="reader">The text.</param>
    /// <param name="name">Name used in error messages (e.g. the file name).</param>
    /// <returns>The pairs in input order.</returns>
    /// <exception cref="DatasetFormatException">A malformed line (named by number), no pairs at all, or bad UTF-8.</exception>
    public static IReadOnlyList<SentencePair> Parse(TextReader reader, string name = "<input>")
    {
        ArgumentNullException.ThrowIfNull(reader);
        var pairs = new List<SentencePair>();
        int lineNumber = 0;
        while (true)
        {
            string? line;
            try
            {
                line = reader.ReadLine();
            }
            catch (DecoderFallbackException e)
            {
                throw new DatasetFormatException(name, lineNumber + 1, "is not valid UTF-8.", e);
            }
            if (line is null)
            {
                break;
            }
            lineNumber++;
            if (lineNumber == 1 && line.Length > 0 && line[0] == '\uFEFF')
            {
                line = line[1..]; // a BOM the reader did not strip (e.g. text given as a string)
            }
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            int tab = line.IndexOf('\t', StringComparison.Ordinal);
            if (tab < 0)
            {
                throw new DatasetFormatException(name, lineNumber, "expected 'source<TAB>target', found no tab.");
            }
            int end = line.IndexOf('\t', tab + 1);
            string source = line[..tab].Trim();
            string target = (end < 0 ? line[(tab + 1)..] : line[(tab + 1)..end]).Trim();
            if (source.Length == 0)
            {
                throw new DatasetFormatException(name, lineNumber, "the source (first column) is empty.");
            }
            if (target.Length == 0)
            {
                throw new DatasetFormatException(name, lineNumber, "the target (second column) is empty.");
            }
            pairs.Add(new SentencePair(Tokenizer.Normalize(source), Tokenizer.Normalize(target)));
        }
        if (pairs.Count == 0)
        {
            throw new DatasetFormatException(name, 0, lineNumber == 0 ? "the file is empty." : "the file has no 'source<TAB>target' lines.");
        }
        return pairs;
    }

    /// <summary>Loads a TSV file as a dataset split train / validation / test, disjoint by source.</summary>
    /// <param name="path">The file.</param>
    /// <param name="tokenization">Word or character tokens (both sides).</param>
    /// <param name="validationFraction">Fraction of distinct sources for validation.</param>
    /// <param name="testFraction">Fraction of distinct sources for test (0 for none).</param>
    /// <param name="seed">Split seed.</param>
    /// <returns>The dataset, named after the file.</returns>
    public static Dataset Load(string path, Tokenization tokenization, double validationFraction = 0.1, double testFraction = 0.0, int seed = 1)
    {
        IReadOnlyList<SentencePair> pairs = Read(path);
        return Dataset.Split(Path.GetFileName(path), pairs, tokenization, tokenization, validationFraction, testFraction, seed);
    }
}
