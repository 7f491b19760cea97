using BenchmarkDotNet.Attributes;
using SpanAttention.Kernels;
using SpanAttention.Seq2Seq;

namespace SpanAttention.Benchmarks;

/// <summary>
/// Issue 7's reference workload (<see cref="Seq2SeqWorkload"/>; identical to perf/pytorch/seq2seq_bench.py): one
/// full training step (teacher-forced forward, cross-entropy, backward, Adam lr 1e-3) on a fixed batch of B
/// sequences. One operation = one step = B·T = 32·B target tokens, so target tokens/s = 32·B / Mean.
/// The Allocated column must read 0 (steady state). H = 1024 is in <see cref="Seq2SeqLargeTrainingBenchmarks"/>.
/// </summary>
[MemoryDiagnoser]
public class Seq2SeqTrainingBenchmarks
{
    private Seq2SeqWorkload _workload = null!;

    /// <summary>E = A = H.</summary>
    [Params(64, 256)]
    public int Hidden { get; set; }

    /// <summary>B.</summary>
    [Params(1, 32)]
    public int Batch { get; set; }

    /// <summary>KernelThreads.Count (GEMM threads).</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>Seq2SeqTrainerOptions.Threads (2: the batch is split in two halves on two threads; B ≥ 2 only).</summary>
    [Params(1, 2)]
    public int TrainerThreads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        KernelThreads.Count = Threads;
        _workload = new Seq2SeqWorkload(Hidden, Batch, TrainerThreads);
    }

    /// <summary>One training step; tokens/s = 32·B / time.</summary>
    [Benchmark]
    public float TrainStep() => _workload.TrainStep();
}

/// <summary>The training step at H = 1024 (about a second per step at B = 32 on one Zen 3 core).</summary>
[MemoryDiagnoser]
public class Seq2SeqLargeTrainingBenchmarks
{
    private Seq2SeqWorkload _workload = null!;

    /// <summary>B.</summary>
    [Params(1, 32)]
    public int Batch { get; set; }

    /// <summary>KernelThreads.Count (GEMM threads).</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>Seq2SeqTrainerOptions.Threads.</summary>
    [Params(1, 2)]
    public int TrainerThreads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        KernelThreads.Count = Threads;
        _workload = new Seq2SeqWorkload(1024, Batch, TrainerThreads);
    }

    /// <summary>One training step; tokens/s = 32·B / time.</summary>
    [Benchmark]
    public float TrainStep() => _workload.TrainStep();
}

/// <summary>
/// Greedy decoding at batch 1 (<see cref="Seq2SeqWorkload.Decode"/>): encoder + exactly 32 decoder steps, no EOS
/// stop. OperationsPerInvoke = 32, so Mean is directly µs per generated token with the encoder amortised, and
/// Allocated is per token (must be 0).
/// </summary>
[MemoryDiagnoser]
public class Seq2SeqDecodeBenchmarks
{
    private Seq2SeqWorkload _workload = null!;

    /// <summary>E = A = H.</summary>
    [Params(64, 256, 1024)]
    public int Hidden { get; set; }

    /// <summary>KernelThreads.Count.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        KernelThreads.Count = Threads;
        _workload = new Seq2SeqWorkload(Hidden, 1);
        _workload.UsePlainDecode = false;
        foreach (InferenceWeightFormat format in Enum.GetValues<InferenceWeightFormat>())
        {
            _workload.WeightFormat = format;
            _ = _workload.Prepared;                 // PrepareInference once per format, outside the measurement
        }
    }

    /// <summary>Encoder + 32 greedy steps on the training code's path (no prepared weights); reported per token.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Seq2SeqWorkload.T)]
    public int GreedyDecodePlain()
    {
        _workload.UsePlainDecode = true;
        return _workload.Decode();
    }

    /// <summary>Encoder + 32 greedy steps on the prepared path (Seq2SeqModel.PrepareInference); reported per token.</summary>
    [Benchmark(OperationsPerInvoke = Seq2SeqWorkload.T)]
    public int GreedyDecode() => DecodePrepared(InferenceWeightFormat.Float32);

    /// <summary>As <see cref="GreedyDecode"/> with bf16 GEMV weights (PrepareInference(BFloat16)).</summary>
    [Benchmark(OperationsPerInvoke = Seq2SeqWorkload.T)]
    public int GreedyDecodeBFloat16() => DecodePrepared(InferenceWeightFormat.BFloat16);

    /// <summary>As <see cref="GreedyDecode"/> with int8 GEMV weights and per-row scales (PrepareInference(Int8)).</summary>
    [Benchmark(OperationsPerInvoke = Seq2SeqWorkload.T)]
    public int GreedyDecodeInt8() => DecodePrepared(InferenceWeightFormat.Int8);

    private int DecodePrepared(InferenceWeightFormat format)
    {
        _workload.UsePlainDecode = false;
        _workload.WeightFormat = format;
        return _workload.Decode();
    }
}
