using BenchmarkDotNet.Attributes;
using SpanAttention.Kernels;
using SpanAttention.Seq2Seq;
using SpanAttention.Transformer;

namespace SpanAttention.Benchmarks;

/// <summary>
/// Greedy decoding of one <see cref="TransformerSeq2Seq"/> output of exactly <see cref="Length"/> tokens (no EOS stop),
/// batch 1: with the key/value cache (<see cref="Cached"/>: the source encoded once, one <c>DecodeStep</c> per token,
/// each step's self-attention reading the cached keys and values of the earlier positions) against recomputing every
/// prefix (<see cref="Recompute"/>: for step t, the teacher-forced forward over the source and the t + 1 tokens so far,
/// as a decoder without a cache would). One operation = one whole output, so µs per token = Mean / Length. The cached
/// step's cost is O(E² + E·F) for the projections plus O(t·E) for its attention over t keys, so its per-token cost
/// grows only slowly with the length; the recompute's grows in proportion to it (its total cost, quadratically).
/// E = 64, 4 heads, F = 256, 2 layers per stack, V = 32, S = 16: a small model of the tasks' size.
/// </summary>
[MemoryDiagnoser]
public class TransformerDecodeBenchmarks
{
    private const int Source = 16;
    private TransformerSeq2Seq _model = null!;
    private int[] _sourceIds = null!, _sourceLengths = null!, _fed = null!;
    private Seq2SeqBatch[] _prefixes = null!;      // [t]: source + the t + 1 tokens fed so far (T = t + 1, targets all padding)

    /// <summary>Output tokens per decode.</summary>
    [Params(16, 64, 256)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        KernelThreads.Count = 1;
        var config = new Seq2SeqConfig
        {
            SourceVocabSize = 32,
            TargetVocabSize = 32,
            EmbeddingSize = 64,
            HiddenSize = 64,
            Encoder = EncoderKind.Transformer,
            EncoderLayers = 2,
            Heads = 4,
            FeedForwardSize = 256,
        };
        _model = new TransformerSeq2Seq(config, 1, Source, Length, seed: 1);
        _sourceIds = [.. Enumerable.Range(0, Source).Select(i => 4 + i % 28)];
        _sourceLengths = [Source];
        _fed = new int[1];
        _prefixes = [.. Enumerable.Range(1, Length).Select(steps =>
            new Seq2SeqBatch(1, Source, steps, _sourceIds, _sourceLengths, new int[steps], new int[steps], [steps]))];   // outputs all padding: no loss counted
    }

    /// <summary>Encoder once, then <see cref="Length"/> cached steps, each fed its arg-max.</summary>
    [Benchmark(Baseline = true)]
    public int Cached()
    {
        _model.StartDecoding(_sourceIds, _sourceLengths, 1, Source, 1);
        _fed[0] = _model.Config.BosId;
        int v = _model.Config.TargetVocabSize;
        for (int t = 0; t < Length; t++)
        {
            ReadOnlySpan<float> logits = _model.DecodeStep(t, _fed);
            _fed[0] = Math.Max(4, System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits.Slice(0, v)));
        }
        return _fed[0];
    }

    /// <summary>For each step t, the whole forward over the source and the t + 1 tokens fed so far; its last position's arg-max is fed next.</summary>
    [Benchmark]
    public int Recompute()
    {
        int v = _model.Config.TargetVocabSize;
        int next = _model.Config.BosId;
        for (int t = 0; t < Length; t++)
        {
            Seq2SeqBatch prefix = _prefixes[t];
            if (t > 0)
            {
                _prefixes[t - 1].TargetInput.CopyTo(prefix.TargetInput, 0);
            }
            prefix.TargetInput[t] = next;
            _model.Forward(prefix);
            next = Math.Max(4, System.Numerics.Tensors.TensorPrimitives.IndexOfMax(_model.Logits.Slice(t * v, v)));
        }
        return next;
    }
}
