#!/usr/bin/env bash
# The access fallback against a reference build (issue 12): load/attach/detach times and machine-wide syscall cost,
# bench/fallback_bench.ts. Results: bench/RESULTS_run.md.
#
# Usage: bash bench/fallback_bench.sh [REF_COMMIT (f478797: the per-syscall tracepoints)] (as root)
# Environment: ROUNDS (10). Writes bench/run_results/fallback-<UTC time>.log.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
REF=${1:-f478797}
ROUNDS=${ROUNDS:-10}
T=$(mktemp -d /tmp/x00-fallback.XXXXXX)
trap 'rm -rf "$T"' EXIT
gcc -static -O2 -Wall -Wextra -o "$T/bench_syscall" bench/helpers/bench_syscall.c
gcc -static -O2 -Wall -Wextra -o "$T/bench_openclose" tests/vm/helpers/bench_openclose.c
git show "$REF:bpf/objects/access_monitor.bpf.o" >"$T/ref.bpf.o"
mkdir -p bench/run_results
LOG=bench/run_results/fallback-$(date -u +%Y-%m-%dT%H-%M-%SZ).log
{
  echo "BENCH machine date=$(date -u +%Y-%m-%dT%H:%M:%SZ) kernel=$(uname -r) cpus=$(nproc) loadavg=$(cut -d' ' -f1-3 /proc/loadavg) ref=$REF commit=$(git rev-parse --short HEAD) dirty=$(git status --porcelain bpf | wc -l)"
  deno run --allow-all --no-check --cached-only bench/fallback_bench.ts --ref "$T/ref.bpf.o" \
    --new bpf/objects/access_monitor.bpf.o --rounds "$ROUNDS" --syscall-bin "$T/bench_syscall" \
    --openclose-bin "$T/bench_openclose" --file "$ROOT/README.md"
} | tee "$LOG"
