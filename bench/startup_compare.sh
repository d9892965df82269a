#!/usr/bin/env bash
# `x00 run -- /bin/true` and `x00 --version` of this tree against a reference commit, in one hyperfine run (issue
# 12), for two policies: one env secret (as bench/run_overhead.sh) and one KV v2 secret from the Vault test server
# over mTLS with a client certificate (tests/vault/server_main.ts on loopback, no added latency). Each tree runs
# as it ships: with the runtime flags of its own scripts/runtime_flags.sh, if it has one.
# Results: bench/RESULTS_run.md.
#
# Usage: bash bench/startup_compare.sh [REF_COMMIT (6c2016e)] (as root; audit mode, so any kernel with BPF)
# Environment: RUNS (30). Writes bench/run_results/startup-<UTC time>.hyperfine.json and .md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
REF=${1:-6c2016e}
RUNS=${RUNS:-30}
T=$(mktemp -d /tmp/x00-startup.XXXXXX)
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
mkdir -p bench/run_results
# shellcheck source=bench/helpers/ref_tree.sh
source bench/helpers/ref_tree.sh
ref_tree "$REF" "$T/ref"
this_tree "$T/new" # a fresh copy too (bench/helpers/ref_tree.sh)
D="deno run --allow-all --no-check --cached-only"
NEW="$D $(ref_flags "$T/new") $T/new/mod.ts"
# The reference as it shipped, with its own runtime flags (this script used to run every reference without flags,
# which made a reference that ships `--no-lazy` look ~1-3 MB lighter and its policy load slower).
OLD="$D $(ref_flags "$T/ref") $T/ref/mod.ts"

# shellcheck source=bench/helpers/bench_policy.sh
source bench/helpers/bench_policy.sh
write_bench_policy "$T/env.yaml" audit "$T/audit-env.jsonl"
mkfifo "$T/server.in"
deno run --allow-all --no-check tests/vault/server_main.ts 1 <"$T/server.in" >"$T/server.json" &
SERVER_PID=$!
exec 3>"$T/server.in" # keeps the server's stdin open
for _ in $(seq 100); do [ -s "$T/server.json" ] && break; sleep 0.1; done
field() { deno eval "console.log(JSON.parse(Deno.readTextFileSync('$T/server.json')).$1)"; }
field token >"$T/token"
cat >"$T/vault.yaml" <<YAML
policy:
  mode: audit
secrets:
  - name: db
    source: { type: vault, engine: kv-v2, mount: secret, path: bench/0, key: password }
    delivery: { env: DB_PASSWORD }
audit:
  output: $T/audit-vault.jsonl
vault:
  address: $(field address)
  ca_cert: $(field caCert)
  client_cert: $(field clientCert)
  client_key: $(field clientKey)
  auth:
    method: token
    token_file_path: $T/token
YAML
: >"$T/empty.ts"
for c in "$NEW run --policy $T/env.yaml -- /bin/true" "$OLD run --policy $T/env.yaml -- /bin/true" \
  "$NEW run --policy $T/vault.yaml -- /bin/true" "$OLD run --policy $T/vault.yaml -- /bin/true"; do
  $c >/dev/null 2>&1 || { echo "startup_compare: failed: $c" >&2; $c; exit 1; }
done
STAMP=$(date -u +%Y-%m-%dT%H-%M-%SZ)
HF=bench/run_results/startup-$STAMP.hyperfine.json
echo "BENCH machine date=$(date -u +%Y-%m-%dT%H:%M:%SZ) kernel=$(uname -r) cpus=$(nproc) loadavg=$(cut -d' ' -f1-3 /proc/loadavg) ref=$REF commit=$(git rev-parse --short HEAD) dirty=$(git status --porcelain | wc -l)" |
  tee "bench/run_results/startup-$STAMP.md"
hyperfine -N -i --warmup 3 --runs "$RUNS" --export-json "$HF" \
  -n deno_empty "$D $T/empty.ts" \
  -n version_ref "$OLD --version" -n version_new "$NEW --version" \
  -n run_env_ref "$OLD run --policy $T/env.yaml -- /bin/true" -n run_env_new "$NEW run --policy $T/env.yaml -- /bin/true" \
  -n run_vault_ref "$OLD run --policy $T/vault.yaml -- /bin/true" \
  -n run_vault_new "$NEW run --policy $T/vault.yaml -- /bin/true" \
  -n deno_empty_again "$D $T/empty.ts" >/dev/null
deno eval --ext=ts "
const r = JSON.parse(Deno.readTextFileSync('$HF')).results as { command: string; times: number[] }[];
const med = (t: number[]) => { const s = [...t].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]! * 1000; };
const q = (t: number[], f: number) => [...t].sort((a, b) => a - b)[Math.floor(t.length * f)]! * 1000;
const empty = med(r[0]!.times);
console.log('| command | median ms | p25 … p75 ms | added over an empty script |');
console.log('| --- | ---: | --- | ---: |');
for (const x of r) console.log('| ' + x.command + ' | ' + med(x.times).toFixed(1) + ' | ' + q(x.times, 0.25).toFixed(1) + ' … ' + q(x.times, 0.75).toFixed(1) + ' | ' + (x.command.startsWith('deno_empty') ? '' : '+' + (med(x.times) - empty).toFixed(1)) + ' |');
" | tee -a "bench/run_results/startup-$STAMP.md"

# Memory of the supervising process, 5 s after start, workload `sleep 60`: VmRSS / VmHWM of the `deno run` process
# (after the re-execution) for each tree and policy, twice.
{
  echo
  echo "| process | VmRSS MB | VmHWM MB |"
  echo "| --- | ---: | ---: |"
  for round in 1 2; do
    for which in ref new; do
      for p in env vault; do
        if [ "$which" = ref ]; then x=$OLD; else x=$NEW; fi
        $x run --policy "$T/$p.yaml" -- sleep 60 >/dev/null 2>&1 &
        job=$!
        sleep 5
        pid=$(pgrep -f -n -- "run --policy $T/$p.yaml -- sleep 60")
        mem=$(awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {printf "%.1f | %.1f", r/1024, h/1024}' "/proc/$pid/status")
        echo "| x00 run, $p policy, $which (round $round) | $mem |"
        kill "$pid"
        wait "$job" 2>/dev/null || true
      done
    done
  done
} | tee -a "bench/run_results/startup-$STAMP.md"
