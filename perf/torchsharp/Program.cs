using SpanAttention.Anchors;
using TorchSharp;
using static TorchSharp.torch;

// The libtorch 2.10 anchor (TorchSharp 0.107): perf/pytorch/seq2seq_bench.py's workload on PyTorch's own weights
// and batches (perf/pytorch/export_reference.py), one JSON row per run in the seq2seq-json format.
//   TorchSharpAnchor --mode train|decode --hidden H --batch B --threads N --reps R --warmup W --data DIR
// Before timing, the row is checked against PyTorch: training reproduces the recorded losses over the first
// Adam steps (relative 1e-4), decoding the recorded 32 greedy tokens exactly; a mismatch prints why and exits 1.
Row row;
try
{
    row = Row.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine("TorchSharpAnchor: " + e.Message);
    return 2;
}
torch.set_num_threads(row.Threads);
torch.set_num_interop_threads(1);
var reference = Reference.Load(row.Data, row.Hidden);
using var model = new ReferenceModel(reference);
string check;
double[] wall, cpu;
if (row.Train)
{
    var (src, tgtIn, tgtOut) = reference.Batch(row.Batch);
    using Tensor srcT = tensor(src, [reference.S, row.Batch]);
    using Tensor tgtInT = tensor(tgtIn, [reference.T, row.Batch]);
    using Tensor tgtOutT = tensor(tgtOut, [reference.T, row.Batch]);
    using var adam = optim.Adam(model.Parameters, lr: 1e-3);
    float Step()
    {
        using var scope = NewDisposeScope();
        adam.zero_grad();
        Tensor loss = model.Loss(srcT, tgtInT, tgtOutT);
        loss.backward();
        adam.step();
        return loss.item<float>();
    }
    double[] expected = reference.Losses(row.Batch);
    var got = new double[expected.Length];
    for (int i = 0; i < got.Length; i++)
    {
        got[i] = Step();
    }
    double worst = expected.Zip(got, (e, g) => Math.Abs(e - g) / Math.Abs(e)).Max();
    check = $"\"check\":{{\"losses\":[{string.Join(",", got.Select(Row.Num))}],\"pytorch_losses\":[{string.Join(",", expected.Select(Row.Num))}],\"max_rel_diff\":{Row.Num(worst)}}}";
    if (!(worst <= 1e-4))
    {
        Console.Error.WriteLine($"TorchSharpAnchor: losses differ from PyTorch's (max relative difference {worst:G3}): {check}");
        return 1;
    }
    (wall, cpu) = row.Time(() => Step());
}
else
{
    using Tensor srcT = tensor(reference.DecodeSource(), [reference.S, 1]);
    long[] expected = reference.GreedyTokens();
    var tokens = new long[reference.T];
    void Decode()
    {
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        model.Greedy(srcT, reference.T, reference.Bos, tokens);
    }
    Decode();
    check = $"\"check\":{{\"tokens_equal\":{(tokens.SequenceEqual(expected) ? "true" : "false")}}}";
    if (!tokens.SequenceEqual(expected))
    {
        Console.Error.WriteLine($"TorchSharpAnchor: greedy tokens differ from PyTorch's: [{string.Join(",", tokens)}] vs [{string.Join(",", expected)}]");
        return 1;
    }
    (wall, cpu) = row.Time(Decode);
}
string config = $"\"config\":{{\"engine\":\"TorchSharp 0.107.0\",\"libtorch\":{Row.Str(torch.__version__)},"
    + $"\"intra_op_threads\":{torch.get_num_threads()},\"interop_threads\":{torch.get_num_interop_threads()},"
    + $"\"OMP_WAIT_POLICY\":{Row.Str(Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "unset")},"
    + $"\"runtime\":{Row.Str(Environment.Version.ToString())}}}";
Console.WriteLine(row.Json("libtorch", wall, cpu, reference.S, reference.T, reference.V, check + "," + config));
return 0;
