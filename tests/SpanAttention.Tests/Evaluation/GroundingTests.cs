using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SpanAttention.Data.Captioning;
using SpanAttention.Evaluation;
using Xunit;

namespace SpanAttention.Tests.Evaluation;

/// <summary>The attention mass inside a box, the grounding corpus score and the reading order, on hand-computed cases and properties.</summary>
public class GroundingTests
{
    [Fact]
    public void MassInBox_TwoByTwoGridOverFourByFour_CountsTheCoveredShareOfEachCell()
    {
        // Cells are 2x2 px. Box x [0, 3), y [0, 2): cell (0,0) wholly inside (0.1), cell (0,1) x [2, 4) half inside
        // (0.2 · 1/2), the bottom row y [2, 4) outside: 0.1 + 0.1 = 0.2.
        float[] a = [0.1f, 0.2f, 0.3f, 0.4f];
        var box = new PixelBox(0, 0, 3, 2);
        Assert.Equal(0.2, Grounding.MassInBox(a, 2, 2, 4, 4, box), 6);
        Assert.Equal(6.0 / 16, Grounding.UniformMass(box, 4, 4), 12);
    }

    [Fact]
    public void MassInBox_CellEdgeInsideAPixel_UsesFractionalCells()
    {
        // W = 5, gw = 2: cells x [0, 2.5) and [2.5, 5). Box x [0, 3): cell 0 wholly (0.6), cell 1 [2.5, 3) = 0.5 / 2.5
        // of its width (0.4 · 0.2 = 0.08): 0.68.
        Assert.Equal(0.68, Grounding.MassInBox([0.6f, 0.4f], 1, 2, 1, 5, new PixelBox(0, 0, 3, 1)), 6);
    }

    [Fact]
    public void MassInBox_CentreCellOfThreeByThree_QuarterOverlap()
    {
        // 48x48, 16 px cells; all weight on cell (1, 1) = [16, 32)²; the box [8, 24)² covers 8x8 of its 16x16.
        var a = new float[9];
        a[4] = 1;
        Assert.Equal(0.25, Grounding.MassInBox(a, 3, 3, 48, 48, new PixelBox(8, 8, 24, 24)), 12);
    }

    [Fact]
    public void MassInBox_GridFinerThanPixels_HalfPixelCells()
    {
        // H = 2, gh = 4: cells are half a pixel tall; row 0 of the image holds cells 0 and 1.
        Assert.Equal(0.3, Grounding.MassInBox([0.1f, 0.2f, 0.3f, 0.4f], 4, 1, 2, 1, new PixelBox(0, 0, 1, 1)), 6);
    }

    [Fact]
    public void MassInBox_WrongSizes_NameWhatIsWrong()
    {
        var e = Assert.Throws<EvaluationInputException>(() => Grounding.MassInBox([1f, 0f, 0f], 2, 2, 4, 4, new PixelBox(0, 0, 1, 1)));
        Assert.Contains("3 weights", e.Message);
        e = Assert.Throws<EvaluationInputException>(() => Grounding.MassInBox([1f], 1, 1, 4, 4, new PixelBox(0, 0, 5, 1)));
        Assert.Contains("outside the 4 x 4 image", e.Message);
    }

    private static Gen<(int Gh, int Gw, int H, int W, PixelBox Box)> Geometry() =>
        from gh in Gen.Choose(1, 12)
        from gw in Gen.Choose(1, 12)
        from h in Gen.Choose(1, 80)
        from w in Gen.Choose(1, 80)
        from x0 in Gen.Choose(0, w - 1)
        from y0 in Gen.Choose(0, h - 1)
        from x1 in Gen.Choose(x0 + 1, w)
        from y1 in Gen.Choose(y0 + 1, h)
        select (gh, gw, h, w, new PixelBox(x0, y0, x1, y1));

    [Property(MaxTest = 300)]
    public Property MassInBox_UniformAttention_EqualsTheBoxAreaShare()
    {
        return Prop.ForAll(Geometry().ToArbitrary(), g =>
        {
            var a = new float[g.Gh * g.Gw];
            Array.Fill(a, 1f / a.Length);
            double mass = Grounding.MassInBox(a, g.Gh, g.Gw, g.H, g.W, g.Box);
            return Math.Abs(mass - Grounding.UniformMass(g.Box, g.H, g.W)) < 1e-6;
        });
    }

    [Property(MaxTest = 300)]
    public Property MassInBox_FourBoxesTilingTheImage_AddUpToTheRowTotal()
    {
        Gen<(int Gh, int Gw, int H, int W, int Sx, int Sy, float[] A)> cases =
            from gh in Gen.Choose(1, 9)
            from gw in Gen.Choose(1, 9)
            from h in Gen.Choose(2, 60)
            from w in Gen.Choose(2, 60)
            from sx in Gen.Choose(1, w - 1)
            from sy in Gen.Choose(1, h - 1)
            from raw in Gen.ArrayOf(Gen.Choose(0, 1000), gh * gw)
            select (gh, gw, h, w, sx, sy, Normalise(raw));
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            PixelBox[] tiles = [new(0, 0, c.Sx, c.Sy), new(c.Sx, 0, c.W, c.Sy), new(0, c.Sy, c.Sx, c.H), new(c.Sx, c.Sy, c.W, c.H)];
            double total = 0, expected = 0;
            foreach (PixelBox tile in tiles)
            {
                double m = Grounding.MassInBox(c.A, c.Gh, c.Gw, c.H, c.W, tile);
                if (m < -1e-12)
                {
                    return false;
                }
                total += m;
            }
            foreach (float v in c.A)
            {
                expected += v;
            }
            return Math.Abs(total - expected) < 1e-5;
        });
    }

    private static float[] Normalise(int[] raw)
    {
        var a = new float[raw.Length];
        double sum = 0;
        foreach (int r in raw)
        {
            sum += r + 1;
        }
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = (float)((raw[i] + 1) / sum);
        }
        return a;
    }

    [Fact]
    public void Corpus_TwoCaptions_MicroAveragesTheObjectWords()
    {
        // Caption 0: 2x2 grid on 4x4, two words; word 0 names no object, word 1 names box [0, 2)² = cell (0, 0) with weight 0.7.
        // Caption 1: 1x2 grid on 2x4, one word naming the right half [2, 4) x [0, 2) = cell 1 with weight 0.1.
        // Mass (0.7 + 0.1) / 2 = 0.4; uniform (4/16 + 4/8) / 2 = 0.375.
        var c0 = new GroundingInput([0.25f, 0.25f, 0.25f, 0.25f, 0.7f, 0.1f, 0.1f, 0.1f], 2, 2, 4, 4, [null, new PixelBox(0, 0, 2, 2)]);
        var c1 = new GroundingInput([0.9f, 0.1f], 1, 2, 2, 4, [new PixelBox(2, 0, 4, 2)]);
        GroundingScore score = Grounding.Corpus([c0, c1]);
        Assert.Equal(2, score.Words);
        Assert.Equal(0.4, score.Mass, 6);
        Assert.Equal(0.375, score.Uniform, 12);
        Assert.Equal(1.0, score.Ceiling, 12); // both boxes are whole cells
    }

    [Fact]
    public void Ceiling_BoxStraddlingCellEdges_BestSingleCellShare()
    {
        // 2x2 grid on 4x4 (2 px cells). Box [1, 3)²: every cell has a quarter inside. Box x [0, 3), y [0, 2): cell (0, 0) wholly.
        Assert.Equal(0.25, Grounding.Ceiling(2, 2, 4, 4, new PixelBox(1, 1, 3, 3)), 12);
        Assert.Equal(1.0, Grounding.Ceiling(2, 2, 4, 4, new PixelBox(0, 0, 3, 2)), 12);
        // A 7x7 object on 8 px cells (6x6 grid over 48x48) at [20, 27)²: cell [16, 24) holds 4 of its 8 px per axis, [24, 32) 3: 0.5 · 0.5.
        Assert.Equal(0.25, Grounding.Ceiling(6, 6, 48, 48, new PixelBox(20, 20, 27, 27)), 12);
    }

    [Property(MaxTest = 200)]
    public Property Ceiling_BoundsEveryRow_AndOneHotOnTheBestCellReachesIt()
    {
        Gen<((int Gh, int Gw, int H, int W, PixelBox Box) G, int[] Raw)> cases =
            from g in Geometry() from raw in Gen.ArrayOf(Gen.Choose(0, 1000), g.Gh * g.Gw) select (g, raw);
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            (int gh, int gw, int h, int w, PixelBox box) = c.G;
            double ceiling = Grounding.Ceiling(gh, gw, h, w, box);
            double best = 0;
            for (int k = 0; k < gh * gw; k++)
            {
                var oneHot = new float[gh * gw];
                oneHot[k] = 1;
                best = Math.Max(best, Grounding.MassInBox(oneHot, gh, gw, h, w, box));
            }
            return Grounding.MassInBox(Normalise(c.Raw), gh, gw, h, w, box) <= ceiling + 1e-6 && Math.Abs(best - ceiling) < 1e-9;
        });
    }

    [Fact]
    public void Corpus_RowThatIsNoDistribution_Refused()
    {
        // A no-attention model's rows are zeros: its grounding is undefined, not 0.
        var zeros = new GroundingInput(new float[4], 2, 2, 4, 4, [new PixelBox(0, 0, 2, 2)]);
        var e = Assert.Throws<EvaluationInputException>(() => Grounding.Corpus([zeros]));
        Assert.Contains("sum to 0", e.Message);
        var negative = new GroundingInput([1.5f, -0.5f, 0, 0], 2, 2, 4, 4, [new PixelBox(0, 0, 2, 2)]);
        Assert.Contains("weight 1 is -0.5", Assert.Throws<EvaluationInputException>(() => Grounding.Corpus([negative])).Message);
    }

    [Fact]
    public void Corpus_PartsDisagreeOrNoObjectWord_Refused()
    {
        var shortRow = new GroundingInput([1f, 0f, 0f], 2, 2, 4, 4, [new PixelBox(0, 0, 2, 2)]);
        Assert.Contains("need 4", Assert.Throws<EvaluationInputException>(() => Grounding.Corpus([shortRow])).Message);
        var none = new GroundingInput([1f, 0f, 0f, 0f], 2, 2, 4, 4, [null]);
        Assert.Contains("No word", Assert.Throws<EvaluationInputException>(() => Grounding.Corpus([none])).Message);
    }

    [Fact]
    public void WordBoxes_WrongAndExtraWords_GetNoBox()
    {
        var b = new PixelBox(1, 1, 3, 3);
        PixelBox?[] boxes = Grounding.WordBoxes(["a", "red", "circle", "left"], ["a", "blue", "circle"], [null, b, b]);
        Assert.Equal([null, null, b, null], boxes);
    }

    [Fact]
    public void PeakColumn_SumsEachColumnFirst_LeftmostOnATie()
    {
        // Cells (gh 2, gw 3): the largest cell is (1, 2) = 0.375, but columns 0 and 2 both hold 0.5: the leftmost wins.
        Assert.Equal(0, ReadingOrder.PeakColumn([0.25f, 0f, 0.125f, 0.25f, 0f, 0.375f], 2, 3));
        Assert.Equal(1, ReadingOrder.PeakColumn([0.1f, 0.3f, 0.1f, 0.1f, 0.3f, 0.1f], 2, 3));
    }

    private static float[] Rows(int gw, params int[] columns)
    {
        var a = new float[columns.Length * gw];
        for (int t = 0; t < columns.Length; t++)
        {
            a[(t * gw) + columns[t]] = 1;
        }
        return a;
    }

    [Fact]
    public void MovesLeftToRight_StrictlyIncreasingColumns_Only()
    {
        Assert.True(ReadingOrder.MovesLeftToRight(Rows(5, 0, 2, 3), 3, 1, 5));
        Assert.False(ReadingOrder.MovesLeftToRight(Rows(5, 0, 2, 2), 3, 1, 5)); // two digits read from one column
        Assert.False(ReadingOrder.MovesLeftToRight(Rows(5, 1, 0), 2, 1, 5));
        Assert.True(ReadingOrder.MovesLeftToRight(Rows(5, 4), 1, 1, 5));
    }

    [Fact]
    public void ReadingOrderCorpus_OneDigitStringsSkipped_FractionOfTheRest()
    {
        ReadingOrderScore score = ReadingOrder.Corpus([Rows(4, 2), Rows(4, 0, 1, 3), Rows(4, 0, 3, 1)], 1, 4);
        Assert.Equal(0.5, score.LeftToRight);
        Assert.Equal(2, score.Strings);
        Assert.Equal(1, score.Skipped);
        Assert.Throws<EvaluationInputException>(() => ReadingOrder.Corpus([Rows(4, 2)], 1, 4));
        Assert.Contains("whole rows", Assert.Throws<EvaluationInputException>(() => ReadingOrder.Corpus([new float[5]], 1, 4)).Message);
    }

    [Fact]
    public void CaptionMetrics_Score_ExactMatchAndBleuOfTheSameCorpus()
    {
        string[][] refs = [["a", "red", "circle", "left", "of", "a", "blue", "square"], ["three", "one"]];
        string[][] hyps = [["a", "red", "circle", "left", "of", "a", "blue", "square"], ["three", "two"]];
        CaptionScores s = CaptionMetrics.Score(hyps, refs);
        Assert.Equal(0.5, s.ExactMatch);
        Assert.Equal(Bleu.Corpus<string>(hyps, refs).Score, s.Bleu.Score);
        Assert.Equal(2, s.Captions);
    }
}
