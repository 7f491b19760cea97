using System.Numerics.Tensors;
using SpanAttention.Attention;
using SpanAttention.Recurrent;
using SpanAttention.Seq2Seq;
using SpanAttention.Training;

namespace SpanAttention.Benchmarks;

/// <summary>
/// Issue 7's reference workload, exactly as perf/pytorch/seq2seq_bench.py defines it (its docstring), on the
/// SpanAttention model: V = 64 both sides, S = T = 32, E = A = H, GRU encoder (1 layer, unidirectional) over
/// embeddings, Bahdanau decoder (GRU cell, additive attention, input [embedding; context]), output projection,
/// no padding (every row full length), BOS = token 0 as the first decoder input.
/// </summary>
/// <remarks>
/// <para>Training step = <see cref="Seq2SeqTrainer.TrainStep"/>: zero gradients, teacher-forced forward, mean
/// cross-entropy over the B·T tokens, backward, Adam(lr 1e-3). Clipping is off (ClipNorm = 0, as in the PyTorch
/// script); the trainer still computes the global gradient norm (one pass over the gradients, not counted).</para>
/// <para>Decoding: greedy at batch 1, encoder included, exactly 32 decoder steps (no EOS stop), driving the model's
/// Encode / DecoderStep directly (Decoding.Greedy builds result lists and stops at EOS, which is not the workload),
/// on the prepared path (<see cref="Seq2SeqModel.PrepareInference"/>, prepared once, outside the timing) unless the
/// environment sets <c>SPANATTENTION_DECODE_PLAIN=1</c> (then the training code's Encode / DecoderStep, for comparison).</para>
/// <para>Two differences the model imposes, both noted in docs/performance.md: the model's padding id must differ
/// from BOS, so padding = 63 (never produced here: sources use 0..62, targets 1..62; PyTorch draws targets
/// from 1..63, which changes nothing in the timing); and the model's Bahdanau output layer reads [h_t; c_t]
/// (V × 2H), PyTorch's reads h_t (V × H): a little more work on the C# side that the shared FLOP formula
/// (workload.py) does not credit (+5 % of the MACs at H = 64, +1.4 % at 256, +0.4 % at 1024).</para>
/// </remarks>
internal sealed class Seq2SeqWorkload
{
    /// <summary>Vocabulary (both sides).</summary>
    public const int V = 64;

    /// <summary>Source length.</summary>
    public const int S = 32;

    /// <summary>Target length (teacher-forced steps, generated tokens).</summary>
    public const int T = 32;

    /// <summary>First decoder input.</summary>
    public const int Bos = 0;

    /// <summary>Padding id (unused by the data, see remarks).</summary>
    public const int Padding = V - 1;

    private readonly int[] _decodeSource;
    private readonly int[] _decodeLengths = [S];
    private readonly int[] _fed = new int[1];

    /// <summary>Builds the model, a trainer and one fixed batch.</summary>
    /// <param name="hidden">E = A = H.</param>
    /// <param name="batch">B (training; decoding always uses batch 1).</param>
    /// <param name="trainerThreads">Seq2SeqTrainerOptions.Threads: 2 splits a training batch (B ≥ 2) into two halves
    /// run on two threads (the trainer's data parallelism); 1 runs it on the calling thread.</param>
    /// <param name="seed">Initialisation and data seed.</param>
    public Seq2SeqWorkload(int hidden, int batch, int trainerThreads = 1, int seed = 1234)
    {
        Hidden = hidden;
        Batch = batch;
        Config = new Seq2SeqConfig
        {
            SourceVocabSize = V,
            TargetVocabSize = V,
            EmbeddingSize = hidden,
            HiddenSize = hidden,
            Cell = RecurrentKind.Gru,
            EncoderLayers = 1,
            Bidirectional = false,
            Decoder = DecoderStyle.Bahdanau,
            Scorer = AttentionScorer.Additive,
            AttentionSize = hidden,
            PaddingId = Padding,
            BosId = Bos,
            EosId = 1,
        };
        Model = new Seq2SeqModel(Config, batch, S, T, seed);
        Trainer = new Seq2SeqTrainer(Model, new Seq2SeqTrainerOptions { LearningRate = 1e-3f, ClipNorm = 0f, TeacherForcingRatio = 1f, Seed = (ulong)seed, Threads = trainerThreads });
        var random = new Random(seed);
        var src = new int[batch * S];
        var tgtIn = new int[batch * T];
        var tgtOut = new int[batch * T];
        for (int i = 0; i < src.Length; i++)
        {
            src[i] = random.Next(0, V - 1);          // 0..62
        }
        for (int b = 0; b < batch; b++)
        {
            for (int t = 0; t < T; t++)
            {
                tgtOut[b * T + t] = random.Next(1, V - 1);  // 1..62
            }
            tgtIn[b * T] = Bos;                             // [BOS, y_0 .. y_{T-2}]
            Array.Copy(tgtOut, b * T, tgtIn, b * T + 1, T - 1);
        }
        var srcLen = new int[batch];
        var tgtLen = new int[batch];
        Array.Fill(srcLen, S);
        Array.Fill(tgtLen, T);
        TrainingBatch = new Seq2SeqBatch(batch, S, T, src, srcLen, tgtIn, tgtOut, tgtLen);
        _decodeSource = src.AsSpan(0, S).ToArray();
        Tokens = new int[T];
    }

    /// <summary>H.</summary>
    public int Hidden { get; }

    /// <summary>B.</summary>
    public int Batch { get; }

    /// <summary>The configuration.</summary>
    public Seq2SeqConfig Config { get; }

    /// <summary>The model.</summary>
    public Seq2SeqModel Model { get; }

    /// <summary>The trainer (Adam state).</summary>
    public Seq2SeqTrainer Trainer { get; }

    /// <summary>The fixed training batch (B, S) / (B, T), full lengths.</summary>
    public Seq2SeqBatch TrainingBatch { get; }

    /// <summary>Whether <see cref="Decode"/> takes the plain path (environment SPANATTENTION_DECODE_PLAIN=1).</summary>
    public static bool PlainDecode { get; } = Environment.GetEnvironmentVariable("SPANATTENTION_DECODE_PLAIN") == "1";

    /// <summary>Whether <see cref="Decode"/> takes the plain path; default from <see cref="PlainDecode"/>.</summary>
    public bool UsePlainDecode { get; set; } = PlainDecode;

    /// <summary>"prepared" or "plain": the decoding path <see cref="Decode"/> takes.</summary>
    public string DecodePath => UsePlainDecode ? "plain" : "prepared";

    /// <summary>How the prepared path stores its GEMV weights (fp32 by default).</summary>
    public InferenceWeightFormat WeightFormat { get; set; }

    /// <summary>The prepared decoding weights of <see cref="WeightFormat"/> (null on the plain path); built on first use.</summary>
    public InferenceWeights? Prepared => UsePlainDecode ? null : _prepared[(int)WeightFormat] ??= Model.PrepareInference(WeightFormat);

    private readonly InferenceWeights?[] _prepared = new InferenceWeights?[3];

    /// <summary>The tokens of the last <see cref="Decode"/>.</summary>
    public int[] Tokens { get; }

    /// <summary>One full training step; returns the loss.</summary>
    public float TrainStep() => Trainer.TrainStep(TrainingBatch).Loss;

    /// <summary>Greedy decoding of the first training source at batch 1: encoder + exactly T steps.</summary>
    /// <returns>The last token.</returns>
    public int Decode()
    {
        Seq2SeqModel model = Model;
        InferenceWeights? prepared = Prepared;
        model.Encode(_decodeSource, _decodeLengths, 1, S, prepared);
        int[] fed = _fed;
        fed[0] = Bos;
        for (int t = 0; t < T; t++)
        {
            model.DecoderStep(t, 1, fed, prepared);
            fed[0] = Tokens[t] = TensorPrimitives.IndexOfMax(model.StepLogits(t, 1));
        }
        return fed[0];
    }

    /// <summary>workload.py's MACs per sequence (forward): S(3HE + 3HH) + S·H·A + T(A·H + S·A + S·H + 3H(E+H) + 3HH + V·H).</summary>
    /// <param name="h">E = A = H.</param>
    /// <returns>Multiply-adds.</returns>
    public static long MacsPerSequence(long h)
    {
        long e = h, a = h;
        long encoder = S * (3 * h * e + 3 * h * h);
        long keys = S * h * a;
        long perStep = a * h + S * a + S * h + 3 * h * (e + h) + 3 * h * h + V * h;
        return encoder + keys + T * perStep;
    }

    /// <summary>Training step FLOPs = 3 × 2 × MACs × B (workload.py's train_flops_per_step).</summary>
    public static double TrainFlopsPerStep(int h, int b) => 3.0 * 2.0 * MacsPerSequence(h) * b;

    /// <summary>Decoding FLOPs per token = 2 × MACs / T (workload.py's decode_flops_per_token).</summary>
    public static double DecodeFlopsPerToken(int h) => 2.0 * MacsPerSequence(h) / T;
}
