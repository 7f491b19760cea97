#!/usr/bin/env python3
"""Reference cases for SpanAttention's recurrent layers, computed by PyTorch.

For each of nn.RNN (tanh), nn.GRU and nn.LSTM (2 layers, bidirectional, batch_first) this writes one JSON
file to tests/SpanAttention.Tests/TestData/recurrent/<kind>.json holding: random parameters (drawn as
float32, so the C# side loads them exactly), a padded batch with unsorted variable lengths fed through
pack_padded_sequence(enforce_sorted=False), random initial states, the outputs (pad_packed_sequence, zero
at padded steps), the final states h_n (and c_n), and the gradient of the random linear functional
    loss = sum(output * w_out) + sum(h_n * w_h) [+ sum(c_n * w_c)]
with respect to x, h0 (c0) and every parameter, keyed by state_dict name.

The module runs in float64 on the float32 inputs, so the references are exact up to double round-off and
the C# float32 engine is compared against the true values.

Run with Debian's interpreter (it has torch 1.13):  /usr/bin/python3 tools/pytorch/recurrent_reference.py
"""
import json
import os

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

B, S, I, H, L = 3, 5, 4, 6, 2
LENGTHS = [3, 5, 2]  # unsorted on purpose
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "SpanAttention.Tests", "TestData", "recurrent")


def f32(t):
    """Round to float32 and return as float64 (the exact value the C# side will load)."""
    return t.float().double()


def flat(t, digits):
    return [float(format(v, f".{digits}g")) for v in t.detach().reshape(-1).tolist()]


def case(kind, module_type, seed):
    torch.manual_seed(seed)
    m = module_type(I, H, num_layers=L, bidirectional=True, batch_first=True).double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(f32(p.uniform_(-0.5, 0.5)))
    x = f32(torch.rand(B, S, I, dtype=torch.float64) * 2 - 1)
    for b, n in enumerate(LENGTHS):
        x[b, n:] = 0.0  # padding (finite, ignored)
    x.requires_grad_(True)
    h0 = f32(torch.rand(2 * L, B, H, dtype=torch.float64) - 0.5).requires_grad_(True)
    c0 = f32(torch.rand(2 * L, B, H, dtype=torch.float64) - 0.5).requires_grad_(True)
    w_out = f32(torch.rand(B, S, 2 * H, dtype=torch.float64) * 2 - 1)
    w_h = f32(torch.rand(2 * L, B, H, dtype=torch.float64) * 2 - 1)
    w_c = f32(torch.rand(2 * L, B, H, dtype=torch.float64) * 2 - 1)

    packed = pack_padded_sequence(x, torch.tensor(LENGTHS), batch_first=True, enforce_sorted=False)
    lstm = kind == "lstm"
    if lstm:
        out_packed, (h_n, c_n) = m(packed, (h0, c0))
    else:
        out_packed, h_n = m(packed, h0)
    out, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=S)
    loss = (out * w_out).sum() + (h_n * w_h).sum()
    if lstm:
        loss = loss + (c_n * w_c).sum()
    loss.backward()

    data = {
        "kind": kind, "input_size": I, "hidden_size": H, "num_layers": L, "bidirectional": True,
        "batch": B, "steps": S, "lengths": LENGTHS,
        "x": flat(x, 9), "h0": flat(h0, 9),
        "parameters": {name: flat(p, 9) for name, p in m.named_parameters()},
        "w_out": flat(w_out, 9), "w_h": flat(w_h, 9),
        "output": flat(out, 12), "h_n": flat(h_n, 12), "loss": loss.item(),
        "grad_x": flat(x.grad, 12), "grad_h0": flat(h0.grad, 12),
        "grad_parameters": {name: flat(p.grad, 12) for name, p in m.named_parameters()},
    }
    if lstm:
        data.update({"c0": flat(c0, 9), "w_c": flat(w_c, 9), "c_n": flat(c_n, 12), "grad_c0": flat(c0.grad, 12)})
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, f"{kind}.json"), "w") as f:
        json.dump(data, f, separators=(",", ":"))


if __name__ == "__main__":
    case("rnn", torch.nn.RNN, 1)
    case("gru", torch.nn.GRU, 2)
    case("lstm", torch.nn.LSTM, 3)
