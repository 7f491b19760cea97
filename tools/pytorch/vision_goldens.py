#!/usr/bin/python3
"""Reference numbers for SpanAttention.Vision's kernels from torch 1.13 (run with /usr/bin/python3).

  /usr/bin/python3 tools/pytorch/vision_goldens.py

Writes tests/SpanAttention.Tests/TestData/vision/<case>.json. Every case draws float32 inputs (and nn-default
float32 parameters for the convolutions), then runs in float64 so the reference is exact to ~1e-15, with
    loss = sum(output * d_output)
(d_output drawn at random), and stores the input x (B, C, H, W), the parameters under nn.Conv2d's state_dict
names (weight (C_out, C_in, k, k), bias (C_out)) with their shapes, the output, and every gradient (d_x and
d_parameters). Row-major (NCHW), flattened.

Cases:
  conv_k3_s1_p1     nn.Conv2d(3, 4, 3, stride=1, padding=1) on (2, 3, 7, 6)
  conv_k5_s2_p2     nn.Conv2d(2, 5, 5, stride=2, padding=2) on (2, 2, 9, 8)
  conv_k3_s2_p0     nn.Conv2d(4, 3, 3, stride=2, padding=0) on (1, 4, 11, 7)
  conv_k1           nn.Conv2d(5, 3, 1) on (3, 5, 4, 5)
  maxpool           nn.MaxPool2d(2, return_indices=True) on (2, 3, 7, 6) (odd H: the last row is dropped);
                    also the indices (flat ih*W + iw within each plane)
  adaptive_7x9_3x4  nn.AdaptiveAvgPool2d((3, 4)) on (2, 3, 7, 9) (overlapping windows)
  adaptive_5x4_7x6  nn.AdaptiveAvgPool2d((7, 6)) on (1, 2, 5, 4) (more cells than rows: windows repeat rows)
"""
import json
import os

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "SpanAttention.Tests", "TestData", "vision")


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def rand(*shape):
    return torch.rand(*shape) * 2 - 1


def write(name, data):
    path = os.path.join(OUT, name + ".json")
    with open(path, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    print(path, os.path.getsize(path), "bytes")


def shape_of(x):
    b, c, h, w = x.shape
    return {"B": b, "C": c, "H": h, "W": w}


def conv(name, seed, c_in, c_out, k, stride, padding, b, h, w):
    torch.manual_seed(seed)
    module = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding)
    x = rand(b, c_in, h, w)
    module = module.double()
    x = x.double().requires_grad_()
    y = module(x)
    dy = rand(*y.shape).double()
    (y * dy).sum().backward()
    named = list(module.named_parameters())
    write(name, {**shape_of(x), "C_out": c_out, "k": k, "stride": stride, "padding": padding,
                 "parameters": {n: flat(p) for n, p in named}, "shapes": {n: list(p.shape) for n, p in named},
                 "x": flat(x), "d_output": flat(dy), "output": flat(y), "d_x": flat(x.grad),
                 "d_parameters": {n: flat(p.grad) for n, p in named}})


def maxpool(name, seed, b, c, h, w):
    torch.manual_seed(seed)
    x = rand(b, c, h, w).double().requires_grad_()
    y, indices = nn.MaxPool2d(2, return_indices=True)(x)
    dy = rand(*y.shape).double()
    (y * dy).sum().backward()
    write(name, {**shape_of(x), "x": flat(x), "d_output": flat(dy), "output": flat(y),
                 "indices": [int(i) for i in indices.reshape(-1).tolist()], "d_x": flat(x.grad)})


def adaptive(name, seed, b, c, h, w, out_h, out_w):
    torch.manual_seed(seed)
    x = rand(b, c, h, w).double().requires_grad_()
    y = nn.AdaptiveAvgPool2d((out_h, out_w))(x)
    dy = rand(*y.shape).double()
    (y * dy).sum().backward()
    write(name, {**shape_of(x), "H_out": out_h, "W_out": out_w, "x": flat(x), "d_output": flat(dy),
                 "output": flat(y), "d_x": flat(x.grad)})


def main():
    os.makedirs(OUT, exist_ok=True)
    conv("conv_k3_s1_p1", 1, 3, 4, 3, 1, 1, 2, 7, 6)
    conv("conv_k5_s2_p2", 2, 2, 5, 5, 2, 2, 2, 9, 8)
    conv("conv_k3_s2_p0", 3, 4, 3, 3, 2, 0, 1, 11, 7)
    conv("conv_k1", 4, 5, 3, 1, 1, 0, 3, 4, 5)
    maxpool("maxpool", 5, 2, 3, 7, 6)
    adaptive("adaptive_7x9_3x4", 6, 2, 3, 7, 9, 3, 4)
    adaptive("adaptive_5x4_7x6", 7, 1, 2, 5, 4, 7, 6)


if __name__ == "__main__":
    main()
