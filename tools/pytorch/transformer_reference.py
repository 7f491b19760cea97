#!/usr/bin/python3
"""Reference numbers for SpanAttention.Transformer's layers from torch 1.13 (run with /usr/bin/python3).

  /usr/bin/python3 tools/pytorch/transformer_reference.py

Writes tests/SpanAttention.Tests/TestData/transformer/<case>.json. Every case draws float32 inputs and
nn-default float32 parameters, then runs in float64 so the reference is exact to ~1e-15, with
    loss = sum(output * d_output)
(d_output drawn at random), and stores the inputs, parameters (PyTorch state_dict names), output and every
gradient (inputs and parameters). Row-major, flattened.

Cases:
  layernorm              nn.LayerNorm(E) (biased variance, eps 1e-5) over (N, E), weight/bias perturbed off 1/0
  feedforward_relu/gelu  linear2(act(linear1(x))), nn.Linear names, act = F.relu / F.gelu (exact erf)
  mha_self, mha_cross    nn.MultiheadAttention(E, H, batch_first=True) with a key padding mask given as
                         valid key lengths (B) and, for mha_self, a causal mask. The forward is a mirror
                         with the safe-softmax rule (a row with no valid key gets zero weights, where torch
                         1.13 gives NaN); it is checked against nn.MultiheadAttention on every row that has a
                         valid key. Also stores the per-head weights (B, H, T, S) and the parameters after 5
                         Adam steps (lr 0.01, defaults otherwise) on the same loss.
  encoder_layer_post/pre nn.TransformerEncoderLayer(E, H, F, dropout=0, batch_first=True), post-norm with ReLU and
                         norm_first with GELU, src_key_padding_mask from lengths; output, every gradient and 5
                         Adam steps as for the attention cases.
  decoder_layer_post/pre nn.TransformerDecoderLayer(E, H, F, dropout=0, batch_first=True), post-norm with ReLU and
                         norm_first with GELU: causal tgt_mask, tgt_key_padding_mask and memory_key_padding_mask
                         from lengths (every row keeps a valid memory position: torch 1.13 gives NaN otherwise);
                         output, the gradients of the target, the memory and every parameter, and 5 Adam steps.
  positional             sinusoidal positional encoding (S, E) and sqrt(E)-scaled embedding + encoding.
"""
import json
import math
import os

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "SpanAttention.Tests", "TestData", "transformer")


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


def params(module, prefix):
    named = list(module.named_parameters())
    return ({prefix + n: flat(p) for n, p in named}, {prefix + n: list(p.shape) for n, p in named},
            {prefix + n: flat(p.grad) for n, p in named})


def layernorm():
    torch.manual_seed(11)
    n, e = 5, 7
    module = nn.LayerNorm(e)
    with torch.no_grad():
        module.weight.add_(0.5 * rand(e))
        module.bias.add_(0.5 * rand(e))
    x = rand(n, e) * 3 + 0.5
    dy = rand(n, e)
    module = module.double()
    x = x.double().requires_grad_()
    y = module(x)
    (y * dy.double()).sum().backward()
    p, shapes, g = params(module, "norm.")
    write("layernorm", {"N": n, "E": e, "eps": module.eps, "parameters": p, "shapes": shapes, "x": flat(x),
                        "d_output": flat(dy), "output": flat(y), "d_x": flat(x.grad), "d_parameters": g})


class FeedForward(nn.Module):
    def __init__(self, e, f, activation):
        super().__init__()
        self.linear1 = nn.Linear(e, f)
        self.linear2 = nn.Linear(f, e)
        self.activation = activation

    def forward(self, x):
        return self.linear2(self.activation(self.linear1(x)))


def feedforward(name, activation, seed):
    torch.manual_seed(seed)
    n, e, f = 6, 5, 11
    module = FeedForward(e, f, activation)
    x = rand(n, e) * 2
    dy = rand(n, e)
    module = module.double()
    x = x.double().requires_grad_()
    y = module(x)
    (y * dy.double()).sum().backward()
    p, shapes, g = params(module, "")
    write(name, {"N": n, "E": e, "F": f, "parameters": p, "shapes": shapes, "x": flat(x),
                 "d_output": flat(dy), "output": flat(y), "d_x": flat(x.grad), "d_parameters": g})


def mha_mirror(m, q, k, v, lengths, causal):
    """nn.MultiheadAttention's forward (batch_first) with the safe softmax; returns (output, weights (B, H, T, S))."""
    b, t, e = q.shape
    s = k.shape[1]
    h = m.num_heads
    d = e // h
    wq, wk, wv = m.in_proj_weight.chunk(3)
    bq, bk, bv = m.in_proj_bias.chunk(3)
    qh = F.linear(q, wq, bq).view(b, t, h, d).transpose(1, 2)          # (B, H, T, D)
    kh = F.linear(k, wk, bk).view(b, s, h, d).transpose(1, 2)          # (B, H, S, D)
    vh = F.linear(v, wv, bv).view(b, s, h, d).transpose(1, 2)          # (B, H, S, D)
    scores = qh @ kh.transpose(-1, -2) / math.sqrt(d)                   # (B, H, T, S)
    valid = (torch.arange(s).view(1, 1, 1, s) < torch.tensor(lengths).view(b, 1, 1, 1)).expand(b, h, t, s)
    if causal:
        valid = valid & (torch.arange(s).view(1, s) <= torch.arange(t).view(t, 1)).view(1, 1, t, s)
    scores = scores.masked_fill(~valid, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-1) * valid                    # safe softmax: masked -> exactly 0
    context = (weights @ vh).transpose(1, 2).reshape(b, t, e)          # (B, T, E)
    return m.out_proj(context), weights


def mha(name, seed, b, t, s, e, heads, lengths, causal):
    torch.manual_seed(seed)
    module = nn.MultiheadAttention(e, heads, batch_first=True)
    with torch.no_grad():   # PyTorch initialises both biases to 0; perturb them so their gradients are tested
        module.in_proj_bias.copy_(0.3 * rand(3 * e))
        module.out_proj.bias.copy_(0.3 * rand(e))
    q = rand(b, t, e)
    k = rand(b, s, e)
    v = rand(b, s, e)
    if name == "mha_self":
        k = v = q
    dy = rand(b, t, e)
    module = module.double()
    initial = {n: flat(p) for n, p in module.named_parameters()}
    q, k, v = (x.double().clone().requires_grad_() for x in (q, k, v))
    y, weights = mha_mirror(module, q, k, v, lengths, causal)

    # the mirror is nn.MultiheadAttention wherever torch's softmax is defined
    key_padding_mask = torch.arange(s).view(1, s) >= torch.tensor(lengths).view(b, 1)
    attn_mask = torch.triu(torch.ones(t, s, dtype=torch.bool), diagonal=1) if causal else None
    ref_y, ref_w = module(q, k, v, key_padding_mask=key_padding_mask, attn_mask=attn_mask, average_attn_weights=False)
    for i in range(b):
        if lengths[i] > 0:
            assert torch.allclose(ref_y[i], y[i], atol=1e-12), "mirror differs from nn.MultiheadAttention"
            assert torch.allclose(ref_w[i], weights[i], atol=1e-12)

    (y * dy.double()).sum().backward()
    p, shapes, g = params(module, "self_attn.")
    d_inputs = {"d_query": flat(q.grad), "d_key": flat(k.grad), "d_value": flat(v.grad)}

    optimizer = torch.optim.Adam(module.parameters(), lr=0.01)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        out, _ = mha_mirror(module, q.detach(), k.detach(), v.detach(), lengths, causal)
        loss = (out * dy.double()).sum()
        losses.append(float(loss))
        loss.backward()
        optimizer.step()
    after = {"self_attn." + n: flat(p) for n, p in module.named_parameters()}
    write(name, {"B": b, "T": t, "S": s, "E": e, "H": heads, "lengths": list(lengths), "causal": causal,
                 "self": name == "mha_self",
                 "parameters": {"self_attn." + n: x for n, x in initial.items()}, "shapes": shapes,
                 "query": flat(q), "key": flat(k), "value": flat(v), "d_output": flat(dy),
                 "output": flat(y), "weights": flat(weights), **d_inputs, "d_parameters": g,
                 "adam_lr": 0.01, "adam_losses": losses, "adam_parameters": after})


def positional():
    torch.manual_seed(5)
    s, e, v = 6, 8, 9
    position = torch.arange(s, dtype=torch.float64).unsqueeze(1)
    div = torch.exp(torch.arange(0, e, 2, dtype=torch.float64) * (-math.log(10000.0) / e))
    pe = torch.zeros(s, e, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div)
    embedding = nn.Embedding(v, e, padding_idx=0).double()
    ids = torch.tensor([[3, 1, 4, 1, 5, 0], [2, 7, 8, 0, 0, 0]])
    x = embedding(ids) * math.sqrt(e) + pe.unsqueeze(0)                # (B, S, E)
    dy = rand(2, s, e).double()
    (x * dy).sum().backward()
    write("positional", {"S": s, "E": e, "V": v, "ids": flat(ids), "encoding": flat(pe),
                         "embedding.weight": flat(embedding.weight), "d_output": flat(dy),
                         "output": flat(x), "d_embedding.weight": flat(embedding.weight.grad)})


def encoder_layer(name, seed, norm_first, activation):
    torch.manual_seed(seed)
    b, s, e, heads, f = 2, 4, 4, 2, 6
    lengths = (4, 3)
    layer = nn.TransformerEncoderLayer(e, heads, f, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first)
    with torch.no_grad():   # move every parameter off its init value (biases 0, norms 1/0) so each gradient is tested
        layer.self_attn.in_proj_bias.copy_(0.3 * rand(3 * e))
        layer.self_attn.out_proj.bias.copy_(0.3 * rand(e))
        for norm in (layer.norm1, layer.norm2):
            norm.weight.add_(0.3 * rand(e))
            norm.bias.add_(0.3 * rand(e))
    x = rand(b, s, e)
    dy = rand(b, s, e)
    layer = layer.double().train()          # training mode: the eval-mode fast path is not taken
    initial = {n: flat(p) for n, p in layer.named_parameters()}
    x = x.double().requires_grad_()
    mask = torch.arange(s).view(1, s) >= torch.tensor(lengths).view(b, 1)
    y = layer(x, src_key_padding_mask=mask)
    (y * dy.double()).sum().backward()
    p, shapes, g = params(layer, "")
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.01)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = (layer(x.detach(), src_key_padding_mask=mask) * dy.double()).sum()
        losses.append(float(loss))
        loss.backward()
        optimizer.step()
    write(name, {"B": b, "S": s, "E": e, "H": heads, "F": f, "lengths": list(lengths), "norm_first": norm_first,
                 "activation": "gelu" if activation is F.gelu else "relu",
                 "parameters": initial, "shapes": shapes, "x": flat(x), "d_output": flat(dy), "output": flat(y),
                 "d_x": flat(x.grad), "d_parameters": g,
                 "adam_lr": 0.01, "adam_losses": losses, "adam_parameters": {n: flat(p) for n, p in layer.named_parameters()}})


def decoder_layer(name, seed, norm_first, activation):
    torch.manual_seed(seed)
    b, t, s, e, heads, f = 2, 4, 5, 4, 2, 6
    target_lengths, memory_lengths = (4, 3), (5, 3)
    layer = nn.TransformerDecoderLayer(e, heads, f, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first)
    with torch.no_grad():   # move every parameter off its init value (biases 0, norms 1/0) so each gradient is tested
        for attention in (layer.self_attn, layer.multihead_attn):
            attention.in_proj_bias.copy_(0.3 * rand(3 * e))
            attention.out_proj.bias.copy_(0.3 * rand(e))
        for norm in (layer.norm1, layer.norm2, layer.norm3):
            norm.weight.add_(0.3 * rand(e))
            norm.bias.add_(0.3 * rand(e))
    x = rand(b, t, e)
    memory = rand(b, s, e)
    dy = rand(b, t, e)
    layer = layer.double().train()
    initial = {n: flat(p) for n, p in layer.named_parameters()}
    x = x.double().requires_grad_()
    memory = memory.double().requires_grad_()
    causal = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    target_mask = torch.arange(t).view(1, t) >= torch.tensor(target_lengths).view(b, 1)
    memory_mask = torch.arange(s).view(1, s) >= torch.tensor(memory_lengths).view(b, 1)

    def run(tgt, mem):
        return layer(tgt, mem, tgt_mask=causal, tgt_key_padding_mask=target_mask, memory_key_padding_mask=memory_mask)

    y = run(x, memory)
    (y * dy.double()).sum().backward()
    p, shapes, g = params(layer, "")
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.01)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = (run(x.detach(), memory.detach()) * dy.double()).sum()
        losses.append(float(loss))
        loss.backward()
        optimizer.step()
    write(name, {"B": b, "T": t, "S": s, "E": e, "H": heads, "F": f, "target_lengths": list(target_lengths),
                 "memory_lengths": list(memory_lengths), "norm_first": norm_first,
                 "activation": "gelu" if activation is F.gelu else "relu",
                 "parameters": initial, "shapes": shapes, "x": flat(x), "memory": flat(memory), "d_output": flat(dy),
                 "output": flat(y), "d_x": flat(x.grad), "d_memory": flat(memory.grad), "d_parameters": g,
                 "adam_lr": 0.01, "adam_losses": losses, "adam_parameters": {n: flat(p) for n, p in layer.named_parameters()}})


def main():
    os.makedirs(OUT, exist_ok=True)
    layernorm()
    feedforward("feedforward_relu", F.relu, 21)
    feedforward("feedforward_gelu", F.gelu, 22)
    mha("mha_self", 31, b=2, t=4, s=4, e=4, heads=2, lengths=(4, 2), causal=True)
    mha("mha_cross", 32, b=2, t=3, s=5, e=6, heads=3, lengths=(3, 0), causal=False)
    positional()
    encoder_layer("encoder_layer_post", 41, False, F.relu)
    encoder_layer("encoder_layer_pre", 42, True, F.gelu)
    decoder_layer("decoder_layer_post", 51, False, F.relu)
    decoder_layer("decoder_layer_pre", 52, True, F.gelu)


if __name__ == "__main__":
    main()
