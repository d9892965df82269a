/**
 * The layering the style guide asks for, checked on the source: `ffi/` is a leaf (it imports only its own
 * modules, so the bindings can be reused and reviewed alone), and only `src/protect/libbpf.ts` chooses where libbpf
 * comes from.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

function imports(text: string): string[] {
  return [...text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"/gms)].map((m) => m[1]!);
}

Deno.test("ffi/ imports nothing but ffi/ and reads no X00_ variable", async () => {
  for await (const e of Deno.readDir(new URL("ffi/", ROOT))) {
    if (!e.name.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(new URL(`ffi/${e.name}`, ROOT));
    for (const spec of imports(text)) {
      assert.match(spec, /^\.\/[a-z0-9_]+\.ts$/, `ffi/${e.name} imports ${spec}`);
    }
    assert.ok(!/Deno\.env|X00_/.test(text.replace(/\/\*\*[\s\S]*?\*\/|\/\/.*$/gm, "")), e.name);
  }
});

Deno.test("src/ reaches libbpf only through src/protect/libbpf.ts", async () => {
  const walk = async (dir: URL): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
      if (e.isDirectory) await walk(url);
      else if (e.name.endsWith(".ts") && !url.pathname.endsWith("src/protect/libbpf.ts")) {
        const text = await Deno.readTextFile(url);
        for (const spec of imports(text)) {
          assert.ok(!spec.endsWith("ffi/libbpf.ts"), `${url.pathname} imports ${spec}`);
        }
      }
    }
  };
  await walk(new URL("src/", ROOT));
});

Deno.test("src/ and ffi/ have no import cycle (type imports included)", async () => {
  const graph = new Map<string, string[]>();
  const walk = async (dir: URL): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
      if (e.isDirectory) await walk(url);
      else if (e.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(url);
        graph.set(
          url.href,
          imports(text).filter((s) => s.startsWith(".")).map((s) => new URL(s, url).href),
        );
      }
    }
  };
  await walk(new URL("src/", ROOT));
  await walk(new URL("ffi/", ROOT));
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): void => {
    if (state.get(node) === "done") return;
    if (state.get(node) === "open") {
      const cycle = stack.slice(stack.indexOf(node)).concat(node);
      assert.fail(`import cycle: ${cycle.map((u) => u.slice(ROOT.href.length)).join(" -> ")}`);
    }
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) visit(node);
});
