#!/bin/sh
# /init of the X00 test VM (busybox sh). Mounts the kernel file systems, runs the Deno tests named on the kernel
# command line (or one shell command), prints serial-console markers for scripts/vm_test.sh and powers off.
#
# Kernel command line parameters:
#   x00.tests=a,b,...   test files or directories relative to /x00 (default: tests/vm/)
#   x00.cmd=BASE64      run this shell command (base64 of its text) in /x00 instead of the tests
#   x00.shell=1         drop to an interactive shell on the console afterwards (debugging)
# Output markers, each on a line of its own:
#   X00-VM-BEGIN        the tests (or the command) start now
#   X00-VM-EXIT <code>  they ended with this exit code

export PATH=/opt/x00/helpers:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
export DENO_DIR=/opt/x00/deno_dir
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu
export DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1 NO_COLOR=1
export TERM=dumb LANG=C.UTF-8
# Tests use this to know they run in the VM (and skip themselves elsewhere).
export X00_VM=1

mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
mount -t securityfs securityfs /sys/kernel/security
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
ip link set lo up
hostname x00-vm
# Core dumps go to files in the cwd unless a test says otherwise.
echo core >/proc/sys/kernel/core_pattern

# run_logged CMD ARGS... runs CMD with its output through a pipe (so deno prints plain lines, not TTY progress)
# in a session of its own; when CMD ends, what it left running is killed so that the pipe closes. Returns CMD's
# exit code.
run_logged() {
  fifo=/run/x00-output
  rm -f "$fifo"
  mkfifo "$fifo"
  cat "$fifo" &
  reader=$!
  setsid "$@" >"$fifo" 2>&1 &
  main=$!
  wait "$main"
  rc=$?
  kill -KILL "-$main" 2>/dev/null
  # Anything that left the session may still hold the pipe: give the reader 5 s to drain, then kill the rest.
  n=0
  while kill -0 "$reader" 2>/dev/null && [ "$n" -lt 50 ]; do
    sleep 0.1
    n=$((n + 1))
  done
  if kill -0 "$reader" 2>/dev/null; then
    echo "x00-vm: processes left running after the tests were killed"
    kill -KILL -1
  fi
  wait "$reader" 2>/dev/null
  rm -f "$fifo"
  return "$rc"
}

tests=tests/vm/
cmd=
shell=0
read -r cmdline </proc/cmdline
set -f
for arg in $cmdline; do
  case $arg in
    x00.tests=*) tests=${arg#x00.tests=} ;;
    x00.cmd=*) cmd=$(echo "${arg#x00.cmd=}" | base64 -d) ;;
    x00.shell=1) shell=1 ;;
  esac
done
set +f

cd /x00 || exit 1
echo "x00-vm: kernel $(uname -r), lsm $(cat /sys/kernel/security/lsm 2>/dev/null), uptime $(cut -d' ' -f1 /proc/uptime) s"
echo "X00-VM-BEGIN"
if [ -n "$cmd" ]; then
  run_logged sh -c "$cmd"
else
  # Type checking happened on the host; the guest has no network.
  # shellcheck disable=SC2046 # split the comma-separated list into words
  run_logged deno test --allow-all --no-check --cached-only $(echo "$tests" | tr ',' ' ')
fi
code=$?
echo "X00-VM-EXIT $code"
echo "x00-vm: uptime $(cut -d' ' -f1 /proc/uptime) s"

if [ "$shell" = 1 ]; then
  setsid cttyhack sh -l
fi
sync
poweroff -f
# Fallbacks: sysrq power-off, then leaving init makes the kernel panic and qemu (-no-reboot, panic=-1) exit.
echo o >/proc/sysrq-trigger
sleep 5
exit "$code"
