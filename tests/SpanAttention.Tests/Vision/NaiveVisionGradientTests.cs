using SpanAttention.Tests.Support;
using SpanAttention.Vision;
using Xunit;
using static SpanAttention.Tests.Kernels.Vision.Conv2dTests;

namespace SpanAttention.Tests.Vision;

/// <summary>
/// Every gradient of the naive twins against central differences in double, on the loss L = Σ y ⊙ g with a fixed
/// random g (so dL/dy = g): the twins are the oracle of the fast kernels, so they are checked against calculus.
/// </summary>
public class NaiveVisionGradientTests
{
    private const double Step = 1e-6;

    [Theory]
    [InlineData(2, 3, 4, 5, 6, 3, 1, 1)]
    [InlineData(1, 2, 3, 7, 5, 3, 2, 0)]
    [InlineData(3, 1, 2, 4, 4, 5, 1, 2)]
    [InlineData(2, 4, 3, 6, 7, 1, 2, 1)]
    [InlineData(1, 3, 2, 9, 8, 5, 2, 2)]
    public void Conv2dBackward_EveryGradient_MatchesFiniteDifferences(int batch, int cIn, int cOut, int height, int width, int k, int s, int p)
    {
        var g = new Conv2dGeometry(cIn, cOut, k, s, p);
        int oh = g.OutputSize(height, "h"), ow = g.OutputSize(width, "w");
        double[] x = D(Numerics.Random(batch * cIn * height * width, 1)), weight = D(Numerics.Random(g.WeightSize, 2));
        double[] bias = D(Numerics.Random(cOut, 3)), dy = D(Numerics.Random(batch * cOut * oh * ow, 4));
        var y = new double[dy.Length];
        double Loss()
        {
            NaiveVision.Conv2dForward<double>(g, x, batch, height, width, weight, bias, y);
            return Dot(y, dy);
        }
        var dx = new double[x.Length];
        var dw = new double[weight.Length];
        var db = new double[bias.Length];
        NaiveVision.Conv2dBackward<double>(g, dy, x, batch, height, width, weight, dx, dw, db);
        AssertClose(FiniteDifferences.Central(x, Loss, Step), dx, "dX");
        AssertClose(FiniteDifferences.Central(weight, Loss, Step), dw, "dWeight");
        AssertClose(FiniteDifferences.Central(bias, Loss, Step), db, "dBias");
    }

    [Theory]
    [InlineData(1, 2, 2)]
    [InlineData(3, 5, 4)]
    [InlineData(2, 7, 9)]
    public void MaxPool2dBackward_Input_MatchesFiniteDifferences(int planes, int height, int width)
    {
        // Distinct random values: a 1e-6 step never changes a window's winner.
        double[] x = D(Numerics.Random(planes * height * width, height + width));
        int outputs = planes * (height / 2) * (width / 2);
        double[] dy = D(Numerics.Random(outputs, 5));
        var y = new double[outputs];
        var indices = new int[outputs];
        double Loss()
        {
            NaiveVision.MaxPool2dForward<double>(x, planes, height, width, y, indices);
            return Dot(y, dy);
        }
        Loss();
        var dx = new double[x.Length];
        NaiveVision.MaxPool2dBackward<double>(dy, indices, planes, height, width, dx);
        AssertClose(FiniteDifferences.Central(x, Loss, Step), dx, "dX");
    }

    [Theory]
    [InlineData(1, 7, 7, 3, 3)]
    [InlineData(2, 5, 8, 2, 3)]
    [InlineData(2, 3, 2, 4, 5)]
    public void AdaptiveAvgPool2dBackward_Input_MatchesFiniteDifferences(int planes, int height, int width, int outHeight, int outWidth)
    {
        double[] x = D(Numerics.Random(planes * height * width, 6));
        double[] dy = D(Numerics.Random(planes * outHeight * outWidth, 7));
        var y = new double[dy.Length];
        double Loss()
        {
            NaiveVision.AdaptiveAvgPool2dForward<double>(x, planes, height, width, outHeight, outWidth, y);
            return Dot(y, dy);
        }
        var dx = new double[x.Length];
        NaiveVision.AdaptiveAvgPool2dBackward<double>(dy, planes, height, width, outHeight, outWidth, dx);
        AssertClose(FiniteDifferences.Central(x, Loss, Step), dx, "dX");
    }

    private static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }
        return sum;
    }

    /// <summary>The loss is linear in each input, so central differences are exact up to rounding (~1e-10 here).</summary>
    private static void AssertClose(double[] numeric, double[] analytic, string what)
    {
        for (int i = 0; i < numeric.Length; i++)
        {
            Assert.True(Math.Abs(numeric[i] - analytic[i]) <= 1e-7 + 1e-7 * Math.Abs(numeric[i]), $"{what}[{i}]: analytic {analytic[i]:R}, finite difference {numeric[i]:R}");
        }
    }
}
