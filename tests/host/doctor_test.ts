/**
 * `x00 doctor` on this host: BTF, tp_btf programs and syscall tracepoints work; BPF-LSM is listed but the kernel
 * refuses LSM programs (EPERM), so the verdict is "audit only" and the exit code 3.
 */
import assert from "node:assert/strict";
import type { DoctorReport } from "../../src/protect/probe.ts";
import { bpfDescriptors, requireRoot, ROOT, runCommand } from "./_helpers.ts";

async function doctor(args: string[] = []) {
  return await runCommand(Deno.execPath(), ["run", "-A", `${ROOT}mod.ts`, "doctor", ...args], {
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  });
}

Deno.test("x00 doctor --json reports audit only on this host and exits 3", async () => {
  requireRoot();
  const r = await doctor(["--json"]);
  assert.equal(r.code, 3, r.stderr);
  const report: DoctorReport = JSON.parse(r.stdout);
  assert.equal(report.capability, "audit");
  assert.equal(report.kernel, Deno.readTextFileSync("/proc/sys/kernel/osrelease").trim());
  const check = (id: string) => {
    const c = report.checks.find((c) => c.id === id);
    assert.ok(c, `check ${id} in ${report.checks.map((c) => c.id).join(", ")}`);
    return c;
  };
  const lsm = check("bpf_lsm");
  assert.equal(lsm.ok, false);
  assert.equal(lsm.requiredFor, "enforce");
  assert.match(lsm.detail, /refused to load BPF-LSM programs/);
  assert.match(lsm.detail, /Operation not permitted \(errno 1\)/);
  assert.ok(lsm.impact && lsm.fix, "a failed check says what it breaks and how to fix it");
  // Each program of the real object, loaded on its own: the LSM ones are refused, the others load here.
  const programs = new Map(lsm.programs?.map((p) => [p.name, p]));
  for (
    const name of [
      "label_environ",
      "unlabel_environ",
      "label_mem",
      "unlabel_mem",
      "label_proc_link",
      "label_map_files_link",
      "unlabel_map_files_link",
      "unlabel_proc_link",
      "ptrace_access_check",
      "ptrace_traceme",
      "bpf_cmd",
      "socket_listen",
      "unix_connect",
    ]
  ) {
    assert.equal(programs.get(name)?.ok, false, `${name} is refused here`);
    assert.match(programs.get(name)?.reason ?? "", /Operation not permitted/);
  }
  for (const name of ["inherit_protection", "forget_protection", "register_self"]) {
    assert.equal(programs.get(name)?.ok, true, `${name} loads here`);
  }
  assert.match(
    lsm.detail,
    /refused: label_environ, unlabel_environ, label_mem, unlabel_mem, label_proc_link, label_map_files_link, unlabel_map_files_link, unlabel_proc_link, ptrace_access_check, ptrace_traceme, bpf_cmd, socket_listen, unix_connect$/,
  );

  assert.equal(check("tp_btf_ringbuf").ok, true);
  assert.equal(check("access_tracepoints").ok, true);
  assert.equal(check("btf").ok, true);
  assert.equal(check("cap_bpf").ok, true);
  assert.equal(check("libbpf").ok, true);
  for (const c of report.checks) {
    if (!c.ok) assert.notEqual(c.requiredFor, "audit", `${c.id} would make audit impossible`);
  }
});

Deno.test("x00 doctor prints one line per check and the audit-only verdict", async () => {
  requireRoot();
  const r = await doctor();
  assert.equal(r.code, 3, r.stderr);
  const out = r.stdout.trimEnd().split("\n");
  assert.match(out[0]!, /^x00 doctor: kernel /);
  assert.match(r.stdout, /^FAIL BPF-LSM program loads and attaches: the kernel refused/m);
  assert.match(r.stdout, /^ {5}FAIL program ptrace_access_check \(lsm\/ptrace_access_check\): /m);
  assert.match(r.stdout, /^ok {3}tp_btf programs and ring buffers \(exec monitor\): /m);
  assert.match(out.at(-1)!, /^verdict: audit only/);
  assert.equal(r.stderr, "");
});

Deno.test("runProbes() leaves no BPF descriptor behind", async () => {
  requireRoot();
  const { runProbes } = await import("../../src/protect/probe.ts");
  const before = bpfDescriptors();
  await runProbes();
  assert.deepEqual(bpfDescriptors(), before);
});
