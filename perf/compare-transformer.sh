#!/usr/bin/env bash
# compare-transformer.sh: SpanAttention's Transformer encoder-decoder against PyTorch on this machine, one run.
#
#   perf/compare-transformer.sh                  E = 64 and 256, training B = 32 and decoding B = 1, one thread,
#                                                3 interleaved rounds x 5 reps
#   perf/compare-transformer.sh --quick          E = 64, 1 round x 3 reps
#   perf/compare-transformer.sh --sizes 64,256 --rounds 4 --reps 5 --warmup 2 --threads 1 --out DIR
#
# The workload is perf/pytorch/transformer_bench.py's (its docstring): 2 + 2 post-norm layers, E = 64 (4 heads,
# F = 256) and E = 256 (8 heads, F = 1024), V = 64, S = T = 32; a training step (forward, loss, backward, Adam) in
# target tokens/s and greedy decoding with a key/value cache in us/token. PyTorch writes its weights, batches,
# losses and greedy tokens once (transformer_bench.py --export); the SpanAttention rows (perf/SpanAttention.Benchmarks
# transformer-json) load those weights and check the losses and tokens before timing.
# Rounds are interleaved: for each round, size and mode, one process per engine back to back, the engine going
# first alternating from round to round. Every row is tagged with its round and the load average when its process
# started (load1, loadavg): the machine may be shared, and the table shows the per-round range and the round with
# the lowest load. Raw rows: DIR/results.jsonl; table: perf/pytorch/transformer_table.py DIR/results.jsonl.
# Engines: pytorch (Debian's torch 1.13 + the local OpenBLAS of setup_openblas.sh) and spanattention; libtorch
# through TorchSharp is not wired for this workload (perf/torchsharp runs the recurrent one only).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python_torch="${SPANATTN_PYTHON_TORCH:-/usr/bin/python3}"
sizes=64,256
threads=1
batch=32
rounds=3
reps=5
warmup=2
out=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) sizes=64; rounds=1; reps=3; warmup=1; shift;;
        --sizes) sizes="$2"; shift 2;;
        --threads) threads="$2"; shift 2;;
        --batch) batch="$2"; shift 2;;
        --rounds) rounds="$2"; shift 2;;
        --reps) reps="$2"; shift 2;;
        --warmup) warmup="$2"; shift 2;;
        --out) out="$2"; shift 2;;
        -h|--help) sed -n '2,22p' "$0"; exit 0;;
        *) echo "compare-transformer.sh: unknown argument $1" >&2; exit 2;;
    esac
done
out="${out:-$(mktemp -d "${TMPDIR:-/tmp}/spanattention-transformer-XXXXXX")}"
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"
log() { echo "compare-transformer.sh: $*" >&2; }
IFS=, read -r -a size_list <<< "$sizes"
IFS=, read -r -a thread_list <<< "$threads"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu: $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), $(nproc) cpus"
    echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "git: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
} | tee "$out/machine.txt" >&2

"$python_torch" -c "import torch" 2>/dev/null || { log "no torch in $python_torch (apt-get install python3-torch)"; exit 1; }
eval "$("$root/perf/pytorch/setup_openblas.sh")"
export SEQ2SEQ_BENCH_ENV_READY=1
ref="$out/reference"
log "writing PyTorch's weights, batches, losses and tokens to $ref"
"$python_torch" "$root/perf/pytorch/transformer_bench.py" --sizes "$sizes" --batch "$batch" --export "$ref"
log "building perf/SpanAttention.Benchmarks (Release) once"
dotnet build "$root/perf/SpanAttention.Benchmarks" -c Release -v q -nologo >&2
csharp="dotnet $root/perf/SpanAttention.Benchmarks/bin/Release/net10.0/SpanAttention.Benchmarks.dll transformer-json"

tag() {   # round: prefix each JSON row with its round and the load average now (the process is about to start)
    local load
    load="$(cut -d' ' -f1-3 /proc/loadavg)"
    sed -u "s/^{/{\"round\":$1,\"load1\":${load%% *},\"loadavg\":\"$load\",/"
}
run_pytorch() {   # round mode E threads
    LD_PRELOAD="${SPANATTN_TORCH_PRELOAD:-}" "$python_torch" "$root/perf/pytorch/transformer_bench.py" --modes "$2" --sizes "$3" \
        --batch "$batch" --threads "$4" --reps "$reps" --warmup "$warmup" | grep '^{' | tag "$1" >> "$results" \
        || log "pytorch $2 E=$3: no row"
}
run_spanattention() {   # round mode E threads
    # DOTNET_TieredCompilation=0: optimised code from the first call (see compare.sh).
    # shellcheck disable=SC2086
    DOTNET_TieredCompilation="${DOTNET_TieredCompilation:-0}" $csharp --mode "$2" --hidden "$3" --batch "$batch" --threads "$4" \
        --reps "$reps" --warmup "$warmup" --data "$ref" | grep '^{' | tag "$1" >> "$results" \
        || log "spanattention $2 E=$3: no row (the check against PyTorch failed or the run crashed)"
}

for ((r = 0; r < rounds; r++)); do
    for t in "${thread_list[@]}"; do
        for e in "${size_list[@]}"; do
            for mode in train decode; do
                log "round $((r + 1))/$rounds: $mode E=$e threads=$t (load $(cut -d' ' -f1 /proc/loadavg))"
                if ((r % 2 == 0)); then run_pytorch $r $mode "$e" "$t"; run_spanattention $r $mode "$e" "$t"
                else run_spanattention $r $mode "$e" "$t"; run_pytorch $r $mode "$e" "$t"; fi
            done
        done
    done
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt" >&2
python3 "$root/perf/pytorch/transformer_table.py" "$results" | tee "$out/table.md"
log "raw rows: $results"
