using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SpanAttention.Anchors;

// The ONNX Runtime anchor for decoding: perf/pytorch/export_reference.py's encoder.onnx and decoder_step.onnx
// (the PyTorch reference model, opset 17), or with --weights int8 their dynamic int8 quantisation, greedy over
// the reference decoding source, batch 1, exactly 32 tokens. One JSON row in the seq2seq-json format.
//   OnnxRuntimeAnchor --mode decode --hidden H --threads N --reps R --warmup W --data DIR [--weights fp32|int8]
// Every input and output is an OrtValue allocated once and bound once: the encoder's binding writes keys,
// projected keys and the first hidden state; two decoder bindings ping-pong (token, hidden) between two pairs of
// buffers, so a step is one RunWithBinding with no copy and no allocation. Before timing, fp32 tokens must equal
// PyTorch's exactly (else exit 1); int8 records how many of the 32 agree.
Row row;
try
{
    row = Row.Parse(args, "weights");
    if (row.Train)
    {
        throw new ArgumentException("ONNX Runtime is the decoding anchor only (--mode decode).");
    }
}
catch (ArgumentException e)
{
    Console.Error.WriteLine("OnnxRuntimeAnchor: " + e.Message);
    return 2;
}
string weights = row.Extra.GetValueOrDefault("weights", "fp32");
if (weights is not ("fp32" or "int8"))
{
    Console.Error.WriteLine($"OnnxRuntimeAnchor: --weights must be fp32 or int8, got {weights}.");
    return 2;
}
var reference = Reference.Load(row.Data, row.Hidden);
string section = weights == "fp32" ? "onnx" : "onnx_int8";
int S = reference.S, H = reference.H, T = reference.T;

using var options = new SessionOptions
{
    IntraOpNumThreads = row.Threads,
    InterOpNumThreads = 1,
    ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
};
string spinning = Environment.GetEnvironmentVariable("ORT_ALLOW_SPINNING") ?? "1";
options.AddSessionConfigEntry("session.intra_op.allow_spinning", spinning);
using var encoder = new InferenceSession(reference.OnnxPath(section, "encoder"), options);
using var decoder = new InferenceSession(reference.OnnxPath(section, "decoder_step"), options);

long[] source = reference.DecodeSource();
using var src = OrtValue.CreateTensorValueFromMemory(source, [S, 1]);
var allocator = OrtAllocator.DefaultInstance;
using var keys = OrtValue.CreateAllocatedTensorValue(allocator, TensorElementType.Float, [1, S, H]);
using var projectedKeys = OrtValue.CreateAllocatedTensorValue(allocator, TensorElementType.Float, [1, S, H]);
using var hiddenA = OrtValue.CreateAllocatedTensorValue(allocator, TensorElementType.Float, [1, H]);
using var hiddenB = OrtValue.CreateAllocatedTensorValue(allocator, TensorElementType.Float, [1, H]);
using var tokenA = OrtValue.CreateAllocatedTensorValue(allocator, TensorElementType.Int64, [1]);
using var tokenB = OrtValue.CreateAllocatedTensorValue(allocator, TensorElementType.Int64, [1]);

using var encode = encoder.CreateIoBinding();
encode.BindInput("src", src);
encode.BindOutput("keys", keys);
encode.BindOutput("projected_keys", projectedKeys);
encode.BindOutput("hidden", hiddenA);
// stepA: (tokenA, hiddenA) -> (tokenB, hiddenB); stepB the other way round.
using var stepA = decoder.CreateIoBinding();
using var stepB = decoder.CreateIoBinding();
foreach (var (binding, tokenIn, hiddenIn, tokenOut, hiddenOut) in new[] { (stepA, tokenA, hiddenA, tokenB, hiddenB), (stepB, tokenB, hiddenB, tokenA, hiddenA) })
{
    binding.BindInput("token", tokenIn);
    binding.BindInput("hidden", hiddenIn);
    binding.BindInput("projected_keys", projectedKeys);
    binding.BindInput("keys", keys);
    binding.BindOutput("next_token", tokenOut);
    binding.BindOutput("next_hidden", hiddenOut);
}
using var runOptions = new RunOptions();
var tokens = new long[T];
void Decode()
{
    encoder.RunWithBinding(runOptions, encode);
    tokenA.GetTensorMutableDataAsSpan<long>()[0] = reference.Bos;
    for (int t = 0; t < T; t++)
    {
        bool even = t % 2 == 0;
        decoder.RunWithBinding(runOptions, even ? stepA : stepB);
        tokens[t] = (even ? tokenB : tokenA).GetTensorDataAsSpan<long>()[0];
    }
}

Decode();
long[] expected = reference.GreedyTokens();
int agree = tokens.Zip(expected, (a, b) => a == b ? 1 : 0).Sum();
string check = $"\"check\":{{\"tokens_equal\":{(agree == T ? "true" : "false")},\"tokens_agreeing\":{agree}}}";
if (weights == "fp32" && agree != T)
{
    Console.Error.WriteLine($"OnnxRuntimeAnchor: greedy tokens differ from PyTorch's: [{string.Join(",", tokens)}] vs [{string.Join(",", expected)}]");
    return 1;
}
var (wall, cpu) = row.Time(Decode);
string config = $"\"config\":{{\"engine\":\"ONNX Runtime (Microsoft.ML.OnnxRuntime 1.32.0)\",\"weights\":{Row.Str(weights)},"
    + $"\"intra_op_threads\":{row.Threads},\"inter_op_threads\":1,\"allow_spinning\":{Row.Str(spinning)},\"opset\":17,"
    + $"\"io_binding\":true,\"runtime\":{Row.Str(Environment.Version.ToString())}}}";
Console.WriteLine(row.Json(weights == "fp32" ? "onnxruntime" : "onnxruntime-int8", wall, cpu, S, T, reference.V, check + "," + config));
return 0;
