#!/usr/bin/env python3
"""Table of medians (and ratios, GFLOP/s, fraction of FMA peak) from the JSON lines of compare.sh.

Usage: compare_table.py results.jsonl [more.jsonl ...] [--svg chart.svg] [--title TEXT]

Input rows (one JSON object per line; other lines are ignored):
  engine "pytorch" | "spanattention" | "spanattention-bf16" | "spanattention-int8" | "libtorch" | "onnxruntime" |
  "onnxruntime-int8": mode ("train"|"decode"), H, B, threads, median, unit, samples
  engine "peak": threads, gflops (from perf/peak/peak_fma)
The same configuration may appear in several rows (one per interleaved round): their samples are
pooled and the table shows the median of all samples. GFLOP/s is recomputed from that median with
workload.py's formula (one formula for both engines). Speedup = SpanAttention tokens/s / PyTorch
tokens/s for training and PyTorch us/token / SpanAttention us/token for decoding, so > 1 always
means SpanAttention is faster. The bar column is issue 7's minimum speedup for that row.
When rows of the anchors (perf/torchsharp: libtorch 2.10; perf/onnxruntime: ONNX Runtime fp32 and int8) are
present, each gets a median column and a SpanAttention / anchor ratio column, with the same "> 1 = SpanAttention
faster" convention; anchors that have no rows get no columns.
Rows of SpanAttention with narrow decoding weights (spanattention-bf16 / -int8) get a second table, "decoding past
the fp32 limit": each format against SpanAttention's own fp32 decoding, the fastest SpanAttention format against
ORT fp32, and the fastest narrow format against ORT int8, with the bars of the performance issue.
The SVG chart has one bar per row and comparison: SpanAttention against PyTorch 1.13, libtorch 2.10, ORT fp32
and (narrow weights) ORT int8, each with its bar as a black tick.
Runs with any Python 3 (no torch needed).
"""

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workload import ISSUE_PYTORCH_1T, PEAK_BARS, SPEEDUP_BARS, gflops, lookup  # noqa: E402

ENGINES = ("pytorch", "spanattention", "spanattention-bf16", "spanattention-int8", "libtorch", "onnxruntime",
           "onnxruntime-int8")
NARROW = {"spanattention-bf16": "bf16", "spanattention-int8": "int8"}
# The bars against the anchors (ratios, > 1 = SpanAttention faster): training >= 2x libtorch 2.10; decoding >= 3x
# ORT fp32 (fastest SpanAttention format); narrow decoding >= 1.8x SpanAttention's own fp32 at H = 256 and 1024 and
# >= 2x ORT int8.
ANCHOR_BARS = {("train", "libtorch"): 2.0, ("decode", "onnxruntime"): 3.0, ("decode", "onnxruntime-int8"): 2.0}
NARROW_OWN_BAR = {256: 1.8, 1024: 1.8}
# The anchors beyond PyTorch 1.13: engine -> column title.
ANCHORS = {"libtorch": "libtorch 2.10", "onnxruntime": "ORT fp32", "onnxruntime-int8": "ORT int8"}


def load(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:
                        print("compare_table: skipping bad line in %s: %s" % (path, line[:80]), file=sys.stderr)
    return rows


def aggregate(rows, metric="wall"):
    peak = {}
    cells = {}
    meta = {}
    for r in rows:
        if r.get("engine") == "peak":
            t = int(r["threads"])
            peak[t] = max(peak.get(t, 0.0), float(r["gflops"]))
            continue
        if r.get("engine") not in ENGINES:
            continue
        key = (r["mode"], int(r["H"]), int(r["B"]), int(r["threads"]))
        if metric == "cpu":
            if r.get("cpu_median") is None:
                continue
            samples = [r["cpu_median"]]      # one value per row (per process / round)
        else:
            samples = r.get("samples") or [r["median"]]
        cells.setdefault(key, {}).setdefault(r["engine"], []).extend(float(s) for s in samples)
        if r.get("config"):
            meta.setdefault(r["engine"], r["config"])
    med = {k: {e: statistics.median(v) for e, v in d.items()} for k, d in cells.items()}
    counts = {k: {e: len(v) for e, v in d.items()} for k, d in cells.items()}
    return peak, med, counts, meta


def speedup(mode, pt, sa):
    if pt is None or sa is None or pt <= 0 or sa <= 0:
        return None
    return sa / pt if mode == "train" else pt / sa


def fmt(x, digits=1):
    if x is None:
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def build_table(peak, med, counts):
    order = sorted(med, key=lambda k: (k[0] != "train", k[3], k[2] != 32, k[1]))
    anchors = [e for e in ANCHORS if any(e in d for d in med.values())]
    header = ["mode", "H", "B", "thr", "unit", "PyTorch", "SpanAttention", "speedup", "bar", "met"]
    for e in anchors:
        header += [ANCHORS[e], "SA / " + ANCHORS[e]]
    header += ["PT GFLOP/s", "PT %peak", "SA GFLOP/s", "SA %peak", "issue PT 1thr",
               "n (" + "/".join(["PT", "SA"] + [ANCHORS[e] for e in anchors]) + ")"]
    lines = []
    chart = []
    chart_anchor = []
    for key in order:
        mode, H, B, thr = key
        pt = med[key].get("pytorch")
        sa = med[key].get("spanattention")
        unit = "tokens/s" if mode == "train" else "us/token"
        sp = speedup(mode, pt, sa)
        bar = lookup(SPEEDUP_BARS, mode, H, B, thr)
        pbar = lookup(PEAK_BARS, mode, H, B, thr)
        pk = peak.get(1 if pbar else thr)  # the 55% bar is against ONE core's peak
        pk_thr = peak.get(thr)
        g_pt = gflops(mode, H, B, pt) if pt else None
        g_sa = gflops(mode, H, B, sa) if sa else None
        met = []
        if bar is not None and sp is not None:
            met.append("yes" if sp >= bar else "NO (%.0f%% of bar)" % (100 * sp / bar))
        if pbar is not None and g_sa is not None and pk:
            frac = g_sa / pk
            met.append(("peak yes" if frac >= pbar else "peak NO") + " (%.0f%%>=%.0f%%?)" % (100 * frac, 100 * pbar))
        bar_text = "-" if bar is None else "%gx" % bar
        if pbar is not None:
            bar_text += ", SA>=%.0f%% 1-core peak" % (100 * pbar)
        issue = ISSUE_PYTORCH_1T.get((mode, H, B)) if thr == 1 else None
        n = counts[key]
        line = [mode, str(H), str(B), str(thr), unit, fmt(pt), fmt(sa),
                "-" if sp is None else "%.2fx" % sp, bar_text, "; ".join(met) or "-"]
        for e in anchors:
            an = med[key].get(e)
            ratio = speedup(mode, an, sa)
            line += [fmt(an), "-" if ratio is None else "%.2fx" % ratio]
            if ratio is not None and e != "onnxruntime-int8":
                chart_anchor.append(("%s H=%d B=%d %dT vs %s" % (mode, H, B, thr, ANCHORS[e]), ratio,
                                     ANCHOR_BARS.get((mode, e))))
        line += [fmt(g_pt), fmt(100 * g_pt / pk_thr if g_pt and pk_thr else None),
                 fmt(g_sa), fmt(100 * g_sa / pk_thr if g_sa and pk_thr else None),
                 fmt(issue), "/".join(str(n.get(e, 0)) for e in ["pytorch", "spanattention"] + anchors)]
        lines.append(line)
        if sp is not None:
            chart.append(("%s H=%d B=%d %dT vs PyTorch 1.13" % (mode, H, B, thr), sp, bar))
    return header, lines, chart + chart_anchor


def build_narrow_table(med, counts):
    """Decoding with narrow weights: each format against SpanAttention's fp32, and against ONNX Runtime."""
    keys = sorted((k for k in med if k[0] == "decode" and any(e in med[k] for e in NARROW)), key=lambda k: (k[3], k[1]))
    header = ["H", "thr", "SA fp32", "SA bf16", "SA int8", "bf16 / fp32", "int8 / fp32", "own bar",
              "ORT fp32", "best SA / ORT fp32 (bar 3x)", "ORT int8", "best narrow SA / ORT int8 (bar 2x)", "n (fp32/bf16/int8)"]
    lines, chart = [], []
    for key in keys:
        _, H, B, thr = key
        m = med[key]
        fp32 = m.get("spanattention")
        line = [str(H), str(thr), fmt(fp32)]
        line += [fmt(m.get(e)) for e in NARROW]
        own = {e: speedup("decode", fp32, m.get(e)) for e in NARROW}
        line += ["-" if own[e] is None else "%.2fx" % own[e] for e in NARROW]
        line.append("-" if H not in NARROW_OWN_BAR else "%gx" % NARROW_OWN_BAR[H])
        formats = [e for e in ["spanattention"] + list(NARROW) if m.get(e)]
        best = min((m[e] for e in formats), default=None)
        best_name = min(formats, key=lambda e: m[e]) if formats else None
        narrow = [e for e in NARROW if m.get(e)]
        best_narrow = min((m[e] for e in narrow), default=None)
        best_narrow_name = min(narrow, key=lambda e: m[e]) if narrow else None
        ort, ort8 = m.get("onnxruntime"), m.get("onnxruntime-int8")
        r_ort = speedup("decode", ort, best)
        r_ort8 = speedup("decode", ort8, best_narrow)
        line += [fmt(ort), "-" if r_ort is None else "%.2fx (%s)" % (r_ort, NARROW.get(best_name, "fp32")),
                 fmt(ort8), "-" if r_ort8 is None else "%.2fx (%s)" % (r_ort8, NARROW.get(best_narrow_name, "?")),
                 "/".join(str(counts[key].get(e, 0)) for e in ["spanattention"] + list(NARROW))]
        lines.append(line)
        for e in NARROW:
            if own[e] is not None:
                chart.append(("decode H=%d %dT %s vs SA fp32" % (H, thr, NARROW[e]), own[e], NARROW_OWN_BAR.get(H)))
        if r_ort is not None:
            chart.append(("decode H=%d %dT best SA vs ORT fp32" % (H, thr), r_ort, 3.0))
        if r_ort8 is not None:
            chart.append(("decode H=%d %dT narrow SA vs ORT int8" % (H, thr), r_ort8, 2.0))
    return header, lines, chart


def markdown(header, lines):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(l) + " |" for l in lines]
    return "\n".join(out)


def svg(chart, title):
    """Horizontal bars of the speedups (log scale), the issue's bar as a tick; 1x marked."""
    import math
    w, left, row_h, top = 900, 330, 22, 40
    h = top + row_h * len(chart) + 40
    lo, hi = 0.1, max([10.0] + [max(s, b or 0) * 1.3 for _, s, b in chart])
    def x(v):
        return left + (w - left - 20) * (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    p = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
         f'<text x="10" y="20" font-size="14">{title}</text>']
    for v in (0.1, 0.5, 1, 2, 4, 10, 20, 50, 100):
        if v <= hi:
            p.append(f'<line x1="{x(v):.1f}" y1="{top-5}" x2="{x(v):.1f}" y2="{h-30}" stroke="{"#444" if v == 1 else "#ddd"}"/>')
            p.append(f'<text x="{x(v):.1f}" y="{h-15}" text-anchor="middle">{v:g}x</text>')
    for i, (label, s, b) in enumerate(chart):
        y = top + i * row_h
        color = "#2a7" if (b is None or s >= b) else "#c33"
        p.append(f'<text x="{left-8}" y="{y+14}" text-anchor="end">{label}</text>')
        p.append(f'<rect x="{x(lo):.1f}" y="{y+3}" width="{x(s)-x(lo):.1f}" height="{row_h-8}" fill="{color}"/>')
        p.append(f'<text x="{x(s)+4:.1f}" y="{y+14}">{s:.2f}x</text>')
        if b is not None:
            p.append(f'<line x1="{x(b):.1f}" y1="{y+1}" x2="{x(b):.1f}" y2="{y+row_h-3}" stroke="#000" stroke-width="2"/>')
    p.append("</svg>")
    return "\n".join(p) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--svg", help="write a chart of the speedups (needs SpanAttention rows)")
    ap.add_argument("--metric", choices=("wall", "cpu"), default="wall",
                    help="wall: wall-clock samples (default, the official numbers); cpu: the rows' "
                         "cpu_median (process CPU time; a diagnostic for a shared machine, meaningful "
                         "for 1 thread only)")
    ap.add_argument("--title", default="SpanAttention speedup over each engine (black tick: the bar)")
    args = ap.parse_args()
    peak, med, counts, meta = aggregate(load(args.files), args.metric)
    if args.metric == "cpu":
        print("METRIC: process CPU time (cpu_median), not wall clock; n counts rows, not samples")
    if peak:
        print("fp32 FMA peak (peak_fma, best trial): " +
              ", ".join("%d thread%s %.1f GFLOP/s" % (t, "s" if t > 1 else "", g) for t, g in sorted(peak.items())))
    for engine, cfg in meta.items():
        print("%s config: %s" % (engine, json.dumps(cfg)))
    if not med:
        print("no benchmark rows found")
        return 1
    header, lines, chart = build_table(peak, med, counts)
    print()
    print(markdown(header, lines))
    print()
    n_header, n_lines, n_chart = build_narrow_table(med, counts)
    if n_lines:
        print("Decoding past the fp32 limit (us/token; ratios > 1 = faster):")
        print()
        print(markdown(n_header, n_lines))
        print()
        chart += n_chart
    print("speedup > 1: SpanAttention faster (train: tokens/s ratio SA/PT; decode: us/token ratio PT/SA; "
          "the 'SA / anchor' columns likewise). "
          "%peak: achieved model GFLOP/s / measured FMA peak at the row's thread count. "
          "'issue PT 1thr': PyTorch numbers quoted in issue 7 from another (AVX-512) machine, for scale only.")
    if args.svg:
        if chart:
            with open(args.svg, "w") as f:
                f.write(svg(chart, args.title))
            print("wrote %s" % args.svg)
        else:
            print("no SpanAttention rows: chart %s not written" % args.svg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
