#!/usr/bin/env python3
"""Golden files for SpanAttention's Seq2SeqModel (tests/SpanAttention.Tests/Seq2Seq/Seq2SeqPyTorchTests.cs).

Run with the Debian interpreter that has torch 1.13:  /usr/bin/python3 tools/pytorch/seq2seq_reference.py
(SEQ2SEQ_REFERENCE_OUT=DIR writes the files to DIR instead, e.g. to check that they are reproduced byte for byte).
The model class is also what tools/pytorch/spanattention_pytorch.py loads model files into and decodes with
(Seq2Seq.encode / Seq2Seq.decode_step are the two halves of forward).
The module below mirrors src/SpanAttention/Seq2Seq/Seq2SeqModel.cs exactly, with identical state_dict names
(registration order = state_dict order = the C# layout order). For a tiny configuration of each decoder style it
writes TestData/seq2seq_model/<style>.json: the configuration, one padded batch, the initial parameters (PyTorch
default initialisation, float32 values), the masked cross-entropy loss, every parameter gradient, and the
parameters after 5 Adam steps (lr 1e-2, no clipping) on the same batch. Everything is computed in float64 from the
float32 initial values, so the reference is exact to ~1e-15.

Architecture (h_t: decoder state after step t; y_t: fed token; c_t: context):
  encoder: embedding (padding_idx 0) -> nn.GRU/LSTM/RNN (batch_first, packed by source length)
  h_0 = tanh(bridge([h_fwd; h_bwd])) if bidirectional else the last layer's final state; LSTM decoder c_0 = 0
  bahdanau: c_t = attn(h_{t-1}); h_t = cell([emb(y_t); c_t], h_{t-1}); logits = out([h_t; c_t])
  luong:    h_t = cell([emb(y_t); h~_{t-1}], h_{t-1}) (h~_0 = 0); c_t = attn(h_t); h~_t = tanh(combine([c_t; h_t])); logits = out(h~_t)
  none:     c = h_0; h_t = cell([emb(y_t); c], h_{t-1}); logits = out([h_t; c])
  loss = cross_entropy(logits, targets, ignore_index=0) (mean over non-padding target tokens)
  ContextGate (bahdanau, Show, Attend and Tell's gating scalar): ctx_t = sigmoid(f_beta(h_{t-1})) * attn(h_{t-1})
  AttentionRegularization lam (doubly stochastic attention): loss += lam * sum_b sum_{l < n_b} (1 - sum_{t < T_b} a_tbl)^2 / N,
  N = the non-padding target tokens (the cross-entropy's divisor)

Dropout (<style>_dropout.json, p = 0.3, training mode): nn.Dropout's inverted dropout on the source embeddings, the
target embeddings and the vector the output layer reads (o; for luong h~_t, which is also what step t+1 is fed, as
OpenNMT's input-feeding decoder does). PyTorch's own dropout RNG cannot be reproduced, so the masks are the ones
SpanAttention draws (src/SpanAttention/Seq2Seq/Dropout.cs), recomputed here with the same SplitMix64 hash of
(seed, step, tensor, index) and passed in; index counts (B, S, E) for the source and (B, T, W) for the others.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

OUT = os.environ.get("SEQ2SEQ_REFERENCE_OUT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "SpanAttention.Tests", "TestData", "seq2seq_model")
PAD, BOS, EOS = 0, 1, 2


class Attention(nn.Module):
    def __init__(self, scorer, dq, dk, a):
        super().__init__()
        self.scorer, self.dk = scorer, dk
        if scorer == "General":
            self.W = nn.Linear(dk, dq, bias=False)
        elif scorer in ("Dot", "ScaledDot") and dk != dq:
            self.key_proj = nn.Linear(dk, dq, bias=False)   # keys of another width than the query, mapped to Dq
        elif scorer == "Additive":
            self.W_q = nn.Linear(dq, a, bias=False)
            self.W_k = nn.Linear(dk, a)
            self.v = nn.Linear(a, 1, bias=False)

    def forward(self, q, k, mask):
        # q (B, Dq), k = v (B, S, Dk), mask (B, S)
        if self.scorer in ("Dot", "ScaledDot"):
            kq = self.key_proj(k) if hasattr(self, "key_proj") else k   # (B, S, Dq): the keys scored against q
            s = torch.einsum("bd,bsd->bs", q, kq)
            if self.scorer == "ScaledDot":
                s = s / math.sqrt(kq.shape[-1])
        elif self.scorer == "General":
            s = torch.einsum("bd,bsd->bs", q, self.W(k))
        else:
            s = self.v(torch.tanh(self.W_q(q).unsqueeze(1) + self.W_k(k))).squeeze(-1)
        s = s.masked_fill(~mask, torch.finfo(s.dtype).min)
        a = torch.softmax(s, dim=-1) * mask
        return a, torch.einsum("bs,bsd->bd", a, k)


class Seq2Seq(nn.Module):
    def __init__(self, c):
        super().__init__()
        E, H, L, bi = c["EmbeddingSize"], c["HiddenSize"], c["EncoderLayers"], c["Bidirectional"]
        rnn = {"Gru": nn.GRU, "Lstm": nn.LSTM, "Rnn": nn.RNN}[c["Cell"]]
        cell = {"Gru": nn.GRUCell, "Lstm": nn.LSTMCell, "Rnn": nn.RNNCell}[c["Cell"]]
        self.c, self.H, self.bi, self.lstm = c, H, bi, c["Cell"] == "Lstm"
        denc = 2 * H if bi else H
        self.style = c["Decoder"]
        dc = H if self.style == "None" else denc
        self.encoder = nn.Module()
        self.encoder.embedding = nn.Embedding(c["SourceVocabSize"], E, padding_idx=PAD)
        self.encoder.rnn = rnn(E, H, L, batch_first=True, bidirectional=bi)
        if bi:
            self.bridge = nn.Linear(2 * H, H)
        self.decoder = nn.Module()
        self.decoder.embedding = nn.Embedding(c["TargetVocabSize"], E, padding_idx=PAD)
        if self.style != "None":
            self.decoder.attention = Attention(c["Scorer"], H, denc, c["AttentionSize"] or H)
        self.gate = c.get("ContextGate", False)
        if self.gate:
            self.decoder.f_beta = nn.Linear(H, 1)
        self.decoder.cell = cell(E + (H if self.style == "Luong" else dc), H)
        if self.style == "Luong":
            self.decoder.combine = nn.Linear(dc + H, H, bias=False)
        self.decoder.out = nn.Linear(H if self.style == "Luong" else H + dc, c["TargetVocabSize"])

    def encode(self, src, src_len, src_mask=None):
        """Encoder, decoder initial state and attention mask of a padded batch: the state decode_step reads.

        src (B, S) ids padded with PAD; src_len the B lengths (every source ends with its EOS); src_mask an optional
        (B, S, E) dropout mask of the source embeddings."""
        S = src.shape[1]
        x = self.encoder.embedding(src)
        if src_mask is not None:
            x = x * src_mask                                                     # dropout(embedding(src))
        packed = pack_padded_sequence(x, torch.tensor(src_len), batch_first=True, enforce_sorted=False)
        out, hn = self.encoder.rnn(packed)
        if self.lstm:
            hn = hn[0]
        enc, _ = pad_packed_sequence(out, batch_first=True, total_length=S)     # (B, S, Denc), zeros at padding
        h = torch.tanh(self.bridge(torch.cat([hn[-2], hn[-1]], dim=1))) if self.bi else hn[-1]
        c = torch.zeros_like(h)
        mask = torch.arange(S).unsqueeze(0) < torch.tensor(src_len).unsqueeze(1)
        return {"enc": enc, "mask": mask, "h": h, "c": c, "fixed": h, "tilde": torch.zeros_like(h)}

    def decode_step(self, state, y, tgt_mask=None, out_mask=None):
        """One decoder step: feeds y (B,) ids; returns (logits (B, V), attention weights (B, S) or None, next state).

        tgt_mask (B, E) and out_mask (B, O) are optional dropout masks of this step's embedding and output vector."""
        h, c, enc, mask = state["h"], state["c"], state["enc"], state["mask"]
        fixed, tilde = state["fixed"], state["tilde"]
        a = None
        e = self.decoder.embedding(y)
        if tgt_mask is not None:
            e = e * tgt_mask                                                     # dropout(embedding(y_t))
        if self.style == "Bahdanau":
            a, ctx = self.decoder.attention(h, enc, mask)
            if self.gate:
                ctx = torch.sigmoid(self.decoder.f_beta(h)) * ctx                # beta_t = sigmoid(f_beta(h_{t-1}))
            h, c = self.step(torch.cat([e, ctx], 1), h, c)
            o = torch.cat([h, ctx], 1)
        elif self.style == "Luong":
            h, c = self.step(torch.cat([e, tilde], 1), h, c)
            a, ctx = self.decoder.attention(h, enc, mask)
            tilde = torch.tanh(self.decoder.combine(torch.cat([ctx, h], 1)))
            if out_mask is not None:
                tilde = tilde * out_mask                                         # dropout(h~_t): read by out, fed to t+1
            o = tilde
        else:
            h, c = self.step(torch.cat([e, fixed], 1), h, c)
            o = torch.cat([h, fixed], 1)
        if out_mask is not None and self.style != "Luong":
            o = o * out_mask                                                     # dropout(o)
        return self.decoder.out(o), a, dict(state, h=h, c=c, tilde=tilde)

    def forward(self, src, src_len, tin, tout, masks=None):
        T = tin.shape[1]
        state = self.encode(src, src_len, None if masks is None else masks["src"])
        logits, alphas = [], []
        for t in range(T):
            m_tgt = None if masks is None else masks["tgt"][:, t]
            m_out = None if masks is None else masks["out"][:, t]
            step_logits, a, state = self.decode_step(state, tin[:, t], m_tgt, m_out)
            logits.append(step_logits)
            alphas.append(a)
        logits = torch.stack(logits, 1)                                          # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tout.reshape(-1), ignore_index=PAD)
        lam = self.c.get("AttentionRegularization", 0.0)
        if lam > 0:
            counted = (tout != PAD)                                              # (B, T)
            coverage = (torch.stack(alphas, 1) * counted.unsqueeze(-1)).sum(1)   # (B, S): sum over counted steps
            loss = loss + lam * (((1 - coverage) ** 2) * state["mask"]).sum() / counted.sum()
        return loss

    def step(self, x, h, c):
        if self.lstm:
            return self.decoder.cell(x, (h, c))
        return self.decoder.cell(x, h), c


M64, GOLDEN = (1 << 64) - 1, 0x9E3779B97F4A7C15


def mix(z):
    """SplitMix64's output function (SplitMix64.Mix)."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def dropout_mask(seed, step, tensor, shape, p):
    """Dropout.FillMask over a whole tensor: element i is 0 if u_i < p else 1/(1-p), u_i = (Mix(key + G(i+1)) >> 40) 2^-24."""
    key = mix((mix((seed + GOLDEN * (step + 1)) & M64) + GOLDEN * (tensor + 1)) & M64)
    p32 = float(np.float32(p))                                   # C# compares float u < float p
    scale = float(np.float32(1) / (np.float32(1) - np.float32(p)))
    n = int(np.prod(shape))
    vals = [0.0 if (mix((key + GOLDEN * (i + 1)) & M64) >> 40) * 2.0 ** -24 < p32 else scale for i in range(n)]
    return torch.tensor(vals, dtype=torch.float64).reshape(shape)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def case(name, config, seed, dropout=None):
    torch.manual_seed(seed)
    model = Seq2Seq(config)                       # float32 default init
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model = model.double()
    g = torch.Generator().manual_seed(seed + 1)
    src_len, tgt_len = [4, 2, 3], [3, 4, 2]      # target lengths include EOS
    B, S, T = 3, max(src_len), max(tgt_len)
    src = torch.zeros(B, S, dtype=torch.long)
    tin = torch.zeros(B, T, dtype=torch.long)
    tout = torch.zeros(B, T, dtype=torch.long)
    for b in range(B):
        src[b, :src_len[b]] = torch.randint(3, config["SourceVocabSize"], (src_len[b],), generator=g)
        y = torch.randint(3, config["TargetVocabSize"], (tgt_len[b] - 1,), generator=g)
        tin[b, 0] = BOS
        tin[b, 1:tgt_len[b]] = y
        tout[b, :tgt_len[b] - 1] = y
        tout[b, tgt_len[b] - 1] = EOS
    masks = None
    if dropout is not None:
        E, H = config["EmbeddingSize"], config["HiddenSize"]
        denc = 2 * H if config["Bidirectional"] else H
        o = H if config["Decoder"] == "Luong" else H + (H if config["Decoder"] == "None" else denc)
        p, dseed, dstep = config["Dropout"], dropout["seed"], dropout["step"]
        masks = {"src": dropout_mask(dseed, dstep, 0, (B, S, E), p), "tgt": dropout_mask(dseed, dstep, 1, (B, T, E), p),
                 "out": dropout_mask(dseed, dstep, 2, (B, T, o), p)}
    loss = model(src, src_len, tin, tout, masks)
    loss.backward()
    grads = {k: flat(p.grad) for k, p in model.named_parameters()}
    model.zero_grad()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(5):
        opt.zero_grad()
        model(src, src_len, tin, tout, masks).backward()
        opt.step()
    data = {
        "config": config,
        "batch": {"B": B, "S": S, "T": T, "source": flat(src), "source_lengths": src_len, "target_input": flat(tin),
                  "target_output": flat(tout), "target_lengths": tgt_len},
        "names": list(init.keys()),
        "shapes": {k: list(v.shape) for k, v in init.items()},
        "parameters": {k: flat(v) for k, v in init.items()},
        "loss": float(loss),
        "gradients": grads,
        "after_adam5": {k: flat(v) for k, v in model.state_dict().items()},
    }
    if dropout is not None:
        data["dropout"] = dropout                 # Seq2SeqModel.DropoutSeed / DropoutStep; the same masks at every step
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(data, f, separators=(",", ":"))
    print(name, "loss", float(loss))


BASE = {"SourceVocabSize": 9, "TargetVocabSize": 8, "EmbeddingSize": 4, "HiddenSize": 5, "Cell": "Gru", "EncoderLayers": 1,
        "Bidirectional": False, "Decoder": "Bahdanau", "Scorer": "Additive", "AttentionSize": 3, "Dropout": 0.0,
        "PaddingId": 0, "BosId": 1, "EosId": 2}

if __name__ == "__main__":
    torch.set_printoptions(precision=10)
    case("bahdanau", dict(BASE), 1)
    case("luong", dict(BASE, Decoder="Luong", Scorer="General", Cell="Lstm", Bidirectional=True), 2)
    case("none", dict(BASE, Decoder="None", EncoderLayers=2), 3)
    case("bahdanau_dropout", dict(BASE, Dropout=0.3), 4, {"seed": 7, "step": 3})
    case("luong_dropout", dict(BASE, Decoder="Luong", Scorer="General", Cell="Lstm", Bidirectional=True, Dropout=0.3), 5, {"seed": 7, "step": 3})
    case("bahdanau_gate", dict(BASE, ContextGate=True), 6)
    case("bahdanau_gate_coverage", dict(BASE, ContextGate=True, AttentionRegularization=1.0, Cell="Lstm", Scorer="General", Bidirectional=True), 7)
    case("luong_coverage", dict(BASE, Decoder="Luong", Scorer="ScaledDot", AttentionRegularization=0.5), 8)
