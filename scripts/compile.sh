#!/usr/bin/env bash
# Builds the single x00 binary: `deno compile` with the BPF objects and the native libraries (libbpf, libelf,
# libz, copied from this machine into build/native/) embedded. At run time the libraries are loaded from memfds,
# so the binary needs nothing but glibc on the target host.
#   scripts/compile.sh [--target x86_64-unknown-linux-gnu] [--output build/x00] [--prepare-only]
# mod.ts imports the command modules, and src/cli/run.ts the Vault side, by specifiers Deno does not analyze
# (LAZY_MODULES, VAULT_MODULE): each is named here.
# `deno compile` downloads its `denort` runtime unless DENORT_BIN points to one (release machines set it).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/x00
target=x86_64-unknown-linux-gnu
prepare_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --output) out=$2; shift ;;
    --target) target=$2; shift ;;
    --prepare-only) prepare_only=1 ;;
    *) echo "compile.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

bash scripts/build_bpf.sh --check
bash scripts/native_libs.sh
[ "$prepare_only" = 1 ] && exit 0

# shellcheck source=scripts/runtime_flags.sh
source scripts/runtime_flags.sh
deno compile --allow-all --no-check=remote "${X00_DENO_FLAGS[@]}" --target "$target" \
  --include bpf/objects --include build/native \
  --include src/cli/run_entry.ts --include src/cli/failure.ts --include src/cli/main.ts \
  --include src/secrets/vault/mod.ts \
  --output "$out" mod.ts
echo "built $out"
