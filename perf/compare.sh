#!/usr/bin/env bash
# compare.sh: issue 7's one-run comparison of SpanAttention and PyTorch on this machine.
#
#   perf/compare.sh                 full run: H=64,256,1024, B=32,1, threads 1,2, 3 rounds x 5 reps
#   perf/compare.sh --quick         tiny validation run (H=64, 1 round x 3 reps, threads 1)
#   perf/compare.sh --sizes 64,256 --batches 32 --threads 1 --rounds 2 --reps 5 --svg docs/perf.svg
#
# Steps
#   1. perf/pytorch/setup_openblas.sh: local OpenBLAS for Debian's torch, CPU-appropriate
#      OPENBLAS_CORETYPE / ATEN_CPU_CAPABILITY (AVX-512 settings only on AVX-512 CPUs).
#   2. perf/peak/peak_fma.c: build (gcc, AVX2+FMA or AVX-512) and measure the fp32 FMA peak for
#      every thread count, before and after the benchmarks: 50 trials of 20 ms each, the table uses
#      the best trial (short trials find uncontended time slices on a shared machine).
#   3. The workload, interleaved: for each round, thread count, H and row (train B..., decode B=1)
#      one PyTorch process and one SpanAttention process back to back, alternating which engine
#      goes first from round to round, so slow drifts of a shared machine hit both engines alike.
#   4. perf/pytorch/compare_table.py: medians over all rounds' samples, speedup per row vs issue
#      7's bars, achieved GFLOP/s and fraction of the measured FMA peak; optional SVG chart.
# All raw JSON lines are kept in the output directory (--out, default a fresh /tmp directory).
#
# ---- C# HOOK (to be provided by the seq2seq / benchmarks side) ---------------------------------
# The SpanAttention rows come from perf/SpanAttention.Benchmarks when its sources contain the mode
# name "seq2seq-json" (until then the script runs PyTorch only and says so). Contract:
#   dotnet run -c Release --no-build --project perf/SpanAttention.Benchmarks -- seq2seq-json \
#       --mode train|decode --hidden H --batch B --threads N --reps R --warmup W
# must print, on stdout, one JSON line per measured row (other lines are ignored):
#   {"engine":"spanattention","mode":"train","H":256,"E":256,"B":32,"threads":1,
#    "median":12345.6,"unit":"tokens/s","gflops":..,"samples":[..R values..]}
# with exactly the workload of perf/pytorch/seq2seq_bench.py (docstring there): V=64, S=T=32,
# E=A=H, Adam(lr=1e-3) step included in training, greedy decoding of exactly 32 tokens (no early
# stop) with the encoder amortised, unit "tokens/s" (train) or "us/token" (decode), samples in that
# unit, N worker threads. CSHARP_CMD overrides the command prefix (the arguments above are
# appended), e.g. CSHARP_CMD="dotnet perf/SpanAttention.Benchmarks/bin/Release/net10.0/SpanAttention.Benchmarks.dll seq2seq-json".
# -------------------------------------------------------------------------------------------------
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python_torch=/usr/bin/python3          # Debian's interpreter with torch 1.13
sizes=64,256,1024
batches=32,1
threads=1,2
rounds=3
reps=5
warmup=3
out=""
svg=""
csharp=auto

while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) sizes=64; batches=32,1; threads=1; rounds=1; reps=3; warmup=1; shift;;
        --sizes) sizes="$2"; shift 2;;
        --batches) batches="$2"; shift 2;;
        --threads) threads="$2"; shift 2;;
        --rounds) rounds="$2"; shift 2;;
        --reps) reps="$2"; shift 2;;
        --warmup) warmup="$2"; shift 2;;
        --out) out="$2"; shift 2;;
        --svg) svg="$2"; shift 2;;
        --no-csharp) csharp=no; shift;;
        -h|--help) sed -n '2,40p' "$0"; exit 0;;
        *) echo "compare.sh: unknown argument $1" >&2; exit 2;;
    esac
done

out="${out:-$(mktemp -d "${TMPDIR:-/tmp}/spanattention-compare-XXXXXX")}"
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"
log() { echo "compare.sh: $*" >&2; }
IFS=, read -r -a size_list <<< "$sizes"
IFS=, read -r -a batch_list <<< "$batches"
IFS=, read -r -a thread_list <<< "$threads"

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu: $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), $(nproc) cpus," \
         "flags: $(grep -m1 -o -w -E 'avx512f|avx2|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
    echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "git: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
} | tee "$out/machine.txt" >&2

# ---- 1. PyTorch environment ----------------------------------------------------------------------
eval "$("$root/perf/pytorch/setup_openblas.sh")"
export SEQ2SEQ_BENCH_ENV_READY=1      # seq2seq_bench.py: environment already final, no re-exec
log "PyTorch env: LD_LIBRARY_PATH=$LD_LIBRARY_PATH OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-} ATEN_CPU_CAPABILITY=$ATEN_CPU_CAPABILITY LD_PRELOAD(PyTorch only)=${SPANATTN_TORCH_PRELOAD:-none}"

# ---- 2. FMA peak probe ---------------------------------------------------------------------------
peak_bin="$root/perf/peak/peak_fma"
if grep -qw avx512f /proc/cpuinfo; then isa_flags="-mavx512f -mfma"; else isa_flags="-mavx2 -mfma"; fi
# shellcheck disable=SC2086
gcc -O2 $isa_flags -pthread "$root/perf/peak/peak_fma.c" -o "$peak_bin"
run_peak() {
    for t in "${thread_list[@]}"; do
        "$peak_bin" "$t" 0.02 50 | tee -a "$results" >&2
    done
}
run_peak

# ---- 3. engines, interleaved ---------------------------------------------------------------------
csharp_project="$root/perf/SpanAttention.Benchmarks"
csharp_ok=no
if [[ -n "${CSHARP_CMD:-}" ]]; then
    csharp_ok=yes
elif [[ "$csharp" == auto ]] && grep -rqs --include='*.cs' -- "seq2seq-json" "$csharp_project"; then
    log "building $csharp_project (Release) once"
    dotnet build "$csharp_project" -c Release -v q -nologo >&2
    CSHARP_CMD="dotnet run -c Release --no-build --project $csharp_project -- seq2seq-json"
    csharp_ok=yes
else
    log "SpanAttention rows: SKIPPED (no 'seq2seq-json' mode in $csharp_project yet, or --no-csharp)"
fi

run_pytorch() {   # mode H B threads
    LD_PRELOAD="${SPANATTN_TORCH_PRELOAD:-}" "$python_torch" "$root/perf/pytorch/seq2seq_bench.py" --modes "$1" --sizes "$2" --batches "$3" \
        --threads "$4" --reps "$reps" --warmup "$warmup" | grep '^{' >> "$results"
}
run_csharp() {    # mode H B threads   (the C# hook; see the contract at the top)
    [[ $csharp_ok == yes ]] || return 0
    # DOTNET_TieredCompilation=0: optimised code from the first call. With the default tiered JIT the
    # hot paths of the small rows stay on slow code for several seconds on a busy 2-core machine
    # (docs/performance.md, "The C# side"); steady-state speed is the same or slightly better.
    # shellcheck disable=SC2086
    DOTNET_TieredCompilation="${DOTNET_TieredCompilation:-0}" $CSHARP_CMD --mode "$1" --hidden "$2" --batch "$3" --threads "$4" --reps "$reps" --warmup "$warmup" \
        | grep '^{' >> "$results"
}

for ((round = 1; round <= rounds; round++)); do
    for t in "${thread_list[@]}"; do
        for H in "${size_list[@]}"; do
            rows=()
            for B in "${batch_list[@]}"; do rows+=("train $B"); done
            rows+=("decode 1")
            for row in "${rows[@]}"; do
                read -r mode B <<< "$row"
                log "round $round/$rounds: $mode H=$H B=$B threads=$t"
                if (( round % 2 == 1 )); then
                    run_pytorch "$mode" "$H" "$B" "$t"; run_csharp "$mode" "$H" "$B" "$t"
                else
                    run_csharp "$mode" "$H" "$B" "$t"; run_pytorch "$mode" "$H" "$B" "$t"
                fi
            done
        done
    done
done
run_peak
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt" >&2

# ---- 4. table ------------------------------------------------------------------------------------
table_args=("$results")
[[ -n "$svg" ]] && table_args+=(--svg "$svg")
"$python_torch" "$root/perf/pytorch/compare_table.py" "${table_args[@]}" | tee "$out/table.md"
log "raw rows: $results   table: $out/table.md"
