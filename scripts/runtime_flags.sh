# shellcheck shell=bash
# The Deno runtime flags X00 runs with, wherever it is started as a product: `deno compile` (scripts/compile.sh)
# bakes them into the binary, the offline image's entrypoint (scripts/build_image.sh) and `deno task x00`
# (deno.json: the same flags, checked by tests/unit/assets_test.ts) pass them to `deno run`.
#
# --no-lazy: V8 compiles every function of a module when it compiles the module, instead of on its first call,
#   so Deno's code cache holds them all and a start-up loads their bytecode instead of compiling it again:
#   `x00 run -- /bin/true` 229-251 -> 209 ms on the host (bench/RESULTS_run.md), ~1 MB more resident memory.
X00_DENO_FLAGS=(--v8-flags=--no-lazy)
