#!/usr/bin/env bash
# Memory of a running `x00 run` and `x00 audit` beside a sleeping Deno script, split into what only that process
# holds (RssAnon: V8 heap, malloc, stacks) and what is file-backed (RssFile: the deno binary's code pages and the
# shared libraries, shared with every process that maps them and with the page cache), in alternating rounds
# (issue 12). Peak (VmHWM) as well: for x00 it is reached while libbpf holds the kernel BTF during the BPF load.
#
# Usage: bash bench/memory_split.sh [REF_COMMIT] (as root; audit mode, so any kernel with BPF); with REF_COMMIT,
#        that tree as it shipped (bench/helpers/ref_tree.sh) alternates with this one.
# Environment: ROUNDS (4), AFTER (seconds before reading, 5), LOAD (0: with N, each `x00 audit` is read 1 s after N
# execs of /bin/true from a shell loop, started AFTER s in). Writes bench/run_results/memory-<UTC time>.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
unset DENO_NO_UPDATE_CHECK # as a user's shell starts Deno
ROUNDS=${ROUNDS:-4}
AFTER=${AFTER:-5}
LOAD=${LOAD:-0}
T=$(mktemp -d /tmp/x00-memory.XXXXXX)
trap 'rm -rf "$T"' EXIT
STAMP=$(date -u +%Y-%m-%dT%H-%M-%SZ)
OUT=bench/run_results/memory-$STAMP.md
mkdir -p bench/run_results

# shellcheck source=bench/helpers/bench_policy.sh
source bench/helpers/bench_policy.sh
write_bench_policy "$T/env.yaml" audit "$T/audit.jsonl"
D="deno run --allow-all --no-check --cached-only"
# shellcheck source=bench/helpers/ref_tree.sh
source bench/helpers/ref_tree.sh
this_tree "$T/new" # a fresh copy, as the reference is (see bench/helpers/ref_tree.sh)
X00="$D $(ref_flags "$T/new") $T/new/mod.ts"
echo "await new Promise((r) => setTimeout(r, 600_000));" >"$T/sleep.ts"
REF=${1:-}
if [ -n "$REF" ]; then
  ref_tree "$REF" "$T/ref"
  REF_X00="$D $(ref_flags "$T/ref") $T/ref/mod.ts"
fi

# KiB fields of /proc/PID/status, printed in MiB.
fields() {
  awk '/^(VmRSS|VmHWM|RssAnon|RssFile):/ {v[$1]=$2}
    END {printf "%.1f | %.1f | %.1f | %.1f", v["VmRSS:"]/1024, v["VmHWM:"]/1024, v["RssAnon:"]/1024, v["RssFile:"]/1024}' \
    "/proc/$1/status"
}

# measure NAME PATTERN COMMAND...: starts COMMAND, reads the newest process matching PATTERN after $AFTER s (for
# `x00 audit` with LOAD set: after LOAD execs and 1 s more).
measure() {
  local name=$1 pattern=$2
  shift 2
  "$@" >/dev/null 2>&1 &
  local job=$! pid
  sleep "$AFTER"
  pid=$(pgrep -f -n -- "$pattern")
  if ((LOAD > 0)) && [[ $name == "x00 audit"* ]]; then
    for _ in $(seq "$LOAD"); do /bin/true; done
    sleep 1
    name="$name, after $LOAD execs"
  fi
  echo "| $name | $(fields "$pid") |"
  kill "$pid" 2>/dev/null || true
  wait "$job" 2>/dev/null || true
}

{
  echo "# bench/memory_split.sh ${REF}, $(date -u +%Y-%m-%dT%H:%M:%SZ), kernel $(uname -r), commit $(git rev-parse --short HEAD), $(deno --version | head -n 1)"
  echo
  echo "MiB, $AFTER s after start; $ROUNDS rounds, the processes alternating; LOAD=$LOAD."
  echo
  echo "| process | VmRSS | VmHWM | RssAnon | RssFile |"
  echo "| --- | ---: | ---: | ---: | ---: |"
  for round in $(seq "$ROUNDS"); do
    measure "sleeping Deno script (round $round)" "$T/sleep.ts" $D --no-config "$T/sleep.ts"
    measure "sleeping Deno script, DENO_NO_UPDATE_CHECK=1 (round $round)" "$T/sleep.ts" \
      env DENO_NO_UPDATE_CHECK=1 $D --no-config "$T/sleep.ts"
    measure "x00 run, env policy (round $round)" "$T/new/mod.ts run --policy" \
      $X00 run --policy "$T/env.yaml" -- sleep 600
    measure "x00 audit (round $round)" "$T/new/mod.ts audit --duration 600s" \
      $X00 audit --duration 600s --format json --output /dev/null
    if [ -n "$REF" ]; then
      measure "x00 run, env policy, $REF (round $round)" "$T/ref/mod.ts run --policy" \
        $REF_X00 run --policy "$T/env.yaml" -- sleep 600
      measure "x00 audit, $REF (round $round)" "$T/ref/mod.ts audit --duration 600s" \
        $REF_X00 audit --duration 600s --format json --output /dev/null
    fi
  done
} | tee "$OUT"
