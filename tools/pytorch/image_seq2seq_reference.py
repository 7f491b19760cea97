#!/usr/bin/env python3
"""Golden files for SpanAttention's image captioning model (EncoderKind.Image; tests/SpanAttention.Tests/Seq2Seq/ImagePyTorchTests.cs).

Run with the Debian interpreter that has torch 1.13:  /usr/bin/python3 tools/pytorch/image_seq2seq_reference.py
(IMAGE_REFERENCE_OUT=DIR writes the files to DIR instead, e.g. to check that they are reproduced byte for byte).
The module mirrors src/SpanAttention/Seq2Seq/ImageEncoder.cs in front of the decoder of seq2seq_reference.py (the same
decode_step, attention and cell), with identical state_dict names (registration order = the C# layout order):

  x_0 = (pixels - mean_c) / std_c                                   (B, C, H, W)
  per block k: x_{k+1} = max_pool2d(relu(encoder.conv[k](x_k)), 2)  nn.Conv2d(C_{k-1}, C_k, 3, padding=1)
  g = adaptive_avg_pool2d(x_K, (gh, gw))                            (B, D, gh, gw)
  memory = g.flatten(2).transpose(1, 2) + encoder.position          (B, L, D), every position valid
  h_0 = tanh(bridge(memory.mean(1))); LSTM decoder c_0 = 0

For a tiny configuration of each decoder style it writes TestData/image_model/<style>.json: the configuration (the
C# JSON form), one batch of images with padded targets, the initial parameters (PyTorch default initialisation,
float32 values), the masked cross-entropy loss, every parameter gradient, and the parameters after 5 Adam steps
(lr 1e-2) on the same batch. Everything is computed in float64 from float32 inputs.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seq2seq_reference import Attention, Seq2Seq, flat, BOS, EOS  # noqa: E402

OUT = os.environ.get("IMAGE_REFERENCE_OUT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "SpanAttention.Tests", "TestData", "image_model")


class ImageSeq2Seq(Seq2Seq):
    """Seq2Seq with the CNN encoder in place of the recurrent one; decode_step and forward are inherited."""

    def __init__(self, c):
        nn.Module.__init__(self)
        E, H = c["EmbeddingSize"], c["HiddenSize"]
        cell = {"Gru": nn.GRUCell, "Lstm": nn.LSTMCell, "Rnn": nn.RNNCell}[c["Cell"]]
        self.c, self.H, self.bi, self.lstm = c, H, False, c["Cell"] == "Lstm"
        chans = [c["ImageChannels"]] + c["ConvChannels"]
        D, L = chans[-1], c["GridHeight"] * c["GridWidth"]
        self.style = c["Decoder"]
        dc = H if self.style == "None" else D
        self.encoder = nn.Module()
        self.encoder.conv = nn.ModuleList([nn.Conv2d(chans[k], chans[k + 1], 3, padding=1) for k in range(len(chans) - 1)])
        self.encoder.position = nn.Parameter(torch.empty(L, D).uniform_(-0.1, 0.1))
        self.bridge = nn.Linear(D, H)
        self.decoder = nn.Module()
        self.decoder.embedding = nn.Embedding(c["TargetVocabSize"], E, padding_idx=0)
        if self.style != "None":
            self.decoder.attention = Attention(c["Scorer"], H, D, c["AttentionSize"] or H)
        self.decoder.cell = cell(E + (H if self.style == "Luong" else dc), H)
        if self.style == "Luong":
            self.decoder.combine = nn.Linear(dc + H, H, bias=False)
        self.decoder.out = nn.Linear(H if self.style == "Luong" else H + dc, c["TargetVocabSize"])

    def encode(self, pixels, src_len=None, src_mask=None):
        c = self.c
        C = c["ImageChannels"]
        mean = torch.tensor(c["PixelMean"] or [0.0] * C, dtype=pixels.dtype).view(1, C, 1, 1)
        std = torch.tensor(c["PixelStd"] or [1.0] * C, dtype=pixels.dtype).view(1, C, 1, 1)
        x = (pixels - mean) / std
        for conv in self.encoder.conv:
            x = F.max_pool2d(F.relu(conv(x)), 2)
        g = F.adaptive_avg_pool2d(x, (c["GridHeight"], c["GridWidth"]))       # (B, D, gh, gw)
        enc = g.flatten(2).transpose(1, 2) + self.encoder.position            # (B, L, D)
        h = torch.tanh(self.bridge(enc.mean(1)))
        mask = torch.ones(enc.shape[0], enc.shape[1], dtype=torch.bool)
        return {"enc": enc, "mask": mask, "h": h, "c": torch.zeros_like(h), "fixed": h, "tilde": torch.zeros_like(h)}


def case(name, config, seed):
    torch.manual_seed(seed)
    model = ImageSeq2Seq(config)                  # float32 default init
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model = model.double()
    g = torch.Generator().manual_seed(seed + 1)
    tgt_len = [3, 4, 2]                           # target lengths include EOS
    B, T = 3, max(tgt_len)
    C, Hi, Wi = config["ImageChannels"], config["ImageHeight"], config["ImageWidth"]
    pixels = torch.rand(B, C, Hi, Wi, generator=g).float().double()       # float32 values in [0, 1]
    tin = torch.zeros(B, T, dtype=torch.long)
    tout = torch.zeros(B, T, dtype=torch.long)
    for b in range(B):
        y = torch.randint(3, config["TargetVocabSize"], (tgt_len[b] - 1,), generator=g)
        tin[b, 0] = BOS
        tin[b, 1:tgt_len[b]] = y
        tout[b, :tgt_len[b] - 1] = y
        tout[b, tgt_len[b] - 1] = EOS
    loss = model(pixels, None, tin, tout)
    loss.backward()
    grads = {k: flat(p.grad) for k, p in model.named_parameters()}
    model.zero_grad()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(5):
        opt.zero_grad()
        model(pixels, None, tin, tout).backward()
        opt.step()
    data = {
        "config": config,
        "batch": {"B": B, "T": T, "pixels": flat(pixels), "target_input": flat(tin), "target_output": flat(tout), "target_lengths": tgt_len},
        "names": list(init.keys()),
        "shapes": {k: list(v.shape) for k, v in init.items()},
        "parameters": {k: flat(v) for k, v in init.items()},
        "loss": float(loss),
        "gradients": grads,
        "after_adam5": {k: flat(v) for k, v in model.state_dict().items()},
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(data, f, separators=(",", ":"))
    print(name, "loss", float(loss))


BASE = {"SourceVocabSize": 0, "TargetVocabSize": 8, "EmbeddingSize": 4, "HiddenSize": 5, "Cell": "Gru", "EncoderLayers": 1,
        "Bidirectional": False, "Decoder": "Bahdanau", "Scorer": "Additive", "AttentionSize": 3, "Dropout": 0.0,
        "PaddingId": 0, "BosId": 1, "EosId": 2, "Encoder": "Image", "ImageChannels": 2, "ImageHeight": 12, "ImageWidth": 10,
        "ConvChannels": [3, 4], "GridHeight": 2, "GridWidth": 2, "PixelMean": [0.5, 0.25], "PixelStd": [0.5, 2.0]}

if __name__ == "__main__":
    case("bahdanau", dict(BASE), 1)
    case("luong", dict(BASE, Decoder="Luong", Scorer="General", Cell="Lstm"), 2)
    case("none", dict(BASE, Decoder="None"), 3)
