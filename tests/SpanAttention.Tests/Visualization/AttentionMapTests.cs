using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SpanAttention.Visualization;
using Xunit;

namespace SpanAttention.Tests.Visualization;

/// <summary>Bilinear upsampling (PyTorch's align_corners = false) and Gaussian smoothing against hand-computed values.</summary>
public class AttentionMapTests
{
    private static void AssertAll(float[] expected, float[] actual, double tolerance = 1e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"[{i}]: expected {expected[i]}, got {actual[i]}");
        }
    }

    [Fact]
    public void Upsample_TwoByTwoToFourByFour_MatchesInterpolateAlignCornersFalse()
    {
        // F.interpolate(tensor([[[[0., 1.], [2., 3.]]]]), size=4, mode='bilinear', align_corners=False).
        var map = new float[16];
        AttentionMap.Upsample([0f, 1f, 2f, 3f], 2, 2, 4, 4, map);
        AssertAll([0f, 0.25f, 0.75f, 1f, 0.5f, 0.75f, 1.25f, 1.5f, 1.5f, 1.75f, 2.25f, 2.5f, 2f, 2.25f, 2.75f, 3f], map);
    }

    [Fact]
    public void Upsample_ThreeToFive_NonIntegerRatio()
    {
        // sx = (x + 0.5)·3/5 − 0.5 = −0.2 (→ 0), 0.4, 1.0, 1.6, 2.2 (→ cell 2 only): 0, 0.6·0 + 0.4·10, 10, 0.4·10 + 0.6·20, 20.
        var map = new float[5];
        AttentionMap.Upsample([0f, 10f, 20f], 1, 3, 1, 5, map);
        AssertAll([0f, 4f, 10f, 16f, 20f], map, 1e-5);
    }

    [Fact]
    public void GaussianTaps_SigmaOne_HandComputed()
    {
        // r = 3; exp(−k²/2) = 1, 0.60653066, 0.13533528, 0.01110900; sum 2.50594987.
        AssertAll([0.0044330f, 0.0540056f, 0.2420362f, 0.3990503f, 0.2420362f, 0.0540056f, 0.0044330f], AttentionMap.GaussianTaps(1), 1e-6);
        Assert.Equal([1f], AttentionMap.GaussianTaps(0));
    }

    [Fact]
    public void Smooth_DeltaAtTheBorder_RepeatsTheEdgePixel()
    {
        // Row [1, 0, 0, 0], σx = 1: out[0] = g(−3) + g(−2) + g(−1) + g(0) (the samples left of the border repeat pixel 0),
        // out[1] = g(−3) + g(−2) + g(−1), out[2] = g(−3) + g(−2), out[3] = g(−3).
        float[] row = [1f, 0f, 0f, 0f];
        AttentionMap.Smooth(row, 1, 4, 0, 1);
        AssertAll([0.6995251f, 0.3004748f, 0.0584386f, 0.0044330f], row, 1e-6);
    }

    [Fact]
    public void Smooth_DeltaInTheMiddleOfAColumn_SpreadsAsTheTaps()
    {
        var column = new float[9];
        column[4] = 1;
        AttentionMap.Smooth(column, 9, 1, 1, 0);
        AssertAll([0f, 0.0044330f, 0.0540056f, 0.2420362f, 0.3990503f, 0.2420362f, 0.0540056f, 0.0044330f, 0f], column, 1e-6);
    }

    private static Gen<(int Gh, int Gw, int H, int W)> Sizes() =>
        from gh in Gen.Choose(1, 8) from gw in Gen.Choose(1, 8) from h in Gen.Choose(1, 70) from w in Gen.Choose(1, 70) select (gh, gw, h, w);

    [Property(MaxTest = 100)]
    public Property ForImage_ConstantGrid_StaysConstant()
    {
        return Prop.ForAll(Sizes().ToArbitrary(), s =>
        {
            var grid = new float[s.Gh * s.Gw];
            Array.Fill(grid, 0.125f);
            float[] map = AttentionMap.ForImage(grid, s.Gh, s.Gw, s.H, s.W);
            return map.All(v => Math.Abs(v - 0.125f) < 1e-6f);
        });
    }

    [Property(MaxTest = 100)]
    public Property Upsample_StaysWithinTheGridsRange()
    {
        Gen<((int Gh, int Gw, int H, int W) S, int Seed)> cases = from s in Sizes() from seed in Gen.Choose(0, 1000) select (s, seed);
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var random = new Random(c.Seed);
            var grid = new float[c.S.Gh * c.S.Gw];
            for (int i = 0; i < grid.Length; i++)
            {
                grid[i] = (float)random.NextDouble();
            }
            var map = new float[c.S.H * c.S.W];
            AttentionMap.Upsample(grid, c.S.Gh, c.S.Gw, c.S.H, c.S.W, map);
            float lo = grid.Min() - 1e-6f, hi = grid.Max() + 1e-6f;
            return map.All(v => v >= lo && v <= hi);
        });
    }
}
