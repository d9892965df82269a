/**
 * The Deno runtime flags X00 runs with as a product (`X00_DENO_FLAGS` in scripts/runtime_flags.sh), for the tests
 * that start X00 the way the product does (the image's entrypoint) or check that every way of starting it agrees.
 */
const ROOT = new URL("../", import.meta.url).pathname;

/** The words of `X00_DENO_FLAGS=(...)` in scripts/runtime_flags.sh (flags without spaces, as it holds). */
export function runtimeFlags(): string[] {
  const script = Deno.readTextFileSync(`${ROOT}scripts/runtime_flags.sh`);
  const m = /^X00_DENO_FLAGS=\(([^)]*)\)$/m.exec(script);
  if (!m) throw new Error("scripts/runtime_flags.sh sets no X00_DENO_FLAGS=(...)");
  return m[1]!.trim().split(/\s+/).filter((w) => w !== "");
}
