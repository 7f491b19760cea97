using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace SpanAttention.Benchmarks;

/// <summary>
/// The machine's measured single-core fp32 FMA peak, to quote GEMM results as a fraction of it: 12
/// independent FMA chains (enough to cover 2 FMA pipes x 4-5 cycles latency) run a fixed number of steps,
/// so flops per call = Steps · 12 chains · lanes · 2 and the GFLOP/s column is the peak.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class PeakProbe
{
    /// <summary>FMA steps per chain per call.</summary>
    public const int Steps = 1 << 18;

    /// <summary>Independent accumulator chains.</summary>
    public const int Chains = 12;

    [Benchmark]
    public float Vector256Fma() => Vector256Chains(Steps);

    internal static float Vector256Chains(int steps)
    {
        // acc ← acc·m + a converges to a / (1 - m): values stay normal, nothing overflows.
        Vector256<float> m = Vector256.Create(0.999f), a = Vector256.Create(0.001f);
        Vector256<float> c0 = Vector256<float>.One, c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        Vector256<float> c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < steps; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(c0, m, a);
            c1 = Vector256.FusedMultiplyAdd(c1, m, a);
            c2 = Vector256.FusedMultiplyAdd(c2, m, a);
            c3 = Vector256.FusedMultiplyAdd(c3, m, a);
            c4 = Vector256.FusedMultiplyAdd(c4, m, a);
            c5 = Vector256.FusedMultiplyAdd(c5, m, a);
            c6 = Vector256.FusedMultiplyAdd(c6, m, a);
            c7 = Vector256.FusedMultiplyAdd(c7, m, a);
            c8 = Vector256.FusedMultiplyAdd(c8, m, a);
            c9 = Vector256.FusedMultiplyAdd(c9, m, a);
            c10 = Vector256.FusedMultiplyAdd(c10, m, a);
            c11 = Vector256.FusedMultiplyAdd(c11, m, a);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new GflopsColumn(_ => 2.0 * Steps * Chains * Vector256<float>.Count));
    }
}

/// <summary>
/// The 512-bit FMA peak (same probe, 16 lanes). Only meaningful where Vector512 is hardware-accelerated;
/// elsewhere its setup throws, so BenchmarkDotNet reports the case as failed instead of timing emulation.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class PeakProbe512
{
    [GlobalSetup]
    public void Setup()
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            throw new NotSupportedException("PeakProbe512: Vector512 is not hardware-accelerated on this machine.");
        }
    }

    [Benchmark]
    public float Vector512Fma()
    {
        Vector512<float> m = Vector512.Create(0.999f), a = Vector512.Create(0.001f);
        Vector512<float> c0 = Vector512<float>.One, c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        Vector512<float> c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int i = 0; i < PeakProbe.Steps; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, m, a);
            c1 = Vector512.FusedMultiplyAdd(c1, m, a);
            c2 = Vector512.FusedMultiplyAdd(c2, m, a);
            c3 = Vector512.FusedMultiplyAdd(c3, m, a);
            c4 = Vector512.FusedMultiplyAdd(c4, m, a);
            c5 = Vector512.FusedMultiplyAdd(c5, m, a);
            c6 = Vector512.FusedMultiplyAdd(c6, m, a);
            c7 = Vector512.FusedMultiplyAdd(c7, m, a);
            c8 = Vector512.FusedMultiplyAdd(c8, m, a);
            c9 = Vector512.FusedMultiplyAdd(c9, m, a);
            c10 = Vector512.FusedMultiplyAdd(c10, m, a);
            c11 = Vector512.FusedMultiplyAdd(c11, m, a);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(new GflopsColumn(_ => 2.0 * PeakProbe.Steps * PeakProbe.Chains * Vector512<float>.Count));
    }
}
