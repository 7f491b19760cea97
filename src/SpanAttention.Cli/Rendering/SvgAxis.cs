using System.Globalization;

namespace SpanAttention.Cli.Rendering;

/// <summary>A linear or base-10 logarithmic plot axis from data values to pixels, with "nice" ticks (1, 2 or 5 times a power of ten).</summary>
internal sealed class SvgAxis
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;
    private readonly double _min, _max, _from, _to;
    private readonly double _top; // the value mapped to the far end: _max plus the headroom
    private readonly bool _integers;

    /// <summary>An axis over data values <paramref name="min"/>..<paramref name="max"/> (widened to nice bounds) drawn from pixel <paramref name="from"/> to <paramref name="to"/>.</summary>
    /// <param name="min">The smallest value shown.</param>
    /// <param name="max">The largest value with a tick.</param>
    /// <param name="from">The pixel coordinate of <paramref name="min"/>.</param>
    /// <param name="to">The pixel coordinate of the far end.</param>
    /// <param name="logarithmic">Base-10 logarithmic instead of linear.</param>
    /// <param name="integers">Ticks on whole numbers only (epochs, lengths); the bounds are kept as given.</param>
    /// <param name="headroom">Extra room above <paramref name="max"/>, as a fraction of the range (of decades on a log axis): mapped, but without ticks.</param>
    public SvgAxis(double min, double max, double from, double to, bool logarithmic, bool integers, double headroom = 0)
    {
        Logarithmic = logarithmic;
        _integers = integers;
        if (logarithmic)
        {
            (min, max) = (Math.Pow(10, Math.Floor(Math.Log10(min))), Math.Pow(10, Math.Ceiling(Math.Log10(max))));
        }
        else if (!integers)
        {
            max = max <= min ? min + 1 : NiceCeiling(max);
        }
        (_min, _max, _from, _to) = (min, max, from, to);
        _top = logarithmic ? max * Math.Pow(max / min, headroom) : max + (headroom * (max - min));
    }

    /// <summary>Whether the axis is base-10 logarithmic (values ≤ 0 cannot be drawn on it).</summary>
    public bool Logarithmic { get; }

    /// <summary>The pixel coordinate of the data value <paramref name="v"/>.</summary>
    public double Map(double v)
    {
        double t = Logarithmic ? (Math.Log10(v) - Math.Log10(_min)) / (Math.Log10(_top) - Math.Log10(_min)) : (v - _min) / (_top - _min);
        return _from + (t * (_to - _from));
    }

    /// <summary>The tick values, smallest first: each power of ten on a log axis, else about six nice steps.</summary>
    public IEnumerable<double> Ticks()
    {
        if (Logarithmic)
        {
            for (double t = _min; t <= _max * 1.0001; t *= 10)
            {
                yield return t;
            }
            yield break;
        }
        double step = NiceStep((_max - _min) / 6);
        if (_integers)
        {
            step = Math.Max(1, Math.Round(step));
        }
        for (double t = Math.Ceiling(_min / step) * step; t <= _max + (step * 1e-9); t += step)
        {
            double tick = Math.Round(t, 10);
            yield return tick == 0 ? 0 : tick;                      // +0: a range starting just below 0 gives -0, labelled "-0"
        }
    }

    /// <summary>A tick label: up to three decimals, or scientific notation for very large or small values.</summary>
    public static string Label(double v) =>
        v != 0 && (Math.Abs(v) >= 1e5 || Math.Abs(v) < 1e-3) ? v.ToString("0.#e0", C) : v.ToString("0.###", C);

    private static double NiceStep(double raw)
    {
        if (!(raw > 0))
        {
            return 1;
        }
        double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double f = raw / power;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
    }

    private static double NiceCeiling(double v)
    {
        double step = NiceStep(v / 6);
        return Math.Ceiling(v / step) * step;
    }
}
