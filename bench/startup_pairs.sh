#!/usr/bin/env bash
# `x00 run -- /bin/true` (env policy of bench/helpers/bench_policy.sh, audit mode) of this tree against a reference
# commit in alternating pairs (issue 12): the order flips every pair, so a host whose speed drifts during the run
# (these VMs' neighbours) weighs on both sides alike, and the median of the per-pair differences is the figure.
# bench/startup_compare.sh runs each command in one block, which such drift can skew by tens of milliseconds.
#
# Usage: bash bench/startup_pairs.sh [REF_COMMIT (1417efa)] [PAIRS (50)]   (as root; any kernel with BPF)
# Writes bench/run_results/pairs-<UTC time>.md. Each tree runs with the runtime flags it ships, both from fresh
# copies (bench/helpers/ref_tree.sh: `this_tree` is the working tree's tracked files).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
REF=${1:-1417efa}
PAIRS=${2:-50}
T=$(mktemp -d /tmp/x00-pairs.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p bench/run_results
# shellcheck source=bench/helpers/ref_tree.sh
source bench/helpers/ref_tree.sh
ref_tree "$REF" "$T/ref"
this_tree "$T/new"
D="deno run --allow-all --no-check --cached-only"
# shellcheck source=bench/helpers/bench_policy.sh
source bench/helpers/bench_policy.sh
write_bench_policy "$T/env.yaml" audit "$T/audit.jsonl"
: >"$T/empty.ts"
EMPTY="deno run --allow-all --no-check --cached-only $T/empty.ts"
A="$D $(ref_flags "$T/ref") $T/ref/mod.ts run --policy $T/env.yaml -- /bin/true"
B="$D $(ref_flags "$T/new") $T/new/mod.ts run --policy $T/env.yaml -- /bin/true"
for c in "$A" "$B"; do $c >/dev/null 2>&1 || { echo "startup_pairs: failed: $c" >&2; $c; exit 1; }; done
now_us() { echo $(($(date +%s%N) / 1000)); }
time_us() {
  local s
  s=$(now_us)
  $1 >/dev/null 2>&1
  echo $(($(now_us) - s))
}
STAMP=$(date -u +%Y-%m-%dT%H-%M-%SZ)
OUT=bench/run_results/pairs-$STAMP.md
{
  echo "BENCH machine date=$(date -u +%Y-%m-%dT%H:%M:%SZ) kernel=$(uname -r) cpus=$(nproc) loadavg=$(cut -d' ' -f1-3 /proc/loadavg) ref=$REF commit=$(git rev-parse --short HEAD) dirty=$(git status --porcelain | wc -l) pairs=$PAIRS"
  for i in $(seq "$PAIRS"); do
    e=$(time_us "$EMPTY")
    if ((i % 2)); then
      a=$(time_us "$A")
      b=$(time_us "$B")
    else
      b=$(time_us "$B")
      a=$(time_us "$A")
    fi
    echo "pair $i empty_us=$e ref_us=$a new_us=$b"
  done
} >"$OUT"
deno eval "
const rows = Deno.readTextFileSync('$OUT').split('\n').filter((l) => l.startsWith('pair '))
  .map((l) => Object.fromEntries(l.split(' ').slice(2).map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v) / 1000])));
const med = (x: number[]) => { const s = [...x].sort((p, q) => p - q); return s[Math.floor(s.length / 2)]!; };
const e = med(rows.map((r) => r.empty_us)), a = med(rows.map((r) => r.ref_us)), b = med(rows.map((r) => r.new_us));
const d = rows.map((r) => r.new_us - r.ref_us);
console.log('| empty script | ref ($REF) | this tree | median of new − ref per pair | pairs where new is faster |');
console.log('| ---: | ---: | ---: | ---: | ---: |');
console.log('| ' + [e, a, b].map((x) => x.toFixed(1) + ' ms').join(' | ') + ' | ' + med(d).toFixed(1) + ' ms | ' +
  d.filter((x) => x < 0).length + ' of ' + d.length + ' |');
console.log('added over the empty script: ref +' + (a - e).toFixed(1) + ' ms, this tree +' + (b - e).toFixed(1) + ' ms');
" | tee -a "$OUT"
