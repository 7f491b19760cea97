#!/usr/bin/python3
"""Reference data for the other engines' anchors: the PyTorch model of seq2seq_bench.py, its weights, batches
and results, and (with --onnx) its encoder and one decoder step as ONNX graphs.

Run with Debian's interpreter (torch 1.13):
    /usr/bin/python3 perf/pytorch/export_reference.py --sizes 64,256 --batches 32,1 --out DIR [--onnx] [--int8]

For every H it writes DIR/H<H>/ with
  weights.bin            the 16 parameters of seq2seq_bench.EXPECTED_NAMES, float32 little-endian, concatenated
                         in that order (the model seq2seq_bench.py times: torch.manual_seed(seed); Seq2Seq(V, H, H))
  batch_B<B>.bin         one training batch, int64: src [S, B], tgt_in [T, B], tgt_out [T, B] (make_batch(B, gen),
                         gen = torch.Generator().manual_seed(seed), as in time_train)
  decode_src.bin         the decoding source, int64 [S, 1] (make_batch(1, gen), as in time_decode)
  reference.json         names, shapes and float offsets of the weights; per batch the teacher-forced loss of the
                         initial weights and after each of `steps` Adam(lr=1e-3) steps (losses[0] is the loss the
                         first training step reports); the greedy tokens of decode_src (32 tokens, no EOS stop)
  encoder.onnx           (--onnx) src int64 [S, 1] -> keys [1, S, H], projected_keys [1, S, A] (= W_k K + b),
                         hidden [1, H]
  decoder_step.onnx      (--onnx) token int64 [1], hidden [1, H], projected_keys, keys -> next_token int64 [1]
                         (argmax of the logits), next_hidden [1, H]; one step of Seq2Seq.greedy
  *_int8.onnx            (--int8, needs python3-onnx) the same graphs with every weight matrix of a MatMul or Gemm
                         stored as int8 (see quantize_dynamic_int8.py: onnxruntime.quantization is a PyPI package
                         this machine cannot install; the rewrite is the one its quantize_dynamic applies)
The weights are a few MB at H = 256 and about 70 MB at H = 1024 (and as much again per ONNX graph set), so the
output goes to a scratch directory (perf/compare.sh uses its --out directory), never into the repository.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# Reference data, not timing: the BLAS does not matter, so skip seq2seq_bench's OpenBLAS re-exec.
os.environ["SEQ2SEQ_BENCH_ENV_READY"] = "1"
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from seq2seq_bench import EXPECTED_NAMES, Seq2Seq, check_names, make_batch  # noqa: E402
from workload import BOS, S, T, V  # noqa: E402


class EncoderGraph(nn.Module):
    """Encoder plus the once-per-sequence key projection, batch 1."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, src):                                  # src [S, 1] int64
        K, h = self.model.encoder(src)                       # K [1, S, H], h [1, H]
        return K, self.model.decoder.attention.project_keys(K), h


class DecoderStepGraph(nn.Module):
    """One greedy decoder step: embedding, attention, GRU cell, output projection, argmax."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, token, h, Kp, K):                      # token [1], h [1, H], Kp [1, S, A], K [1, S, H]
        d = self.model.decoder
        h = d.step(d.embedding(token), h, Kp, K)
        return d.out(h).argmax(dim=1), h                     # next token [1], next hidden [1, H]


def write_tensor(path, t):
    with open(path, "wb") as f:
        f.write(t.detach().contiguous().numpy().tobytes())


def export(H, batches, steps, seed, out, onnx, int8):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(seed)
    model = Seq2Seq(V, H, H)
    check_names(model)
    state = {n: p.detach().clone() for n, p in model.named_parameters()}
    params, offset = [], 0
    with open(os.path.join(out, "weights.bin"), "wb") as f:
        for name in EXPECTED_NAMES:
            t = state[name].contiguous()
            f.write(t.numpy().tobytes())
            params.append({"name": name, "shape": list(t.shape), "offset": offset})
            offset += t.numel()
    ref = {"H": H, "E": H, "A": H, "V": V, "S": S, "T": T, "BOS": BOS, "seed": seed,
           "torch": torch.__version__, "parameters": params, "batches": {}}

    for B in batches:
        torch.manual_seed(seed)
        train_model = Seq2Seq(V, H, H)
        train_model.load_state_dict(state, strict=True)
        gen = torch.Generator().manual_seed(seed)
        src, tgt_in, tgt_out = make_batch(B, gen)
        write_tensor(os.path.join(out, "batch_B%d.bin" % B), torch.cat([src, tgt_in, tgt_out], dim=0))
        opt = torch.optim.Adam(train_model.parameters(), lr=1e-3, foreach=True)
        losses = []
        for _ in range(steps + 1):
            opt.zero_grad(set_to_none=True)
            loss = train_model.loss(src, tgt_in, tgt_out)
            losses.append(loss.item())
            if len(losses) <= steps:
                loss.backward()
                opt.step()
        ref["batches"][str(B)] = {"file": "batch_B%d.bin" % B, "losses": losses}

    gen = torch.Generator().manual_seed(seed)
    src, _, _ = make_batch(1, gen)
    write_tensor(os.path.join(out, "decode_src.bin"), src)
    model.eval()
    with torch.inference_mode():
        tokens = model.greedy(src, T)[:, 0].tolist()
    ref["decode"] = {"file": "decode_src.bin", "tokens": tokens}

    if onnx:
        with torch.no_grad():
            K, Kp, h = EncoderGraph(model)(src)
            torch.onnx.export(EncoderGraph(model), (src,), os.path.join(out, "encoder.onnx"), opset_version=17,
                              input_names=["src"], output_names=["keys", "projected_keys", "hidden"])
            token = torch.full((1,), BOS, dtype=torch.long)
            torch.onnx.export(DecoderStepGraph(model), (token, h, Kp, K), os.path.join(out, "decoder_step.onnx"),
                              opset_version=17, input_names=["token", "hidden", "projected_keys", "keys"],
                              output_names=["next_token", "next_hidden"])
        ref["onnx"] = {"encoder": "encoder.onnx", "decoder_step": "decoder_step.onnx", "opset": 17}
        if int8:
            from quantize_dynamic_int8 import quantize_file
            ref["onnx_int8"] = {}
            for key in ("encoder", "decoder_step"):
                name = key + "_int8.onnx"
                ref["onnx_int8"][key] = name
                ref["onnx_int8"][key + "_quantized"] = quantize_file(
                    os.path.join(out, key + ".onnx"), os.path.join(out, name))
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
    print("export_reference: H=%d -> %s (losses %s, tokens %s)"
          % (H, out, {b: round(v["losses"][0], 6) for b, v in ref["batches"].items()}, tokens[:8]), file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="64,256,1024")
    p.add_argument("--batches", default="32,1")
    p.add_argument("--steps", type=int, default=3, help="Adam steps whose losses are recorded")
    p.add_argument("--seed", type=int, default=1234, help="seq2seq_bench.py's default seed")
    p.add_argument("--out", required=True)
    p.add_argument("--onnx", action="store_true", help="also export encoder.onnx and decoder_step.onnx")
    p.add_argument("--int8", action="store_true", help="also write int8 dynamic-quantised graphs (needs --onnx)")
    args = p.parse_args()
    torch.set_num_threads(1)
    for H in (int(x) for x in args.sizes.split(",") if x):
        export(H, [int(b) for b in args.batches.split(",") if b], args.steps, args.seed,
               os.path.join(args.out, "H%d" % H), args.onnx, args.int8 and args.onnx)


if __name__ == "__main__":
    main()
