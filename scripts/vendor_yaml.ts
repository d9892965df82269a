/**
 * Writes `third_party/yaml/bundle.js`: the ES-module build of the `yaml` package (its `browser/` directory, the
 * "default" condition of its exports) from the npm package that deno.lock pins (`yaml-npm` in deno.json), as one
 * module made by `deno bundle` (esbuild, not minified: each part keeps a `// yaml/dist/...` comment naming its
 * source file), and the package's LICENSE beside it.
 *
 * Why: the package's exports give Deno the CommonJS build (the "node" condition), and loading it brings up
 * Deno's Node compatibility layer (~40 ms and ~12 MB of RSS at the start of every `x00 run`; bench/RESULTS_run.md).
 * The ES-module build is the same source; Deno loads it as plain modules, and as one module rather than its 74
 * (every module costs the loader a read, a hash and a code-cache lookup: ~3.5 ms of each policy load). The bundle
 * is made in a temporary directory holding the package's `browser/` as `yaml/`, so its comments name the same
 * paths on every machine. `third_party/yaml/mod.js` takes its types from the npm package (`@ts-self-types`), so
 * type checking is unchanged.
 *
 * ```sh
 * deno run --allow-all scripts/vendor_yaml.ts           # write
 * deno run --allow-all scripts/vendor_yaml.ts --check   # exit 1 if third_party/yaml/ differs
 * ```
 *
 * tests/unit/vendor_yaml_test.ts runs the check.
 *
 * @module
 */
import { createRequire } from "node:module";

/** `third_party/yaml/`, where the bundle lives. */
export const VENDOR_DIR = new URL("../third_party/yaml/", import.meta.url);

/** Files of `third_party/yaml/` that are X00's own, not made from the package. */
const OWN = new Set(["mod.js"]);

/** The directory of the locked npm package `yaml` (`yaml-npm` in deno.json). */
export function packageDir(): string {
  const require = createRequire(import.meta.url);
  return require.resolve("yaml/package.json").replace(/package\.json$/, "");
}

/** Copies directory `from` to `to`, recursively. */
async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/** `deno bundle` of the package's ES-module build, made where its comments name `yaml/dist/...`. */
async function bundle(pkg: string): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "x00-yaml-" });
  try {
    await copyDir(`${pkg}browser`, `${dir}/yaml`);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "yaml/index.js", "-o", "bundle.js"],
      cwd: dir,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`deno bundle of ${pkg}browser/index.js failed`);
    return await Deno.readFile(`${dir}/bundle.js`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** What goes into `third_party/yaml/`, by file name. */
export async function expectedFiles(pkg = packageDir()): Promise<Map<string, Uint8Array>> {
  return new Map([
    ["bundle.js", await bundle(pkg)],
    ["LICENSE", await Deno.readFile(`${pkg}LICENSE`)],
  ]);
}

/** The files and directories of `third_party/yaml/` that X00 did not write itself. */
async function made(): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(VENDOR_DIR)) if (!OWN.has(e.name)) out.push(e.name);
  return out.sort();
}

/** The differences between `third_party/yaml/` and what the package makes (empty when identical). */
export async function differences(pkg = packageDir()): Promise<string[]> {
  const want = await expectedFiles(pkg);
  const out: string[] = [];
  for (const f of await made()) if (!want.has(f)) out.push(`extra: third_party/yaml/${f}`);
  for (const [name, theirs] of want) {
    let mine: Uint8Array | undefined;
    try {
      mine = await Deno.readFile(new URL(name, VENDOR_DIR));
    } catch {
      out.push(`missing: third_party/yaml/${name}`);
      continue;
    }
    if (mine.length !== theirs.length || mine.some((b, i) => b !== theirs[i])) {
      out.push(`differs: third_party/yaml/${name}`);
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
  const want = await expectedFiles(pkg);
  for (const f of await made()) await Deno.remove(new URL(f, VENDOR_DIR), { recursive: true });
  for (const [name, data] of want) await Deno.writeFile(new URL(name, VENDOR_DIR), data);
  console.log(`vendor_yaml: bundled ${pkg}browser/ into ${VENDOR_DIR.pathname}bundle.js`);
}
