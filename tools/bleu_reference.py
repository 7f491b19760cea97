#!/usr/bin/env python3
"""Independent reference for SpanAttention.Evaluation.Bleu (corpus BLEU-4, Papineni et al. 2002).

Written from the paper's definition with collections.Counter (no nltk/sacrebleu needed):
clipped n-gram matches and hypothesis n-gram totals summed over the corpus, uniform weights,
no smoothing, brevity penalty exp(1 - r/c) when c <= r with r the closest reference length
(shorter on ties). The printed values are pasted into tests/SpanAttention.Tests/Evaluation/BleuTests.cs.
Case "nltk-doc" is the example of NLTK's corpus_bleu docstring, whose documented result is
0.5920778868801042; this script must reproduce it.
"""
import math
from collections import Counter


def ngrams(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(hypotheses, reference_sets):
    matches, totals = [0] * 4, [0] * 4
    c = r = 0
    for hyp, refs in zip(hypotheses, reference_sets):
        c += len(hyp)
        r += min((abs(len(ref) - len(hyp)), len(ref)) for ref in refs)[1]
        for n in range(1, 5):
            counts = ngrams(hyp, n)
            max_ref = Counter()
            for ref in refs:
                for gram, k in ngrams(ref, n).items():
                    max_ref[gram] = max(max_ref[gram], k)
            matches[n - 1] += sum(min(k, max_ref[gram]) for gram, k in counts.items())
            totals[n - 1] += max(0, len(hyp) - n + 1)
    if c == 0 or min(matches) == 0:
        return 0.0
    bp = 1.0 if c > r else math.exp(1 - r / c)
    return bp * math.exp(sum(0.25 * math.log(m / t) for m, t in zip(matches, totals)))


hyp1 = "It is a guide to action which ensures that the military always obeys the commands of the party".split()
ref1a = "It is a guide to action that ensures that the military will forever heed Party commands".split()
ref1b = "It is the guiding principle which guarantees the military forces always being under the command of the Party".split()
ref1c = "It is the practical guide for the army always to heed the directions of the party".split()
hyp2 = "he read the book because he was interested in world history".split()
ref2a = "he was interested in world history because he read the book".split()

cases = {
    "nltk-doc": ([hyp1, hyp2], [[ref1a, ref1b, ref1c], [ref2a]]),
    "single-reference": ([hyp1, hyp2], [[ref1a], [ref2a]]),
    "short-hypothesis": ([("the cat sat on the".split())], [["the cat sat on the mat".split()]]),
    "two-sentences": ([("a b c d e".split()), ("a b x d e f".split())], [[("a b c d e".split())], [("a b c d e f".split())]]),
}
for name, (h, r) in cases.items():
    print(f"{name}: {corpus_bleu(h, r)!r}")
