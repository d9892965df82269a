# shellcheck shell=bash
# The reference tree the start-up benchmarks compare this tree with (bench/startup_compare.sh,
# bench/startup_pairs.sh), run as it shipped.
#   ref_tree REF DIR   extracts commit REF into DIR with this tree's build/native (the same embedded libbpf for
#                      both) and caches the modules `x00 run` loads (Vault's too, where REF has them)
#   this_tree DIR      this working tree as `git stash create` records it (tracked files with their uncommitted
#                      changes; untracked files left out), set up as ref_tree does. Both sides of a comparison then
#                      sit in the same kind of place: Deno's SQLite caches (mmapped) map more pages for the
#                      modules of a tree used for days than for a fresh copy, ~1.5 MiB more RSS for the same code
#                      run from /work/main than from a copy (bench/RESULTS_run.md).
#   ref_flags DIR      the runtime flags the tree in DIR ships (its scripts/runtime_flags.sh; none before it had one)
ref_tree() {
  mkdir -p "$2/build"
  git archive "$1" | tar -x -C "$2"
  [ -d build/native ] || bash scripts/native_libs.sh >/dev/null
  cp -a build/native "$2/build/"
  (
    cd "$2" && deno install --quiet
    local mods=(mod.ts src/cli/main.ts src/cli/run.ts)
    [ -f src/secrets/vault/mod.ts ] && mods+=(src/secrets/vault/mod.ts)
    deno cache --quiet "${mods[@]}"
  )
}
this_tree() {
  local rev
  rev=$(git stash create)
  ref_tree "${rev:-HEAD}" "$1"
}
ref_flags() {
  if [ -f "$1/scripts/runtime_flags.sh" ]; then
    bash -c 'source "$1"; echo "${X00_DENO_FLAGS[*]}"' _ "$1/scripts/runtime_flags.sh"
  fi
}
