#!/usr/bin/env python3
"""Compares corpus BLEU-4 as SpanAttention computes it (the paper's definition, as in tools/bleu_reference.py)
with NLTK's corpus_bleu on the same pairs, and shows where NLTK differs.

    python3 tools/bleu_vs_nltk.py HYPOTHESES REFERENCES

Both files: one sentence per line, tokens separated by spaces, the same number of lines (e.g. `spanattn translate
MODEL < sources > hyp` and the references of those sources). Needs NLTK (Debian: apt-get install python3-nltk).
Prints three scores (x 100): by the paper's definition (what `spanattn eval` reports), NLTK's corpus_bleu, and the
paper's definition with NLTK's one change: NLTK's modified_precision counts max(1, len - n + 1) n-grams for a
hypothesis, so a hypothesis shorter than n tokens adds a phantom unmatched n-gram to order n's total.
"""
import math
import sys
from collections import Counter

from nltk.translate.bleu_score import corpus_bleu


def ngrams(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu(hypotheses, references, floor):
    matches, totals = [0] * 4, [0] * 4
    c = r = 0
    for hyp, ref in zip(hypotheses, references):
        c += len(hyp)
        r += len(ref)
        for n in range(1, 5):
            ref_counts = ngrams(ref, n)
            matches[n - 1] += sum(min(k, ref_counts[g]) for g, k in ngrams(hyp, n).items())
            totals[n - 1] += max(floor, len(hyp) - n + 1)
    if c == 0 or min(matches) == 0:
        return 0.0
    bp = 1.0 if c > r else math.exp(1 - r / c)
    return 100 * bp * math.exp(sum(0.25 * math.log(m / t) for m, t in zip(matches, totals)))


def read(path):
    with open(path, encoding="utf-8") as f:
        return [line.split() for line in f.read().split("\n")[:-1]]


hyps, refs = read(sys.argv[1]), read(sys.argv[2])
assert len(hyps) == len(refs), "the two files need the same number of lines"
print(f"pairs: {len(hyps)}, hypotheses shorter than 4 tokens: {sum(1 for h in hyps if len(h) < 4)}")
print(f"paper definition (spanattn eval): {bleu(hyps, refs, 0):.4f}")
print(f"nltk corpus_bleu:                 {100 * corpus_bleu([[r] for r in refs], hyps):.4f}")
print(f"paper definition, NLTK's max(1,.) denominators: {bleu(hyps, refs, 1):.4f}")
