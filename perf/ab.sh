#!/usr/bin/env bash
# ab.sh: old build against new build of SpanAttention, interleaved, on the perf/compare.sh workload.
#
#   perf/ab.sh OLD_DLL NEW_DLL [rounds] [sizes] [reps]
#   e.g. perf/ab.sh ../baseline/perf/SpanAttention.Benchmarks/bin/Release/net10.0/SpanAttention.Benchmarks.dll \
#                   perf/SpanAttention.Benchmarks/bin/Release/net10.0/SpanAttention.Benchmarks.dll 3 64,256
#
# Rows: train B=32, train B=1, decode B=1 for every H in sizes (default 64,256), 1 thread. Each round runs
# every row once per build, one process each, alternating which build goes first from round to round, so a
# shared machine's drifts hit both alike. Prints per row the median of all samples of each build (tokens/s
# for train, higher is better; us/token for decode, lower is better) and new/old as a speed ratio
# (> 1: new is faster). Tiered JIT off, as in perf/compare.sh. Raw JSON lines go to a fresh /tmp directory.
set -euo pipefail
old="${1:?OLD_DLL}"; new="${2:?NEW_DLL}"; rounds="${3:-3}"; sizes="${4:-64,256}"; reps="${5:-5}"
out="$(mktemp -d "${TMPDIR:-/tmp}/spanattention-ab-XXXXXX")"
IFS=, read -r -a size_list <<< "$sizes"
rows=()
for h in "${size_list[@]}"; do rows+=("train $h 32" "train $h 1" "decode $h 1"); done

run() { # build-tag dll mode H B
    DOTNET_TieredCompilation="${DOTNET_TieredCompilation:-0}" dotnet "$2" seq2seq-json --mode "$3" --hidden "$4" --batch "$5" --threads 1 --reps "$reps" --warmup 2 \
        | grep '^{' | sed "s/^{/{\"build\":\"$1\",/" >> "$out/results.jsonl"
}
for ((r = 0; r < rounds; r++)); do
    for row in "${rows[@]}"; do
        read -r mode h b <<< "$row"
        if (( r % 2 == 0 )); then run old "$old" "$mode" "$h" "$b"; run new "$new" "$mode" "$h" "$b"
        else run new "$new" "$mode" "$h" "$b"; run old "$old" "$mode" "$h" "$b"; fi
    done
    echo "ab.sh: round $((r + 1))/$rounds done" >&2
done
echo "ab.sh: raw results in $out/results.jsonl" >&2
python3 - "$out/results.jsonl" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    rows.setdefault((d["mode"], d["H"], d["B"], d["unit"]), {}).setdefault(d["build"], []).extend(d["samples"])
print(f"{'row':<22}{'old':>12}{'new':>12}{'new speed/old':>15}  unit")
for (mode, h, b, unit), s in sorted(rows.items(), key=lambda kv: (kv[0][0] != "train", kv[0][1], -kv[0][2])):
    o, n = statistics.median(s["old"]), statistics.median(s["new"])
    ratio = n / o if unit == "tokens/s" else o / n
    print(f"{mode + f' H={h} B={b}':<22}{o:>12.1f}{n:>12.1f}{ratio:>15.3f}  {unit}")
PY
