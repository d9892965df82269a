/**
 * X00 talks to nobody on its own: `deno run` checks for a newer Deno in the background of every process (DNS, then
 * HTTPS to dl.deno.land) until it has reached it once that day, and X00's re-executed process turns that off
 * (src/hardening/deno_settings.ts). Seen with strace: every `connect(2)` of the process tree.
 */
import assert from "node:assert/strict";
import { ROOT } from "./_helpers.ts";

/** The `connect(2)` calls to an IPv4/IPv6 address made by `deno ARGS...` and its threads and children. */
async function inetConnects(args: string[]): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "x00-connect-" });
  try {
    const env = Deno.env.toObject();
    delete env.DENO_NO_UPDATE_CHECK; // as a user's shell would start it
    const out = `${dir}/trace`;
    const r = await new Deno.Command("strace", {
      args: ["-f", "-qq", "-e", "trace=connect", "-e", "signal=none", "-o", out, "deno", ...args],
      env,
      clearEnv: true,
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).output();
    const trace = await Deno.readTextFile(out).catch(() => "");
    assert.ok(trace !== "" || r.success, new TextDecoder().decode(r.stderr));
    return trace.split("\n").filter((l) => /sa_family=AF_INET6?\b/.test(l));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("x00 makes no network connection of its own: no Deno update check (a plain deno run makes one here)", async () => {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(script, "await new Promise((r) => setTimeout(r, 2000));\n");
    const plain = await inetConnects(["run", "--no-config", script]);
    // x00 exec waits 2 s for an agent that is not there: a re-executed X00 process that lives as long, with no
    // BPF and no secret.
    const exec = ["exec", "--socket", `${script}.absent.sock`, "--wait", "2s", "--", "true"];
    // Both documented ways of starting X00 from source: `deno run ... mod.ts` and `deno task x00`.
    for (const start of [["run", "-A", "--no-check", "--cached-only", "mod.ts"], ["task", "x00"]]) {
      const x00 = await inetConnects([...start, ...exec]);
      assert.deepEqual(x00, [], `x00 (deno ${start.join(" ")}) connected to the network`);
    }
    if (plain.length === 0) {
      // Deno reached dl.deno.land today (DENO_DIR/latest.txt is fresh): the check is not due, so the comparison
      // shows nothing on this machine. Where Deno cannot reach it (CI), it is due at every start.
      console.warn(
        "deno_settings_test: Deno's update check is not due on this machine; nothing to compare",
      );
    } else {
      assert.match(plain[0]!, /sa_family=AF_INET/);
    }
  } finally {
    await Deno.remove(script);
  }
});
