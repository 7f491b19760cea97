#!/usr/bin/python3
"""PyTorch side of issue 7: the reference seq2seq workload, timed the way SpanAttention is timed.

Run with Debian's interpreter (torch 1.13):  /usr/bin/python3 perf/pytorch/seq2seq_bench.py --quick

The script sets up its own BLAS: unless --system-blas is given it runs setup_openblas.sh (local
OpenBLAS, no system-wide install) and re-executes itself with LD_LIBRARY_PATH, OPENBLAS_CORETYPE and
ATEN_CPU_CAPABILITY set (see setup_openblas.sh for why those values on an AVX2-only CPU). It then
checks /proc/self/maps that libopenblas really is loaded and records the configuration in every row.

Workload (issue 7; identical in both engines)
---------------------------------------------
  V = 64 (source and target vocabulary), S = T = 32 (source / target length), E = H in {64, 256, 1024},
  attention size A = H, batch B in {1, 32}, threads in {1, 2} (torch.set_num_threads).
  Encoder: embedding -> 1-layer unidirectional GRU (nn.GRU, gate order r, z, n) over the source.
  Decoder ("bahdanau"), initial hidden = encoder final hidden; for t = 0..T-1:
      q      = h_{t-1}                                  (query = previous decoder hidden)
      s_j    = v . tanh(W_q q + K'_j),  K' = W_k K + b  (K' computed ONCE per batch from the encoder
                                                         outputs K [B, S, H]; b is W_k's bias)
      a      = softmax(s) over the S source positions;  context = sum_j a_j K_j  (values = keys = K)
      h_t    = GRUCell([embedding(y_{t-1}); context], h_{t-1})
      logits = out(h_t) = W_out h_t + b_out              (Linear H -> V)
  y_{-1} = BOS = token 0. No padding (all rows have full length), no masking.
  (a) Training: teacher forcing (decoder input = [BOS, y_0 .. y_{T-2}]), mean cross-entropy over
      the B*T target tokens, backward, Adam(lr=1e-3, foreach=True) step, zero_grad(set_to_none=True).
      Throughput = B*T / median step time  [target tokens/s].
  (b) Decoding: greedy, batch 1, exactly T = 32 generated tokens (no early stop at an EOS token),
      under torch.inference_mode(); latency = (encoder + 32 decoder steps) / 32 [us/token], so the
      encoder time is amortised over the 32 tokens.
  Timing: warm-up runs, then `reps` timed runs; the median is reported (all samples are kept).

Parameter names (state_dict; the C# model must use the same names and shapes, PyTorch layout
[out_features, in_features], GRU gates packed r, z, n):
  encoder.embedding.weight        [V, E]
  encoder.rnn.weight_ih_l0        [3H, E]
  encoder.rnn.weight_hh_l0        [3H, H]
  encoder.rnn.bias_ih_l0          [3H]
  encoder.rnn.bias_hh_l0          [3H]
  decoder.embedding.weight        [V, E]
  decoder.attention.W_q.weight    [A, H]        (no bias)
  decoder.attention.W_k.weight    [A, H]
  decoder.attention.W_k.bias      [A]           (the additive-attention bias b)
  decoder.attention.v.weight      [1, A]
  decoder.cell.weight_ih          [3H, E + H]   (input = [embedding; context])
  decoder.cell.weight_hh          [3H, H]
  decoder.cell.bias_ih            [3H]
  decoder.cell.bias_hh            [3H]
  decoder.out.weight              [V, H]
  decoder.out.bias                [V]
Initialisation is PyTorch's default (U(-1/sqrt(fan), 1/sqrt(fan)) for Linear/GRU, N(0,1) for
Embedding); it does not affect the timings.

Model FLOPs (formula implemented in workload.py; matmul / multiply-add work only, counted analytically; element-wise ops, softmax,
embedding gathers, the loss and Adam are not counted):
  MACs per sequence, forward:
      S * (3H*E + 3H*H)                       encoder GRU (input and hidden projections)
    + S * H*A                                 W_k K (keys, once per sequence)
    + T * ( A*H                               W_q q
          + S*A                               v . tanh(...) for S positions
          + S*H                               context = a . K
          + 3H*(E+H) + 3H*H                   decoder GRUCell
          + V*H )                             output projection
  forward FLOPs  = 2 * MACs * B      (2 flops per multiply-add; i.e. ~2 x parameters used per token)
  backward FLOPs = 2 * forward       (one matmul for the input gradient, one for the weight gradient)
  training step  = 3 * forward FLOPs.   Decoding, per token: 2 * MACs / T  (B = 1, forward only,
  encoder amortised over the T tokens).
  With E = A = H and S = T = 32, V = 64: MACs/sequence = 32 * (17 H^2 + 128 H).
  Achieved GFLOP/s = FLOPs / median time.

Output: one JSON object per line (stdout, or appended to --out), fields:
  engine, mode ("train" | "decode"), H, E, B, threads, median, unit ("tokens/s" | "us/token"),
  gflops, flops (per step for train, per token for decode), samples, reps, warmup, V, S, T, config,
  cpu_median: the same metric computed from process CPU time (time.process_time, all threads of the
  process) instead of wall time: on a shared machine with 1 thread it shows what the run would cost
  without preemption (informational; the table uses wall-clock medians).
"""

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from workload import BOS, S, T, V, decode_flops_per_token, macs_per_sequence, train_flops_per_step  # noqa: E402

EXPECTED_NAMES = [
    "encoder.embedding.weight",
    "encoder.rnn.weight_ih_l0",
    "encoder.rnn.weight_hh_l0",
    "encoder.rnn.bias_ih_l0",
    "encoder.rnn.bias_hh_l0",
    "decoder.embedding.weight",
    "decoder.attention.W_q.weight",
    "decoder.attention.W_k.weight",
    "decoder.attention.W_k.bias",
    "decoder.attention.v.weight",
    "decoder.cell.weight_ih",
    "decoder.cell.weight_hh",
    "decoder.cell.bias_ih",
    "decoder.cell.bias_hh",
    "decoder.out.weight",
    "decoder.out.bias",
]


# --------------------------------------------------------------------------------------------
# Environment: local OpenBLAS (must be in place before torch is imported -> re-exec).
# --------------------------------------------------------------------------------------------
def ensure_openblas_env(argv):
    if "--system-blas" in argv or os.environ.get("SEQ2SEQ_BENCH_ENV_READY") == "1":
        return
    out = subprocess.run([os.path.join(HERE, "setup_openblas.sh")], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    env = dict(os.environ)
    for line in out.splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export "):].partition("=")
            env[name] = shlex.split(value)[0] if value else ""
    if env.get("SPANATTN_TORCH_PRELOAD"):
        env["LD_PRELOAD"] = env["SPANATTN_TORCH_PRELOAD"]  # tcmalloc, see setup_openblas.sh
    env["SEQ2SEQ_BENCH_ENV_READY"] = "1"
    script = os.path.abspath(sys.argv[0])    # the main script (this file, or one importing it)
    if not os.path.isfile(script):
        sys.exit("seq2seq_bench: cannot re-execute %r with OpenBLAS; eval \"$(%s)\" and set "
                 "SEQ2SEQ_BENCH_ENV_READY=1 first" % (sys.argv[0], os.path.join(HERE, "setup_openblas.sh")))
    os.execve(sys.executable, [sys.executable, script] + argv, env)


ensure_openblas_env(sys.argv[1:])

import torch  # noqa: E402  (after the environment is final)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def blas_config(system_blas):
    maps = open("/proc/self/maps").read().splitlines()
    libs = sorted({l.split()[-1] for l in maps if "blas" in l and l.split()[-1].startswith("/")})
    openblas = any("openblas" in l for l in libs)
    cap = "?"
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage" in line:
            cap = line.split(":", 1)[1].strip()
    if not system_blas and not openblas:
        sys.exit("seq2seq_bench: OpenBLAS is not loaded (libs: %s); refusing to benchmark the "
                 "reference BLAS. Use --system-blas to do that on purpose." % libs)
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "blas": "openblas" if openblas else "system",
        "blas_libs": [os.path.basename(l) for l in libs],
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", ""),
        "ATEN_CPU_CAPABILITY": os.environ.get("ATEN_CPU_CAPABILITY", ""),
        "aten_capability_used": cap,
        "malloc": "tcmalloc" if any("tcmalloc" in l for l in maps) else "glibc",
        "cpu": cpu_model(),
    }


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------
class Encoder(nn.Module):
    def __init__(self, vocab, E, H):
        super().__init__()
        self.embedding = nn.Embedding(vocab, E)
        self.rnn = nn.GRU(E, H, num_layers=1, bidirectional=False)  # time-major [S, B, .]

    def forward(self, src):                      # src [S, B] int64
        x = self.embedding(src)                  # [S, B, E]
        K, h = self.rnn(x)                       # K [S, B, H], h [1, B, H]
        return K.transpose(0, 1), h[0]           # K [B, S, H] (view), h [B, H]


class AdditiveAttention(nn.Module):
    """s_j = v . tanh(W_q q + W_k k_j + b), b = W_k.bias; a = softmax(s); context = sum_j a_j k_j."""

    def __init__(self, H, A):
        super().__init__()
        self.W_q = nn.Linear(H, A, bias=False)
        self.W_k = nn.Linear(H, A, bias=True)
        self.v = nn.Linear(A, 1, bias=False)

    def project_keys(self, K):                   # K [B, S, H] -> K' [B, S, A], once per batch
        return self.W_k(K)

    def forward(self, q, Kp, K):                 # q [B, H], Kp [B, S, A], K [B, S, H]
        e = torch.tanh(Kp + self.W_q(q).unsqueeze(1))           # [B, S, A]
        s = self.v(e).squeeze(2)                                 # [B, S]
        a = torch.softmax(s, dim=1)                              # [B, S]
        return torch.bmm(a.unsqueeze(1), K).squeeze(1)          # context [B, H]


class Decoder(nn.Module):
    def __init__(self, vocab, E, H, A):
        super().__init__()
        self.embedding = nn.Embedding(vocab, E)
        self.attention = AdditiveAttention(H, A)
        self.cell = nn.GRUCell(E + H, H)
        self.out = nn.Linear(H, vocab)

    def step(self, x, h, Kp, K):                 # x [B, E] embedded previous token, h [B, H]
        context = self.attention(h, Kp, K)       # query = previous decoder hidden
        return self.cell(torch.cat([x, context], dim=1), h)     # h_t [B, H]


class Seq2Seq(nn.Module):
    def __init__(self, vocab, E, H):
        super().__init__()
        self.encoder = Encoder(vocab, E, H)
        self.decoder = Decoder(vocab, E, H, H)

    def loss(self, src, tgt_in, tgt_out):        # src [S, B], tgt_in/tgt_out [T, B]
        K, h = self.encoder(src)
        Kp = self.decoder.attention.project_keys(K)
        x = self.decoder.embedding(tgt_in)       # [T, B, E], teacher forcing
        hs = []
        for t in range(tgt_in.shape[0]):
            h = self.decoder.step(x[t], h, Kp, K)
            hs.append(h)
        logits = self.decoder.out(torch.stack(hs))               # [T, B, V] in one GEMM
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))

    def greedy(self, src, steps):                # src [S, 1]; call under inference_mode
        K, h = self.encoder(src)
        Kp = self.decoder.attention.project_keys(K)
        y = torch.full((src.shape[1],), BOS, dtype=torch.long)
        out = []
        for _ in range(steps):
            h = self.decoder.step(self.decoder.embedding(y), h, Kp, K)
            y = self.decoder.out(h).argmax(dim=1)
            out.append(y)
        return torch.stack(out)                  # [steps, B]


# --------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------
def make_batch(B, gen):
    src = torch.randint(0, V, (S, B), generator=gen)
    tgt = torch.randint(1, V, (T, B), generator=gen)
    tgt_in = torch.cat([torch.full((1, B), BOS, dtype=torch.long), tgt[:-1]], dim=0)
    return src, tgt_in, tgt


def time_train(H, B, warmup, reps, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = Seq2Seq(V, H, H)
    check_names(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=True)  # multi-tensor: a bit less overhead
    src, tgt_in, tgt_out = make_batch(B, gen)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model.loss(src, tgt_in, tgt_out)
        loss.backward()
        opt.step()
        return loss

    first = last = None
    for i in range(warmup):
        loss = step().item()
        first = loss if i == 0 else first
    samples, cpu = [], []
    for _ in range(reps):
        c0, t0 = time.process_time(), time.perf_counter()
        loss = step()
        samples.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        last = loss.item()
    return samples, cpu, first, last


def time_decode(H, warmup, reps, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = Seq2Seq(V, H, H).eval()
    src, _, _ = make_batch(1, gen)
    samples, cpu = [], []
    with torch.inference_mode():
        for _ in range(warmup):
            model.greedy(src, T)
        for _ in range(reps):
            c0, t0 = time.process_time(), time.perf_counter()
            y = model.greedy(src, T)
            samples.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        assert y.shape == (T, 1)
    return samples, cpu


def self_check(H=8, B=3, seed=7):
    """The module computes the documented equations: compare its teacher-forced loss and greedy
    output with an explicit float64 re-implementation (GRU gates r, z, n as in REFERENCE.md,
    additive attention with W_k K + b computed once). Returns the max abs loss difference."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = Seq2Seq(V, H, H).double()
    check_names(model)
    p = {n: t.detach() for n, t in model.named_parameters()}
    src, tgt_in, tgt_out = make_batch(B, gen)

    def gru(x, h, w_ih, w_hh, b_ih, b_hh):
        gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
        r = torch.sigmoid(gi[:, :H] + gh[:, :H])
        z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        return (1 - z) * n + z * h

    def encode(src):
        h = torch.zeros(src.shape[1], H, dtype=torch.float64)
        ks = []
        for i in range(src.shape[0]):
            h = gru(p["encoder.embedding.weight"][src[i]], h, p["encoder.rnn.weight_ih_l0"],
                    p["encoder.rnn.weight_hh_l0"], p["encoder.rnn.bias_ih_l0"], p["encoder.rnn.bias_hh_l0"])
            ks.append(h)
        K = torch.stack(ks, dim=1)                                            # [B, S, H]
        return K, K @ p["decoder.attention.W_k.weight"].T + p["decoder.attention.W_k.bias"], h

    def dec_step(y, h, K, Kp):
        e = torch.tanh(Kp + (h @ p["decoder.attention.W_q.weight"].T)[:, None, :])
        a = torch.softmax((e @ p["decoder.attention.v.weight"].T)[:, :, 0], dim=1)
        ctx = (a[:, :, None] * K).sum(1)
        x = torch.cat([p["decoder.embedding.weight"][y], ctx], dim=1)
        h = gru(x, h, p["decoder.cell.weight_ih"], p["decoder.cell.weight_hh"],
                p["decoder.cell.bias_ih"], p["decoder.cell.bias_hh"])
        return h, h @ p["decoder.out.weight"].T + p["decoder.out.bias"]

    with torch.no_grad():
        K, Kp, h = encode(src)
        nll = []
        for t in range(T):
            h, logits = dec_step(tgt_in[t], h, K, Kp)
            nll.append(-torch.log_softmax(logits, 1).gather(1, tgt_out[t][:, None])[:, 0])
        ref_loss = torch.stack(nll).mean()
        loss = model.loss(src, tgt_in, tgt_out)
        K, Kp, h = encode(src[:, :1])
        y, ref_tokens = torch.full((1,), BOS, dtype=torch.long), []
        for t in range(T):
            h, logits = dec_step(y, h, K, Kp)
            y = logits.argmax(1)
            ref_tokens.append(y)
        tokens = model.greedy(src[:, :1], T)
    diff = abs(loss.item() - ref_loss.item())
    if diff > 1e-10 or not torch.equal(tokens, torch.stack(ref_tokens)):
        raise AssertionError("self-check failed: loss diff %g, tokens equal %s"
                             % (diff, torch.equal(tokens, torch.stack(ref_tokens))))
    return diff


def check_names(model):
    names = [n for n, _ in model.named_parameters()]
    if names != EXPECTED_NAMES:
        raise AssertionError("parameter names drifted from the documented list: %s" % names)


def describe_parameters(H):
    model = Seq2Seq(V, H, H)
    check_names(model)
    return [{"name": n, "shape": list(p.shape)} for n, p in model.named_parameters()]


def emit(row, out_path):
    line = json.dumps(row, separators=(",", ":"))
    print(line, flush=True)
    if out_path:
        with open(out_path, "a") as f:
            f.write(line + "\n")


def int_list(s):
    return [int(x) for x in s.split(",") if x.strip()]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int_list, default=[64, 256, 1024], help="E = H values, e.g. 64,256")
    p.add_argument("--batches", type=int_list, default=[32, 1], help="training batch sizes")
    p.add_argument("--threads", type=int_list, default=[1, 2], help="torch.set_num_threads values")
    p.add_argument("--modes", default="train,decode", help="train,decode (decode is always batch 1)")
    p.add_argument("--reps", type=int, default=None, help="timed repetitions per row (default 10, quick 3)")
    p.add_argument("--warmup", type=int, default=None, help="warm-up runs per row (default 3, quick 1)")
    p.add_argument("--quick", action="store_true", help="tiny validation run: H=64, reps=3, warmup=1")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--out", help="append the JSON lines to this file as well")
    p.add_argument("--system-blas", action="store_true", help="do not switch to OpenBLAS (baseline)")
    p.add_argument("--self-check", action="store_true",
                   help="check the model against an explicit float64 implementation of the equations, then exit")
    p.add_argument("--describe", action="store_true",
                   help="print parameter names/shapes and FLOP counts for --sizes as JSON, then exit")
    args = p.parse_args()

    if args.quick:
        if "--sizes" not in sys.argv:
            args.sizes = [64]
        args.reps = 3 if args.reps is None else args.reps
        args.warmup = 1 if args.warmup is None else args.warmup
    reps = 10 if args.reps is None else args.reps
    warmup = 3 if args.warmup is None else args.warmup
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]

    if args.self_check:
        print("self-check passed: |loss - explicit float64 equations| = %.3g, greedy tokens equal" % self_check())
        return

    if args.describe:
        for H in args.sizes:
            print(json.dumps({"H": H, "E": H, "V": V, "S": S, "T": T,
                              "macs_per_sequence": macs_per_sequence(H),
                              "train_flops_per_sequence": train_flops_per_step(H, 1),
                              "decode_flops_per_token": decode_flops_per_token(H),
                              "parameters": describe_parameters(H)}))
        return

    config = blas_config(args.system_blas)
    print("seq2seq_bench: %s" % json.dumps(config), file=sys.stderr)
    torch.set_grad_enabled(True)

    for threads in args.threads:
        torch.set_num_threads(threads)
        assert torch.get_num_threads() == threads
        for H in args.sizes:
            if "train" in modes:
                for B in args.batches:
                    samples, cpu, first, last = time_train(H, B, warmup, reps, args.seed)
                    med = statistics.median(samples)
                    flops = train_flops_per_step(H, B)
                    emit({"engine": "pytorch", "mode": "train", "H": H, "E": H, "B": B,
                          "threads": threads, "median": B * T / med, "unit": "tokens/s",
                          "gflops": flops / med / 1e9, "flops": flops,
                          "samples": [B * T / s for s in samples], "step_seconds": med,
                          "cpu_median": B * T / max(statistics.median(cpu), 1e-9),
                          "reps": reps, "warmup": warmup, "V": V, "S": S, "T": T,
                          "loss_first": first, "loss_last": last, "config": config}, args.out)
            if "decode" in modes:
                samples, cpu = time_decode(H, warmup, reps, args.seed)
                us = [s / T * 1e6 for s in samples]
                med = statistics.median(us)
                flops = decode_flops_per_token(H)
                emit({"engine": "pytorch", "mode": "decode", "H": H, "E": H, "B": 1,
                      "threads": threads, "median": med, "unit": "us/token",
                      "gflops": flops / (med * 1e-6) / 1e9, "flops": flops, "samples": us,
                      "cpu_median": statistics.median(cpu) / T * 1e6,
                      "reps": reps, "warmup": warmup, "V": V, "S": S, "T": T,
                      "config": config}, args.out)


if __name__ == "__main__":
    main()
