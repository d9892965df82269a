#!/usr/bin/env bash
# Host half of the `x00 run` benchmarks (GitHub issue 3); the VM half is bench/run_vm_bench.sh. Results:
# bench/RESULTS_run.md.
#
#   1. wall time of `x00 run --policy P -- /bin/true` against `deno run` of an empty script (hyperfine), with
#      /bin/true, `deno --version` and `x00 --version`, and the phases of a run (bench/run_phases.ts). P: mode audit (this
#      host refuses BPF-LSM programs, so x00 uses the syscall-tracepoint fallback), one env-source secret delivered
#      as an environment variable and as a sealed memfd.
#   2. (extra) the cost of the fallback's syscall tracepoints on unrelated work here: bench_openclose and
#      bench_forkexec without x00, with an `x00 run -- sleep` in the background, without again.
#   3. VmRSS/VmHWM of the x00 process while its workload sleeps, and of a Deno process that only sleeps.
#
# Usage: bash bench/run_overhead.sh            (as root; installs hyperfine and gcc from Debian if missing)
# Environment: RUNS (30), WARMUP (3), REPS (5), OPEN_N (200000), FORK_N (2000), MEM_SAMPLES (3).
# Writes bench/run_results/host-<UTC time>.{log,hyperfine.json,md} and prints the Markdown report.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
REPS=${REPS:-5}
OPEN_N=${OPEN_N:-200000}
FORK_N=${FORK_N:-2000}
MEM_SAMPLES=${MEM_SAMPLES:-3}
OUT=bench/run_results
STAMP=$(date -u +%Y-%m-%dT%H-%M-%SZ)
RAW=$OUT/host-$STAMP.log
HF=$OUT/host-$STAMP.hyperfine.json
MD=$OUT/host-$STAMP.md
# X00 as it ships: with the runtime flags of scripts/runtime_flags.sh (an empty script does not notice them).
# shellcheck source=scripts/runtime_flags.sh
source scripts/runtime_flags.sh
DENO_RUN=(deno run --allow-all --no-check --cached-only "${X00_DENO_FLAGS[@]}")
mkdir -p "$OUT"

T=$(mktemp -d /tmp/x00-bench.XXXXXX)
BG=()
cleanup() {
  for p in "${BG[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

need() { # COMMAND PACKAGE
  command -v "$1" >/dev/null && return
  echo "run_overhead: apt-get install $2" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2 ||
    { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2; }
}
need hyperfine hyperfine
need gcc gcc

# The VM's static helpers, built for the host.
mkdir -p "$T/bin"
for h in bench_timeit bench_openclose bench_forkexec bench_true; do
  gcc -static -O2 -Wall -Wextra -o "$T/bin/$h" "tests/vm/helpers/$h.c"
done
export PATH=$T/bin:$PATH

# shellcheck source=bench/helpers/bench_policy.sh
source "$ROOT/bench/helpers/bench_policy.sh"
write_bench_policy "$T/policy.yaml" audit "$T/audit.jsonl"
# The reference of issue 12: `deno run` of an empty script, and a Deno process that only sleeps (memory).
: >"$T/empty.ts"
echo 'await new Promise((r) => setTimeout(r, 3_600_000));' >"$T/sleep.ts"
# Warm Deno's module cache (and check it is complete) before anything is timed.
"${DENO_RUN[@]}" mod.ts --version >/dev/null
"${DENO_RUN[@]}" bench/run_phases.ts "$T/policy.yaml" /bin/true >/dev/null

out() { echo "BENCH $*" | tee -a "$RAW"; }
: >"$RAW"
out "machine date=$(date -u +%Y-%m-%dT%H:%M:%SZ) kernel=$(uname -r) cpus=$(nproc) cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
out "machine mem_kb=$(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2) loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
out "machine lsm=$(cat /sys/kernel/security/lsm 2>/dev/null) deno=$(deno --version | head -n 1 | cut -d' ' -f2) hyperfine=$(hyperfine --version | cut -d' ' -f2) commit=$(git rev-parse --short HEAD)"
out "params runs=$RUNS warmup=$WARMUP reps=$REPS open_n=$OPEN_N fork_n=$FORK_N"

# --- 1. wall time --------------------------------------------------------------------------------------------------
# -N: no intermediate shell. -i: a run that exits non-zero still counts (its exit code is in the JSON).
hyperfine -N -i --warmup "$WARMUP" --runs "$RUNS" --export-json "$HF" \
  -n true /bin/true \
  -n deno_version "deno --version" \
  -n deno_empty "${DENO_RUN[*]} $T/empty.ts" \
  -n x00_version "${DENO_RUN[*]} mod.ts --version" \
  -n x00_run_true "${DENO_RUN[*]} mod.ts run --policy $T/policy.yaml -- /bin/true" >&2
X00_BENCH_PHASES_OUT=$T/phases.jsonl bench_timeit phases "$RUNS" 1 \
  "${DENO_RUN[@]}" bench/run_phases.ts "$T/policy.yaml" /bin/true | sed 's/^/BENCH /' >>"$RAW"
sed 's/^/BENCH phases_json /' "$T/phases.jsonl" >>"$RAW"

# --- 2 + 3: x00 in the background ----------------------------------------------------------------------------------
loops() { # STATE
  for ((i = 0; i < REPS; i++)); do
    out "loop $1 $(bench_openclose "$OPEN_N" "$ROOT/README.md")"
    out "loop $1 $(bench_forkexec "$FORK_N" "$T/bin/bench_true")"
  done
}
start_x00() {
  : >"$T/audit.jsonl"
  "${DENO_RUN[@]}" mod.ts run --policy "$T/policy.yaml" -- sleep 3600 >"$T/x00.out" 2>&1 &
  X00_PID=$!
  BG+=("$X00_PID")
  for ((n = 0; $(grep -c secret_delivered "$T/audit.jsonl" || true) < 2; n++)); do
    if ((n > 600)) || ! kill -0 "$X00_PID" 2>/dev/null; then
      echo "run_overhead: x00 did not start: $(cat "$T/x00.out")" >&2
      exit 1
    fi
    sleep 0.05
  done
}
stop_x00() {
  kill -TERM "$X00_PID"
  wait "$X00_PID" || true
}
mem() { # LABEL
  out "mem $1 pid=$X00_PID $(grep -E '^(VmRSS|VmHWM)' "/proc/$X00_PID/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
}

"${DENO_RUN[@]}" "$T/sleep.ts" &
REF_PID=$!
BG+=("$REF_PID")
sleep 2
out "mem deno_sleeping_reference pid=$REF_PID $(grep -E '^(VmRSS|VmHWM)' "/proc/$REF_PID/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
kill -TERM "$REF_PID"
wait "$REF_PID" || true

loops without
start_x00
mem after_start
loops with_x00_audit
mem after_loops
stop_x00
loops without_again
for ((k = 1; k <= MEM_SAMPLES; k++)); do
  start_x00
  sleep 1
  mem "run$k+1s"
  sleep 2
  mem "run$k+3s"
  stop_x00
done

deno run --allow-read bench/run_report.ts "$RAW" "$HF" | tee "$MD"
