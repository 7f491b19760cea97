#!/usr/bin/env bash
# Fuzzes the model loader with N generated hostile files (default 10,000), derived deterministically from the
# committed seed model (tests/SpanAttention.Tests/IO/ModelFileFuzz.cs), in one process; then runs the first
# CLI_CASES (default 300) of them through `spanattn info` and `spanattn translate` as processes, which must each
# exit 0 or exit 1 with exactly one "spanattn: error:" line on stderr (never 70 internal error, 134 abort, or a hang).
# Prints the counts: tried / clean error / harmless load / crashed / hung / data lost.
set -uo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
CLI_CASES=${2:-300}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== in-process: $N cases"
SPANATTN_MODEL_FUZZ_CASES=$N SPANATTN_MODEL_FUZZ_REPORT="$work/report.txt" SPANATTN_MODEL_FUZZ_DUMP="$work/cases" \
  dotnet test tests/SpanAttention.Tests -c Release \
  --filter "FullyQualifiedName~HostileModelFileTests.Load_GeneratedHostileFiles" >"$work/test.log" 2>&1
rc=$?
cat "$work/report.txt" 2>/dev/null || { echo "no report; test log:"; tail -30 "$work/test.log"; }
[ "$rc" -eq 0 ] || echo "in-process run FAILED (exit $rc)"

echo "== CLI processes: up to $CLI_CASES files x (info, translate)"
dotnet build src/SpanAttention.Cli -c Release -v q >/dev/null 2>&1 || { echo "CLI build failed"; exit 1; }
cli="src/SpanAttention.Cli/bin/Release/net10.0/spanattn.dll"
tried=0 clean=0 harmless=0 crashed=0 hung=0
seed=tests/SpanAttention.Tests/TestData/models/hi-en-main-905a389.safetensors
seed_sum=$(sha256sum "$seed" | cut -d' ' -f1)
for f in $(ls "$work/cases" | head -n "$CLI_CASES"); do
  for cmd in info translate; do
    tried=$((tried + 1))
    if [ "$cmd" = info ]; then args=(info "$work/cases/$f"); else args=(translate "$work/cases/$f" "मैं खाना खा रहा हूँ"); fi
    timeout 20 dotnet "$cli" "${args[@]}" >"$work/out" 2>"$work/err"
    code=$?
    errors=$(grep -c '^spanattn: error:' "$work/err")
    lines=$(wc -l <"$work/err")
    if [ "$code" -eq 124 ]; then hung=$((hung + 1)); echo "  HUNG: $cmd $f"
    elif [ "$code" -eq 0 ]; then harmless=$((harmless + 1))
    elif [ "$code" -eq 1 ] && [ "$errors" -eq 1 ] && [ "$lines" -eq 1 ]; then clean=$((clean + 1))
    else crashed=$((crashed + 1)); echo "  CRASH: $cmd $f exit $code: $(head -c 300 "$work/err")"
    fi
  done
done
lost=0
[ "$(sha256sum "$seed" | cut -d' ' -f1)" = "$seed_sum" ] || lost=1
echo "cli: tried $tried, clean error $clean, harmless load $harmless, crashed $crashed, hung $hung, data lost $lost"
[ "$rc" -eq 0 ] && [ "$crashed" -eq 0 ] && [ "$hung" -eq 0 ] && [ "$lost" -eq 0 ]
