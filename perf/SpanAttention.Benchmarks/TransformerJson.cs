using System.Globalization;
using System.Numerics.Tensors;
using System.Text;
using SpanAttention.Anchors;
using SpanAttention.Kernels;
using SpanAttention.Seq2Seq;
using SpanAttention.Training;
using SpanAttention.Transformer;

namespace SpanAttention.Benchmarks;

/// <summary>
/// The <c>transformer-json</c> mode: SpanAttention's side of perf/compare-transformer.sh, the workload of
/// perf/pytorch/transformer_bench.py (its docstring) on PyTorch's own weights and batches.
/// <code>
/// transformer-json --mode train|decode --hidden E --batch B --threads N --reps R --warmup W --data DIR [--heads H] [--ff-size F] [--layers L]
/// </code>
/// DIR is transformer_bench.py's --export directory (DIR/H&lt;E&gt;/: weights, batch, decoding source, PyTorch's losses
/// and tokens). Heads and F default to that script's sizes (E = 64: 4 heads, F = 256; E = 256: 8 heads, F = 1024;
/// else 8 heads, F = 4E); L defaults to 2.
/// </summary>
/// <remarks>
/// <para>Before timing, the row checks itself against PyTorch: training reproduces the recorded losses of the initial
/// weights and after each recorded Adam step (relative 1e-4); decoding reproduces the 32 greedy tokens exactly. A
/// mismatch prints both and exits 1.</para>
/// <para>Training step = <see cref="Seq2SeqTrainer.TrainStep"/> on a <see cref="TransformerSeq2Seq"/>: zero gradients,
/// teacher-forced forward of all T positions, mean cross-entropy, backward, global gradient norm (clipping off),
/// Adam(lr 1e-3). Decoding = <see cref="TransformerSeq2Seq.StartDecoding"/> (encoder and the memory's cross-attention
/// keys/values) and exactly T <see cref="TransformerSeq2Seq.DecodeStep"/> calls at batch 1, each fed the arg-max of
/// the last logits over the whole vocabulary (no EOS stop). Prints one JSON line in seq2seq-json's format with
/// "workload": "transformer".</para>
/// </remarks>
internal static class TransformerJson
{
    private const int Padding = 63;
    private const double LossTolerance = 1e-4;

    public static int Run(string[] args)
    {
        Row row;
        try
        {
            row = Row.Parse(args, "heads", "ff-size", "layers");
        }
        catch (ArgumentException error)
        {
            Console.Error.WriteLine("transformer-json: " + error.Message);
            return 2;
        }
        int e = row.Hidden;
        (int defaultHeads, int defaultF) = e switch { 64 => (4, 256), 256 => (8, 1024), _ => (8, 4 * e) };
        int heads = Extra(row, "heads", defaultHeads), f = Extra(row, "ff-size", defaultF), layers = Extra(row, "layers", 2);
        KernelThreads.Count = row.Threads;
        Reference reference = Reference.Load(row.Data, e);
        int s = reference.S, t = reference.T, v = reference.V, bsz = row.Batch;
        var config = new Seq2SeqConfig
        {
            SourceVocabSize = v,
            TargetVocabSize = v,
            EmbeddingSize = e,
            HiddenSize = e,
            Encoder = EncoderKind.Transformer,
            Decoder = DecoderStyle.Transformer,
            EncoderLayers = layers,
            Heads = heads,
            FeedForwardSize = f,
            PaddingId = Padding,
            BosId = checked((int)reference.Bos),
            EosId = 1,
        };
        var model = new TransformerSeq2Seq(config, null, bsz, s, t);
        Load(reference, model);
        string check;
        double[] wall, cpu;
        if (row.Train)
        {
            Seq2SeqBatch batch = TrainingBatch(reference, bsz);
            var trainer = new Seq2SeqTrainer(model, new Seq2SeqTrainerOptions { LearningRate = 1e-3f, ClipNorm = 0f, TeacherForcingRatio = 1f, Threads = 1 });
            double[] expected = reference.Losses(bsz);
            var got = new double[expected.Length];
            for (int i = 0; i < got.Length; i++)
            {
                got[i] = trainer.TrainStep(batch).Loss;
            }
            double worst = expected.Zip(got, (x, y) => Math.Abs(x - y) / Math.Abs(x)).Max();
            check = $"\"check\":{{\"losses\":[{string.Join(",", got.Select(Row.Num))}],\"pytorch_losses\":[{string.Join(",", expected.Select(Row.Num))}],\"max_rel_diff\":{Row.Num(worst)}}}";
            if (!(worst <= LossTolerance))
            {
                Console.Error.WriteLine($"transformer-json: losses differ from PyTorch's (max relative difference {worst:G3}): {check}");
                return 1;
            }
            (wall, cpu) = row.Time(() => trainer.TrainStep(batch));
        }
        else
        {
            int[] source = [.. reference.DecodeSource().Select(x => checked((int)x))];     // [S, 1] = (1, S)
            int[] lengths = [s];
            long[] expected = reference.GreedyTokens();
            var tokens = new int[t];
            var fed = new int[1];
            void Decode()
            {
                model.StartDecoding(source, lengths, 1, s, 1);
                fed[0] = config.BosId;
                for (int step = 0; step < t; step++)
                {
                    ReadOnlySpan<float> logits = model.DecodeStep(step, fed);
                    fed[0] = tokens[step] = TensorPrimitives.IndexOfMax(logits.Slice(0, v));
                }
            }
            Decode();
            bool equal = tokens.Select(x => (long)x).SequenceEqual(expected);
            check = $"\"check\":{{\"tokens_equal\":{(equal ? "true" : "false")}}}";
            if (!equal)
            {
                Console.Error.WriteLine($"transformer-json: greedy tokens differ from PyTorch's: [{string.Join(",", tokens)}] vs [{string.Join(",", expected)}]");
                return 1;
            }
            (wall, cpu) = row.Time(Decode);
            if (Environment.GetEnvironmentVariable("TRANSFORMER_JSON_PROFILE") == "1")
            {
                Profile(model, source, lengths, s, t, fed, config.BosId);
            }
        }
        Console.WriteLine(Json(row, heads, f, layers, s, t, v, wall, cpu, check));
        return 0;
    }

    /// <summary>
    /// Decoding breakdown on stderr (environment TRANSFORMER_JSON_PROFILE=1), medians of 20 runs in µs: StartDecoding
    /// (encoder and the memory's keys/values) and the T steps, each fed BOS (the cost of a step does not depend on the token).
    /// </summary>
    private static void Profile(TransformerSeq2Seq model, int[] source, int[] lengths, int s, int t, int[] fed, int bos)
    {
        var start = new double[20];
        var steps = new double[20];
        for (int r = 0; r < start.Length; r++)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            model.StartDecoding(source, lengths, 1, s, 1);
            long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
            fed[0] = bos;
            for (int step = 0; step < t; step++)
            {
                model.DecodeStep(step, fed);
            }
            long t2 = System.Diagnostics.Stopwatch.GetTimestamp();
            start[r] = (t1 - t0) * 1e6 / System.Diagnostics.Stopwatch.Frequency;
            steps[r] = (t2 - t1) * 1e6 / System.Diagnostics.Stopwatch.Frequency;
        }
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"transformer-json profile (µs per sequence, median of 20): start_decoding={Median(start):F0} steps={Median(steps):F0} ({Median(steps) / t:F1} per step)"));
    }

    /// <summary>Copies PyTorch's parameters into the model's slots by state_dict name (shapes checked; every slot filled).</summary>
    private static void Load(Reference reference, TransformerSeq2Seq model)
    {
        int filled = 0;
        Span<float> values = model.Parameters.Values;
        foreach ((string name, long[] shape, float[] data) in reference.Parameters())
        {
            if (!model.Layout.TryGet(name, out var slot) || !slot.Shape.Select(d => (long)d).SequenceEqual(shape))
            {
                throw new InvalidDataException($"PyTorch's parameter {name} [{string.Join(", ", shape)}] has no slot of that shape in {model.Config.Describe()}.");
            }
            data.CopyTo(slot.Of(values));
            filled++;
        }
        if (filled != model.Layout.Slots.Count)
        {
            throw new InvalidDataException($"The reference data has {filled} parameters, the model {model.Layout.Slots.Count}.");
        }
    }

    /// <summary>The reference training batch, time-major [S, B] / [T, B] on disk, as a row-major (B, S) / (B, T) batch.</summary>
    private static Seq2SeqBatch TrainingBatch(Reference reference, int bsz)
    {
        (long[] src, long[] tgtIn, long[] tgtOut) = reference.Batch(bsz);
        int s = reference.S, t = reference.T;
        var source = new int[bsz * s];
        var input = new int[bsz * t];
        var output = new int[bsz * t];
        for (int b = 0; b < bsz; b++)
        {
            for (int i = 0; i < s; i++)
            {
                source[b * s + i] = checked((int)src[i * bsz + b]);
            }
            for (int i = 0; i < t; i++)
            {
                input[b * t + i] = checked((int)tgtIn[i * bsz + b]);
                output[b * t + i] = checked((int)tgtOut[i * bsz + b]);
            }
        }
        int[] sourceLengths = [.. Enumerable.Repeat(s, bsz)], targetLengths = [.. Enumerable.Repeat(t, bsz)];
        return new Seq2SeqBatch(bsz, s, t, source, sourceLengths, input, output, targetLengths);
    }

    private static int Extra(Row row, string name, int fallback) =>
        row.Extra.TryGetValue(name, out string? value) ? int.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture) : fallback;

    private static string Json(Row row, int heads, int f, int layers, int s, int t, int v, double[] wall, double[] cpu, string check)
    {
        int tokens = row.Batch * t;
        double[] samples = [.. wall.Select(x => row.Train ? tokens / x : x / t * 1e6)];
        double cpuMedian = row.Train ? tokens / Math.Max(Median(cpu), 1e-9) : Median(cpu) / t * 1e6;
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"{{\"engine\":\"spanattention\",\"workload\":\"transformer\",\"mode\":\"{row.Mode}\",\"H\":{row.Hidden},\"E\":{row.Hidden},");
        sb.Append(inv, $"\"heads\":{heads},\"F\":{f},\"layers\":{layers},\"B\":{row.Batch},\"threads\":{row.Threads},");
        sb.Append(inv, $"\"median\":{Row.Num(Median(samples))},\"unit\":\"{(row.Train ? "tokens/s" : "us/token")}\",");
        sb.Append("\"samples\":[").Append(string.Join(",", samples.Select(Row.Num))).Append("],");
        sb.Append(inv, $"\"cpu_median\":{Row.Num(cpuMedian)},\"reps\":{row.Reps},\"warmup\":{row.Warmup},\"V\":{v},\"S\":{s},\"T\":{t},");
        sb.Append(check).Append(',');
        sb.Append(inv, $"\"config\":{{\"runtime\":\"{Environment.Version}\",\"kernel_threads\":{KernelThreads.Count},\"tiered_jit\":{(Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") == "0" ? "false" : "true")}}}}}");
        return sb.ToString();
    }

    private static double Median(double[] values)
    {
        double[] sorted = [.. values.Order()];
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }
}
