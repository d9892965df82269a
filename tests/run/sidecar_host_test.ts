/**
 * The sidecar commands on this host, where the kernel refuses BPF-LSM: `x00 agent` fails closed (it cannot identify
 * clients without it), `x00 exec` without an agent waits, says so in one line and never runs the command. The
 * working pair is tested in the VM (tests/vm/sidecar_test.ts).
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;
const IN_VM = Deno.env.get("X00_VM") === "1";

async function x00(args: string[], env: Record<string, string> = {}) {
  const r = await new Deno.Command("deno", {
    args: ["run", "-A", `${ROOT}mod.ts`, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: r.code,
    stdout: new TextDecoder().decode(r.stdout),
    stderr: new TextDecoder().decode(r.stderr).trim(),
  };
}

Deno.test({
  name: "x00 exec without an agent: one line after --wait, exit 3, the command never runs",
  ignore: IN_VM,
  async fn() {
    const dir = await Deno.makeTempDir();
    const marker = `${dir}/ran`;
    const t0 = Date.now();
    const r = await x00([
      "exec",
      "--socket",
      `${dir}/none.sock`,
      "--wait",
      "700ms",
      "--",
      "sh",
      "-c",
      `touch ${marker}`,
    ]);
    assert.equal(r.code, 3, r.stderr);
    assert.ok(Date.now() - t0 >= 700);
    assert.match(
      r.stderr,
      /^x00: x00 agent is not reachable at .*none\.sock after 700 ms \(.*\): not starting/,
    );
    assert.equal(r.stderr.split("\n").length, 1);
    assert.throws(() => Deno.statSync(marker));
  },
});

Deno.test({
  name: "x00 exec of a command that does not exist fails before connecting, with one line",
  ignore: IN_VM,
  async fn() {
    const r = await x00(["exec", "--socket", "/nonexistent.sock", "--", "no-such-cmd-x00"]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "x00: Cannot run 'no-such-cmd-x00': not found on PATH");
  },
});

Deno.test({
  name:
    "x00 agent needs clients, and fails closed where BPF-LSM is refused (nothing fetched, no socket)",
  ignore: IN_VM,
  async fn() {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/none.yaml`, "policy:\n  mode: enforce\n");
    const a = await x00(["agent", "--policy", `${dir}/none.yaml`, "--socket", `${dir}/a.sock`]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /x00 agent needs a 'clients' section/);
    await Deno.writeTextFile(
      `${dir}/p.yaml`,
      "policy:\n  mode: audit\nsecrets:\n  - name: s\n    source: { type: file, path: /nonexistent/x00 }\n" +
        "    delivery: { env: S }\nclients:\n  - { name: app, uids: [1000] }\n",
    );
    const b = await x00(["agent", "--policy", `${dir}/p.yaml`, "--socket", `${dir}/a.sock`]);
    assert.equal(b.code, 3, b.stderr);
    assert.match(b.stderr, /^x00: Cannot establish enforcement: .*BPF-LSM/);
    assert.equal(b.stderr.split("\n").length, 1);
    assert.throws(() => Deno.statSync(`${dir}/a.sock`), "no socket was created");
  },
});
