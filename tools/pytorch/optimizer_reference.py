#!/usr/bin/python3
"""Reference numbers for SpanAttention.Training from torch 1.13 (run with /usr/bin/python3).

  /usr/bin/python3 tools/pytorch/optimizer_reference.py

Writes tests/SpanAttention.Tests/TestData/training/optimizer_reference.json:
  shapes        the parameter tensors, in the order the C# test registers them in a ParameterLayout
  params0       initial parameters, flattened and concatenated in that order
  grads         5 gradient sets (one per step), same layout
  optimizers    for each configuration: its options and the parameters after each of the 5 steps
                (the same gradients are fed at every step; torch.optim's single-tensor path, foreach=False)
  clip          clip_grad_norm_ cases: max_norm, the returned total norm and the gradients afterwards
  schedules     StepLR / ExponentialLR learning rates for epochs 0..9
Floats are written as Python repr of the float32 value, so they round-trip exactly.
"""
import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "SpanAttention.Tests", "TestData", "training", "optimizer_reference.json")

SHAPES = [(3, 5), (7,), (2, 3, 2), (19,)]  # 15 + 7 + 12 + 19 = 53 floats: odd, crosses SIMD blocks
STEPS = 5


def flat(tensors):
    return [float(v) for t in tensors for v in t.detach().flatten().tolist()]


def make_params(seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g) for s in SHAPES]


def run(factory):
    params = [p.clone().requires_grad_(True) for p in PARAMS0]
    opt = factory(params)
    history = []
    for step in range(STEPS):
        for p, g in zip(params, GRADS[step]):
            p.grad = g.clone()
        opt.step()
        history.append(flat(params))
    return history


torch.manual_seed(0)
PARAMS0 = make_params(1)
GRADS = [[0.5 * t for t in make_params(100 + k)] for k in range(STEPS)]
GRADS[2][1][3] = 0.0  # a zero gradient element

CONFIGS = {
    "adam_default": ({"kind": "adam"}, lambda ps: torch.optim.Adam(ps, foreach=False)),
    "adam_lr_wd": ({"kind": "adam", "lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.1},
                   lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, foreach=False)),
    "sgd_plain": ({"kind": "sgd", "lr": 0.1}, lambda ps: torch.optim.SGD(ps, lr=0.1, foreach=False)),
    "sgd_momentum": ({"kind": "sgd", "lr": 0.1, "momentum": 0.9},
                     lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, foreach=False)),
    "sgd_momentum_dampening_wd": ({"kind": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01},
                                  lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01, foreach=False)),
    "sgd_nesterov": ({"kind": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
                     lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01, foreach=False)),
}


def clip_case(max_norm, scale):
    params = [p.clone().requires_grad_(True) for p in PARAMS0]
    for p, g in zip(params, GRADS[0]):
        p.grad = scale * g.clone()
    before = flat([p.grad for p in params])
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return {"max_norm": max_norm, "grads": before, "norm": float(norm), "clipped": flat([p.grad for p in params])}


def schedules():
    out = {}
    for name, make in {"step_2_0.5": lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
                       "exponential_0.9": lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)}.items():
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        sched = make(opt)
        lrs = []
        for epoch in range(10):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        out[name] = lrs
    return out


def main():
    data = {
        "shapes": [list(s) for s in SHAPES],
        "params0": flat(PARAMS0),
        "grads": [flat(g) for g in GRADS],
        "optimizers": {name: {"options": opts, "params": run(factory)} for name, (opts, factory) in CONFIGS.items()},
        "clip": [clip_case(1.0, 1.0), clip_case(100.0, 1.0), clip_case(0.25, 3.0)],
        "schedules": schedules(),
    }
    with open(OUT, "w") as f:
        json.dump(data, f)
    print("wrote", OUT, os.path.getsize(OUT), "bytes; clip norms", [c["norm"] for c in data["clip"]])


if __name__ == "__main__":
    main()
