#!/usr/bin/env bash
# Mutation testing of the given source files with Stryker.NET (a local tool: .config/dotnet-tools.json).
#
#   tools/mutation.sh src/SpanAttention/Kernels/Softmax.cs [FILE...]
#   MUTATION_AVX512=0 tools/mutation.sh src/SpanAttention/Kernels/Softmax.cs   # run the tests without AVX-512
#   MUTATION_FILTER='FullyQualifiedName~Softmax' tools/mutation.sh FILE          # override the test filter
#   MUTATION_CONCURRENCY=1 tools/mutation.sh FILE                                # one test runner (shared machine)
#   MUTATION_ONE_RUN=1 tools/mutation.sh FILE1 FILE2                             # one Stryker run for all files
#
# Each file is mutated on its own, against the unit tests of its folder (src/SpanAttention/Kernels/X.cs ->
# the tests in namespace SpanAttention.Tests.Kernels), with per-test coverage, so only the tests that reach a
# mutant run for it. Prints, per file, the score (killed + timeout over tested, as Stryker counts it) and every
# surviving mutant with its line; the full HTML and JSON reports are kept in .mutation/<file>/.
# Equivalent mutants (ones no test can kill, e.g. a loop bound that moves elements between the 512-bit, 256-bit
# and scalar paths, which compute the same value) are listed with their reason in
# tools/mutation/equivalent.tsv; the "non-equivalent score" below leaves them out. See docs/mutation-testing.md.
# Not run in CI: a file takes minutes to an hour on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ $# -eq 0 ]; then
  echo "usage: tools/mutation.sh FILE.cs [FILE.cs...]  (files under src/SpanAttention)" >&2
  exit 2
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet tool restore > /dev/null
if [ "${MUTATION_AVX512:-1}" = "0" ]; then
  export DOTNET_EnableAVX512=0
fi

# The test filter of one file: the tests of its folder, plus extra test classes named for it in
# tools/mutation/filters.tsv (e.g. the gate kernels' tests live in Kernels/ while the gates live in
# Recurrent/), or only the test classes named there (a folder whose other tests train whole models would
# take hours per file).
filter_of() {
  local rel=$1 folder filter mode extra
  folder=$(dirname "$rel")
  if [ "$folder" = "." ]; then
    filter=FullyQualifiedName~SpanAttention.Tests
  else
    filter=FullyQualifiedName~SpanAttention.Tests.${folder//\//.}.
  fi
  mode=$(awk -F '\t' -v f="$rel" '$1 == f { print $2 }' "$root/tools/mutation/filters.tsv")
  extra=$(awk -F '\t' -v f="$rel" '$1 == f { print $3 }' "$root/tools/mutation/filters.tsv")
  case "$mode" in
    add) filter="$filter|$extra" ;;
    only) filter="$extra" ;;
    "") ;;
    *) echo "mutation.sh: tools/mutation/filters.tsv: $rel: mode must be add or only, got '$mode'" >&2; exit 2 ;;
  esac
  echo "${MUTATION_FILTER:-$filter}"
}

# One Stryker run mutating the given files (relative to src/SpanAttention) against the given filter.
run() {
  local filter=$1; shift
  local name=${1//\//_}
  name=${name%.cs}
  [ $# -gt 1 ] && name="$name+$(($# - 1))"
  local out="$root/.mutation/$name${MUTATION_AVX512:+-avx512-$MUTATION_AVX512}"
  local mutate=() rel
  for rel in "$@"; do mutate+=(--mutate "**/$rel"); done
  rm -rf "$out" && mkdir -p "$out"
  echo "=== $* (tests: $filter${DOTNET_EnableAVX512:+, DOTNET_EnableAVX512=$DOTNET_EnableAVX512})"
  (cd src/SpanAttention && dotnet stryker -f "$root/tools/mutation/stryker-config.json" \
      "${mutate[@]}" --test-case-filter "$filter" --output "$out" --skip-version-check \
      ${MUTATION_CONCURRENCY:+--concurrency "$MUTATION_CONCURRENCY"}) > "$out/stryker.log" 2>&1 || {
    echo "mutation.sh: Stryker failed on $*; see $out/stryker.log" >&2
    tail -20 "$out/stryker.log" >&2
    exit 1
  }
  for rel in "$@"; do
    python3 "$root/tools/mutation/summary.py" "$out/reports/mutation-report.json" "$root/tools/mutation/equivalent.tsv" "$rel"
  done
}

rels=()
for file in "$@"; do
  case "$file" in
    src/SpanAttention/*.cs) ;;
    *) echo "mutation.sh: $file: not a source file under src/SpanAttention" >&2; exit 2 ;;
  esac
  [ -f "$file" ] || { echo "mutation.sh: $file: no such file" >&2; exit 2; }
  rels+=("${file#src/SpanAttention/}")
done

if [ "${MUTATION_ONE_RUN:-0}" = "1" ]; then
  # One build and one coverage run for all files, against the union of their filters.
  union=""
  for rel in "${rels[@]}"; do
    f=$(filter_of "$rel") || exit 2
    case "|$union|" in *"|$f|"*) ;; *) union=${union:+$union|}$f ;; esac
  done
  run "$union" "${rels[@]}"
else
  for rel in "${rels[@]}"; do
    f=$(filter_of "$rel") || exit 2
    run "$f" "$rel"
  done
fi
