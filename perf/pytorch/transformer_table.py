#!/usr/bin/env python3
"""Table of the Transformer comparison (perf/compare-transformer.sh) from its JSON lines.

Usage: transformer_table.py results.jsonl [more.jsonl ...]

Reads the rows with "workload": "transformer" (engines pytorch, spanattention, libtorch), each tagged by the script
with its round and the 1-minute load average when its process started. Per (mode, E, B, threads):
  - the pooled median of every round's samples per engine, and the speedup of SpanAttention from those
    (training: SpanAttention tokens/s / PyTorch tokens/s; decoding: PyTorch us/token / SpanAttention us/token;
    > 1 = SpanAttention faster);
  - the range of the per-round speedups (each round's two medians), and the speedup of the round with the lowest
    load (the larger of its two processes' load averages), with that load;
  - the bar (training >= 1.5x, decoding >= 3x per token, one thread) and whether the pooled speedup meets it.
Runs with any Python 3 (no torch needed).
"""

import json
import statistics
import sys

BARS = {"train": 1.5, "decode": 3.0}
OTHERS = {"pytorch": "PyTorch 1.13", "libtorch": "libtorch 2.10"}


def load(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    row = json.loads(line)
                    if row.get("workload") == "transformer":
                        rows.append(row)
    return rows


def speedup(mode, other, sa):
    if not other or not sa:
        return None
    return sa / other if mode == "train" else other / sa


def fmt(x, digits=1):
    if x is None:
        return "-"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.{digits}f}"


def table(rows):
    cells = {}
    for r in rows:
        key = (r["mode"], int(r["E"]), int(r["B"]), int(r["threads"]))
        cells.setdefault(key, {}).setdefault(r["engine"], []).append(r)
    header = ["mode", "E", "heads", "F", "B", "thr", "unit", "SpanAttention"]
    others = [e for e in OTHERS if any(e in d for d in cells.values())]
    for e in others:
        header += [OTHERS[e], "speedup vs " + OTHERS[e], "per-round range", "lowest-load round (load)"]
    header += ["bar", "met (pooled, vs PyTorch)", "load range", "rounds"]
    lines = []
    for key in sorted(cells, key=lambda k: (k[0] != "train", k[1], k[3])):
        mode, e, b, thr = key
        d = cells[key]
        sa_rows = d.get("spanattention", [])
        pooled = {eng: statistics.median([s for r in rs for s in r["samples"]]) for eng, rs in d.items()}
        sa = pooled.get("spanattention")
        any_row = next(iter(d.values()))[0]
        line = [mode, str(e), str(any_row.get("heads", "?")), str(any_row.get("F", "?")), str(b), str(thr),
                any_row["unit"], fmt(sa)]
        loads = [r.get("load1") for rs in d.values() for r in rs if r.get("load1") is not None]
        met = "-"
        for eng in others:
            sp = speedup(mode, pooled.get(eng), sa)
            by_round = {}
            for r in d.get(eng, []):
                by_round.setdefault(r.get("round"), {})["other"] = r
            for r in sa_rows:
                by_round.setdefault(r.get("round"), {})["sa"] = r
            per_round = []
            for pair in by_round.values():
                if "other" in pair and "sa" in pair:
                    ratio = speedup(mode, pair["other"]["median"], pair["sa"]["median"])
                    round_load = max(pair["other"].get("load1") or 0.0, pair["sa"].get("load1") or 0.0)
                    per_round.append((round_load, ratio))
            rng = "%.2f-%.2fx" % (min(p[1] for p in per_round), max(p[1] for p in per_round)) if per_round else "-"
            quiet = "%.2fx (%.1f)" % (min(per_round)[1], min(per_round)[0]) if per_round else "-"
            line += [fmt(pooled.get(eng)), "-" if sp is None else "%.2fx" % sp, rng, quiet]
            if eng == "pytorch" and sp is not None and thr == 1:
                met = ("yes" if sp >= BARS[mode] else "NO (%.0f%% of bar)" % (100 * sp / BARS[mode]))
        line += ["%gx" % BARS[mode] if thr == 1 else "-", met,
                 "%.1f-%.1f" % (min(loads), max(loads)) if loads else "-",
                 str(max(len(rs) for rs in d.values()))]
        lines.append(line)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(l) + " |" for l in lines]
    return "\n".join(out)


def main():
    paths = [a for a in sys.argv[1:] if not a.startswith("-")]
    if not paths:
        sys.exit(__doc__)
    rows = load(paths)
    if not rows:
        sys.exit("transformer_table: no transformer rows in %s" % ", ".join(paths))
    print(table(rows))


if __name__ == "__main__":
    main()
