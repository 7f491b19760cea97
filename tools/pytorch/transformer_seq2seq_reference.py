#!/usr/bin/python3
"""Reference numbers for SpanAttention.Transformer.TransformerSeq2Seq from torch 1.13 (run with /usr/bin/python3).

  /usr/bin/python3 tools/pytorch/transformer_seq2seq_reference.py

Writes tests/SpanAttention.Tests/TestData/transformer/seq2seq_post.json: a tiny Transformer encoder-decoder
(E = 4, 2 heads, F = 6, 2 encoder and 2 decoder layers, post-norm, ReLU, dropout 0) over a padded batch of
token ids, in float64 from float32 parameters:

  x = sqrt(E) * encoder.embedding(src) + PE;   x = encoder.layers[k](x, src_key_padding_mask)
  y = sqrt(E) * decoder.embedding(tgt_in) + PE
  y = decoder.layers[k](y, x, tgt_mask=causal, tgt_key_padding_mask, memory_key_padding_mask)
  loss = F.cross_entropy(decoder.out(y), tgt_out, ignore_index=0)     (mean over non-padding targets)

The layers are nn.TransformerEncoderLayer / nn.TransformerDecoderLayer (batch_first, training mode so no fast path),
named as in the state_dict; as nn.TransformerEncoder/Decoder(layer, L) with no final norm. Stores the ids, the
parameters (every bias and norm moved off its init value), the loss, every gradient, and the losses and parameters
of 5 Adam steps (lr 0.01).
"""
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from transformer_reference import flat, rand, write  # noqa: E402


def sinusoidal(steps, e):
    position = torch.arange(steps, dtype=torch.float64).unsqueeze(1)
    div = torch.exp(torch.arange(0, e, 2, dtype=torch.float64) * (-math.log(10000.0) / e))
    pe = torch.zeros(steps, e, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div)
    return pe


class Stack(nn.Module):
    def __init__(self, vocab, e, layers):
        super().__init__()
        self.embedding = nn.Embedding(vocab, e, padding_idx=0)
        self.layers = nn.ModuleList(layers)


class Seq2SeqTransformer(nn.Module):
    def __init__(self, v_src, v_tgt, e, heads, f, layers):
        super().__init__()
        self.e = e
        self.encoder = Stack(v_src, e, [nn.TransformerEncoderLayer(e, heads, f, dropout=0.0, batch_first=True) for _ in range(layers)])
        self.decoder = Stack(v_tgt, e, [nn.TransformerDecoderLayer(e, heads, f, dropout=0.0, batch_first=True) for _ in range(layers)])
        self.decoder.out = nn.Linear(e, v_tgt)

    def forward(self, src, src_lengths, tgt_in, tgt_lengths):
        b, s = src.shape
        t = tgt_in.shape[1]
        src_mask = torch.arange(s).view(1, s) >= torch.tensor(src_lengths).view(b, 1)
        tgt_mask = torch.arange(t).view(1, t) >= torch.tensor(tgt_lengths).view(b, 1)
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        x = self.encoder.embedding(src) * math.sqrt(self.e) + sinusoidal(s, self.e)
        for layer in self.encoder.layers:
            x = layer(x, src_key_padding_mask=src_mask)
        y = self.decoder.embedding(tgt_in) * math.sqrt(self.e) + sinusoidal(t, self.e)
        for layer in self.decoder.layers:
            y = layer(y, x, tgt_mask=causal, tgt_key_padding_mask=tgt_mask, memory_key_padding_mask=src_mask)
        return self.decoder.out(y)                                            # (B, T, V)


def main():
    torch.manual_seed(61)
    v_src, v_tgt, e, heads, f, layers = 7, 8, 4, 2, 6, 2
    src = torch.tensor([[3, 4, 5, 6, 2], [5, 3, 2, 0, 0]])                 # (B, S), 0 = padding
    src_lengths = (5, 3)
    tgt_in = torch.tensor([[1, 4, 7, 5], [1, 6, 3, 0]])                    # (B, T): BOS, y...
    tgt_out = torch.tensor([[4, 7, 5, 2], [6, 3, 2, 0]])                   # y..., EOS
    tgt_lengths = (4, 3)
    model = Seq2SeqTransformer(v_src, v_tgt, e, heads, f, layers)
    with torch.no_grad():   # move every bias and norm off its init value so each gradient is tested
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".norm" in name:
                p.add_(0.3 * rand(*p.shape))
        model.encoder.embedding.weight[0].zero_()
        model.decoder.embedding.weight[0].zero_()
    model = model.double().train()
    initial = {n: flat(p) for n, p in model.named_parameters()}
    shapes = {n: list(p.shape) for n, p in model.named_parameters()}

    def loss_of():
        logits = model(src, src_lengths, tgt_in, tgt_lengths)
        return F.cross_entropy(logits.reshape(-1, v_tgt), tgt_out.reshape(-1), ignore_index=0), logits

    loss, logits = loss_of()
    loss.backward()
    grads = {n: flat(p.grad) for n, p in model.named_parameters()}
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        step_loss, _ = loss_of()
        losses.append(float(step_loss))
        step_loss.backward()
        optimizer.step()
    write("seq2seq_post", {"V_src": v_src, "V_tgt": v_tgt, "E": e, "H": heads, "F": f, "L": layers,
                           "B": 2, "S": src.shape[1], "T": tgt_in.shape[1],
                           "src": flat(src), "src_lengths": list(src_lengths), "tgt_in": flat(tgt_in), "tgt_out": flat(tgt_out),
                           "tgt_lengths": list(tgt_lengths), "parameters": initial, "shapes": shapes,
                           "loss": float(loss), "logits": flat(logits), "d_parameters": grads,
                           "adam_lr": 0.01, "adam_losses": losses,
                           "adam_parameters": {n: flat(p) for n, p in model.named_parameters()}})


if __name__ == "__main__":
    main()
