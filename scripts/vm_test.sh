#!/usr/bin/env bash
# Runs the VM test suite: builds the image (scripts/vm_build.sh), boots it under qemu (TCG, no KVM) and exits with
# the exit code of the tests inside the guest.
#
# Usage:
#   scripts/vm_test.sh                      all tests/vm/*_test.ts in one boot
#   scripts/vm_test.sh FILE_OR_DIR...       these tests (paths in the project) in one boot
#   scripts/vm_test.sh --cmd 'COMMAND'      run a shell command in /x00 in the guest instead (benchmarks)
#
# Environment:
#   X00_VM_TIMEOUT     hard limit for the whole boot in seconds (default 1800; the suite takes ~15 min under TCG)
#   X00_VM_MEM         guest memory in MiB (default 2048)
#   X00_VM_SMP         guest CPUs (default 2)
#   X00_VM_APPEND      extra kernel command line parameters
#   X00_VM_NO_BUILD    1 boots the existing image without calling vm_build.sh
#   X00_VM_KERNELS     the kernels to boot, one after the other, with the same image and tests (default
#                      "6.1 6.12": Debian's newest cloud kernels of each series; see scripts/vm_build.sh)
#   X00_VM_KERNEL      one kernel only (when X00_VM_KERNELS is unset), e.g. 6.12 or 6.1.0-57
#   X00_VM_QUIET       1 does not stream the console (it is always saved to build/vm/console-<release>.log;
#                      build/vm/console.log links to the last one)
#   and those of scripts/vm_build.sh (X00_VM_GDB, ...).
#
# Exit code: the first non-zero guest exit code (deno test, or the command) of the kernels; 125 when the harness
# fails (no boot, panic, timeout).
set -euo pipefail

CALLER_PWD=$PWD
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

OUT=build/vm
LOG=$OUT/console.log
TIMEOUT=${X00_VM_TIMEOUT:-1800}
HARNESS_FAIL=125

log() { printf 'vm_test: %s\n' "$*" >&2; }
fail() {
  printf 'vm_test: error: %s\n' "$*" >&2
  if [[ -s $LOG ]]; then
    printf 'vm_test: last 50 console lines (%s):\n' "$LOG" >&2
    tr -d '\r' <"$LOG" | tail -n 50 >&2
  fi
  exit "$HARNESS_FAIL"
}

CMD=""
TESTS=()
while (($# > 0)); do
  case $1 in
    --cmd)
      (($# >= 2)) || fail "--cmd needs a shell command"
      CMD=$2
      shift 2
      ;;
    --cmd=*)
      CMD=${1#--cmd=}
      shift
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    --)
      shift
      TESTS+=("$@")
      break
      ;;
    -*) fail "unknown option $1 (see --help)" ;;
    *)
      TESTS+=("$1")
      shift
      ;;
  esac
done
[[ -n $CMD && ${#TESTS[@]} -gt 0 ]] && fail "give either --cmd or test files, not both"

# Test paths are relative to the project root, which is /x00 in the guest.
REL_TESTS=()
for t in "${TESTS[@]}"; do
  # Relative to the caller's directory, else to the project root.
  abs=$(cd "$CALLER_PWD" && realpath -m -- "$t")
  [[ -e $abs ]] || abs=$(realpath -m -- "$ROOT/$t")
  [[ -e $abs ]] || fail "no such test file or directory: $t"
  case $abs in
    "$ROOT") rel=. ;;
    "$ROOT"/*) rel=${abs#"$ROOT"/} ;;
    *) fail "$t is outside the project ($ROOT)" ;;
  esac
  [[ $rel == *,* || $rel == *" "* ]] && fail "test paths must not contain commas or spaces: $rel"
  [[ -d $abs ]] && rel=$rel/
  REL_TESTS+=("$rel")
done

if ! command -v qemu-system-x86_64 >/dev/null; then
  log "apt-get install qemu-system-x86"
  {
    apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >&2
  } || fail "cannot install qemu-system-x86"
fi

mkdir -p "$OUT"
# One run at a time per tree: runs share the image and the console logs.
exec 8>"$OUT/.run.lock"
if ! flock -n 8; then
  log "waiting for another vm_test.sh run in this tree to finish"
  flock 8
fi

# The kernel matrix: X00_VM_KERNELS, else X00_VM_KERNEL alone, else both supported series.
read -r -a KERNELS <<<"${X00_VM_KERNELS:-${X00_VM_KERNEL:-6.1 6.12}}"
((${#KERNELS[@]} > 0)) || fail "X00_VM_KERNELS is empty"

# quiet, but warnings and the stack traces that follow them (KERN_DEFAULT) reach the console: a soft lockup or an
# RCU stall in the guest then shows where every CPU was, not just that it happened.
APPEND="console=ttyS0 panic=-1 quiet loglevel=5 softlockup_all_cpu_backtrace=1"
if [[ -n $CMD ]]; then
  APPEND+=" x00.cmd=$(printf '%s' "$CMD" | base64 -w0)"
elif ((${#REL_TESTS[@]} > 0)); then
  APPEND+=" x00.tests=$(IFS=,; echo "${REL_TESTS[*]}")"
fi
if [[ -n ${X00_VM_APPEND:-} ]]; then APPEND+=" $X00_VM_APPEND"; fi
# x86 COMMAND_LINE_SIZE is 2048.
((${#APPEND} < 2000)) || fail "kernel command line too long (${#APPEND} bytes): put long commands in a script"

# boot_kernel SERIES: selects the kernel (building the image on the first call), boots it and sets CODE to the
# guest's exit code. Harness failures exit 125.
IMAGE_BUILT=0
boot_kernel() {
  local kernel=$1 t0 t1 t2 qemu_rc clean exit_line begin_uptime timing
  t0=$(date +%s.%N)
  LOG=$OUT/console.log
  rm -f "$LOG"
  if [[ ${X00_VM_NO_BUILD:-0} != 1 ]]; then
    if [[ $IMAGE_BUILT == 0 ]]; then
      X00_VM_KERNEL=$kernel bash scripts/vm_build.sh "${REL_TESTS[@]}" >&2 || fail "scripts/vm_build.sh failed"
      IMAGE_BUILT=1
    else
      X00_VM_KERNEL=$kernel X00_VM_KERNEL_ONLY=1 bash scripts/vm_build.sh >&2 || fail "cannot fetch kernel $kernel"
    fi
  fi
  [[ -s $OUT/vmlinuz && -s $OUT/initramfs.cpio ]] || fail "no image in $OUT: run scripts/vm_build.sh"
  local release
  release=$(cat "$OUT/kernel.release" 2>/dev/null || echo kernel)
  LOG=$OUT/console-$release.log
  local qemu=(
    qemu-system-x86_64 -accel tcg -cpu max -m "${X00_VM_MEM:-2048}" -smp "${X00_VM_SMP:-2}"
    -nodefaults -display none -no-reboot -serial stdio
    -kernel "$OUT/vmlinuz" -initrd "$OUT/initramfs.cpio" -append "$APPEND"
  )
  log "booting $release (timeout ${TIMEOUT}s, console in $LOG)"
  t1=$(date +%s.%N)
  : >"$LOG"
  set +e
  if [[ ${X00_VM_QUIET:-0} == 1 ]]; then
    timeout -k 10 "$TIMEOUT" "${qemu[@]}" </dev/null >"$LOG" 2>&1
    qemu_rc=$?
  else
    timeout -k 10 "$TIMEOUT" "${qemu[@]}" </dev/null 2>&1 | tee "$LOG" | tr -d '\r' >&2
    qemu_rc=${PIPESTATUS[0]}
  fi
  set -e
  t2=$(date +%s.%N)
  ln -sfn "$(basename "$LOG")" "$OUT/console.log"

  clean=$(tr -d '\r' <"$LOG")
  exit_line=$(grep -a -E '^X00-VM-EXIT -?[0-9]+$' <<<"$clean" | tail -n 1 || true)
  begin_uptime=$(grep -a -o -E '^x00-vm: kernel .*, uptime [0-9.]+ s$' <<<"$clean" |
    sed -E 's/.*uptime ([0-9.]+) s$/\1/' | head -n 1 || true)
  timing=$(awk -v a="$t0" -v b="$t1" -v c="$t2" \
    'BEGIN { printf "build %.1f s, qemu %.1f s, total %.1f s", b - a, c - b, c - a }')
  if [[ -n $begin_uptime ]]; then timing+=", guest boot-to-tests ${begin_uptime} s"; fi

  if [[ -z $exit_line ]]; then
    if ((qemu_rc == 124 || qemu_rc == 137)); then
      fail "$release: the VM did not finish within ${TIMEOUT}s (X00_VM_TIMEOUT)"
    elif grep -a -q 'Kernel panic' <<<"$clean"; then
      fail "$release: the guest kernel panicked (qemu exit $qemu_rc)"
    elif ! grep -a -q '^X00-VM-BEGIN$' <<<"$clean"; then
      fail "$release: the guest never reached the tests (qemu exit $qemu_rc): kernel or /init failed"
    else
      fail "$release: the tests started but X00-VM-EXIT never appeared (qemu exit $qemu_rc)"
    fi
  fi
  local code=${exit_line#X00-VM-EXIT }
  log "$release: guest exit code $code ($timing)"
  SUMMARY+=("$release: exit $code ($timing)")
  CODE=$code
}

SUMMARY=()
FINAL=0
for kernel in "${KERNELS[@]}"; do
  boot_kernel "$kernel"
  if [[ $CODE != 0 && $FINAL == 0 ]]; then FINAL=$CODE; fi
done
if ((${#KERNELS[@]} > 1)); then
  for line in "${SUMMARY[@]}"; do log "$line"; done
fi
exit "$FINAL"
