using SpanAttention.Tests.Support;
using Xunit.Sdk;

namespace SpanAttention.Tests.Seq2Seq;

/// <summary>
/// Central finite differences on a double-precision oracle of the forward pass, compared with a float
/// analytic gradient. With h = 1e-4 the truncation error is O(h²) ≈ 1e-8 and the cancellation error
/// ≈ 1e-16 / h = 1e-12, so the oracle is exact to ~1e-8; the tolerance (1e-4 relative + 1e-5 absolute)
/// covers the float analytic side (a few ulps per summed term) with a wide margin while a wrong term
/// (a missing factor, a transposed index, a dropped bias) is off by O(1).
/// </summary>
internal static class GradientCheck
{
    public const double Rtol = 1e-4;
    public const double Atol = 1e-5;
    private const double H = 1e-4;

    /// <summary>The numerical gradient of <paramref name="loss"/> with respect to every element of <paramref name="input"/>.</summary>
    public static double[] Numerical(double[] input, Func<double> loss) => FiniteDifferences.Central(input, loss, H);

    /// <summary>Throws <see cref="XunitException"/> naming the first element outside the tolerance.</summary>
    public static void AssertClose(double[] numerical, ReadOnlySpan<float> analytic, string what)
    {
        if (numerical.Length != analytic.Length)
        {
            throw new XunitException($"{what}: {analytic.Length} analytic elements, {numerical.Length} numerical");
        }
        for (int i = 0; i < numerical.Length; i++)
        {
            if (!(Math.Abs(numerical[i] - analytic[i]) <= Atol + Rtol * Math.Abs(numerical[i])))
            {
                throw new XunitException($"{what}: element {i} analytic {analytic[i]:R}, numerical {numerical[i]:R}");
            }
        }
    }

    public static double[] ToDouble(float[] x) => Array.ConvertAll(x, v => (double)v);
}
