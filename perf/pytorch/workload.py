"""Issue 7's reference workload as numbers: shape constants, the analytic FLOP count and the bars.

Pure Python (no torch), shared by seq2seq_bench.py and compare_table.py so that both engines' rows
are converted to GFLOP/s with ONE formula (the table recomputes GFLOP/s from it; an engine's own
"gflops" field is informational).

Model FLOPs (matmul / multiply-add work only; element-wise ops, softmax, embedding gathers, the loss
and the optimizer are not counted):
  MACs per sequence, forward:
      S * (3H*E + 3H*H)                       encoder GRU (input and hidden projections)
    + S * H*A                                 W_k K (keys, once per sequence)
    + T * ( A*H                               W_q q
          + S*A                               v . tanh(...) for S positions
          + S*H                               context = a . K
          + 3H*(E+H) + 3H*H                   decoder GRUCell, input [embedding; context]
          + V*H )                             output projection
  forward FLOPs  = 2 * MACs * B      (2 flops per multiply-add: ~2 x parameters used per token)
  backward FLOPs = 2 * forward       (one matmul for the input gradient, one for the weight gradient)
  training step  = 3 * forward.      Decoding, per token: 2 * MACs / T (B = 1, forward only, encoder
  amortised over the T generated tokens).
  With E = A = H, S = T = 32, V = 64: MACs per sequence = 32 * (17 H^2 + 128 H).
"""

V = 64          # source and target vocabulary
S = 32          # source length
T = 32          # target length (teacher-forced in training, generated tokens in decoding)
BOS = 0         # first decoder input token


def macs_per_sequence(H, E=None, A=None, vocab=V, src_len=S, tgt_len=T):
    E = H if E is None else E
    A = H if A is None else A
    encoder = src_len * (3 * H * E + 3 * H * H)
    keys = src_len * H * A
    per_step = A * H + src_len * A + src_len * H + 3 * H * (E + H) + 3 * H * H + vocab * H
    return encoder + keys + tgt_len * per_step


def train_flops_per_step(H, B, E=None):
    return 3 * 2 * macs_per_sequence(H, E) * B


def decode_flops_per_token(H, E=None):
    return 2 * macs_per_sequence(H, E) / T


def gflops(mode, H, B, median, E=None):
    """Achieved model GFLOP/s from a row's median (tokens/s for train, us/token for decode)."""
    if mode == "train":
        return train_flops_per_step(H, B, E) * (median / (B * T)) / 1e9
    return decode_flops_per_token(H, E) / (median * 1e-6) / 1e9


# Issue 7's bars: minimum speedup of SpanAttention over PyTorch (tokens/s ratio for training,
# us/token ratio PyTorch/SpanAttention for decoding), keyed by (mode, H, B, threads or None = any).
SPEEDUP_BARS = {
    ("train", 64, 32, None): 1.5,
    ("train", 256, 32, None): 2.0,
    ("train", 1024, 32, None): 2.0,
    ("train", 64, 1, None): 10.0,
    ("train", 256, 1, None): 4.0,
    ("decode", 64, 1, 1): 10.0,
    ("decode", 256, 1, 1): 4.0,
    ("decode", 1024, 1, 1): 8.0,
}
# SpanAttention's achieved model FLOP/s as a fraction of one core's measured FMA peak.
PEAK_BARS = {
    ("train", 1024, 32, 1): 0.55,
}

# The scale numbers issue 7 quotes for PyTorch (OpenBLAS SkylakeX + ATen avx512, one thread, on an
# AVX-512 Zen 5 machine) -- NOT measured on this machine; shown for orientation only.
ISSUE_PYTORCH_1T = {
    ("train", 64, 32): 42000.0, ("train", 256, 32): 9300.0, ("train", 1024, 32): 530.0,
    ("decode", 64, 1): 52.0, ("decode", 256, 1): 113.0, ("decode", 1024, 1): 5900.0,
}


def lookup(table, mode, H, B, threads):
    return table.get((mode, H, B, threads), table.get((mode, H, B, None)))
