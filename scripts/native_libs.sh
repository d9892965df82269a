#!/usr/bin/env bash
# Copies the native libraries X00 embeds (libz, libelf, libbpf: this machine's, from ldconfig) into build/native/,
# for scripts/compile.sh and for the benchmarks' trees (bench/helpers/ref_tree.sh), which run with the same ones.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/native
for lib in libz.so.1 libelf.so.1 libbpf.so.1; do
  # (awk reads all of ldconfig's output: exiting early would SIGPIPE ldconfig and fail under pipefail)
  src=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !found { found = $NF } END { print found }')
  [ -n "$src" ] || { echo "native_libs.sh: $lib not found (apt-get install libbpf1)" >&2; exit 1; }
  cp -L "$src" "build/native/$lib"
done
echo "native libraries: $(ls build/native | tr '\n' ' ')"
