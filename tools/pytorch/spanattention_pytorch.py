#!/usr/bin/python3
"""SpanAttention model files in PyTorch: load any of them, decode like `spanattn translate`, write files spanattn loads.

Run with the Debian interpreter that has torch 1.13 (`apt-get install python3-torch python3-numpy`); nothing else is
needed (safetensors is parsed with struct + json). The file format is docs/model-format.md; the model class is
Seq2Seq in seq2seq_reference.py (the same module the C# training goldens come from), so every architecture with a
recurrent encoder loads: cell gru/lstm/rnn, any number of encoder layers, bidirectional encoder with bridge, decoder
bahdanau/luong/none, scorer dot/scaled-dot/general/additive (dot and scaled-dot over 2H-wide bidirectional keys with
their decoder.attention.key_proj.weight). Files with a Transformer or feature-grid encoder are refused with one
ModelFileError naming the encoder.

Command line:
  /usr/bin/python3 tools/pytorch/spanattention_pytorch.py translate MODEL [TEXT ...] [--max-length N] [--float64]
      Greedy translation of each TEXT (or each stdin line; a blank line gives a blank line), one output line per input, exactly as
      `spanattn translate MODEL` does: same tokenisation (SpanAttention's NFC, words or grapheme clusters), unknown tokens to <unk>
      with one warning on stderr, <eos> appended to every source, arg-max over the whole target vocabulary at
      every step, stop at <eos> or after the step limit (default: 2 x the longest source of the call, <eos>
      included, + 10), <pad>/<sos> left out of the text.
  /usr/bin/python3 tools/pytorch/spanattention_pytorch.py info MODEL
      The tensors (name, shape) and the metadata, vocabularies as text.
  /usr/bin/python3 tools/pytorch/spanattention_pytorch.py train OUT [--cell gru] [--decoder bahdanau]
          [--scorer additive] [--layers 1] [--bidirectional] [--embedding-size 8] [--hidden-size 16] [--steps 300]
      Trains a model in PyTorch (Adam, clip 5) on a small reverse-the-letters task and writes it as a SpanAttention
      model file (`spanattn translate OUT "a b c"` then decodes it).
  /usr/bin/python3 tools/pytorch/spanattention_pytorch.py interop [--retrain-spanattn]
      Regenerates tests/SpanAttention.Tests/TestData/interop/ (checked by tests/SpanAttention.Tests/IO/InteropTests.cs):
      PyTorch-trained model files with the translations PyTorch gives for a list of inputs, the translations PyTorch
      gives for the committed SpanAttention-written model files (--retrain-spanattn first rewrites those with
      `dotnet run --project src/SpanAttention.Cli -- train ...`, the commands in SPANATTN_CASES), and tokenisation
      cases. Decoding runs in float64 from the float32 parameters, so the expected values are exact to ~1e-12.

As a module:
  m = SpanAttentionModel.load("model.safetensors")      # torch module m.net, m.config, m.source, m.target
  m.translate(["a b c"])                                 # -> list of Translation(text, tokens, score, finished)
  m.save("copy.safetensors")                             # parameters from m.net, same config and vocabularies
"""
import argparse
import json
import math
import os
import random
import struct
import subprocess
import sys
import unicodedata
from collections import OrderedDict, namedtuple

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seq2seq_reference import BOS, EOS, PAD, Seq2Seq  # noqa: E402  (the model class, one copy)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
INTEROP = os.path.join(ROOT, "tests", "SpanAttention.Tests", "TestData", "interop")

UNK = 3
SPECIALS = ["<pad>", "<sos>", "<eos>", "<unk>"]
CONFIG_KEY = "spanattention.config"
SOURCE_VOCAB_KEY = "spanattention.source_vocab"
TARGET_VOCAB_KEY = "spanattention.target_vocab"
TASK_KEY = "spanattention.task"
OPTIMIZER_PREFIXES = ("optimizer.exp_avg.", "optimizer.exp_avg_sq.", "optimizer.momentum_buffer.")
# Seq2SeqConfig.ToJson's properties, in its order; Dropout is optional when reading (files from before dropout).
CONFIG_FIELDS = ["SourceVocabSize", "TargetVocabSize", "EmbeddingSize", "HiddenSize", "Cell", "EncoderLayers",
                 "Bidirectional", "Decoder", "Scorer", "AttentionSize", "Dropout", "PaddingId", "BosId", "EosId"]
CELLS = {"gru": "Gru", "lstm": "Lstm", "rnn": "Rnn"}
DECODERS = {"bahdanau": "Bahdanau", "luong": "Luong", "none": "None"}
SCORERS = {"dot": "Dot", "scaled-dot": "ScaledDot", "general": "General", "additive": "Additive"}


class ModelFileError(Exception):
    """A file that is not a valid SpanAttention model file; the message names what is wrong."""


# ---------------------------------------------------------------------------------------------------------------
# safetensors with struct + json
# ---------------------------------------------------------------------------------------------------------------

def read_safetensors(path):
    """Returns (metadata dict, OrderedDict name -> float32 tensor in file order). Checks what SafeTensorsReader checks
    for F32 files: header length, JSON, dtype, shapes against byte sizes, tensors back to back from offset 0."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ModelFileError(f"{path}: {len(raw)} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > 100_000_000 or 8 + n > len(raw):
        raise ModelFileError(f"{path}: header length {n} is past the end of the file or over 100,000,000")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        raise ModelFileError(f"{path}: header is not UTF-8 JSON: {e}") from e
    metadata = header.pop("__metadata__", {}) or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ModelFileError(f"{path}: __metadata__ must map strings to strings")
    data = raw[8 + n:]
    entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    offset, tensors = 0, {}
    for name, info in entries:
        if info.get("dtype") != "F32":
            raise ModelFileError(f"{path}: tensor '{name}' has dtype {info.get('dtype')}; SpanAttention files are F32")
        shape, (begin, end) = list(info["shape"]), info["data_offsets"]
        count = math.prod(shape)
        if begin != offset or end - begin != 4 * count:
            raise ModelFileError(f"{path}: tensor '{name}' data_offsets {[begin, end]} do not follow on at {offset} with {4 * count} bytes")
        tensors[name] = torch.tensor(struct.unpack(f"<{count}f", data[begin:end]), dtype=torch.float32).reshape(shape)
        offset = end
    if offset != len(data):
        raise ModelFileError(f"{path}: the data buffer is {len(data)} bytes, the tensors end at {offset}")
    order = [name for name in header]  # header order (SpanAttention writes it in data order)
    return metadata, OrderedDict((name, tensors[name]) for name in order)


def _no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise ValueError(f"duplicate key '{k}'")
        seen[k] = v
    return seen


def write_safetensors(path, tensors, metadata):
    """Writes (name, tensor) pairs as F32, back to back in the given order, header in the same order with
    __metadata__ first and padded with spaces to a multiple of 8 (SafeTensorsWriter's layout). Atomic: a temporary
    sibling is written, flushed and renamed over path."""
    header, blobs, offset = OrderedDict(), [], 0
    header["__metadata__"] = metadata
    for name, t in tensors:
        blob = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    full = os.path.abspath(path)
    temp = os.path.join(os.path.dirname(full), f".{os.path.basename(full)}.{os.getpid()}.tmp")
    try:
        with open(temp, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for blob in blobs:
                f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, full)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


# ---------------------------------------------------------------------------------------------------------------
# Tokenisation (src/SpanAttention/Data/Tokenizer.cs) and vocabularies (Vocabulary.cs)
# ---------------------------------------------------------------------------------------------------------------

def is_dotnet_space(ch):
    """char.IsWhiteSpace: the separators Zs, Zl, Zp plus U+0009..U+000D and U+0085 (Python's isspace also takes
    U+001C..U+001F, which .NET does not)."""
    return ch in "\t\n\v\f\r\x85" or unicodedata.category(ch) in ("Zs", "Zl", "Zp")


def dotnet_trim(text):
    """string.Trim(): strips char.IsWhiteSpace characters from both ends."""
    start, end = 0, len(text)
    while start < end and is_dotnet_space(text[start]):
        start += 1
    while end > start and is_dotnet_space(text[end - 1]):
        end -= 1
    return text[start:end]


def _nfc_covered(ch):
    cp = ord(ch)
    return cp < 0x0250 or 0x0300 <= cp <= 0x036F or 0x0900 <= cp <= 0x097F or 0x1E00 <= cp <= 0x1EFF


def nfc(text):
    """Tokenizer.Normalize as SpanAttention runs it (InvariantGlobalization, so its managed NFC): NFC for Latin
    (Latin-1, Extended-A/B, Extended Additional, combining diacritics) and Devanagari; every other character
    passes through unchanged (e.g. Hangul jamo are not composed). Runs of covered characters are normalised."""
    out, run = [], []
    for ch in text:
        if _nfc_covered(ch):
            run.append(ch)
            continue
        if run:
            out.append(unicodedata.normalize("NFC", "".join(run)))
            run = []
        out.append(ch)
    if run:
        out.append(unicodedata.normalize("NFC", "".join(run)))
    return "".join(out)


def words(text):
    """Tokenizer.Words: NFC, then split on runs of .NET white space."""
    out, current = [], []
    for ch in nfc(text):
        if is_dotnet_space(ch):
            if current:
                out.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        out.append("".join(current))
    return out


def _hangul(cp):
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return "L"
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return "V"
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return "T"
    if 0xAC00 <= cp <= 0xD7A3:
        return "LV" if (cp - 0xAC00) % 28 == 0 else "LVT"
    return None


def _pictographic(cp):
    return 0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0x2B00 <= cp <= 0x2BFF or cp in (0x00A9, 0x00AE, 0x203C, 0x2049)


def _grapheme_class(ch):
    cp, cat = ord(ch), unicodedata.category(ch)
    if ch == "\r":
        return "CR"
    if ch == "\n":
        return "LF"
    if cp == 0x200D:
        return "ZWJ"
    if cat in ("Mn", "Me") or cp == 0x200C or 0x1F3FB <= cp <= 0x1F3FF or 0xFF9E <= cp <= 0xFF9F:
        return "Extend"
    if cat == "Mc":
        return "SpacingMark"
    if cat in ("Cc", "Zl", "Zp") or (cat == "Cf" and cp not in (0x200C, 0x200D)):
        return "Control"
    if 0x1F1E6 <= cp <= 0x1F1FF:
        return "RI"
    h = _hangul(cp)
    if h:
        return h
    return "Pict" if _pictographic(cp) else "Other"


def graphemes(text):
    """Extended grapheme clusters (UAX #29, the rules .NET's StringInfo applies): a base letter with its combining
    marks, spacing marks, ZWJ/ZWNJ is one cluster; CR LF, Hangul syllable sequences, emoji ZWJ sequences and
    regional-indicator pairs stay together. The conjunct rule GB9c is not applied (as in .NET: क्ष is [क्][ष]).
    Exact for Latin and Devanagari; rarer scripts' Prepend characters are not modelled."""
    clusters, current, prev, ri_run, pict_zwj = [], "", None, 0, False
    for ch in text:
        c = _grapheme_class(ch)
        if prev is None:
            join = False
        elif prev == "CR" and c == "LF":
            join = True
        elif prev in ("Control", "CR", "LF") or c in ("Control", "CR", "LF"):
            join = False
        elif prev == "L" and c in ("L", "V", "LV", "LVT"):
            join = True
        elif prev in ("LV", "V") and c in ("V", "T"):
            join = True
        elif prev in ("LVT", "T") and c == "T":
            join = True
        elif c in ("Extend", "ZWJ", "SpacingMark"):
            join = True
        elif prev == "ZWJ" and c == "Pict" and pict_zwj:
            join = True
        elif prev == "RI" and c == "RI":
            join = ri_run % 2 == 1
        else:
            join = False
        if join:
            current += ch
        else:
            if current:
                clusters.append(current)
            current = ch
            pict_zwj = False
        # state for GB11 (Pict Extend* ZWJ x Pict) and GB12/13 (pairs of regional indicators)
        if c == "Pict":
            pict_zwj = True
        elif c not in ("Extend", "ZWJ"):
            pict_zwj = False
        ri_run = ri_run + 1 if c == "RI" else 0
        prev = c
    if current:
        clusters.append(current)
    return clusters


def characters(text):
    """Tokenizer.Characters: NFC grapheme clusters; white-space clusters dropped at both ends, inner runs -> one " "."""
    tokens, pending = [], False
    for g in graphemes(nfc(text)):
        if all(is_dotnet_space(ch) for ch in g):
            pending = len(tokens) > 0
            continue
        if pending:
            tokens.append(" ")
            pending = False
        tokens.append(g)
    return tokens


def tokenize(text, tokenization):
    if tokenization == "word":
        return words(text)
    if tokenization == "char":
        return characters(text)
    raise ValueError(f"unknown tokenization '{tokenization}'")


class Vocabulary:
    """The spanattention-vocabulary JSON: {"format", "version": 1, "tokenization": "word"|"char", "tokens": [...]},
    ids 0..3 = <pad>, <sos>, <eos>, <unk>."""

    def __init__(self, tokens, tokenization):
        if list(tokens[:4]) != SPECIALS:
            raise ModelFileError(f"vocabulary must start with {SPECIALS}")
        if len(set(tokens)) != len(tokens) or any(not t for t in tokens):
            raise ModelFileError("vocabulary has an empty or repeated token")
        if tokenization not in ("word", "char"):
            raise ModelFileError(f"vocabulary tokenization '{tokenization}' is not word or char")
        self.tokens, self.tokenization = list(tokens), tokenization
        self.ids = {t: i for i, t in enumerate(tokens)}

    @staticmethod
    def from_json(text):
        d = json.loads(text)
        if d.get("format") != "spanattention-vocabulary" or d.get("version") != 1:
            raise ModelFileError("vocabulary JSON is not format spanattention-vocabulary version 1")
        return Vocabulary(d["tokens"], d["tokenization"])

    def to_json(self):
        return json.dumps({"format": "spanattention-vocabulary", "version": 1, "tokenization": self.tokenization,
                           "tokens": self.tokens}, separators=(",", ":"), ensure_ascii=False)

    @staticmethod
    def build(sequences, tokenization):
        """Vocabulary.Build (minCount 1, no cap): specials, then tokens by descending count, ties in ordinal order."""
        counts = {}
        for seq in sequences:
            for t in seq:
                if t not in SPECIALS:
                    counts[t] = counts.get(t, 0) + 1
        ordered = sorted(counts, key=lambda t: (-counts[t], _ordinal(t)))
        return Vocabulary(SPECIALS + ordered, tokenization)

    def decode_text(self, ids):
        """Vocabulary.DecodeText: <pad>/<sos> skipped, stop at <eos>, words joined by one space or characters concatenated."""
        out = []
        for i in ids:
            if i == EOS:
                break
            if i in (PAD, BOS):
                continue
            out.append(self.tokens[i])
        return (" " if self.tokenization == "word" else "").join(out)


def _ordinal(token):
    """string.CompareOrdinal order: UTF-16 code units."""
    return token.encode("utf-16-be")


# ---------------------------------------------------------------------------------------------------------------
# The model file
# ---------------------------------------------------------------------------------------------------------------

Translation = namedtuple("Translation", "text tokens score finished")


def parse_config(text):
    """Seq2SeqConfig.FromJson: every field required except Dropout (default 0); enum names as C# spells them."""
    try:
        c = json.loads(text)
        config = {k: c[k] for k in CONFIG_FIELDS if k != "Dropout"}
    except (ValueError, KeyError) as e:
        raise ModelFileError(f"invalid '{CONFIG_KEY}': {e}") from e
    config["Dropout"] = float(c.get("Dropout", 0.0))
    if config["Cell"] not in CELLS.values() or config["Decoder"] not in DECODERS.values() or config["Scorer"] not in SCORERS.values():
        raise ModelFileError(f"invalid '{CONFIG_KEY}': unknown Cell, Decoder or Scorer in {text}")
    return config


def config_json(config):
    """Seq2SeqConfig.ToJson's text (compact, same property order)."""
    out = OrderedDict((k, config[k]) for k in CONFIG_FIELDS)
    out["Dropout"] = int(out["Dropout"]) if float(out["Dropout"]) == 0 else float(out["Dropout"])
    return json.dumps(out, separators=(",", ":"))


class SpanAttentionModel:
    """A model file in PyTorch: net (seq2seq_reference.Seq2Seq, float32 or float64), config dict, vocabularies."""

    def __init__(self, net, config, source, target, metadata=None):
        self.net, self.config, self.source, self.target = net, config, source, target
        self.metadata = dict(metadata or {})

    @staticmethod
    def load(path, dtype=torch.float32):
        """Loads any SpanAttention model file (or training checkpoint: its optimizer.* tensors are ignored)."""
        metadata, tensors = read_safetensors(path)
        if CONFIG_KEY not in metadata:
            raise ModelFileError(f"{path}: metadata has no '{CONFIG_KEY}' (not a SpanAttention model file)")
        config = parse_config(metadata[CONFIG_KEY])
        encoder = json.loads(metadata[CONFIG_KEY]).get("Encoder", "Recurrent")
        if encoder != "Recurrent":
            raise ModelFileError(f"{path}: a {encoder} encoder; this module loads models with a recurrent encoder only")
        net = Seq2Seq(config)
        expected = net.state_dict()
        state = OrderedDict((k, v) for k, v in tensors.items() if not k.startswith(OPTIMIZER_PREFIXES))
        missing = [k for k in expected if k not in state]
        extra = [k for k in state if k not in expected]
        if missing or extra:
            raise ModelFileError(f"{path}: tensors do not match the configuration: missing {missing}, unexpected {extra}")
        for k, v in expected.items():
            if list(state[k].shape) != list(v.shape):
                raise ModelFileError(f"{path}: tensor '{k}' has shape {list(state[k].shape)}, the configuration needs {list(v.shape)}")
        net.load_state_dict(state, strict=True)
        net = net.to(dtype).eval()
        source = Vocabulary.from_json(metadata[SOURCE_VOCAB_KEY]) if SOURCE_VOCAB_KEY in metadata else None
        target = Vocabulary.from_json(metadata[TARGET_VOCAB_KEY]) if TARGET_VOCAB_KEY in metadata else None
        for vocab, size in ((source, config["SourceVocabSize"]), (target, config["TargetVocabSize"])):
            if vocab is not None and len(vocab.tokens) != size:
                raise ModelFileError(f"{path}: a vocabulary has {len(vocab.tokens)} tokens, the model {size}")
        return SpanAttentionModel(net, config, source, target, metadata)

    def save(self, path, task=None):
        """Writes the parameters (float32, state_dict order = SpanAttention's layout order), the configuration and both
        vocabularies, and the task JSON if given (or kept from a loaded file)."""
        metadata = OrderedDict()
        metadata[CONFIG_KEY] = config_json(self.config)
        metadata[SOURCE_VOCAB_KEY] = self.source.to_json()
        metadata[TARGET_VOCAB_KEY] = self.target.to_json()
        task = task if task is not None else self.metadata.get(TASK_KEY)
        if task is not None:
            metadata[TASK_KEY] = task
        write_safetensors(path, list(self.net.state_dict().items()), metadata)

    def encode_source(self, text, unknown=None):
        """ModelBundle.EncodeSource: tokens -> ids (unknown -> <unk>, recorded in `unknown`), then <eos>."""
        tokens = tokenize(text, self.source.tokenization)
        if not tokens:
            raise ValueError("An input sentence has no tokens.")
        ids = []
        for t in tokens:
            if t in self.source.ids:
                ids.append(self.source.ids[t])
            else:
                ids.append(UNK)
                if unknown is not None:
                    unknown.append(t)
        return ids + [EOS]

    @torch.no_grad()
    def greedy(self, sources, max_length):
        """Decoding.Greedy over id sequences (each ending in <eos>): one padded, length-packed batch; at each step the
        arg-max over all V target ids (first on ties) is emitted and fed back; a row stops when it emits <eos> (not
        part of its tokens) and is fed <eos> afterwards; at most max_length steps. Returns, per source, (tokens, score
        = Σ log-softmax of the emitted ids including <eos>, finished, step logits (steps, V))."""
        net = self.net
        B, S = len(sources), max(len(x) for x in sources)
        src = torch.full((B, S), PAD, dtype=torch.long)
        for b, x in enumerate(sources):
            src[b, :len(x)] = torch.tensor(x)
        state = net.encode(src, [len(x) for x in sources])
        fed = torch.full((B,), BOS, dtype=torch.long)
        tokens, scores, done, logits_seen = [[] for _ in range(B)], [0.0] * B, [False] * B, [[] for _ in range(B)]
        for _ in range(max_length):
            if all(done):
                break
            logits, _, state = net.decode_step(state, fed)
            logp = F.log_softmax(logits.to(torch.float64), dim=-1)
            for b in range(B):
                if done[b]:
                    fed[b] = EOS
                    continue
                best = int(torch.argmax(logits[b]))
                logits_seen[b].append(logits[b].to(torch.float64))
                scores[b] += float(logp[b, best])
                fed[b] = best
                if best == EOS:
                    done[b] = True
                else:
                    tokens[b].append(best)
        return [(tokens[b], scores[b], done[b], torch.stack(logits_seen[b]) if logits_seen[b] else torch.zeros(0))
                for b in range(B)]

    def translate(self, texts, max_length=0, unknown=None):
        """`spanattn translate`: max_length 0 means 2 x (longest source ids, <eos> included) + 10 for the whole call."""
        sources = [self.encode_source(t, unknown) for t in texts]
        limit = max_length if max_length > 0 else max(2 * len(x) + 10 for x in sources)
        out = []
        for tokens, score, finished, _ in self.greedy(sources, limit):
            out.append(Translation(self.target.decode_text(tokens), tokens, score, finished))
        return out

    @torch.no_grad()
    def teacher_forced_loss(self, sources, targets):
        """Seq2SeqModel.Forward's loss: mean cross-entropy over the non-padding target tokens of one padded batch
        (target input <sos> + y, output y + <eos>)."""
        B, S, T = len(sources), max(len(x) for x in sources), max(len(y) for y in targets) + 1
        src = torch.full((B, S), PAD, dtype=torch.long)
        tin = torch.full((B, T), PAD, dtype=torch.long)
        tout = torch.full((B, T), PAD, dtype=torch.long)
        for b, (x, y) in enumerate(zip(sources, targets)):
            src[b, :len(x)] = torch.tensor(x)
            tin[b, :len(y) + 1] = torch.tensor([BOS] + y)
            tout[b, :len(y) + 1] = torch.tensor(y + [EOS])
        return float(self.net(src, [len(x) for x in sources], tin, tout))


# ---------------------------------------------------------------------------------------------------------------
# Training in PyTorch on a toy task
# ---------------------------------------------------------------------------------------------------------------

def reverse_pairs(count, seed, symbols=10, min_length=2, max_length=5):
    """Source "a b c" -> target "c b a" over the first `symbols` letters (word tokens)."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        seq = [chr(ord("a") + rng.randrange(symbols)) for _ in range(rng.randint(min_length, max_length))]
        pairs.append((" ".join(seq), " ".join(reversed(seq))))
    return pairs


def train(pairs, cell="Gru", decoder="Bahdanau", scorer="Additive", layers=1, bidirectional=False, embedding=8, hidden=16,
          attention=0, steps=300, batch_size=32, lr=1e-2, clip=5.0, seed=1, log=None):
    """Trains seq2seq_reference.Seq2Seq with teacher forcing, masked cross-entropy, Adam and global-norm clipping
    (torch.nn.utils.clip_grad_norm_, as Seq2SeqTrainer) and returns a SpanAttentionModel (float32) ready to save."""
    source = Vocabulary.build([words(s) for s, _ in pairs], "word")
    target = Vocabulary.build([words(t) for _, t in pairs], "word")
    config = {"SourceVocabSize": len(source.tokens), "TargetVocabSize": len(target.tokens), "EmbeddingSize": embedding,
              "HiddenSize": hidden, "Cell": cell, "EncoderLayers": layers, "Bidirectional": bidirectional, "Decoder": decoder,
              "Scorer": scorer, "AttentionSize": attention, "Dropout": 0.0, "PaddingId": PAD, "BosId": BOS, "EosId": EOS}
    torch.manual_seed(seed)
    net = Seq2Seq(config)
    model = SpanAttentionModel(net, config, source, target)
    data = [([source.ids[t] for t in words(s)] + [EOS], [target.ids[t] for t in words(y)]) for s, y in pairs]
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    rng = random.Random(seed)
    for step in range(steps):
        batch = rng.sample(data, min(batch_size, len(data)))
        B, S, T = len(batch), max(len(x) for x, _ in batch), max(len(y) for _, y in batch) + 1
        src = torch.full((B, S), PAD, dtype=torch.long)
        tin = torch.full((B, T), PAD, dtype=torch.long)
        tout = torch.full((B, T), PAD, dtype=torch.long)
        for b, (x, y) in enumerate(batch):
            src[b, :len(x)] = torch.tensor(x)
            tin[b, :len(y) + 1] = torch.tensor([BOS] + y)
            tout[b, :len(y) + 1] = torch.tensor(y + [EOS])
        opt.zero_grad()
        loss = net(src, [len(x) for x, _ in batch], tin, tout)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
        opt.step()
        if log is not None and (step + 1) % 100 == 0:
            log(f"step {step + 1}: loss {float(loss):.4f}")
    net.eval()
    return model


# ---------------------------------------------------------------------------------------------------------------
# Interop test data
# ---------------------------------------------------------------------------------------------------------------

# PyTorch-trained files: name -> train() arguments.
PYTORCH_CASES = OrderedDict([
    ("pytorch_gru_bahdanau_additive", dict(cell="Gru", decoder="Bahdanau", scorer="Additive", attention=12, seed=11)),
    ("pytorch_lstm_luong_general_bi", dict(cell="Lstm", decoder="Luong", scorer="General", bidirectional=True, seed=12)),
    ("pytorch_rnn_none_2layers", dict(cell="Rnn", decoder="None", scorer="Additive", layers=2, seed=13)),
    ("pytorch_gru_bahdanau_dot", dict(cell="Gru", decoder="Bahdanau", scorer="Dot", seed=14)),
])

# SpanAttention-written files (committed; --retrain-spanattn rewrites them with these CLI arguments).
_SMALL = ["--epochs", "4", "--embedding-size", "8", "--hidden-size", "16", "--batch-size", "16", "--threads", "1", "--patience", "0"]
_REVERSE = ["--task", "reverse", "--count", "600", "--min-length", "2", "--max-length", "5", "--seed", "3"]
SPANATTN_CASES = OrderedDict([
    ("spanattn_gru_bahdanau_additive", _REVERSE + _SMALL + ["--cell", "gru", "--decoder", "bahdanau", "--scorer", "additive"]),
    ("spanattn_lstm_luong_general", _REVERSE + _SMALL + ["--cell", "lstm", "--decoder", "luong", "--scorer", "general"]),
    ("spanattn_gru_bahdanau_general_bi2", _REVERSE + _SMALL + ["--cell", "gru", "--layers", "2", "--bidirectional", "--decoder", "bahdanau", "--scorer", "general"]),
    ("spanattn_lstm_none", _REVERSE + _SMALL + ["--cell", "lstm", "--decoder", "none"]),
    ("spanattn_rnn_luong_dot", _REVERSE + _SMALL + ["--cell", "rnn", "--decoder", "luong", "--scorer", "dot"]),
    ("spanattn_gru_bahdanau_scaleddot_dates", ["--task", "dates", "--count", "400", "--seed", "3"] + _SMALL + ["--cell", "gru", "--decoder", "bahdanau", "--scorer", "scaled-dot"]),
])

# Inputs for the reverse-task models: known letters, an unknown token, a literal <unk>, a long input, a single token.
REVERSE_INPUTS = ["a b c", "c a", "e d c b a", "b b j a", "a z b", "<unk> c d", "f g h i j a b c d e", "d", "  j   i  h "]
DATES_INPUTS = ["3 march 2021", "march 3, 2021", "12/25/1999", "1 jan 2000", "31 december 1990", "tuesday"]

# Tokenisation cases checked against Tokenizer.Tokenize: NFC (decomposed nukta, e + combining acute), white space,
# grapheme clusters (Devanagari signs and virama, emoji ZWJ sequence, flags, Hangul jamo, CR LF).
TOKENIZATION_CASES = [
    ("word", "  a  b\tc\u00a0d\u2003e "), ("word", "क\u093c ख़ cafe\u0301"), ("word", "x\u001cy"),
    ("char", "हिंदी क्षत्रिय"), ("char", "क\u093cि  x"), ("char", "cafe\u0301 \U0001F469\u200D\U0001F4BB!"),
    ("char", "\U0001F1EE\U0001F1F3\U0001F1EB\U0001F1F7"), ("char", "\u1100\u1161\u11A8\uAC00"), ("char", "a\r\nb"),
    ("char", " \u0939\u0942\u0901 "),
]


def expected_outputs(model, inputs, max_length=0):
    """Float64 translations of the inputs as one `spanattn translate` call, plus the teacher-forced loss of the
    batch (sources, greedy outputs) and the smallest top-1/top-2 logit margin met (how safe the arg-max is)."""
    unknown = []
    sources = [model.encode_source(t, unknown) for t in inputs]
    limit = max_length if max_length > 0 else max(2 * len(x) + 10 for x in sources)
    results = model.greedy(sources, limit)
    margin = math.inf
    for _, _, _, logits in results:
        if logits.numel():
            top = torch.topk(logits, 2, dim=-1).values
            margin = min(margin, float((top[:, 0] - top[:, 1]).min()))
    loss = model.teacher_forced_loss(sources, [tokens for tokens, _, _, _ in results])
    return {
        "inputs": inputs, "max_length": max_length, "step_limit": limit, "unknown_tokens": unknown,
        "source_ids": sources,
        "translations": [model.target.decode_text(tokens) for tokens, _, _, _ in results],
        "tokens": [tokens for tokens, _, _, _ in results],
        "scores": [score for _, score, _, _ in results],
        "finished": [finished for _, _, finished, _ in results],
        "teacher_forced_loss": loss, "min_logit_margin": margin,
    }


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")


def interop(retrain_spanattn=False):
    os.makedirs(INTEROP, exist_ok=True)
    torch.set_num_threads(1)
    cases = []
    for name, args in PYTORCH_CASES.items():
        model = train(reverse_pairs(800, seed=args["seed"]), steps=400, log=lambda m, n=name: print(n, m), **args)
        path = os.path.join(INTEROP, name + ".safetensors")
        model.save(path)
        cases.append((name, path, REVERSE_INPUTS))
    for name, cli_args in SPANATTN_CASES.items():
        path = os.path.join(INTEROP, name + ".safetensors")
        if retrain_spanattn:
            cmd = ["dotnet", "run", "-c", "Release", "--project", os.path.join(ROOT, "src", "SpanAttention.Cli"), "--",
                   "train"] + cli_args + ["--output", path, "--checkpoint", path + ".ckpt"]
            print(" ".join(cmd))
            subprocess.run(cmd, check=True, cwd=ROOT)
            os.remove(path + ".ckpt")
        cases.append((name, path, DATES_INPUTS if "dates" in name else REVERSE_INPUTS))
    for name, path, inputs in cases:
        model = SpanAttentionModel.load(path, dtype=torch.float64)
        data = {"model": os.path.basename(path), "config": model.config, "default": expected_outputs(model, inputs),
                "max_length_4": expected_outputs(model, inputs, max_length=4)}
        if name in SPANATTN_CASES:
            data["spanattn_train_arguments"] = SPANATTN_CASES[name]
        write_json(os.path.join(INTEROP, name + ".json"), data)
        d = data["default"]
        print(f"{name}: {os.path.getsize(path)} bytes, {sum(d['finished'])}/{len(inputs)} finished, "
              f"min margin {d['min_logit_margin']:.2e}, loss {d['teacher_forced_loss']:.4f}: {d['translations']}")
    write_json(os.path.join(INTEROP, "tokenization.json"),
               [{"tokenization": mode, "text": text, "tokens": tokenize(text, mode)} for mode, text in TOKENIZATION_CASES])


# ---------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------

def _read_lines(texts):
    """The TEXT arguments, else every stdin line trimmed, blank ones kept as "" (one output line per input line)."""
    if texts:
        return [dotnet_trim(t) for t in texts]
    return [dotnet_trim(line) for line in sys.stdin.read().splitlines()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("translate")
    p.add_argument("model")
    p.add_argument("text", nargs="*")
    p.add_argument("--max-length", type=int, default=0)
    p.add_argument("--float64", action="store_true", help="decode in float64 (default float32, as the file)")
    p = sub.add_parser("info")
    p.add_argument("model")
    p = sub.add_parser("train")
    p.add_argument("output")
    p.add_argument("--cell", choices=list(CELLS), default="gru")
    p.add_argument("--decoder", choices=list(DECODERS), default="bahdanau")
    p.add_argument("--scorer", choices=list(SCORERS), default="additive")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--embedding-size", type=int, default=8)
    p.add_argument("--hidden-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("interop")
    p.add_argument("--retrain-spanattn", action="store_true")
    args = parser.parse_args(argv)

    if args.command == "translate":
        model = SpanAttentionModel.load(args.model, torch.float64 if args.float64 else torch.float32)
        unknown = []
        lines = _read_lines(args.text)
        if not any(lines):
            sys.exit("error: no input: give the text as arguments or one sentence per line on standard input")
        # Blank lines are not decoded (they take no part in the batch's step limit); each prints an empty line.
        results = iter(model.translate([line for line in lines if line], args.max_length, unknown))
        if unknown:
            print(f"warning: {len(unknown)} unknown token(s) mapped to <unk>: " + ", ".join(sorted(set(unknown))), file=sys.stderr)
        for line in lines:
            print(next(results).text if line else "")
    elif args.command == "info":
        metadata, tensors = read_safetensors(args.model)
        for name, t in tensors.items():
            print(f"{name:40s} {list(t.shape)}")
        for key, value in metadata.items():
            if key.endswith("_vocab"):
                v = Vocabulary.from_json(value)
                value = f"{v.tokenization}, {len(v.tokens)} tokens: " + " ".join(v.tokens)
            print(f"{key}: {value}")
    elif args.command == "train":
        model = train(reverse_pairs(800, args.seed), CELLS[args.cell], DECODERS[args.decoder], SCORERS[args.scorer], args.layers,
                      args.bidirectional, args.embedding_size, args.hidden_size, steps=args.steps, seed=args.seed,
                      log=lambda m: print(m, file=sys.stderr))
        model.save(args.output)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        interop(args.retrain_spanattn)


if __name__ == "__main__":
    try:
        main()
    except ModelFileError as e:
        sys.exit(f"error: {e}")   # one line and exit code 1, as spanattn reports a bad model file
