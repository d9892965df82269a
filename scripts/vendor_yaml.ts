/**
 * Copies the ES-module build of the `yaml` package (its `browser/` directory, the "default" condition of its
 * exports) from the npm package that deno.lock pins (`yaml-npm` in deno.json) into `third_party/yaml/`.
 *
 * Why: the package's exports give Deno the CommonJS build (the "node" condition), and loading it brings up
 * Deno's Node compatibility layer (~40 ms and ~12 MB of RSS at the start of every `x00 run`; bench/RESULTS_run.md).
 * The ES-module build is the same source; Deno loads it as plain modules. `third_party/yaml/mod.js` takes its
 * types from the npm package (`@ts-self-types`), so type checking is unchanged.
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-env scripts/vendor_yaml.ts           # copy
 * deno run --allow-read --allow-env scripts/vendor_yaml.ts --check                 # exit 1 if the copy differs
 * ```
 *
 * tests/unit/vendor_yaml_test.ts runs the check.
 *
 * @module
 */
import { createRequire } from "node:module";

/** `third_party/yaml/`, where the copy lives. */
export const VENDOR_DIR = new URL("../third_party/yaml/", import.meta.url);

/** Files of `third_party/yaml/` that are X00's own, not copied from the package. */
const OWN = new Set(["mod.js"]);

/** The directory of the locked npm package `yaml` (`yaml-npm` in deno.json). */
export function packageDir(): string {
  const require = createRequire(import.meta.url);
  return require.resolve("yaml/package.json").replace(/package\.json$/, "");
}

/** Every file below `dir`, as paths relative to it, sorted. */
async function files(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir + prefix)) {
    const rel = prefix + e.name;
    if (e.isDirectory) out.push(...await files(dir, rel + "/"));
    else out.push(rel);
  }
  return out.sort();
}

/** What goes into `third_party/yaml/`: its relative path and the package file it comes from. */
export async function expectedFiles(pkg = packageDir()): Promise<Map<string, string>> {
  const m = new Map<string, string>([["index.js", pkg + "browser/index.js"], [
    "LICENSE",
    pkg + "LICENSE",
  ]]);
  for (const f of await files(pkg + "browser/dist/")) m.set(`dist/${f}`, `${pkg}browser/dist/${f}`);
  return m;
}

/** The differences between `third_party/yaml/` and the package's ES-module build (empty when identical). */
export async function differences(pkg = packageDir()): Promise<string[]> {
  const want = await expectedFiles(pkg);
  const have = (await files(VENDOR_DIR.pathname)).filter((f) => !OWN.has(f));
  const out: string[] = [];
  for (const f of have) if (!want.has(f)) out.push(`extra: third_party/yaml/${f}`);
  for (const [rel, src] of want) {
    let mine: Uint8Array | undefined;
    try {
      mine = await Deno.readFile(new URL(rel, VENDOR_DIR));
    } catch {
      out.push(`missing: third_party/yaml/${rel}`);
      continue;
    }
    const theirs = await Deno.readFile(src);
    if (mine.length !== theirs.length || mine.some((b, i) => b !== theirs[i])) {
      out.push(`differs: third_party/yaml/${rel}`);
    }
  }
  return out;
}

if (import.meta.main) {
  if (Deno.args.includes("--check")) {
    const diff = await differences();
    for (const d of diff) console.error(`vendor_yaml: ${d}`);
    Deno.exit(diff.length === 0 ? 0 : 1);
  }
  const pkg = packageDir();
  for (const f of await files(VENDOR_DIR.pathname)) {
    if (!OWN.has(f)) await Deno.remove(new URL(f, VENDOR_DIR));
  }
  for (const [rel, src] of await expectedFiles(pkg)) {
    const dst = new URL(rel, VENDOR_DIR);
    await Deno.mkdir(new URL(".", dst), { recursive: true });
    await Deno.copyFile(src, dst);
  }
  console.log(`vendor_yaml: copied ${pkg}browser/ to ${VENDOR_DIR.pathname}`);
}
