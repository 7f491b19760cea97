#!/usr/bin/env bash
# Runs the BenchmarkDotNet suites (all, or those matching $1, e.g. '*Gemm*') with a short job and writes
# their tables into docs/benchmarks.md, under a header naming the machine, ISA and date.
# Usage: perf/run-benchmarks.sh [filter...]   e.g. perf/run-benchmarks.sh '*Gemm*' '*Softmax*'
# Extra BenchmarkDotNet arguments come from $BENCH_ARGS, e.g. BENCH_ARGS='--inProcess --iterationTime 100'.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then set -- '*'; fi
artifacts=perf/BenchmarkDotNet.Artifacts
rm -rf "$artifacts"
dotnet run -c Release --project perf/SpanAttention.Benchmarks -- \
  --filter "$@" --job short --artifacts "$artifacts" ${BENCH_ARGS:-}

out=docs/benchmarks.md
tmp=$(mktemp "docs/.benchmarks.XXXXXX")
{
  echo "# Benchmarks"
  echo
  echo "Measured by \`perf/run-benchmarks.sh\` (BenchmarkDotNet, \`--job short\`: 3 warm-ups, 3 iterations, one"
  echo "launch; extra arguments: \`${BENCH_ARGS:-none}\`) in one run on $(date -u +%Y-%m-%d). Ratios against the naive twin (\`Baseline = true\`) are the"
  echo "numbers to read: this machine is shared and noisy, absolute times are not comparable across runs."
  echo
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') (family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), model $(grep -m1 '^model\s' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')), $(nproc) cores, KVM guest"
  echo "- ISA flags: $(grep -m1 flags /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|avx2|fma|avx512f)$' | tr '\n' ' ')"
  echo "- .NET: $(dotnet --version) SDK"
  echo
  for f in "$artifacts"/results/*-report-github.md; do
    name=$(basename "$f" -report-github.md)
    echo "## ${name##*.}"
    echo
    # Drop BenchmarkDotNet's environment preamble (it repeats per table); keep the table.
    sed -n '/^|/,$p' "$f"
    echo
  done
} > "$tmp"
mv "$tmp" "$out"
echo "wrote $out"
