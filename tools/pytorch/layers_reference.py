#!/usr/bin/python3
"""Reference numbers for SpanAttention.Seq2Seq's output-side layers from torch 1.13 (run with /usr/bin/python3).

  /usr/bin/python3 tools/pytorch/layers_reference.py

Writes tests/SpanAttention.Tests/TestData/seq2seq/layers_reference.json for the chain
    x = nn.Embedding(7, 5, padding_idx=0)(ids)          # (N, E) = (6, 5)
    logits = nn.Linear(5, 7)(x)                          # (N, V) = (6, 7)
    loss = F.cross_entropy(logits, targets, ignore_index=0)
with padding ids in the input (twice), a repeated id, and ignored targets: the parameters, the forward
values, the loss and every gradient (embedding.weight, out.weight, out.bias, and the logits and x).
Floats are the Python repr of float32 values, so they round-trip exactly.
"""
import json
import os

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "SpanAttention.Tests", "TestData", "seq2seq", "layers_reference.json")


def flat(t):
    return [float(v) for v in t.detach().flatten().tolist()]


def main():
    torch.manual_seed(7)
    embedding = nn.Embedding(7, 5, padding_idx=0)
    out = nn.Linear(5, 7)
    ids = torch.tensor([3, 0, 5, 5, 1, 0])
    targets = torch.tensor([2, 0, 6, 1, 0, 4])
    x = embedding(ids)
    x.retain_grad()
    logits = out(x)
    logits.retain_grad()
    loss = F.cross_entropy(logits, targets, ignore_index=0)
    loss.backward()
    data = {
        "vocabulary": 7, "embedding": 5, "padding_id": 0, "ignore_index": 0,
        "ids": ids.tolist(), "targets": targets.tolist(),
        "decoder.embedding.weight": flat(embedding.weight), "decoder.out.weight": flat(out.weight), "decoder.out.bias": flat(out.bias),
        "x": flat(x), "logits": flat(logits), "loss": float(loss),
        "d_decoder.embedding.weight": flat(embedding.weight.grad), "d_decoder.out.weight": flat(out.weight.grad),
        "d_decoder.out.bias": flat(out.bias.grad), "d_logits": flat(logits.grad), "d_x": flat(x.grad),
    }
    with open(OUT, "w") as f:
        json.dump(data, f, indent=0)
    print("wrote", OUT, "loss", float(loss))


if __name__ == "__main__":
    main()
