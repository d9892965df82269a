/**
 * X00's own modules load no Node built-in when they are imported: the first `node:` module brings up Deno's Node
 * compatibility, 40-65 ms of start-up for `node:crypto` alone (bench/RESULTS_run.md). Node built-ins are used only
 * through `import type` and an `import()` where the feature that needs them runs (a client certificate's
 * validity, the `node:https` transport).
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${ROOT}${dir}`)) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await sources(rel));
    else if (
      e.name.endsWith(".ts") && !e.name.endsWith("_test.ts") && !rel.includes("/testdata/")
    ) {
      out.push(rel);
    }
  }
  return out;
}

/** Static `import ... from "node:..."` / `export ... from "node:..."` statements that are not type-only. */
export function valueNodeImports(text: string): string[] {
  const statements = text.matchAll(/^(import|export)\s+(?!type\b)[^;]*?\bfrom\s+"(node:[^"]+)"/gms);
  return [...statements].map((m) => m[2]!);
}

Deno.test("the static-import scan finds value imports and skips type-only ones", () => {
  assert.deepEqual(valueNodeImports('import https from "node:https";'), ["node:https"]);
  assert.deepEqual(valueNodeImports('import {\n  createHash,\n} from "node:crypto";'), [
    "node:crypto",
  ]);
  assert.deepEqual(valueNodeImports('export { X } from "node:fs";'), ["node:fs"]);
  assert.deepEqual(valueNodeImports('import type https from "node:https";'), []);
  assert.deepEqual(valueNodeImports('const h = await import("node:https");'), []);
});

Deno.test("no module of mod.ts, src/ or ffi/ imports a Node built-in when it is loaded", async () => {
  const found: string[] = [];
  for (const file of ["mod.ts", ...await sources("src"), ...await sources("ffi")]) {
    for (const spec of valueNodeImports(await Deno.readTextFile(`${ROOT}${file}`))) {
      found.push(`${file}: ${spec}`);
    }
  }
  assert.deepEqual(found, []);
});
