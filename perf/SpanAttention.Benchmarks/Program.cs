namespace SpanAttention.Benchmarks;

internal static class Program
{
    private static int Main(string[] args)
    {
        // perf/compare.sh's hook (docs/performance.md): one JSON line per row, no BenchmarkDotNet.
        if (args.Length > 0 && args[0] == "seq2seq-json")
        {
            return Seq2SeqJson.Run(args[1..]);
        }
        // The Transformer encoder-decoder on PyTorch's weights (perf/compare-transformer.sh): one JSON line per row.
        if (args.Length > 0 && args[0] == "transformer-json")
        {
            return TransformerJson.Run(args[1..]);
        }
        // Best-of-N Stopwatch timings of the kernels the bars name, for a loaded machine (KernelProbe).
        if (args.Length > 0 && args[0] == "kernel-probe")
        {
            return KernelProbe.Run(args[1..]);
        }
        // Whole-file translation in sentences/s, and the corpus it is measured on (perf/throughput.sh).
        if (args.Length > 0 && args[0] == "throughput")
        {
            return Throughput.Run(args[1..]);
        }
        BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
