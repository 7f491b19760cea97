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
        BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
