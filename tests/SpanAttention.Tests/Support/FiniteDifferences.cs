namespace SpanAttention.Tests.Support;

/// <summary>Central finite differences over a double-precision oracle, the reference every gradient test compares with.</summary>
internal static class FiniteDifferences
{
    /// <summary>
    /// dLoss/dinput[i] ≈ (loss(input[i] + step) - loss(input[i] - step)) / 2·step for every i, perturbing
    /// <paramref name="input"/> in place and restoring it. Truncation error is O(step²); cancellation error
    /// about 1e-16·|loss| / step, so callers pick the step for their loss's scale.
    /// </summary>
    public static double[] Central(double[] input, Func<double> loss, double step)
    {
        var gradient = new double[input.Length];
        for (int i = 0; i < input.Length; i++)
        {
            double saved = input[i];
            input[i] = saved + step;
            double plus = loss();
            input[i] = saved - step;
            double minus = loss();
            input[i] = saved;
            gradient[i] = (plus - minus) / (2 * step);
        }
        return gradient;
    }
}
