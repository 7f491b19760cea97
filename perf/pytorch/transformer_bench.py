#!/usr/bin/python3
"""PyTorch side of the Transformer comparison: SpanAttention's TransformerSeq2Seq workload, timed in torch 1.13.

Run with Debian's interpreter:
    /usr/bin/python3 perf/pytorch/transformer_bench.py --sizes 64,256 --modes train,decode --threads 1
    /usr/bin/python3 perf/pytorch/transformer_bench.py --sizes 64,256 --export DIR     (reference data, then exit)
    /usr/bin/python3 perf/pytorch/transformer_bench.py --self-check                    (cached decoder = full forward)

The BLAS set-up is seq2seq_bench.py's (local OpenBLAS, re-exec; --system-blas to skip it).

Workload (identical in both engines; perf/SpanAttention.Benchmarks/TransformerJson.cs is the C# side)
------------------------------------------------------------------------------------------------------
  V = 64 both sides, S = T = 32, BOS = token 0, padding id 63 (never in the data: sources 0..62, targets 1..62).
  Sizes: E = 64 -> 4 heads, F = 256 ("small"); E = 256 -> 8 heads, F = 1024 ("medium"); any other E -> 8 heads,
  F = 4E. L = 2 encoder and 2 decoder layers, post-norm, ReLU, no dropout, batch_first.
  Model (SpanAttention's TransformerSeq2Seq, and the state_dict names it reads):
      x = sqrt(E) * encoder.embedding(src) + PE;      x = encoder.layers[k](x)          nn.TransformerEncoderLayer
      y = sqrt(E) * decoder.embedding(tgt_in) + PE;   y = decoder.layers[k](y, x, causal mask)   nn.TransformerDecoderLayer
      logits = decoder.out(y)                                                           nn.Linear(E, V)
  PE: the sinusoidal table of "Attention Is All You Need" (float32 buffer). No final norm (post-norm layers end
  with one). Every row has full length: no padding masks, only the causal mask.
  (a) Training step: zero_grad(set_to_none), teacher-forced forward of all T positions at once, mean
      cross-entropy over the B*T targets, backward, Adam(lr=1e-3, foreach=True) step. Throughput = B*T / median
      step time [target tokens/s], B = 32.
  (b) Decoding: greedy at batch 1, exactly T = 32 tokens (no EOS stop), under torch.inference_mode(), with a
      key/value cache written out by hand (PyTorch 1.13 has none): the encoder runs once (nn.TransformerEncoderLayer
      in eval mode, PyTorch's own fast path), each decoder layer's cross-attention keys and values of the memory
      are projected once, and every step runs ONE new position through the decoder layers: its q, k, v from one
      in_proj GEMV, k and v written into the layer's preallocated (heads, T, D) cache, attention of q over the
      t + 1 cached keys (torch.bmm, softmax, torch.bmm), out_proj, norm1, the cross-attention query over the cached
      memory keys/values, norm2, the feed-forward, norm3, then decoder.out and argmax. O(t) attention work per
      step, as SpanAttention's DecodeStep. Latency = (encoder + 32 steps) / 32 [us/token].
  --self-check verifies the cached decoder against the model's full teacher-forced forward (logits of every
  step, greedy tokens).

Rows: seq2seq_bench.py's JSON line format with "workload": "transformer", H = E (the table's key), plus heads, F,
layers; --export writes export_reference.py's file layout (DIR/H<E>/weights.bin, batch_B<B>.bin time-major
[S, B] / [T, B] int64, decode_src.bin [S, 1], reference.json with the losses of `steps` Adam steps and the greedy
tokens), which perf/anchor-common/Reference.cs reads.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from seq2seq_bench import blas_config, emit, int_list  # noqa: E402  (sets up OpenBLAS, re-execs this script)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

V, S, T, BOS, PAD, LAYERS = 64, 32, 32, 0, 63, 2


def shape_of(e):
    """E -> (heads, F): the small and medium sizes, else 8 heads and F = 4E."""
    return {64: (4, 256), 256: (8, 1024)}.get(e, (8, 4 * e))


def sinusoidal(steps, e):
    position = torch.arange(steps, dtype=torch.float64).unsqueeze(1)
    div = torch.exp(torch.arange(0, e, 2, dtype=torch.float64) * (-math.log(10000.0) / e))
    pe = torch.zeros(steps, e, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div)
    return pe.float()


class Stack(nn.Module):
    def __init__(self, vocab, e, layers):
        super().__init__()
        self.embedding = nn.Embedding(vocab, e)
        self.layers = nn.ModuleList(layers)


class Seq2SeqTransformer(nn.Module):
    def __init__(self, e, heads, f, layers=LAYERS, vocab=V):
        super().__init__()
        self.e, self.heads = e, heads
        self.encoder = Stack(vocab, e, [nn.TransformerEncoderLayer(e, heads, f, dropout=0.0, batch_first=True)
                                        for _ in range(layers)])
        self.decoder = Stack(vocab, e, [nn.TransformerDecoderLayer(e, heads, f, dropout=0.0, batch_first=True)
                                        for _ in range(layers)])
        self.decoder.out = nn.Linear(e, vocab)
        with torch.no_grad():               # N(0, 1/E) embeddings, as TransformerSeq2Seq initialises them
            self.encoder.embedding.weight.mul_(1.0 / math.sqrt(e))
            self.decoder.embedding.weight.mul_(1.0 / math.sqrt(e))
        self.register_buffer("pe", sinusoidal(max(S, T), e), persistent=False)
        self.register_buffer("causal", torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1), persistent=False)

    def encode(self, src):                                   # src (B, S) -> memory (B, S, E)
        x = self.encoder.embedding(src) * math.sqrt(self.e) + self.pe[:src.shape[1]]
        for layer in self.encoder.layers:
            x = layer(x)
        return x

    def forward(self, src, tgt_in):                          # (B, S), (B, T) -> logits (B, T, V)
        memory = self.encode(src)
        t = tgt_in.shape[1]
        y = self.decoder.embedding(tgt_in) * math.sqrt(self.e) + self.pe[:t]
        for layer in self.decoder.layers:
            y = layer(y, memory, tgt_mask=self.causal[:t, :t])
        return self.decoder.out(y)

    def loss(self, src, tgt_in, tgt_out):
        logits = self(src, tgt_in)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), ignore_index=PAD)


class CachedGreedy:
    """Greedy decoding at batch 1 with a key/value cache (see the module docstring, (b)); call under inference_mode."""

    def __init__(self, model, steps=T):
        self.model, self.steps = model, steps
        e, heads = model.e, model.heads
        self.d = e // heads
        self.scale = 1.0 / math.sqrt(self.d)
        self.layers = []
        for layer in model.decoder.layers:               # weight views sliced once, not per step
            w, b = layer.multihead_attn.in_proj_weight, layer.multihead_attn.in_proj_bias
            self.layers.append({
                "layer": layer, "w_q": w[:e], "b_q": b[:e], "w_kv": w[e:], "b_kv": b[e:],
                "keys": torch.zeros(heads, steps, self.d), "values": torch.zeros(heads, steps, self.d)})

    def __call__(self, src):                               # src (1, S) -> tokens (steps,)
        model, heads, d, scale = self.model, self.model.heads, self.d, self.scale
        e = model.e
        memory = model.encode(src)[0]                        # (S, E)
        s = memory.shape[0]
        for c in self.layers:                                # the memory's keys and values, once per layer
            kv = F.linear(memory, c["w_kv"], c["b_kv"])      # (S, 2E)
            c["memory_keys_t"] = kv[:, :e].reshape(s, heads, d).permute(1, 2, 0).contiguous()   # (heads, D, S)
            c["memory_values"] = kv[:, e:].reshape(s, heads, d).transpose(0, 1).contiguous()    # (heads, S, D)
        embedding, out, pe, root_e = model.decoder.embedding.weight, model.decoder.out, model.pe, math.sqrt(e)
        token = BOS
        tokens = torch.empty(self.steps, dtype=torch.long)
        for t in range(self.steps):
            y = (embedding[token] * root_e + pe[t]).unsqueeze(0)                  # (1, E)
            for c in self.layers:
                layer = c["layer"]
                sa = layer.self_attn
                qkv = F.linear(y, sa.in_proj_weight, sa.in_proj_bias).view(3, heads, d)   # (3, heads, D)
                c["keys"][:, t] = qkv[1]
                c["values"][:, t] = qkv[2]
                keys, values = c["keys"][:, :t + 1], c["values"][:, :t + 1]          # (heads, t+1, D) views
                p = torch.softmax(torch.bmm(qkv[0].unsqueeze(1) * scale, keys.transpose(1, 2)), dim=-1)   # (heads, 1, t+1)
                a = sa.out_proj(torch.bmm(p, values).view(1, e))
                u1 = layer.norm1(y + a)
                q = F.linear(u1, c["w_q"], c["b_q"]).view(heads, 1, d)
                p = torch.softmax(torch.bmm(q * scale, c["memory_keys_t"]), dim=-1)   # (heads, 1, S)
                u2 = layer.norm2(u1 + layer.multihead_attn.out_proj(torch.bmm(p, c["memory_values"]).view(1, e)))
                y = layer.norm3(u2 + layer.linear2(F.relu(layer.linear1(u2))))
            self.last_logits = logits = out(y)                                     # (1, V)
            token = int(logits.argmax(dim=1))
            tokens[t] = token
        return tokens


def build(e, seed):
    heads, f = shape_of(e)
    torch.manual_seed(seed)
    return Seq2SeqTransformer(e, heads, f)


def make_batch(B, gen):
    src = torch.randint(0, V - 1, (B, S), generator=gen)                 # 0..62
    tgt = torch.randint(1, V - 1, (B, T), generator=gen)                 # 1..62
    tgt_in = torch.cat([torch.full((B, 1), BOS, dtype=torch.long), tgt[:, :-1]], dim=1)
    return src, tgt_in, tgt


def time_train(e, B, warmup, reps, seed):
    model = build(e, seed).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=True)
    src, tgt_in, tgt_out = make_batch(B, torch.Generator().manual_seed(seed))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model.loss(src, tgt_in, tgt_out)
        loss.backward()
        opt.step()
        return loss

    first = None
    for i in range(warmup):
        loss = step().item()
        first = loss if i == 0 else first
    samples, cpu = [], []
    for _ in range(reps):
        c0, t0 = time.process_time(), time.perf_counter()
        loss = step()
        samples.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return samples, cpu, first, loss.item()


def time_decode(e, warmup, reps, seed):
    model = build(e, seed).eval()
    gen = torch.Generator().manual_seed(seed)
    src, _, _ = make_batch(1, gen)
    samples, cpu = [], []
    with torch.inference_mode():
        greedy = CachedGreedy(model)
        for _ in range(warmup):
            greedy(src)
        for _ in range(reps):
            c0, t0 = time.process_time(), time.perf_counter()
            tokens = greedy(src)
            samples.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return samples, cpu, tokens.tolist()


def self_check(e=64, seed=7):
    """The cached decoder computes the model's full forward: at every step its logits equal the last position of
    the teacher-forced forward over the tokens so far (eval mode, float32), and its greedy tokens are those of
    recomputing every prefix. Returns the largest logit difference."""
    model = build(e, seed).eval()
    src, _, _ = make_batch(1, torch.Generator().manual_seed(seed))
    worst = 0.0
    with torch.inference_mode():
        greedy = CachedGreedy(model)
        tokens = greedy(src)
        fed = [BOS]
        for t in range(T):
            full = model(src, torch.tensor([fed]))[0, -1]
            step = CachedGreedy(model, steps=t + 1)
            step(src)
            worst = max(worst, float((step.last_logits[0] - full).abs().max()))
            if int(full.argmax()) != int(tokens[t]):
                raise AssertionError("self-check failed: step %d, cached token %d, full forward %d" % (t, tokens[t], int(full.argmax())))
            fed.append(int(tokens[t]))
    if worst > 1e-4:
        raise AssertionError("self-check failed: cached logits differ from the full forward by %g" % worst)
    return worst


def write_tensor(path, t):
    with open(path, "wb") as f:
        f.write(t.detach().contiguous().numpy().tobytes())


def export(e, batches, steps, seed, out):
    """export_reference.py's layout for the Transformer of size E (module docstring)."""
    os.makedirs(out, exist_ok=True)
    heads, f = shape_of(e)
    model = build(e, seed)
    state = {n: p.detach().clone() for n, p in model.named_parameters()}
    params, offset = [], 0
    with open(os.path.join(out, "weights.bin"), "wb") as fh:
        for name, p in state.items():
            fh.write(p.contiguous().numpy().tobytes())
            params.append({"name": name, "shape": list(p.shape), "offset": offset})
            offset += p.numel()
    ref = {"workload": "transformer", "H": e, "E": e, "heads": heads, "F": f, "layers": LAYERS, "V": V, "S": S, "T": T,
           "BOS": BOS, "padding": PAD, "seed": seed, "torch": torch.__version__, "parameters": params, "batches": {}}
    for B in batches:
        train_model = build(e, seed).train()
        src, tgt_in, tgt_out = make_batch(B, torch.Generator().manual_seed(seed))
        write_tensor(os.path.join(out, "batch_B%d.bin" % B), torch.cat([src.T, tgt_in.T, tgt_out.T], dim=0))
        opt = torch.optim.Adam(train_model.parameters(), lr=1e-3, foreach=True)
        losses = []
        for i in range(steps + 1):
            opt.zero_grad(set_to_none=True)
            loss = train_model.loss(src, tgt_in, tgt_out)
            losses.append(loss.item())
            if i < steps:
                loss.backward()
                opt.step()
        ref["batches"][str(B)] = {"file": "batch_B%d.bin" % B, "losses": losses}
    src, _, _ = make_batch(1, torch.Generator().manual_seed(seed))
    write_tensor(os.path.join(out, "decode_src.bin"), src.T)
    model.eval()
    with torch.inference_mode():
        ref["decode"] = {"file": "decode_src.bin", "tokens": CachedGreedy(model)(src).tolist()}
    with open(os.path.join(out, "reference.json"), "w") as fh:
        json.dump(ref, fh, indent=1)
    print("transformer_bench: E=%d -> %s (losses %s, tokens %s)"
          % (e, out, {b: round(v["losses"][0], 6) for b, v in ref["batches"].items()}, ref["decode"]["tokens"][:8]),
          file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int_list, default=[64, 256], help="E values (64: 4 heads F=256; 256: 8 heads F=1024)")
    p.add_argument("--batch", type=int, default=32, help="training batch size")
    p.add_argument("--threads", type=int_list, default=[1], help="torch.set_num_threads values")
    p.add_argument("--modes", default="train,decode", help="train,decode (decode is always batch 1)")
    p.add_argument("--reps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--steps", type=int, default=3, help="--export: Adam steps whose losses are recorded")
    p.add_argument("--export", metavar="DIR", help="write the reference data for --sizes to DIR/H<E>/ and exit")
    p.add_argument("--out", help="append the JSON lines to this file as well")
    p.add_argument("--system-blas", action="store_true", help="do not switch to OpenBLAS (baseline)")
    p.add_argument("--self-check", action="store_true", help="check the cached decoder against the full forward, then exit")
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.self_check:
        print("self-check passed: cached decoder logits within %.3g of the full forward, greedy tokens equal" % self_check())
        return
    if args.export:
        for e in args.sizes:
            export(e, [args.batch], args.steps, args.seed, os.path.join(args.export, "H%d" % e))
        return
    config = blas_config(args.system_blas)
    print("transformer_bench: %s" % json.dumps(config), file=sys.stderr)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for threads in args.threads:
        torch.set_num_threads(threads)
        for e in args.sizes:
            heads, f = shape_of(e)
            common = {"engine": "pytorch", "workload": "transformer", "H": e, "E": e, "heads": heads, "F": f,
                      "layers": LAYERS, "threads": threads, "reps": args.reps, "warmup": args.warmup, "V": V, "S": S, "T": T}
            if "train" in modes:
                samples, cpu, first, last = time_train(e, args.batch, args.warmup, args.reps, args.seed)
                med = statistics.median(samples)
                B = args.batch
                emit(dict(common, mode="train", B=B, median=B * T / med, unit="tokens/s",
                          samples=[B * T / s for s in samples], step_seconds=med,
                          cpu_median=B * T / max(statistics.median(cpu), 1e-9), loss_first=first, loss_last=last,
                          config=config), args.out)
            if "decode" in modes:
                samples, cpu, tokens = time_decode(e, args.warmup, args.reps, args.seed)
                us = [s / T * 1e6 for s in samples]
                emit(dict(common, mode="decode", B=1, median=statistics.median(us), unit="us/token", samples=us,
                          cpu_median=statistics.median(cpu) / T * 1e6, tokens=tokens, config=config), args.out)


if __name__ == "__main__":
    main()
