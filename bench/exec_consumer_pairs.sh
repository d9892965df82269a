#!/usr/bin/env bash
# CPU per 10,000 exec events of three consumers in one run, rounds alternating the order: the C libbpf consumer
# (bench/exec_consumer/consumer.c), X00's consumer at a reference commit, and X00's consumer of this checkout
# (bench/exec_consumer_x00.ts: ExecMonitor + EventLoop + decodeExecEvent + JsonLinesSink to /dev/null). Each is fed
# by execgen (10,000 fork+execve of /bin/true). Results: bench/RESULTS.md.
#
# Usage: bash bench/exec_consumer_pairs.sh [REF_COMMIT (f478797)] [ROUNDS (4)]   (as root)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
REF=${1:-f478797}
ROUNDS=${2:-4}
T=$(mktemp -d /tmp/x00-pairs.XXXXXX)
trap 'rm -rf "$T"' EXIT
gcc -O2 -Wall -I bpf -o "$T/consumer" bench/exec_consumer/consumer.c -lbpf
gcc -O2 -Wall -o "$T/execgen" bench/exec_consumer/execgen.c
mkdir -p "$T/ref" && git archive "$REF" | tar -x -C "$T/ref"
declare -A CMD=(
  [c]="$T/consumer $ROOT/bpf/objects/exec_monitor.bpf.o 10000 120"
  [ref]="deno run -A --cached-only $T/ref/bench/exec_consumer_x00.ts --count 10000 --timeout 120"
  [new]="deno run -A --cached-only $ROOT/bench/exec_consumer_x00.ts --count 10000 --timeout 120"
)
echo "BENCH machine date=$(date -u +%Y-%m-%dT%H:%M:%SZ) kernel=$(uname -r) loadavg=$(cut -d' ' -f1-3 /proc/loadavg) ref=$REF commit=$(git rev-parse --short HEAD)"
run() { # NAME
  local out="$T/$1.out"
  ${CMD[$1]} >"$out" 2>/dev/null &
  local pid=$!
  for _ in $(seq 200); do grep -q ready "$out" 2>/dev/null && break; sleep 0.05; done
  "$T/execgen" 10000 >/dev/null
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" || true
  echo "BENCH round=$r consumer=$1 $(tail -1 "$out") loadavg=$(cut -d' ' -f1 /proc/loadavg)"
}
for ((r = 0; r < ROUNDS; r++)); do
  if ((r % 2 == 0)); then order="c ref new"; else order="new ref c"; fi
  for k in $order; do run "$k"; done
done
