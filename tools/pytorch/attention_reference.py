#!/usr/bin/env python3
"""Reference data for SpanAttention's attention scorers (tests/SpanAttention.Tests/Attention/AttentionPyTorchTests.cs).

Run with the Debian interpreter that has torch 1.13:  /usr/bin/python3 tools/pytorch/attention_reference.py
Writes tests/SpanAttention.Tests/TestData/attention/<scorer>.json: inputs, parameters (PyTorch state_dict
names and nn.Linear default initialisation), outputs and every gradient of
    loss = sum(context * dContext) + sum(weights * dWeights)
Inputs are drawn in float32; the computation runs in float64 so the reference is exact to ~1e-15.

Layout (row-major, flattened): queries (T, B, Dq), keys (B, S, Dk), values (B, S, Dv), weights (T, B, S),
context (T, B, Dv). lengths (B): valid prefix of each source row; a row with length 0 gets zero weights and a
zero context (PyTorch 1.13's softmax would give NaN there, so the mask is applied as -inf-free "safe softmax":
masked scores are replaced by the dtype's minimum and the weights multiplied by the mask).
"""
import json
import math
import os

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "SpanAttention.Tests", "TestData", "attention")


class Attention(nn.Module):
    """The four scorers, named like SpanAttention's slots (prefix 'attention.' when held as model.attention)."""

    def __init__(self, scorer, dq, dk, a):
        super().__init__()
        self.scorer = scorer
        self.dk = dk
        if scorer == "general":
            self.W = nn.Linear(dk, dq, bias=False)          # attention.W.weight [Dq, Dk]
        elif scorer == "additive":
            self.W_q = nn.Linear(dq, a, bias=False)         # attention.W_q.weight [A, Dq]
            self.W_k = nn.Linear(dk, a)                     # attention.W_k.weight [A, Dk], attention.W_k.bias [A]
            self.v = nn.Linear(a, 1, bias=False)            # attention.v.weight [1, A]

    def forward(self, q, k, v, mask):
        # q: (T, B, Dq), k: (B, S, Dk), v: (B, S, Dv), mask: (B, S) bool
        if self.scorer == "dot":
            s = torch.einsum("tbd,bsd->tbs", q, k)
        elif self.scorer == "scaled_dot":
            s = torch.einsum("tbd,bsd->tbs", q, k) / math.sqrt(self.dk)
        elif self.scorer == "general":
            s = torch.einsum("tbd,bsd->tbs", q, self.W(k))
        else:
            h = torch.tanh(self.W_q(q).unsqueeze(2) + self.W_k(k).unsqueeze(0))   # (T, B, S, A)
            s = self.v(h).squeeze(-1)                                              # (T, B, S)
        m = mask.unsqueeze(0).expand_as(s)
        s = s.masked_fill(~m, torch.finfo(s.dtype).min)
        a = torch.softmax(s, dim=-1) * m                                           # safe softmax: masked -> exactly 0
        c = torch.einsum("tbs,bsd->tbd", a, v)
        return a, c


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def case(scorer, seed, B=3, S=7, T=3, Dq=5, Dk=6, Dv=4, A=9, lengths=(7, 4, 0)):
    torch.manual_seed(seed)
    if scorer in ("dot", "scaled_dot"):
        Dk = Dq
    module = Attention(scorer, Dq, Dk, A)                    # nn.Linear default init, in float32
    q = torch.rand(T, B, Dq) * 2 - 1
    k = torch.rand(B, S, Dk) * 2 - 1
    v = torch.rand(B, S, Dv) * 2 - 1
    dc = torch.rand(T, B, Dv) * 2 - 1
    da = torch.rand(T, B, S) * 2 - 1
    mask = torch.arange(S).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    module = module.double()
    q, k, v = (x.double().requires_grad_() for x in (q, k, v))
    a, c = module(q, k, v, mask)
    loss = (c * dc.double()).sum() + (a * da.double()).sum()
    loss.backward()
    params = {"attention." + n: flat(p) for n, p in module.named_parameters()}
    shapes = {"attention." + n: list(p.shape) for n, p in module.named_parameters()}
    grads = {"attention." + n: flat(p.grad) for n, p in module.named_parameters()}
    return {
        "scorer": scorer, "torch": torch.__version__, "seed": seed,
        "B": B, "S": S, "T": T, "Dq": Dq, "Dk": Dk, "Dv": Dv, "A": A if scorer == "additive" else 0,
        "lengths": list(lengths),
        "parameters": params, "shapes": shapes,
        "queries": flat(q), "keys": flat(k), "values": flat(v),
        "dContext": flat(dc), "dWeights": flat(da),
        "weights": flat(a), "context": flat(c),
        "dQueries": flat(q.grad), "dKeys": flat(k.grad), "dValues": flat(v.grad),
        "dParameters": grads,
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    for i, scorer in enumerate(["dot", "scaled_dot", "general", "additive"]):
        data = case(scorer, seed=100 + i)
        path = os.path.join(OUT, scorer + ".json")
        with open(path, "w") as f:
            json.dump(data, f, separators=(",", ":"))
            f.write("\n")
        print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
