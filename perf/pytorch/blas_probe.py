#!/usr/bin/python3
"""Where PyTorch's time goes at batch 1: nn.Linear (BLAS sgemm with one row) vs torch.mv (sgemv).

Usage: /usr/bin/python3 perf/pytorch/blas_probe.py [--sizes 64,256,1024] [--threads 1]
Uses the same environment as seq2seq_bench.py (local OpenBLAS via setup_openblas.sh, re-exec).
Prints one JSON line per (H, shape): microseconds per call (process CPU time, so a loaded machine
distorts it less) for F.linear(x[1, in], W) and torch.mv(W, x[in]), plus a 1024^3 sgemm GFLOP/s.
The shapes are the decoder's per-token matmuls: GRUCell W_ih [3H, 2H], W_hh [3H, H], W_q [H, H],
out [V, H].  torch 1.13 routes a batch-1 Linear to sgemm (M = 1), never to sgemv; OpenBLAS 0.3.21's
AVX2 (Zen/Haswell) sgemm is several times slower than its sgemv for that shape, which is most of
PyTorch's batch-1 decode time here.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seq2seq_bench  # noqa: E402,F401  (sets up OpenBLAS and re-executes if needed)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def cpu_us(f, seconds=0.2):
    for _ in range(20):
        f()
    n, c0 = 0, time.process_time()
    while time.process_time() - c0 < seconds:
        f()
        n += 1
    return (time.process_time() - c0) / n * 1e6


def main():
    sizes = [64, 256, 1024]
    threads = 1
    args = sys.argv[1:]
    if "--sizes" in args:
        sizes = [int(x) for x in args[args.index("--sizes") + 1].split(",")]
    if "--threads" in args:
        threads = int(args[args.index("--threads") + 1])
    torch.set_num_threads(threads)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    us = cpu_us(lambda: a @ b, 0.5)
    print(json.dumps({"probe": "sgemm1024", "threads": threads, "gflops": round(2 * 1024 ** 3 / us / 1e3, 1),
                      "config": seq2seq_bench.blas_config(False)}))
    for H in sizes:
        for name, rows, cols in (("cell.weight_ih", 3 * H, 2 * H), ("cell.weight_hh", 3 * H, H),
                                 ("attention.W_q", H, H), ("out", 64, H)):
            W, x = torch.randn(rows, cols), torch.randn(cols)
            x2 = x.unsqueeze(0)
            lin = cpu_us(lambda: F.linear(x2, W))
            mv = cpu_us(lambda: torch.mv(W, x))
            print(json.dumps({"probe": "batch1", "H": H, "weight": name, "shape": [rows, cols],
                              "linear_us": round(lin, 2), "mv_us": round(mv, 2),
                              "linear_over_mv": round(lin / mv, 2)}))


if __name__ == "__main__":
    main()
