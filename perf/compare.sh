#!/usr/bin/env bash
# compare.sh: one-run comparison of SpanAttention, PyTorch and the anchors on this machine.
#
#   perf/compare.sh                 full run: H=64,256,1024, B=32,1, threads 1,2, 3 rounds x 5 reps
#   perf/compare.sh --quick         tiny validation run (H=64, 1 round x 3 reps, threads 1)
#   perf/compare.sh --sizes 64,256 --batches 32 --threads 1 --rounds 2 --reps 5 --svg docs/perf.svg
#   perf/compare.sh --engines spanattention,libtorch,onnxruntime      a subset of the engines
#
# Engines: pytorch (Debian's torch 1.13 + OpenBLAS), spanattention, spanattention-bf16 and spanattention-int8
# (decoding rows only: the prepared decoding weights stored as bf16 or int8 with per-row scales), libtorch (libtorch 2.10 through TorchSharp
# 0.107, perf/torchsharp), onnxruntime and onnxruntime-int8 (ONNX Runtime 1.32 from C#, perf/onnxruntime;
# decoding rows only). The anchors run PyTorch's own weights and batches, written once per run by
# perf/pytorch/export_reference.py into the output directory (with the ONNX graphs), and check themselves
# against PyTorch's losses / tokens before timing. An engine that cannot run (no torch, a failed restore or
# build, python3-onnx missing for int8) is skipped with a line saying why; the others still run.
# Debian's python3-torch (and python3-onnx for int8) are installed when missing and the script runs as root;
# SPANATTN_PYTHON_TORCH names another interpreter with torch.
# OMP_WAIT_POLICY for the libtorch rows: PASSIVE unless LIBTORCH_OMP_WAIT_POLICY says otherwise ("unset" leaves
# libgomp's default); OpenMP's default spinning makes libtorch's 2-thread rows collapse on a busy machine.
# Each row records the policy it ran with.
#
# Steps
#   1. perf/pytorch/setup_openblas.sh: local OpenBLAS for Debian's torch, CPU-appropriate
#      OPENBLAS_CORETYPE / ATEN_CPU_CAPABILITY (AVX-512 settings only on AVX-512 CPUs).
#   2. perf/peak/peak_fma.c: build (gcc, AVX2+FMA or AVX-512) and measure the fp32 FMA peak for
#      every thread count, before and after the benchmarks: 50 trials of 20 ms each, the table uses
#      the best trial (short trials find uncontended time slices on a shared machine).
#   3. The workload, interleaved: for each round, thread count, H and row (train B..., decode B=1)
#      one process per engine back to back, rotating which engine goes first from round to round,
#      so slow drifts of a shared machine hit every engine alike.
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
python_torch="${SPANATTN_PYTHON_TORCH:-/usr/bin/python3}"   # Debian's interpreter with torch 1.13
sizes=64,256,1024
batches=32,1
threads=1,2
rounds=3
reps=5
warmup=3
out=""
svg=""
csharp=auto
engines=pytorch,spanattention,spanattention-bf16,spanattention-int8,libtorch,onnxruntime,onnxruntime-int8

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
        --engines) engines="$2"; shift 2;;
        -h|--help) sed -n '2,47p' "$0"; exit 0;;
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
IFS=, read -r -a engine_list <<< "$engines"
wanted() { [[ ",$engines," == *",$1,"* ]]; }

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu: $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), $(nproc) cpus," \
         "flags: $(grep -m1 -o -w -E 'avx512f|avx2|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
    echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "git: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
} | tee "$out/machine.txt" >&2

# ---- 1. PyTorch environment ----------------------------------------------------------------------
# Debian's torch serves the PyTorch rows and writes the anchors' reference data; a fresh machine lacks it.
if ! "$python_torch" -c "import torch" 2>/dev/null && [[ $(id -u) == 0 ]]; then
    log "installing Debian's python3-torch (torch 1.13)"
    apt-get install -y -q python3-torch >&2 || { apt-get update -q >&2 && apt-get install -y -q python3-torch >&2; } || true
fi
torch_ok=yes
if ! "$python_torch" -c "import torch" 2>/dev/null; then
    torch_ok=no
    log "pytorch, libtorch and onnxruntime rows: SKIPPED (no torch in $python_torch: apt-get install python3-torch)"
else
    eval "$("$root/perf/pytorch/setup_openblas.sh")"
    export SEQ2SEQ_BENCH_ENV_READY=1      # seq2seq_bench.py: environment already final, no re-exec
    log "PyTorch env: LD_LIBRARY_PATH=$LD_LIBRARY_PATH OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-} ATEN_CPU_CAPABILITY=$ATEN_CPU_CAPABILITY LD_PRELOAD(PyTorch only)=${SPANATTN_TORCH_PRELOAD:-none}"
fi

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

# The anchors: reference data (weights, batches, PyTorch's results, ONNX graphs) once, then their builds.
ref="$out/reference"
anchors_ok=no
if [[ $torch_ok == yes ]] && { wanted libtorch || wanted onnxruntime || wanted onnxruntime-int8; }; then
    int8_flag=""
    if wanted onnxruntime-int8; then
        if ! "$python_torch" -c "import onnx" 2>/dev/null && [[ $(id -u) == 0 ]]; then
            log "installing python3-onnx (Debian) for the int8 graphs"
            apt-get install -y -q python3-onnx >&2 || { apt-get update -q >&2 && apt-get install -y -q python3-onnx >&2; } || true
        fi
        if "$python_torch" -c "import onnx" 2>/dev/null; then int8_flag=--int8
        else log "onnxruntime-int8 rows: SKIPPED (python3-onnx is not installed: apt-get install python3-onnx)"; fi
    fi
    log "writing the anchors' reference data to $ref"
    if "$python_torch" "$root/perf/pytorch/export_reference.py" --sizes "$sizes" --batches "$batches" --out "$ref" --onnx $int8_flag 2>"$out/export_reference.log"; then
        anchors_ok=yes
    else
        log "libtorch / onnxruntime rows: SKIPPED (export_reference.py failed, see $out/export_reference.log)"
    fi
    [[ -z "$int8_flag" ]] && engine_list=("${engine_list[@]/onnxruntime-int8/}")
fi
anchor_cmd() {   # project directory and dll name -> "dotnet DLL", or "" when it cannot be built
    local project="$root/perf/$1"
    if dotnet build "$project" -c Release -v q -nologo >"$out/build-$1.log" 2>&1; then
        echo "dotnet $project/bin/Release/net10.0/$2.dll"
    else
        log "$1 rows: SKIPPED (dotnet build $project failed, see $out/build-$1.log)"
    fi
}
torchsharp_cmd=""
ort_cmd=""
if [[ $anchors_ok == yes ]]; then
    if wanted libtorch; then log "building perf/torchsharp (Release) once"; torchsharp_cmd="$(anchor_cmd torchsharp TorchSharpAnchor)"; fi
    if wanted onnxruntime || wanted onnxruntime-int8; then log "building perf/onnxruntime (Release) once"; ort_cmd="$(anchor_cmd onnxruntime OnnxRuntimeAnchor)"; fi
fi
libtorch_wait="${LIBTORCH_OMP_WAIT_POLICY:-PASSIVE}"

run_pytorch() {   # mode H B threads
    LD_PRELOAD="${SPANATTN_TORCH_PRELOAD:-}" "$python_torch" "$root/perf/pytorch/seq2seq_bench.py" --modes "$1" --sizes "$2" --batches "$3" \
        --threads "$4" --reps "$reps" --warmup "$warmup" | grep '^{' >> "$results"
}
run_csharp() {    # weights mode H B threads   (the C# hook; see the contract at the top)
    [[ $csharp_ok == yes ]] || return 0
    local weights=$1; shift
    local narrow=()
    if [[ $weights != fp32 ]]; then
        [[ $1 == decode ]] || return 0   # narrow weights are an inference-only option
        narrow=(--weights "$weights")
    fi
    # DOTNET_TieredCompilation=0: optimised code from the first call. With the default tiered JIT the
    # hot paths of the small rows stay on slow code for several seconds on a busy 2-core machine
    # (docs/performance.md, "The C# side"); steady-state speed is the same or slightly better.
    # shellcheck disable=SC2086
    DOTNET_TieredCompilation="${DOTNET_TieredCompilation:-0}" $CSHARP_CMD --mode "$1" --hidden "$2" --batch "$3" --threads "$4" --reps "$reps" --warmup "$warmup" \
        "${narrow[@]}" | grep '^{' >> "$results"
}

run_torchsharp() {   # mode H B threads
    [[ -n $torchsharp_cmd ]] || return 0
    local policy=(env OMP_WAIT_POLICY="$libtorch_wait")
    [[ $libtorch_wait == unset ]] && policy=(env -u OMP_WAIT_POLICY)
    # shellcheck disable=SC2086
    DOTNET_TieredCompilation="${DOTNET_TieredCompilation:-0}" "${policy[@]}" $torchsharp_cmd --mode "$1" --hidden "$2" --batch "$3" \
        --threads "$4" --reps "$reps" --warmup "$warmup" --data "$ref" | grep '^{' >> "$results" \
        || log "libtorch $1 H=$2 B=$3 threads=$4: no row (the check against PyTorch failed or the run crashed)"
}
run_ort() {   # weights mode H B threads   (decoding only)
    [[ -n $ort_cmd && $2 == decode ]] || return 0
    # shellcheck disable=SC2086
    DOTNET_TieredCompilation="${DOTNET_TieredCompilation:-0}" $ort_cmd --mode decode --hidden "$3" --threads "$5" \
        --reps "$reps" --warmup "$warmup" --data "$ref" --weights "$1" | grep '^{' >> "$results" \
        || log "onnxruntime ($1) H=$3 threads=$5: no row (the check against PyTorch failed or the run crashed)"
}
run_engine() {   # engine mode H B threads
    local engine=$1; shift
    case "$engine" in
        pytorch) run_pytorch "$@";;
        spanattention) run_csharp fp32 "$@";;
        spanattention-bf16) run_csharp bf16 "$@";;
        spanattention-int8) run_csharp int8 "$@";;
        libtorch) run_torchsharp "$@";;
        onnxruntime) run_ort fp32 "$@";;
        onnxruntime-int8) run_ort int8 "$@";;
        "") ;;
        *) log "unknown engine '$engine' (skipped)";;
    esac
}
{ wanted pytorch && [[ $torch_ok == yes ]]; } || run_pytorch() { :; }
{ wanted spanattention || wanted spanattention-bf16 || wanted spanattention-int8; } || run_csharp() { :; }

for ((round = 1; round <= rounds; round++)); do
    for t in "${thread_list[@]}"; do
        for H in "${size_list[@]}"; do
            rows=()
            for B in "${batch_list[@]}"; do rows+=("train $B"); done
            rows+=("decode 1")
            for row in "${rows[@]}"; do
                read -r mode B <<< "$row"
                log "round $round/$rounds: $mode H=$H B=$B threads=$t"
                n=${#engine_list[@]}
                for ((i = 0; i < n; i++)); do   # engine order rotates by one each round
                    run_engine "${engine_list[$(( (i + round - 1) % n ))]}" "$mode" "$H" "$B" "$t"
                done
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
