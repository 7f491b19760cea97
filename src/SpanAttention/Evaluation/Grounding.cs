using System.Globalization;
using SpanAttention.Data.Captioning;

namespace SpanAttention.Evaluation;

/// <summary>The grounding score of a captioning model over a corpus: see <see cref="Grounding"/>.</summary>
/// <param name="Mass">Mean over the scored words of the attention mass inside the box of the object the word names, in [0, 1].</param>
/// <param name="Uniform">The uniform-attention baseline: the mean over the same words of the box's share of the image area.</param>
/// <param name="Ceiling">The best any attention could score on this grid: the mean over the same words of <see cref="Grounding.Ceiling"/>.</param>
/// <param name="Words">How many words were scored.</param>
public sealed record GroundingScore(double Mass, double Uniform, double Ceiling, int Words);

/// <summary>
/// One caption's attention, for <see cref="Grounding.Corpus"/>: the alignment of its words over the encoder's grid and,
/// per word, the box of the object the word names (null for a word that names none).
/// </summary>
/// <param name="Alignment">(T, gh·gw) row-major: row t is word t's attention over the grid, cell (i, j) at i·gw + j.</param>
/// <param name="GridHeight">gh, rows of the feature grid.</param>
/// <param name="GridWidth">gw, columns of the feature grid.</param>
/// <param name="ImageHeight">H, image rows in pixels.</param>
/// <param name="ImageWidth">W, image columns in pixels.</param>
/// <param name="WordBoxes">T entries: the box of the object word t names, or null.</param>
internal sealed record GroundingInput(float[] Alignment, int GridHeight, int GridWidth, int ImageHeight, int ImageWidth, IReadOnlyList<PixelBox?> WordBoxes);

/// <summary>
/// How much of a word's attention falls on the object the word names (Show, Attend and Tell's claim that the model
/// looks at the right place), against the mass that uniform attention would put there.
/// </summary>
/// <remarks>
/// <para>Cells to pixels. The (gh, gw) grid covers the H x W image evenly in continuous coordinates (pixel (x, y) is
/// the unit square [x, x+1) x [y, y+1)): cell (i, j) is the rectangle x in [j·W/gw, (j+1)·W/gw), y in
/// [i·H/gh, (i+1)·H/gh), also when gw does not divide W. A cell's weight is spread uniformly over its rectangle, so the
/// part of it inside the box [X0, X1) x [Y0, Y1) is the weight times the fraction of the cell's area inside the box:</para>
/// <para><c>mass(a, box) = Σ_ij a_ij · |[j·W/gw, (j+1)·W/gw) ∩ [X0, X1)| / (W/gw) · |[i·H/gh, (i+1)·H/gh) ∩ [Y0, Y1)| / (H/gh)</c>.</para>
/// <para>This is nearest-neighbour upsampling of the grid to the image with each cell's weight divided among its
/// pixels (fractional pixels where a cell edge falls inside a pixel). Its properties: the masses of boxes that tile the
/// image add up to the row's total (1 for a softmax row); uniform attention puts exactly area(box) / (H·W) inside
/// every box, which is the baseline; a cell wholly inside the box counts fully, a cell wholly outside not at all.</para>
/// <para>Corpus score: the mean of mass over every scored word of every caption (a micro average: a caption weighs by
/// its number of object words), the mean of area(box) / (H·W) over the same words, and the mean of
/// <see cref="Ceiling"/>, the best the grid allows.</para>
/// </remarks>
internal static class Grounding
{
    /// <summary>How far a row's weights may sum from 1 (softmax rows in float).</summary>
    public const double RowSumTolerance = 1e-3;

    /// <summary>The attention mass of one row that falls inside <paramref name="box"/>.</summary>
    /// <param name="weights">(gh·gw): one word's attention over the grid, row-major; finite, non-negative.</param>
    /// <param name="gridHeight">gh ≥ 1.</param>
    /// <param name="gridWidth">gw ≥ 1.</param>
    /// <param name="imageHeight">H ≥ 1.</param>
    /// <param name="imageWidth">W ≥ 1.</param>
    /// <param name="box">A non-empty box inside the image.</param>
    /// <returns>Σ_ij a_ij · (the share of cell (i, j)'s area inside the box); see the remarks of <see cref="Grounding"/>.</returns>
    /// <exception cref="EvaluationInputException">A size, the weights or the box does not fit.</exception>
    public static double MassInBox(ReadOnlySpan<float> weights, int gridHeight, int gridWidth, int imageHeight, int imageWidth, PixelBox box)
    {
        CheckGeometry(weights.Length, gridHeight, gridWidth, imageHeight, imageWidth, box);
        double mass = 0;
        for (int i = 0; i < gridHeight; i++)
        {
            double fy = CoveredShare(i, gridHeight, imageHeight, box.Y0, box.Y1);
            if (fy == 0)
            {
                continue;
            }
            for (int j = 0; j < gridWidth; j++)
            {
                mass += weights[(i * gridWidth) + j] * fy * CoveredShare(j, gridWidth, imageWidth, box.X0, box.X1);
            }
        }
        return mass;
    }

    /// <summary>The mass uniform attention puts inside <paramref name="box"/>: its share of the image area.</summary>
    /// <param name="box">A box inside the image.</param>
    /// <param name="imageHeight">H.</param>
    /// <param name="imageWidth">W.</param>
    /// <returns>area(box) / (H·W).</returns>
    public static double UniformMass(PixelBox box, int imageHeight, int imageWidth) =>
        (double)box.Area / ((double)imageHeight * imageWidth);

    /// <summary>
    /// The most mass any attention row can put inside <paramref name="box"/> on a (gh, gw) grid: all weight on the cell
    /// with the largest share of its area inside the box. It is below 1 when no cell lies wholly inside the box (an object
    /// smaller than a cell, or one straddling cell edges), so a grounding score is read against it as well as against
    /// the uniform baseline.
    /// </summary>
    /// <param name="gridHeight">gh ≥ 1.</param>
    /// <param name="gridWidth">gw ≥ 1.</param>
    /// <param name="imageHeight">H ≥ 1.</param>
    /// <param name="imageWidth">W ≥ 1.</param>
    /// <param name="box">A non-empty box inside the image.</param>
    /// <returns>max_ij (share of cell (i, j) inside the box) = max_i share_y(i) · max_j share_x(j).</returns>
    public static double Ceiling(int gridHeight, int gridWidth, int imageHeight, int imageWidth, PixelBox box)
    {
        CheckGeometry(gridHeight * gridWidth, gridHeight, gridWidth, imageHeight, imageWidth, box);
        double fy = 0, fx = 0;
        for (int i = 0; i < gridHeight; i++)
        {
            fy = Math.Max(fy, CoveredShare(i, gridHeight, imageHeight, box.Y0, box.Y1));
        }
        for (int j = 0; j < gridWidth; j++)
        {
            fx = Math.Max(fx, CoveredShare(j, gridWidth, imageWidth, box.X0, box.X1));
        }
        return fy * fx;
    }

    /// <summary>
    /// The share of grid cell <paramref name="cell"/>'s extent along one axis that lies in [lo, hi): the length of
    /// [cell·size/cells, (cell+1)·size/cells) ∩ [lo, hi) divided by size/cells.
    /// </summary>
    internal static double CoveredShare(int cell, int cells, int size, int lo, int hi)
    {
        // In units of 1/cells pixel the cell is [cell·size, (cell+1)·size) and the box [lo·cells, hi·cells): exact integers.
        long start = Math.Max((long)cell * size, (long)lo * cells);
        long end = Math.Min((long)(cell + 1) * size, (long)hi * cells);
        return end <= start ? 0 : (double)(end - start) / size;
    }

    /// <summary>The grounding score of a corpus: every word with a box, of every caption.</summary>
    /// <param name="captions">The captions with their alignments and word boxes.</param>
    /// <returns>Mean mass inside the named object's box, the uniform baseline, and the number of words scored.</returns>
    /// <exception cref="EvaluationInputException">A caption's parts disagree, a row is not a distribution, or no word names an object.</exception>
    public static GroundingScore Corpus(IReadOnlyList<GroundingInput> captions)
    {
        ArgumentNullException.ThrowIfNull(captions);
        double mass = 0, uniform = 0, ceiling = 0;
        int words = 0;
        for (int c = 0; c < captions.Count; c++)
        {
            GroundingInput input = captions[c] ?? throw new EvaluationInputException($"Caption {c} is null.");
            if (input.Alignment is null || input.WordBoxes is null)
            {
                throw new EvaluationInputException($"Caption {c} has no alignment or no word boxes.");
            }
            int t = input.WordBoxes.Count, cells = input.GridHeight * input.GridWidth;
            if (input.GridHeight < 1 || input.GridWidth < 1)
            {
                throw new EvaluationInputException($"Caption {c}: the grid is {input.GridHeight} x {input.GridWidth}; both sides must be at least 1.");
            }
            if (input.Alignment.Length != (long)t * cells)
            {
                throw new EvaluationInputException(
                    $"Caption {c}: the alignment has {input.Alignment.Length} weights; {t} words over a {input.GridHeight} x {input.GridWidth} grid need {(long)t * cells}.");
            }
            for (int w = 0; w < t; w++)
            {
                if (input.WordBoxes[w] is not PixelBox box)
                {
                    continue;
                }
                ReadOnlySpan<float> row = input.Alignment.AsSpan(w * cells, cells);
                CheckDistribution(row, c, w);
                mass += MassInBox(row, input.GridHeight, input.GridWidth, input.ImageHeight, input.ImageWidth, box);
                uniform += UniformMass(box, input.ImageHeight, input.ImageWidth);
                ceiling += Ceiling(input.GridHeight, input.GridWidth, input.ImageHeight, input.ImageWidth, box);
                words++;
            }
        }
        if (words == 0)
        {
            throw new EvaluationInputException("No word of any caption names an object: the grounding score is undefined.");
        }
        return new GroundingScore(mass / words, uniform / words, ceiling / words, words);
    }

    /// <summary>
    /// The boxes of a generated caption's words: word k gets the box of reference word k when the two words are equal
    /// and the reference word names an object; every other word (a wrong word, or one past the reference's end) gets
    /// none, since the object it should look at is undefined.
    /// </summary>
    /// <param name="generated">The model's words.</param>
    /// <param name="reference">The reference caption's words.</param>
    /// <param name="referenceBoxes">Per reference word: the box of the object it names, or null.</param>
    /// <returns>One entry per generated word.</returns>
    public static PixelBox?[] WordBoxes(IReadOnlyList<string> generated, IReadOnlyList<string> reference, IReadOnlyList<PixelBox?> referenceBoxes)
    {
        ArgumentNullException.ThrowIfNull(generated);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(referenceBoxes);
        if (referenceBoxes.Count != reference.Count)
        {
            throw new EvaluationInputException($"The reference has {reference.Count} words but {referenceBoxes.Count} word boxes.");
        }
        var boxes = new PixelBox?[generated.Count];
        for (int k = 0; k < boxes.Length && k < reference.Count; k++)
        {
            boxes[k] = string.Equals(generated[k], reference[k], StringComparison.Ordinal) ? referenceBoxes[k] : null;
        }
        return boxes;
    }

    private static void CheckGeometry(int weights, int gridHeight, int gridWidth, int imageHeight, int imageWidth, PixelBox box)
    {
        if (gridHeight < 1 || gridWidth < 1)
        {
            throw new EvaluationInputException($"The grid is {gridHeight} x {gridWidth}; both sides must be at least 1.");
        }
        if (imageHeight < 1 || imageWidth < 1)
        {
            throw new EvaluationInputException($"The image is {imageWidth} x {imageHeight} pixels; both sides must be at least 1.");
        }
        if (weights != (long)gridHeight * gridWidth)
        {
            throw new EvaluationInputException($"The row has {weights} weights; a {gridHeight} x {gridWidth} grid has {(long)gridHeight * gridWidth} cells.");
        }
        if (box.X0 < 0 || box.Y0 < 0 || box.X1 > imageWidth || box.Y1 > imageHeight || box.Width < 1 || box.Height < 1)
        {
            throw new EvaluationInputException($"The box {box} is empty or outside the {imageWidth} x {imageHeight} image.");
        }
    }

    private static void CheckDistribution(ReadOnlySpan<float> row, int caption, int word)
    {
        double sum = 0;
        for (int k = 0; k < row.Length; k++)
        {
            float a = row[k];
            if (!float.IsFinite(a) || a < 0)
            {
                throw new EvaluationInputException(
                    $"Caption {caption}, word {word}: weight {k} is {a.ToString("R", CultureInfo.InvariantCulture)}, not a finite non-negative value.");
            }
            sum += a;
        }
        if (Math.Abs(sum - 1) > RowSumTolerance)
        {
            throw new EvaluationInputException(
                $"Caption {caption}, word {word}: the attention weights sum to {sum.ToString("0.######", CultureInfo.InvariantCulture)}, not 1 (a model without attention has no grounding).");
        }
    }
}
