#!/usr/bin/env bash
# Installs everything X00 needs to build, run and test on Debian 12 (run as root). Idempotent.
#   Debian packages: clang/llvm/libbpf-dev/bpftool (BPF build), libbpf1 (runtime), qemu + busybox + cpio (VM
#   tests), gcc (test helpers, C benchmark consumer), strace/gdb (attack tests), openssl (Vault test PKI), buildah
#   (the offline image).
#   Deno 2.9.6 from npm (JSR and dl.deno.land are not needed).
set -euo pipefail
cd "$(dirname "$0")/.."

DENO_VERSION=2.9.6
PACKAGES=(clang llvm libbpf-dev libbpf1 bpftool gcc libc6-dev make qemu-system-x86 busybox-static cpio strace gdb
  openssl ca-certificates util-linux iproute2 procps kmod buildah)

# Runs a step quietly; on failure prints what failed, the tail of its output and how to fix it, and exits 1.
step() {
  local what=$1 hint=$2 log
  shift 2
  log=$(mktemp)
  if ! "$@" >"$log" 2>&1; then
    echo "setup: $what failed (exit $?): $*" >&2
    tail -n 15 "$log" | sed 's/^/setup:   /' >&2
    echo "setup: how to fix: $hint" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}
APT_HINT="check that a Debian mirror is reachable (apt-get update by hand shows the failing source) and that you are root"
NPM_HINT="the npm registry must be reachable over TLS (behind a proxy: npm config set https-proxy URL; with a private CA: npm config set cafile FILE), or install deno $DENO_VERSION yourself and put it first on PATH"

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  step "apt-get update" "$APT_HINT" apt-get update -qq
  step "apt-get install ${missing[*]}" "$APT_HINT" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v deno >/dev/null || [ "$(deno --version | head -1 | awk '{print $2}')" != "$DENO_VERSION" ]; then
  if ! command -v npm >/dev/null; then
    step "apt-get install nodejs npm" "$APT_HINT" apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  echo "setup: installing deno $DENO_VERSION from npm"
  step "npm install -g deno@$DENO_VERSION" "$NPM_HINT" npm install -g "deno@$DENO_VERSION"
  hash -r
  if [ "$(deno --version 2>/dev/null | head -1 | awk '{print $2}')" != "$DENO_VERSION" ]; then
    echo "setup: deno $DENO_VERSION was installed but 'deno' on PATH is $(command -v deno || echo missing)" >&2
    echo "setup: how to fix: put npm's global bin directory ($(npm prefix -g)/bin) first on PATH" >&2
    exit 1
  fi
fi
deno --version | head -1

# Pseudo file systems BPF needs (x00 also mounts them itself when it runs as root).
[ -d /sys/kernel/tracing/events ] || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
[ -f /sys/kernel/security/lsm ] || mount -t securityfs securityfs /sys/kernel/security 2>/dev/null || true

# Dependencies (npm packages pinned in deno.json / deno.lock) into Deno's cache.
# The system's trust store as well as Deno's own, as apt and npm use it (a proxy's CA installed there then works
# without NODE_EXTRA_CA_CERTS).
step "caching the npm dependencies pinned in deno.lock" "$NPM_HINT" \
  env DENO_TLS_CA_STORE="${DENO_TLS_CA_STORE:-mozilla,system}" deno install --frozen
# BPF objects are committed (and reproducible wherever the clone lives); they are never rebuilt here, so the test
# suite's check that they match their sources means something. After editing bpf/: deno task build:bpf.
ls bpf/objects/*.bpf.o >/dev/null 2>&1 || bash scripts/build_bpf.sh
echo "setup: done"
