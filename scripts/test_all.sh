#!/usr/bin/env bash
# The whole test suite: static checks, unit tests, host tests (real BPF on this kernel), Vault tests (real TLS
# against the Vault-compatible test server) and VM tests (a real kernel with BPF-LSM under qemu).
# Run as root after scripts/setup.sh. Exit status is non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - start ))s)"; }

step "BPF objects match their sources"
bash scripts/build_bpf.sh --check
step "security scan: no committed key or credential; dependencies frozen to deno.lock"
bash scripts/scan_secrets.sh
# deno.json sets "lock": {"frozen": true}: any resolution that would change deno.lock fails every step below.
# (deno audit needs an advisory service these machines cannot reach: it is not run, and never counted as passed.)
step "deno fmt / lint / check"
deno fmt --check
deno lint
deno check mod.ts src/ tests/ bench/ scripts/
step "unit, host and Vault tests"
deno test --allow-all src/ tests/unit/ tests/host/ tests/run/ tests/vault/
step "image: built offline from Debian packages (buildah), its root file system run read-only with chroot"
bash scripts/build_image.sh
deno test --allow-all tests/image/
step "VM tests (qemu, BPF-LSM)"
bash scripts/vm_test.sh
step "all tests passed in $(( $(date +%s) - start ))s"
