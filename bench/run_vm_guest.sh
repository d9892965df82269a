#!/bin/sh
# The guest half of bench/run_vm_bench.sh: runs inside the X00 test VM (busybox sh, /x00 = the project, helpers on
# PATH, BPF-LSM active) and prints its results as lines starting with "BENCH " on the console.
#
#   1. wall time of `x00 run -- /bin/true` (enforce, BPF-LSM) against /bin/true, deno alone and `x00 --version`,
#      and the phases of a run (bench/run_phases.ts)
#   2. cost of X00's hooks on unrelated work: bench_openclose and bench_forkexec without X00, with an
#      `x00 run -- sleep` holding lsm_file_protect attached, and without again
#   3. VmRSS/VmHWM of that x00 process while its workload sleeps
#   4. which hooks cost what: the same loops with only the LSM hooks, then only the syscall tracepoints, of
#      lsm_file_protect attached (bench/run_attach.ts), and without X00 once more
#   5. the cost of part 2 measured in pairs: lsm_file_protect loaded once as `x00 run` loads it (enforce), its
#      programs attached and detached between short blocks (bench/run_attach.ts --toggle), the order inside a pair
#      alternating, so slow drift of the emulation speed cancels out in the per-pair ratio
#
# Environment (all optional): RUNS (30, timed runs per command in part 1), REPS (5, repetitions per block in
# part 2), REPS_B (3, per block in part 4), OPEN_N (200000), FORK_N (2000), PAIRS (20), OPEN_P (50000) and
# FORK_P (300) (iterations per block in part 5), OPEN_FILE (/x00/README.md: on the initramfs, which is tmpfs, the
# file system secret memfds live on; no X00 program runs on its opens), CONFIGS ("all": which programs part 5 toggles, see
# bench/run_attach.ts), PARTS ("1 2 3 4 5").
set -u
RUNS=${RUNS:-30}
REPS=${REPS:-5}
REPS_B=${REPS_B:-3}
PAIRS=${PAIRS:-20}
OPEN_P=${OPEN_P:-50000}
FORK_P=${FORK_P:-300}
CONFIGS=${CONFIGS:-all}
OPEN_FILE=${OPEN_FILE:-/x00/README.md}
OPEN_N=${OPEN_N:-200000}
FORK_N=${FORK_N:-2000}
PARTS=${PARTS:-1 2 3 4 5}
T=/tmp/x00-bench
rm -rf "$T"
mkdir -p "$T"
cd /x00 || exit 1

out() { echo "BENCH $*"; }

# shellcheck source=bench/helpers/bench_policy.sh
source bench/helpers/bench_policy.sh # the working directory is /x00
write_bench_policy "$T/policy.yaml" enforce "$T/audit.jsonl"

out "machine kernel=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo) cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
out "machine lsm=$(cat /sys/kernel/security/lsm) mem_kb=$(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2)"
out "machine deno=$(deno --version | head -n 1 | cut -d' ' -f2)"
out "machine open_file=$OPEN_FILE fs=$(stat -f -c '%T/0x%t' "$OPEN_FILE" 2>&1)"
out "params runs=$RUNS reps=$REPS reps_b=$REPS_B open_n=$OPEN_N fork_n=$FORK_N pairs=$PAIRS open_p=$OPEN_P fork_p=$FORK_P configs=$CONFIGS open_file=$OPEN_FILE"

# bench_timeit prints "sample ..." and "summary ..." lines; keep them all.
timeit() { bench_timeit "$@" | sed 's/^/BENCH /'; }

case " $PARTS " in *" 1 "*)
  timeit true "$RUNS" 3 /bin/true
  timeit deno_version "$RUNS" 1 deno --version
  timeit x00_version "$RUNS" 1 deno run --allow-all --no-check --cached-only mod.ts --version
  timeit x00_run_true "$RUNS" 1 deno run --allow-all --no-check --cached-only mod.ts run --policy "$T/policy.yaml" -- /bin/true
  X00_BENCH_PHASES_OUT=$T/phases.jsonl timeit phases "$RUNS" 1 deno run --allow-all --no-check --cached-only bench/run_phases.ts "$T/policy.yaml" /bin/true
  sed 's/^/BENCH phases_json /' "$T/phases.jsonl"
  ;;
esac

# start_x00: x00 run -- sleep in the background; sets X00_PID once its secrets are delivered (its programs are
# attached then).
start_x00() {
  : >"$T/audit.jsonl"
  deno run --allow-all --no-check --cached-only mod.ts run --policy "$T/policy.yaml" -- sleep 3600 >"$T/x00.out" 2>&1 &
  X00_PID=$!
  n=0
  while [ "$(grep -c secret_delivered "$T/audit.jsonl" 2>/dev/null)" -lt 2 ]; do
    n=$((n + 1))
    if [ "$n" -gt 1200 ] || ! kill -0 "$X00_PID" 2>/dev/null; then
      out "error x00 did not start: $(cat "$T/x00.out")"
      exit 1
    fi
    sleep 0.1
  done
  out "x00_started pid=$X00_PID after_s=$(awk "BEGIN { print $n / 10 }") mechanism=$(grep -o '"mechanism":"[a-z]*"' "$T/audit.jsonl")"
}

stop_x00() {
  kill -TERM "$X00_PID"
  wait "$X00_PID"
  out "x00_stopped pid=$X00_PID exit=$?"
}

mem() { # LABEL
  out "mem $1 pid=$X00_PID $(grep -E '^(VmRSS|VmHWM)' "/proc/$X00_PID/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
}

loops() { # STATE [REPS]
  i=0
  while [ "$i" -lt "${2:-$REPS}" ]; do
    out "loop $1 $(bench_openclose "$OPEN_N" "$OPEN_FILE")"
    out "loop $1 $(bench_forkexec "$FORK_N" /opt/x00/helpers/bench_true)"
    i=$((i + 1))
  done
}

case " $PARTS " in *" 2 "* | *" 3 "*)
  case " $PARTS " in *" 2 "*) loops without ;; esac
  start_x00
  mem after_start
  # The LSM programs really are attached and enforcing: root cannot read the workload's environment.
  sleep_pid=$(grep -o '"secret":"bench-env"[^}]*"pid":[0-9]*' "$T/audit.jsonl" | grep -o '[0-9]*$')
  if cat "/proc/$sleep_pid/environ" >/dev/null 2>&1; then
    out "error /proc/$sleep_pid/environ was readable: X00 is not enforcing"
  else
    out "enforcing /proc/$sleep_pid/environ refused as expected"
  fi
  case " $PARTS " in *" 2 "*) loops with ;; esac
  mem after_loops
  sleep 2
  mem idle
  stop_x00
  case " $PARTS " in *" 2 "*) loops without_again ;; esac
  ;;
esac
case " $PARTS " in *" 4 "*)
  for cfg in lsm-only tracepoints-only; do
    deno run --allow-all --no-check --cached-only bench/run_attach.ts "$cfg" >"$T/attach.out" 2>&1 &
    pid=$!
    n=0
    until grep -q ATTACHED "$T/attach.out"; do
      n=$((n + 1))
      if [ "$n" -gt 1200 ] || ! kill -0 "$pid" 2>/dev/null; then
        out "error run_attach.ts $cfg: $(cat "$T/attach.out")"
        exit 1
      fi
      sleep 0.1
    done
    out "attach $(cat "$T/attach.out")"
    loops "$cfg" "$REPS_B"
    kill -TERM "$pid"
    wait "$pid"
  done
  loops without_final "$REPS_B"
  ;;
esac
# Part 5 helpers: run_attach.ts --toggle prints LOADED, then ATTACHED/DETACHED after each SIGHUP/SIGUSR2.
wait_count() { # PREFIX COUNT
  n=0
  until [ "$(grep -c "^$1" "$T/toggle.out")" -ge "$2" ]; do
    n=$((n + 1))
    if [ "$n" -gt 1200 ] || ! kill -0 "$tpid" 2>/dev/null; then
      out "error run_attach.ts --toggle: $(cat "$T/toggle.out")"
      exit 1
    fi
    sleep 0.05
  done
}
set_state() { # on|off
  [ "$1" = "$state" ] && return
  if [ "$1" = on ]; then
    kill -HUP "$tpid"
    attached=$((attached + 1))
    wait_count ATTACHED "$attached"
  else
    kill -USR2 "$tpid"
    detached=$((detached + 1))
    wait_count DETACHED "$detached"
  fi
  state=$1
}

case " $PARTS " in *" 5 "*)
  for cfg in $CONFIGS; do
    deno run --allow-all --no-check --cached-only bench/run_attach.ts "$cfg" --toggle >"$T/toggle.out" 2>&1 &
    tpid=$!
    wait_count LOADED 1
    state=off attached=0 detached=0
    k=0
    while [ "$k" -lt "$PAIRS" ]; do
      if [ $((k % 2)) -eq 0 ]; then order="off on"; else order="on off"; fi
      for st in $order; do
        set_state "$st"
        out "pair $cfg $k $st $(bench_openclose "$OPEN_P" "$OPEN_FILE")"
        out "pair $cfg $k $st $(bench_forkexec "$FORK_P" /opt/x00/helpers/bench_true)"
      done
      k=$((k + 1))
    done
    out "toggle $(grep -m1 ATTACHED "$T/toggle.out") attached=$attached detached=$detached"
    kill -TERM "$tpid"
    wait "$tpid"
  done
  ;;
esac
out finished
