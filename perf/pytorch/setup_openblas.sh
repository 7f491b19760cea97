#!/usr/bin/env bash
# setup_openblas.sh: give Debian's torch 1.13 a real BLAS without touching the system.
#
# Debian's python3-torch links libblas.so.3, which by default is the netlib *reference* BLAS
# (about 5-7 GFLOP/s for sgemm). We download OpenBLAS (libopenblas0-openmp, the OpenMP build, same
# threading runtime as torch's libgomp), unpack it into perf/pytorch/.openblas/ (git-ignored, no
# system-wide install) and put its directory first on LD_LIBRARY_PATH: that directory contains
# OpenBLAS's own libblas.so.3/liblapack.so.3, so libtorch_cpu.so's NEEDED libblas.so.3 resolves to it.
#
# Idempotent: the download/extract happens once; later calls only print the environment.
#
# Also fetches tcmalloc for the PyTorch process (see fetch_tcmalloc; SPANATTN_TORCH_MALLOC=glibc turns it off).
#
# Usage:
#   eval "$(perf/pytorch/setup_openblas.sh)"            # export the environment into this shell
#   perf/pytorch/setup_openblas.sh --verify             # also prove torch uses it (stderr report)
#
# stdout: only `export NAME=value` lines (safe to eval). Everything else goes to stderr.
#
# CPU-dependent settings (chosen from /proc/cpuinfo, see pick_settings below):
#   * AVX-512 CPU (the machine issue 7 was written on): OPENBLAS_CORETYPE=SkylakeX,
#     ATEN_CPU_CAPABILITY=avx512 -- the strongest configuration there.
#   * AVX2+FMA CPU without AVX-512 (e.g. this AMD EPYC Zen 3 VM): both of those settings CRASH:
#       - OPENBLAS_CORETYPE=SkylakeX is obeyed blindly by OpenBLAS's DYNAMIC_ARCH dispatcher, its
#         sgemm kernel executes AVX-512 instructions -> SIGILL ("Illegal instruction", exit 132)
#         on the very first matmul.
#       - ATEN_CPU_CAPABILITY=avx512 is also obeyed blindly by torch 1.13 (torch.__config__.show()
#         reports "CPU capability usage: AVX512"); the first vectorised ATen kernel (e.g. tanh)
#         dies with SIGILL.
#     So we use OPENBLAS_CORETYPE=Zen for AMD family >= 0x17 (Zen..Zen 4; OpenBLAS 0.3.21 has no
#     separate Zen 3 target: its "Zen" target is the Haswell AVX2/FMA kernels with Zen cache
#     blocking, and it is what OpenBLAS auto-detects here anyway; Haswell measured the same within
#     noise, ~85-88 GFLOP/s for a 1024^3 sgemm on one core) and Haswell for Intel AVX2 CPUs, and
#     ATEN_CPU_CAPABILITY=avx2 (the best ATen kernels this CPU can run; also torch's auto choice).
#     Do NOT set ATEN_CPU_CAPABILITY=default: it silently selects the scalar "NO AVX" kernels
#     (tanh goes from ~3 ns to ~20 ns per element).
#   Settings inherited from the environment are replaced by the CPU's choice (with a note);
#   SPANATTN_OPENBLAS_CORETYPE / SPANATTN_ATEN_CAPABILITY force a value, except that AVX-512
#   settings are still replaced (with a warning) on a CPU without avx512f, because they would crash.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.openblas"
pkg="libopenblas0-openmp"
libdir="$root/usr/lib/x86_64-linux-gnu/openblas-openmp"
python="${PYTHON:-/usr/bin/python3}"

log() { echo "setup_openblas: $*" >&2; }

fetch() {
    if [[ -e "$libdir/libblas.so.3" && -e "$libdir/libopenblas.so.0" ]]; then
        return 0
    fi
    mkdir -p "$root/deb"
    (
        cd "$root/deb"
        rm -f ./*.deb
        if ! apt-get download "$pkg" >&2 2>/dev/null; then
            log "apt-get download failed; running apt-get update once and retrying"
            apt-get update >&2
            apt-get download "$pkg" >&2
        fi
    )
    local deb
    deb="$(ls "$root"/deb/*.deb | head -n1)"
    dpkg-deb -x "$deb" "$root"
    log "extracted $(basename "$deb") into $root"
    if [[ ! -e "$libdir/libblas.so.3" ]]; then
        log "ERROR: $libdir/libblas.so.3 missing after extraction"
        exit 1
    fi
}

# tcmalloc (libtcmalloc-minimal4), fetched the same way, for LD_PRELOAD into the PyTorch process only.
# Why: eager PyTorch allocates a fresh tensor for nearly every op. With glibc malloc, blocks above the mmap
# threshold are mmap'ed and munmap'ed every time, so each large op first page-faults its whole output in. On this
# VM that is ruinous: `c = a + b` over 6.3 M floats took 58 ms (1 GB/s) with glibc and 2.4 ms with tcmalloc, and a
# training step at H = 1024 spent 44 % in such adds (autograd's per-step weight-gradient accumulation).
# tcmalloc keeps freed memory for reuse; it is what PyTorch's own CPU performance guide recommends.
tcmalloc_lib="$root/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
fetch_tcmalloc() {
    if [[ -e "$tcmalloc_lib" ]]; then
        return 0
    fi
    mkdir -p "$root/deb-tcmalloc"
    (
        cd "$root/deb-tcmalloc"
        rm -f ./*.deb
        apt-get download libtcmalloc-minimal4 >&2 2>/dev/null || { apt-get update >&2 && apt-get download libtcmalloc-minimal4 >&2; }
    ) || { log "WARNING: could not download libtcmalloc-minimal4; PyTorch keeps glibc malloc"; return 0; }
    dpkg-deb -x "$(ls "$root"/deb-tcmalloc/*.deb | head -n1)" "$root"
    [[ -e "$tcmalloc_lib" ]] && log "extracted tcmalloc into $root" || log "WARNING: $tcmalloc_lib missing after extraction"
}

pick_settings() {
    local has512=0 vendor family
    grep -qw avx512f /proc/cpuinfo && has512=1
    vendor="$(awk -F': ' '/^vendor_id/{print $2; exit}' /proc/cpuinfo)"
    family="$(awk -F': ' '/^cpu family/{print $2; exit}' /proc/cpuinfo)"
    local want_core want_aten
    if [[ $has512 == 1 ]]; then
        want_core="SkylakeX"; want_aten="avx512"
    elif grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
        if [[ "$vendor" == "AuthenticAMD" && "${family:-0}" -ge 23 ]]; then
            want_core="Zen"          # AMD Zen 1-4 without AVX-512 (family 0x17 and 0x19)
        else
            want_core="Haswell"      # Intel AVX2+FMA
        fi
        want_aten="avx2"
    else
        want_core=""; want_aten="default"
    fi
    # The CPU decides. A value inherited from the environment is not trusted: some machines export
    # OPENBLAS_CORETYPE=Haswell globally, which on an AVX-512 CPU silently selects the weaker AVX2
    # kernels. To force a setting on purpose, use SPANATTN_OPENBLAS_CORETYPE / SPANATTN_ATEN_CAPABILITY.
    core="${SPANATTN_OPENBLAS_CORETYPE:-$want_core}"
    aten="${SPANATTN_ATEN_CAPABILITY:-$want_aten}"
    if [[ -n "${OPENBLAS_CORETYPE:-}" && "${OPENBLAS_CORETYPE}" != "$core" ]]; then
        log "note: ignoring inherited OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE; using $core (set SPANATTN_OPENBLAS_CORETYPE to force)"
    fi
    if [[ -n "${ATEN_CPU_CAPABILITY:-}" && "${ATEN_CPU_CAPABILITY}" != "$aten" ]]; then
        log "note: ignoring inherited ATEN_CPU_CAPABILITY=$ATEN_CPU_CAPABILITY; using $aten (set SPANATTN_ATEN_CAPABILITY to force)"
    fi
    if [[ $has512 == 0 ]]; then
        case "${core,,}" in
            skylakex|cooperlake|sapphirerapids)
                log "WARNING: OPENBLAS_CORETYPE=$core needs AVX-512, this CPU has none (SIGILL); using $want_core"
                core="$want_core";;
        esac
        if [[ "${aten,,}" == "avx512" ]]; then
            log "WARNING: ATEN_CPU_CAPABILITY=avx512 on a CPU without AVX-512 crashes torch (SIGILL); using $want_aten"
            aten="$want_aten"
        fi
    fi
}

verify() {
    # Same 1024^3 sgemm, one thread, with the system libblas and with OpenBLAS; then show which BLAS
    # is mapped into the process and which ATen capability torch picked.
    local probe='
import os, time, torch
torch.set_num_threads(1)
a = torch.randn(1024, 1024); b = torch.randn(1024, 1024)
for _ in range(2): a @ b
n = 5; t = time.perf_counter()
for _ in range(n): a @ b
g = 2 * 1024**3 / ((time.perf_counter() - t) / n) / 1e9
blas = sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l})
cap = [l.split(":")[-1].strip() for l in torch.__config__.show().splitlines() if "CPU capability" in l]
x = torch.randn(1 << 20); torch.tanh(x); t = time.perf_counter()
for _ in range(10): torch.tanh(x)
ns = (time.perf_counter() - t) / 10 / (1 << 20) * 1e9
capname = cap[0] if cap else "?"
print(f"  sgemm 1024 (1 thread): {g:6.1f} GFLOP/s   tanh: {ns:.2f} ns/elem   ATen capability: {capname}")
print(f"  BLAS mapped: {blas}")
'
    log "verify: system BLAS (no LD_LIBRARY_PATH change)"
    env -u LD_LIBRARY_PATH -u OPENBLAS_CORETYPE -u ATEN_CPU_CAPABILITY "$python" -c "$probe" >&2
    log "verify: OpenBLAS, OPENBLAS_CORETYPE=$core ATEN_CPU_CAPABILITY=$aten"
    LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" OPENBLAS_CORETYPE="$core" \
        ATEN_CPU_CAPABILITY="$aten" OPENBLAS_VERBOSE=2 "$python" -c "$probe" >&2
}

fetch
fetch_tcmalloc
pick_settings
if [[ "${1:-}" == "--verify" ]]; then
    verify
fi
case ":${LD_LIBRARY_PATH:-}:" in
    *":$libdir:"*) ldp="${LD_LIBRARY_PATH}";;
    *) ldp="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}";;
esac
echo "export LD_LIBRARY_PATH='$ldp'"
[[ -n "$core" ]] && echo "export OPENBLAS_CORETYPE='$core'"
echo "export ATEN_CPU_CAPABILITY='$aten'"
# Not LD_PRELOAD itself (that would load tcmalloc into every later command of the shell that evals this):
# the PyTorch process sets LD_PRELOAD from it (seq2seq_bench.py re-exec, compare.sh).
if [[ -e "$tcmalloc_lib" && "${SPANATTN_TORCH_MALLOC:-tcmalloc}" == tcmalloc ]]; then
    echo "export SPANATTN_TORCH_PRELOAD='$tcmalloc_lib'"
fi
