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
#   X00_VM_TIMEOUT     hard limit for the whole boot in seconds (default 600)
#   X00_VM_MEM         guest memory in MiB (default 2048)
#   X00_VM_SMP         guest CPUs (default 2)
#   X00_VM_APPEND      extra kernel command line parameters
#   X00_VM_NO_BUILD    1 boots the existing image without calling vm_build.sh
#   X00_VM_QUIET       1 does not stream the console (it is always saved to build/vm/console.log)
#   and those of scripts/vm_build.sh (X00_VM_KERNEL, X00_VM_GDB, ...).
#
# Exit code: the guest's (deno test, or the command); 125 when the harness fails (no boot, panic, timeout).
set -euo pipefail

CALLER_PWD=$PWD
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

OUT=build/vm
LOG=$OUT/console.log
TIMEOUT=${X00_VM_TIMEOUT:-600}
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
# One run at a time per tree: runs share the image and build/vm/console.log.
exec 8>"$OUT/.run.lock"
if ! flock -n 8; then
  log "waiting for another vm_test.sh run in this tree to finish"
  flock 8
fi
rm -f "$LOG"
T0=$(date +%s.%N)
if [[ ${X00_VM_NO_BUILD:-0} != 1 ]]; then
  bash scripts/vm_build.sh "${REL_TESTS[@]}" || fail "scripts/vm_build.sh failed"
fi
[[ -s $OUT/vmlinuz && -s $OUT/initramfs.cpio ]] || fail "no image in $OUT: run scripts/vm_build.sh"

APPEND="console=ttyS0 panic=-1 quiet"
if [[ -n $CMD ]]; then
  APPEND+=" x00.cmd=$(printf '%s' "$CMD" | base64 -w0)"
elif ((${#REL_TESTS[@]} > 0)); then
  APPEND+=" x00.tests=$(IFS=,; echo "${REL_TESTS[*]}")"
fi
if [[ -n ${X00_VM_APPEND:-} ]]; then APPEND+=" $X00_VM_APPEND"; fi
# x86 COMMAND_LINE_SIZE is 2048.
((${#APPEND} < 2000)) || fail "kernel command line too long (${#APPEND} bytes): put long commands in a script"

QEMU=(
  qemu-system-x86_64 -accel tcg -cpu max -m "${X00_VM_MEM:-2048}" -smp "${X00_VM_SMP:-2}"
  -nodefaults -display none -no-reboot -serial stdio
  -kernel "$OUT/vmlinuz" -initrd "$OUT/initramfs.cpio" -append "$APPEND"
)
log "booting $(cat "$OUT/kernel.release" 2>/dev/null || echo kernel) (timeout ${TIMEOUT}s, console in $LOG)"
T1=$(date +%s.%N)
: >"$LOG"
set +e
if [[ ${X00_VM_QUIET:-0} == 1 ]]; then
  timeout -k 10 "$TIMEOUT" "${QEMU[@]}" </dev/null >"$LOG" 2>&1
  QEMU_RC=$?
else
  timeout -k 10 "$TIMEOUT" "${QEMU[@]}" </dev/null 2>&1 | tee "$LOG" | tr -d '\r'
  QEMU_RC=${PIPESTATUS[0]}
fi
set -e
T2=$(date +%s.%N)

CLEAN=$(tr -d '\r' <"$LOG")
EXIT_LINE=$(grep -a -E '^X00-VM-EXIT -?[0-9]+$' <<<"$CLEAN" | tail -n 1 || true)
BEGIN_UPTIME=$(grep -a -o -E '^x00-vm: kernel .*, uptime [0-9.]+ s$' <<<"$CLEAN" | sed -E 's/.*uptime ([0-9.]+) s$/\1/' |
  head -n 1 || true)
TIMING=$(awk -v a="$T0" -v b="$T1" -v c="$T2" 'BEGIN { printf "build %.1f s, qemu %.1f s, total %.1f s", b - a, c - b, c - a }')
if [[ -n $BEGIN_UPTIME ]]; then TIMING+=", guest boot-to-tests ${BEGIN_UPTIME} s"; fi

if [[ -z $EXIT_LINE ]]; then
  if ((QEMU_RC == 124 || QEMU_RC == 137)); then
    fail "the VM did not finish within ${TIMEOUT}s (X00_VM_TIMEOUT)"
  elif grep -a -q 'Kernel panic' <<<"$CLEAN"; then
    fail "the guest kernel panicked (qemu exit $QEMU_RC)"
  elif ! grep -a -q '^X00-VM-BEGIN$' <<<"$CLEAN"; then
    fail "the guest never reached the tests (qemu exit $QEMU_RC): kernel or /init failed"
  else
    fail "the tests started but X00-VM-EXIT never appeared (qemu exit $QEMU_RC)"
  fi
fi
CODE=${EXIT_LINE#X00-VM-EXIT }
log "guest exit code $CODE ($TIMING)"
exit "$CODE"
