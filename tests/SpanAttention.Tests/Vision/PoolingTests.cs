using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SpanAttention.Tests.Support;
using SpanAttention.Vision;
using Xunit;
using static SpanAttention.Tests.Kernels.Vision.Conv2dTests;

namespace SpanAttention.Tests.Vision;

/// <summary>MaxPool2d and AdaptiveAvgPool2d against their naive twins, and their PyTorch index rules.</summary>
public class PoolingTests
{
    public static TheoryData<int, int, int> PoolSizes()
    {
        var data = new TheoryData<int, int, int>();
        foreach ((int n, int h, int w) in new[] { (1, 2, 2), (1, 3, 2), (2, 2, 5), (3, 7, 7), (5, 11, 13), (17, 8, 6), (2, 31, 17), (1, 48, 48) })
        {
            data.Add(n, h, w);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(PoolSizes))]
    public void MaxPool_AnySize_MatchesNaiveTwin(int planes, int height, int width)
    {
        int outputs = planes * (height / 2) * (width / 2);
        float[] x = Numerics.Random(planes * height * width, height * 31 + width, 5f), dy = Numerics.Random(outputs, planes);
        CanaryBuffer y = Canary.Filled(outputs, float.NaN);
        int[] indices = new int[outputs + 2];
        indices.AsSpan().Fill(-7);
        MaxPool2d.Forward(x, planes, height, width, y, indices.AsSpan(1, outputs));
        var expectedY = new double[outputs];
        int[] expectedIndices = new int[outputs];
        NaiveVision.MaxPool2dForward<double>(D(x), planes, height, width, expectedY, expectedIndices);
        AssertClose(expectedY, y.Span, 0f, "y");
        Assert.Equal(expectedIndices, indices.AsSpan(1, outputs).ToArray());
        Assert.Equal(-7, indices[0]);
        Assert.Equal(-7, indices[^1]);

        CanaryBuffer dx = Canary.From(Numerics.Random(x.Length, 3));
        double[] expectedDx = D(dx.Span);
        MaxPool2d.Backward(dy, indices.AsSpan(1, outputs), planes, height, width, dx);
        NaiveVision.MaxPool2dBackward<double>(D(dy), expectedIndices, planes, height, width, expectedDx);
        AssertClose(expectedDx, dx.Span, 1e-7f, "dX");
        Canary.AssertIntact("maxpool", ("y", y), ("dx", dx));
    }

    [Fact]
    public void MaxPool_TiesAndNaN_FirstMaximumWinsAndNaNPropagates()
    {
        float[] x = [1, 3, 3, 2, /**/ 0, 3, float.NaN, 9];     // one plane 2 x 4: windows {1,3,0,3} and {3,2,NaN,9}
        var y = new float[2];
        var indices = new int[2];
        MaxPool2d.Forward(x, 1, 2, 4, y, indices);
        Assert.Equal(3f, y[0]);
        Assert.Equal(1, indices[0]);                           // the first 3, not the one below it
        Assert.True(float.IsNaN(y[1]));
        Assert.Equal(6, indices[1]);
    }

    [Fact]
    public void MaxPool_OddSize_DropsTheLastRowAndColumn()
    {
        float[] x = [0, 1, 100, /**/ 2, 3, 100, /**/ 100, 100, 100];
        var y = new float[1];
        var indices = new int[1];
        MaxPool2d.Forward(x, 1, 3, 3, y, indices);
        Assert.Equal(3f, y[0]);
        Assert.Equal(4, indices[0]);
    }

    public static TheoryData<int, int, int, int, int> AdaptiveSizes()
    {
        var data = new TheoryData<int, int, int, int, int>();
        foreach ((int n, int h, int w, int oh, int ow) in new[]
        {
            (1, 1, 1, 1, 1), (2, 7, 7, 3, 3), (3, 12, 12, 4, 4), (1, 5, 13, 2, 7), (4, 10, 6, 7, 4),
            (2, 3, 2, 5, 4), (17, 6, 6, 6, 6), (1, 24, 24, 7, 7), (3, 13, 11, 1, 1), (2, 29, 31, 14, 14),
        })
        {
            data.Add(n, h, w, oh, ow);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AdaptiveSizes))]
    public void AdaptiveAvgPool_AnySize_MatchesNaiveTwin(int planes, int height, int width, int outHeight, int outWidth)
    {
        int outputs = planes * outHeight * outWidth;
        float[] x = Numerics.Random(planes * height * width, height * 31 + width), dy = Numerics.Random(outputs, outHeight);
        CanaryBuffer y = Canary.Filled(outputs, float.NaN);
        AdaptiveAvgPool2d.Forward(x, planes, height, width, outHeight, outWidth, y);
        var expectedY = new double[outputs];
        NaiveVision.AdaptiveAvgPool2dForward<double>(D(x), planes, height, width, outHeight, outWidth, expectedY);
        AssertClose(expectedY, y.Span, 1e-6f, "y");

        CanaryBuffer dx = Canary.From(Numerics.Random(x.Length, 3));
        double[] expectedDx = D(dx.Span);
        AdaptiveAvgPool2d.Backward(dy, planes, height, width, outHeight, outWidth, dx);
        NaiveVision.AdaptiveAvgPool2dBackward<double>(D(dy), planes, height, width, outHeight, outWidth, expectedDx);
        AssertClose(expectedDx, dx.Span, 1e-6f, "dX");
        Canary.AssertIntact("adaptive", ("y", y), ("dx", dx));
    }

    [Property(MaxTest = 200)]
    public Property AdaptiveAvgPool_Windows_FollowPyTorchsRuleAndCoverTheInput()
    {
        Gen<(int Size, int Cells)> cases = from size in Gen.Choose(1, 100) from cells in Gen.Choose(1, 40) select (size, cells);
        return Prop.ForAll(cases.ToArbitrary(), c =>
        {
            int previousEnd = 0;
            for (int i = 0; i < c.Cells; i++)
            {
                int start = AdaptiveAvgPool2d.Start(i, c.Size, c.Cells), end = AdaptiveAvgPool2d.End(i, c.Size, c.Cells);
                if (start != (int)Math.Floor(i * (double)c.Size / c.Cells) || end != (int)Math.Ceiling((i + 1) * (double)c.Size / c.Cells))
                {
                    return false;
                }
                if (start >= end || start > previousEnd || end > c.Size)  // non-empty, no gap, inside
                {
                    return false;
                }
                previousEnd = end;
            }
            return previousEnd == c.Size;
        });
    }

    [Fact]
    public void AdaptiveAvgPool_SevenOverThree_UsesOverlappingWindows()
    {
        // H = 7, H' = 3: rows [0, 3), [2, 5), [4, 7) (floor(i·7/3), ceil((i+1)·7/3)).
        float[] x = [1, 2, 3, 4, 5, 6, 7];
        var y = new float[3];
        AdaptiveAvgPool2d.Forward(x, 1, 7, 1, 3, 1, y);
        Assert.Equal([2f, 4f, 6f], y);
    }

    [Fact]
    public void Pools_BadArguments_ThrowNamingTheArgument()
    {
        Assert.Equal("width", Assert.Throws<ArgumentOutOfRangeException>(() => MaxPool2d.Forward(new float[3], 1, 3, 1, Array.Empty<float>(), Array.Empty<int>())).ParamName);
        Assert.Equal("y", Assert.Throws<ArgumentException>(() => MaxPool2d.Forward(new float[16], 1, 4, 4, new float[3], new int[4])).ParamName);
        Assert.Equal("indices", Assert.Throws<ArgumentException>(() => MaxPool2d.Forward(new float[16], 1, 4, 4, new float[4], new int[3])).ParamName);
        Assert.Equal("indices", Assert.Throws<ArgumentException>(() => MaxPool2d.Backward(new float[4], [0, 1, 2, 16], 1, 4, 4, new float[16])).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => AdaptiveAvgPool2d.Forward(new float[5], 1, 2, 3, 1, 1, new float[1])).ParamName);
        Assert.Equal("outHeight", Assert.Throws<ArgumentOutOfRangeException>(() => AdaptiveAvgPool2d.Forward(new float[6], 1, 2, 3, 0, 1, Array.Empty<float>())).ParamName);
        Assert.Equal("dX", Assert.Throws<ArgumentException>(() => AdaptiveAvgPool2d.Backward(new float[1], 1, 2, 3, 1, 1, new float[5])).ParamName);
    }

    [Fact]
    public void Pools_SteadyState_AllocateNothing()
    {
        float[] x = Numerics.Random(4 * 24 * 24, 1), y = new float[4 * 12 * 12], dx = new float[x.Length], g = new float[4 * 7 * 7];
        int[] indices = new int[y.Length];
        long bytes = Allocations.AfterWarmUp(() =>
        {
            MaxPool2d.Forward(x, 4, 24, 24, y, indices);
            MaxPool2d.Backward(y, indices, 4, 24, 24, dx);
            AdaptiveAvgPool2d.Forward(x, 4, 24, 24, 7, 7, g);
            AdaptiveAvgPool2d.Backward(g, 4, 24, 24, 7, 7, dx);
        });
        Assert.Equal(0, bytes);
    }
}
