/**
 * `x00 audit` and `x00 doctor` inside the VM, whose kernel runs BPF-LSM programs: doctor says enforce is possible
 * (exit 0), and audit sees execs through tp_btf and access attempts through the LSM hooks (not the tracepoint
 * fallback), end to end through the CLI.
 */
import assert from "node:assert/strict";
import { IN_VM, x00Argv } from "./_x00.ts";

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const o = await new Deno.Command("deno", { args, stdout: "piped", stderr: "piped" }).output();
  const d = new TextDecoder();
  return { code: o.code, stdout: d.decode(o.stdout), stderr: d.decode(o.stderr) };
}

Deno.test({
  name: "x00 doctor in the VM: every check passes and enforce is possible (exit 0)",
  ignore: !IN_VM,
  async fn() {
    const r = await run(x00Argv("doctor", "--json"));
    const report = JSON.parse(r.stdout);
    const failed = report.checks.filter((c: { ok: boolean; requiredFor: string }) => !c.ok);
    assert.equal(report.capability, "enforce", JSON.stringify(failed));
    assert.equal(r.code, 0);
    assert.equal(report.checks.find((c: { id: string }) => c.id === "bpf_lsm").ok, true);
  },
});

Deno.test({
  name: "x00 audit in the VM reports execs and cross-process access attempts through the LSM hooks",
  ignore: !IN_VM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const marker = `x00-vm-marker-${crypto.randomUUID()}`;
    const audit = new Deno.Command("deno", {
      args: x00Argv("audit", "--duration", "12s", "--format", "json"),
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stdout = new Response(audit.stdout).text();
    const stderr = audit.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let err = "";
    while (!err.includes("attached")) {
      const { value, done } = await stderr.read();
      if (done) break;
      err += value;
    }
    assert.match(err, /access monitor \(BPF-LSM\)/, err);
    // An exec with a marker argument, and an unrelated process reading another one's environ and mem.
    await new Deno.Command("/bin/echo", { args: [marker], stdout: "null" }).output();
    const target = new Deno.Command("sleep", { args: ["30"] }).spawn();
    await new Promise((r) => setTimeout(r, 300));
    await new Deno.Command("attack", {
      args: ["open", `/proc/${target.pid}/environ`],
      stdout: "null",
    }).output();
    await new Deno.Command("attack", {
      args: ["open", `/proc/${target.pid}/mem`, "4096", "8"],
      stdout: "null",
    })
      .output();
    await new Deno.Command("attack", {
      args: ["pvm", String(target.pid), "4096", "8"],
      stdout: "null",
    }).output();
    // Self-access is not an event.
    await new Deno.Command("attack", { args: ["open", "/proc/self/environ"], stdout: "null" })
      .output();
    const status = await audit.status;
    target.kill("SIGKILL");
    await target.status;
    await stderr.cancel();
    assert.equal(status.code, 0, err);
    const events = (await stdout).split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const exec = events.find((e) => e.type === "exec" && e.args?.includes(marker));
    assert.ok(exec, "exec event of the marker process");
    assert.equal(exec.filename, "/bin/echo");
    assert.equal(exec.process.uid, 0);
    const accesses = events.filter((e) => e.type === "access" && e.target?.pid === target.pid);
    for (const resource of ["environ", "mem", "process_vm_readv"]) {
      const e = accesses.find((a) => a.resource === resource);
      assert.ok(e, `${resource} access event: ${JSON.stringify(accesses)}`);
      assert.equal(e.hook, "lsm:ptrace_access_check");
      assert.equal(e.action, "allowed");
      assert.equal(e.mode, "monitor");
      assert.equal(e.accessor.comm, "attack");
    }
    assert.ok(
      !events.some((e) =>
        e.type === "access" && e.accessor.comm === "attack" && e.target?.pid === e.accessor.pid
      ),
      "reading /proc/self is not an event",
    );
    const summary = events.at(-1);
    assert.equal(summary.type, "summary");
    assert.equal(summary.lost_events.exec, 0);
  },
});
