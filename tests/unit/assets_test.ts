/**
 * The asset module serves the BPF objects and (for the single binary) the native libraries through the same code
 * from source and from `deno compile --include`. These tests run the source path, including loading libbpf from
 * an embedded copy through a memfd.
 */
import assert from "node:assert/strict";
import { NATIVE_LIBRARIES, readBpfObject } from "../../src/assets/mod.ts";
import { runtimeFlags } from "../runtime_flags.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("readBpfObject() returns the ELF image of every shipped object", async () => {
  for (const name of ["exec_monitor", "lsm_file_protect", "access_monitor"] as const) {
    const image = await readBpfObject(name);
    assert.deepEqual([...image.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], name);
  }
});

Deno.test("scripts/compile.sh embeds exactly the directories and libraries the asset module reads", async () => {
  const script = await Deno.readTextFile(`${ROOT}scripts/compile.sh`);
  assert.match(script, /--include bpf\/objects/);
  assert.match(script, /--include build\/native/);
  const assets = await Deno.readTextFile(`${ROOT}src/assets/mod.ts`);
  assert.match(assets, /\.\.\/\.\.\/bpf\/objects\//);
  assert.match(assets, /\.\.\/\.\.\/build\/native\//);
  // The libraries come from scripts/native_libs.sh, which compile.sh runs: run it, and every library the asset
  // module loads must be there.
  assert.match(script, /^bash scripts\/native_libs\.sh$/m);
  const copy = await new Deno.Command("bash", { args: [`${ROOT}scripts/native_libs.sh`] }).output();
  assert.equal(copy.code, 0, new TextDecoder().decode(copy.stderr));
  const copied = [...Deno.readDirSync(`${ROOT}build/native`)].map((e) => e.name).sort();
  assert.deepEqual(copied, [...NATIVE_LIBRARIES].sort());
});

Deno.test("every way X00 is started as a product runs with the runtime flags of scripts/runtime_flags.sh", async () => {
  const flags = runtimeFlags();
  assert.deepEqual(flags, ["--v8-flags=--no-lazy"]);
  const task = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks.x00 as string;
  assert.equal(task, `deno run --allow-all ${flags.join(" ")} mod.ts`);
  for (const script of ["scripts/compile.sh", "scripts/build_image.sh"]) {
    const text = await Deno.readTextFile(`${ROOT}${script}`);
    assert.match(text, /^source scripts\/runtime_flags\.sh$/m, script);
    assert.ok(text.includes('"${X00_DENO_FLAGS[@]}"'), script);
  }
});

Deno.test("scripts/compile.sh includes every module imported by a computed specifier", async () => {
  const script = await Deno.readTextFile(`${ROOT}scripts/compile.sh`);
  const { LAZY_MODULES } = await import("../../mod.ts");
  for (const m of LAZY_MODULES) assert.ok(script.includes(`--include ${m.slice(2)}`), m);
  const { VAULT_MODULE } = await import("../../src/cli/run.ts");
  assert.equal(VAULT_MODULE, "../secrets/vault/mod.ts");
  assert.ok(script.includes("--include src/secrets/vault/mod.ts"));
  // ... and mod.ts imports nothing else of X00's by import() except the inspector check, which stays static.
  const mod = await Deno.readTextFile(`${ROOT}mod.ts`);
  const literal = [...mod.matchAll(/await import\("([^"]+)"\)/g)].map((m) => m[1]);
  assert.deepEqual(literal, ["./src/hardening/inspector_signal.ts"]);
});

Deno.test("libbpf loads from the embedded copy (memfd) when the build carries one, else from the system", async () => {
  const prep = await new Deno.Command("bash", {
    args: [`${ROOT}scripts/compile.sh`, "--prepare-only"],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(prep.success, new TextDecoder().decode(prep.stderr));
  const probe = (env: Record<string, string>) =>
    new Deno.Command("deno", {
      args: [
        "eval",
        `import { libbpfVersion, libbpfPath } from "${ROOT}src/protect/libbpf.ts";
        console.log(libbpfVersion(), libbpfPath());`,
      ],
      env,
      stdout: "piped",
    }).output().then((o) => new TextDecoder().decode(o.stdout).trim());
  assert.match(await probe({}), /^1\.\d+ embedded \(\/proc\/self\/fd\/\d+\)$/);
  assert.match(await probe({ X00_LIBBPF_SYSTEM: "1" }), /^1\.\d+ libbpf\.so\.1$/);
  const missing = await new Deno.Command("deno", {
    args: ["run", "-A", `${ROOT}mod.ts`, "audit", "--duration", "1s"],
    env: { X00_LIBBPF_PATH: "/nonexistent/libbpf.so.1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.notEqual(missing.code, 0);
  assert.match(
    new TextDecoder().decode(missing.stderr),
    /Cannot load libbpf from '\/nonexistent\/libbpf.so.1'/,
  );
});

Deno.test("every BPF object declares a GPL-compatible license (GPL-only helpers are refused otherwise)", async () => {
  const { readDataSymbols } = await import("../../src/protect/elf_symbols.ts");
  for (const name of ["exec_monitor", "lsm_file_protect", "access_monitor"] as const) {
    const image = await readBpfObject(name);
    const license = readDataSymbols(image).get("LICENSE");
    assert.equal(license?.section, "license", `${name} has no license section`);
    const text = new TextDecoder().decode(image.subarray(0, image.length));
    assert.ok(text.includes("Dual BSD/GPL"), name);
  }
});
