namespace SpanAttention.Evaluation;

/// <summary>The reading-order score of a corpus of digit strings: see <see cref="ReadingOrder"/>.</summary>
/// <param name="LeftToRight">The fraction of scored strings whose attention moves strictly left to right, in [0, 1].</param>
/// <param name="Strings">Strings scored (those with at least two digits).</param>
/// <param name="Skipped">Strings of fewer than two digits: there is no order to check.</param>
internal sealed record ReadingOrderScore(double LeftToRight, int Strings, int Skipped);

/// <summary>
/// Whether the decoder reads a digit string left to right: for every emitted digit, the grid column that holds the
/// most attention, and whether those columns strictly increase along the string.
/// </summary>
/// <remarks>
/// <para>Column of a word: the attention row (gh·gw, row-major) summed over the gh grid rows gives the mass per column,
/// <c>m_j = Σ_i a_ij</c>; the word's column is argmax_j m_j (the leftmost on a tie). Digits are pasted side by side,
/// so only the horizontal position matters, and summing a column first keeps a digit whose ink spans two grid rows
/// from splitting its vote.</para>
/// <para>A string moves left to right when its T ≥ 2 columns satisfy c_0 &lt; c_1 &lt; ... &lt; c_{T-1}: strict, so two
/// digits read from the same column count as a failure. Strings of one digit (or none) are skipped and counted apart.</para>
/// </remarks>
internal static class ReadingOrder
{
    /// <summary>The column of the grid that holds the most of one row's attention.</summary>
    /// <param name="weights">(gh·gw): one word's attention over the grid, row-major.</param>
    /// <param name="gridHeight">gh ≥ 1.</param>
    /// <param name="gridWidth">gw ≥ 1.</param>
    /// <returns>argmax_j Σ_i a_ij, the leftmost on a tie.</returns>
    /// <exception cref="EvaluationInputException">The sizes do not fit or a weight is not finite.</exception>
    public static int PeakColumn(ReadOnlySpan<float> weights, int gridHeight, int gridWidth)
    {
        if (gridHeight < 1 || gridWidth < 1 || weights.Length != (long)gridHeight * gridWidth)
        {
            throw new EvaluationInputException($"The row has {weights.Length} weights; a {gridHeight} x {gridWidth} grid has {(long)gridHeight * gridWidth} cells (both sides at least 1).");
        }
        int best = 0;
        double bestMass = double.NegativeInfinity;
        for (int j = 0; j < gridWidth; j++)
        {
            double mass = 0;
            for (int i = 0; i < gridHeight; i++)
            {
                float a = weights[(i * gridWidth) + j];
                if (!float.IsFinite(a))
                {
                    throw new EvaluationInputException($"Weight ({i}, {j}) is not finite.");
                }
                mass += a;
            }
            if (mass > bestMass)
            {
                best = j;
                bestMass = mass;
            }
        }
        return best;
    }

    /// <summary>Whether the peak columns of the <paramref name="words"/> rows strictly increase.</summary>
    /// <param name="alignment">(T, gh·gw) row-major, T = <paramref name="words"/>.</param>
    /// <param name="words">T, the number of emitted digits.</param>
    /// <param name="gridHeight">gh.</param>
    /// <param name="gridWidth">gw.</param>
    /// <returns>True when c_0 &lt; c_1 &lt; ... &lt; c_{T-1} (always true for T ≤ 1).</returns>
    public static bool MovesLeftToRight(ReadOnlySpan<float> alignment, int words, int gridHeight, int gridWidth)
    {
        int cells = gridHeight * gridWidth;
        if (words < 0 || alignment.Length != (long)words * cells)
        {
            throw new EvaluationInputException($"The alignment has {alignment.Length} weights; {words} words over a {gridHeight} x {gridWidth} grid need {(long)words * cells}.");
        }
        int previous = -1;
        for (int t = 0; t < words; t++)
        {
            int column = PeakColumn(alignment.Slice(t * cells, cells), gridHeight, gridWidth);
            if (column <= previous)
            {
                return false;
            }
            previous = column;
        }
        return true;
    }

    /// <summary>The fraction of strings (of at least two digits) whose attention moves left to right.</summary>
    /// <param name="alignments">Per string: its (T, gh·gw) alignment; T = length / (gh·gw).</param>
    /// <param name="gridHeight">gh.</param>
    /// <param name="gridWidth">gw.</param>
    /// <returns>The fraction, the strings scored and the strings skipped.</returns>
    /// <exception cref="EvaluationInputException">An alignment is not whole rows, or no string has two digits.</exception>
    public static ReadingOrderScore Corpus(IReadOnlyList<float[]> alignments, int gridHeight, int gridWidth)
    {
        ArgumentNullException.ThrowIfNull(alignments);
        if (gridHeight < 1 || gridWidth < 1)
        {
            throw new EvaluationInputException($"The grid is {gridHeight} x {gridWidth}; both sides must be at least 1.");
        }
        int cells = gridHeight * gridWidth, scored = 0, skipped = 0, ordered = 0;
        for (int s = 0; s < alignments.Count; s++)
        {
            float[] alignment = alignments[s] ?? throw new EvaluationInputException($"Alignment {s} is null.");
            if (alignment.Length % cells != 0)
            {
                throw new EvaluationInputException($"Alignment {s} has {alignment.Length} weights, not whole rows of {cells} cells.");
            }
            int words = alignment.Length / cells;
            if (words < 2)
            {
                skipped++;
                continue;
            }
            scored++;
            ordered += MovesLeftToRight(alignment, words, gridHeight, gridWidth) ? 1 : 0;
        }
        if (scored == 0)
        {
            throw new EvaluationInputException("No string has two or more digits: the reading order is undefined.");
        }
        return new ReadingOrderScore((double)ordered / scored, scored, skipped);
    }
}
