# shellcheck shell=bash
# The policy the start-up benchmarks run `x00 run` with (bench/run_overhead.sh, bench/run_vm_guest.sh,
# bench/startup_compare.sh): one secret from X00's own environment (X00_BENCH_SECRET, exported here), delivered once
# as an environment variable and once as a sealed memfd.
#   write_bench_policy FILE MODE AUDIT_OUTPUT
write_bench_policy() {
  X00_BENCH_SECRET=${X00_BENCH_SECRET:-"x00-bench-$(cat /proc/sys/kernel/random/uuid)"}
  export X00_BENCH_SECRET
  cat >"$1" <<POLICY
policy:
  mode: $2
secrets:
  - name: bench-env
    source: { type: env, var: X00_BENCH_SECRET }
    delivery: { env: DB_PASSWORD }
  - name: bench-file
    source: { type: env, var: X00_BENCH_SECRET }
    delivery: { file: DB_PASSWORD_FILE }
audit:
  output: $3
  format: json
POLICY
}
