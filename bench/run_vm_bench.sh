#!/usr/bin/env bash
# VM half of the `x00 run` benchmarks (GitHub issue 3): boots the BPF-LSM test VM (scripts/vm_test.sh, qemu TCG)
# and runs bench/run_vm_guest.sh in it; the host half is bench/run_overhead.sh. Results: bench/RESULTS_run.md.
#
# Usage: bash bench/run_vm_bench.sh [PARTS...]
#   PARTS: 1 (wall time of x00 run -- /bin/true, phases), 2 (open/close and fork/exec loops with and without X00),
#          3 (memory of the x00 process), 4 (which hooks cost what), 5 (the cost of 2, in alternating pairs).
#          Default: three boots, "1", "2 3 4" and "5", so that other users of the VM harness (it serializes runs)
#          are not kept waiting for one long boot.
# Environment: RUNS (30), REPS (5), REPS_B (3), OPEN_N (200000), FORK_N (2000), PAIRS (20), OPEN_P (50000),
#              FORK_P (300), CONFIGS ("all"), OPEN_FILE (/x00/README.md), passed to the guest (see
#              bench/run_vm_guest.sh);
#              X00_VM_KERNEL (one kernel series, default 6.1: the results name it), X00_VM_TIMEOUT (default
#              here 3000 s) and the other variables of scripts/vm_test.sh.
# Writes bench/run_results/vm-<UTC time>.{log,md} and prints the Markdown report.
#
# TCG emulates every instruction: absolute times in the guest are one to two orders of magnitude above native.
# Compare ratios, not absolute numbers.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=bench/run_results
STAMP=$(date -u +%Y-%m-%dT%H-%M-%SZ)
RAW=$OUT/vm-$STAMP.log
MD=$OUT/vm-$STAMP.md
mkdir -p "$OUT"
export X00_VM_TIMEOUT=${X00_VM_TIMEOUT:-3000}

if (($# > 0)); then BOOTS=("$*"); else BOOTS=("1" "2 3 4" "5"); fi
ENVS="RUNS=${RUNS:-30} REPS=${REPS:-5} REPS_B=${REPS_B:-3} OPEN_N=${OPEN_N:-200000} FORK_N=${FORK_N:-2000}"
ENVS+=" PAIRS=${PAIRS:-20} OPEN_P=${OPEN_P:-50000} FORK_P=${FORK_P:-300} CONFIGS='${CONFIGS:-all}' OPEN_FILE=${OPEN_FILE:-/x00/README.md}"

: >"$RAW"
{
  echo "BENCH machine date=$(date -u +%Y-%m-%dT%H:%M:%SZ) host_kernel=$(uname -r) host_cpus=$(nproc) host_cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //') commit=$(git rev-parse --short HEAD)"
  echo "BENCH machine qemu=$(qemu-system-x86_64 --version 2>/dev/null | head -n 1 | sed 's/.*version //') accel=tcg cpu=max smp=${X00_VM_SMP:-2} mem_mb=${X00_VM_MEM:-2048}"
} | tee -a "$RAW"
for parts in "${BOOTS[@]}"; do
  log=$(mktemp)
  # The console streams to stdout (vm_test.sh's own copy in build/vm/console.log is replaced by the next run).
  set +e
  X00_VM_KERNELS=${X00_VM_KERNEL:-6.1} bash scripts/vm_test.sh --cmd "PARTS='$parts' $ENVS sh bench/run_vm_guest.sh" >"$log" 2>&1
  rc=$?
  set -e
  tr -d '\r' <"$log" | grep -a -E '^(BENCH |vm_test: .*guest exit)' | tee -a "$RAW"
  if ((rc != 0)) || ! grep -a -q '^BENCH finished' "$log"; then
    echo "run_vm_bench: the guest run of parts '$parts' failed (exit $rc); its console:" >&2
    tr -d '\r' <"$log" | tail -n 60 >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
done

deno run --allow-read bench/run_report.ts "$RAW" | tee "$MD"
