#!/usr/bin/python3
"""safetensors interop between PyTorch and SpanAttention, with only struct + json + torch.

Run with /usr/bin/python3 (torch 1.13; the `safetensors` package is not needed):

  /usr/bin/python3 tools/pytorch/write_safetensors.py
      Writes tests/SpanAttention.Tests/TestData/io/pytorch_gru_linear.safetensors: the state_dict of
      a small module (nn.GRU(4, 6) as `rnn`, nn.Linear(6, 3) as `out`, torch.manual_seed(1234)), and
      pytorch_gru_linear.json with every tensor's shape and values, which the C# tests check against.
      The header keys are written sorted by name while the data is in state_dict order, so the reader's
      "sort by begin" rule is exercised.

  /usr/bin/python3 tools/pytorch/write_safetensors.py --verify [FILE]
      Reads a file written by SpanAttention (default: TestData/io/csharp_gru_linear.safetensors, which
      the C# test ModelFile_WrittenFile_MatchesCommittedGolden proves the writer reproduces byte for
      byte), loads it with load_state_dict(strict=True) into the same module and checks the values the
      C# test wrote: value[i] = (i % 97) / 64 - 0.75 over the parameters in slot order.
"""
import json
import os
import struct
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "tests", "SpanAttention.Tests", "TestData", "io")


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(4, 6)
        self.out = nn.Linear(6, 3)


def write(path, tensors, metadata):
    """tensors: list of (name, float32 tensor) in data order."""
    header, offset, blobs = {}, 0, []
    for name, t in tensors:
        data = t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header = {"__metadata__": metadata, **dict(sorted(header.items()))}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read(path):
    """Returns (metadata, {name: tensor}); minimal, trusts the file."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", name
        b, e = info["data_offsets"]
        values = struct.unpack("<%df" % ((e - b) // 4), data[b:e])
        out[name] = torch.tensor(values, dtype=torch.float32).reshape(info["shape"])
    return metadata, out


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--verify":
        path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(DATA, "csharp_gru_linear.safetensors")
        metadata, state = read(path)
        model = Model()
        model.load_state_dict(state, strict=True)
        i = 0
        for name, p in model.state_dict().items():
            expected = torch.tensor([(k % 97) / 64.0 - 0.75 for k in range(i, i + p.numel())]).reshape(p.shape)
            assert torch.equal(p, expected), name
            i += p.numel()
        y, h = model.rnn(torch.ones(2, 1, 4))
        print("verified %s: %d tensors, %d floats, metadata %s, out(h) = %s"
              % (path, len(state), i, metadata, model.out(h[0]).tolist()))
        return
    torch.manual_seed(1234)
    model = Model()
    tensors = list(model.state_dict().items())
    write(os.path.join(DATA, "pytorch_gru_linear.safetensors"), tensors,
          {"format": "pt", "source": "tools/pytorch/write_safetensors.py", "config": json.dumps({"input": 4, "hidden": 6, "output": 3})})
    expected = {name: {"shape": list(t.shape), "values": [float(v) for v in t.flatten().tolist()]} for name, t in tensors}
    with open(os.path.join(DATA, "pytorch_gru_linear.json"), "w") as f:
        json.dump({"order": [n for n, _ in tensors], "tensors": expected}, f, indent=1)
    print("wrote", len(tensors), "tensors")


if __name__ == "__main__":
    main()
