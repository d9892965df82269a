#!/usr/bin/env bash
# Installs everything X00 needs to build, run and test on Debian 12 (run as root). Idempotent.
#   Debian packages: clang/llvm/libbpf-dev/bpftool (BPF build), libbpf1 (runtime), qemu + busybox + cpio (VM
#   tests), gcc (test helpers, C benchmark consumer), strace/gdb (attack tests), openssl (Vault test PKI).
#   Deno 2.9.6 from npm (JSR and dl.deno.land are not needed).
set -euo pipefail
cd "$(dirname "$0")/.."

DENO_VERSION=2.9.6
PACKAGES=(clang llvm libbpf-dev libbpf1 bpftool gcc libc6-dev make qemu-system-x86 busybox-static cpio strace gdb
  openssl ca-certificates util-linux iproute2 procps kmod)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v deno >/dev/null || [ "$(deno --version | head -1 | awk '{print $2}')" != "$DENO_VERSION" ]; then
  if ! command -v npm >/dev/null; then
    apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  echo "setup: installing deno $DENO_VERSION from npm"
  npm install -g "deno@$DENO_VERSION" >/dev/null 2>&1
  hash -r
fi
deno --version | head -1

# Pseudo file systems BPF needs (x00 also mounts them itself when it runs as root).
[ -d /sys/kernel/tracing/events ] || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
[ -f /sys/kernel/security/lsm ] || mount -t securityfs securityfs /sys/kernel/security 2>/dev/null || true

# Dependencies (npm packages pinned in deno.json / deno.lock) into Deno's cache.
deno install --frozen >/dev/null 2>&1 || deno cache --frozen mod.ts
# BPF objects are committed; rebuild if a source is newer (e.g. after editing bpf/).
bash scripts/build_bpf.sh --check >/dev/null 2>&1 || bash scripts/build_bpf.sh
echo "setup: done"
