/**
 * The access monitor on this kernel, in host-audit mode (`auditAll`). This kernel refuses BPF-LSM programs
 * (EPERM at load, DESIGN.md §9), so the monitor runs the syscall-tracepoint fallback: every kernel path of
 * DESIGN.md §4 is tried once from another process, as root, and must produce exactly one event.
 * The LSM path (lsm_file_protect.bpf.o) is covered under qemu by tests/vm.
 */
import assert from "node:assert/strict";
import { decodeAccessEvent, procInfo } from "../../src/events/access_event.ts";
import type { AccessEvent, Resource } from "../../src/events/types.ts";
import { AccessMonitor } from "../../src/protect/access_monitor.ts";
import {
  AS_NOBODY,
  attackHelper,
  bpfDescriptors,
  type CommandResult,
  EventCollector,
  requireRoot,
  runCommand,
  spawnTarget,
  stopProcess,
} from "./_helpers.ts";

interface Fixture {
  monitor: AccessMonitor;
  events: EventCollector<AccessEvent>;
  target: Deno.ChildProcess;
  attack: string;
}

async function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  requireRoot();
  const attack = await attackHelper();
  const monitor = await AccessMonitor.start({
    enforce: false,
    auditAll: true,
    ignorePid: Deno.pid,
    allowFallback: true,
  });
  const events = new EventCollector<AccessEvent>();
  const target = spawnTarget();
  try {
    events.add(
      monitor.object.map("access_events"),
      (d) => decodeAccessEvent(d, { mode: "audit", enrich: procInfo }),
    ).start();
    await fn({ monitor, events, target, attack });
  } finally {
    await stopProcess(target);
    await events.stop();
    monitor.close();
  }
}

/** Waits for the event of one attempt and checks what every attempt must carry. */
async function expectAttempt(
  f: Fixture,
  run: CommandResult,
  want: { resource: Resource; comm: string; action?: AccessEvent["action"]; uid?: number },
): Promise<AccessEvent> {
  const e = await f.events.waitFor((e) => e.accessor.pid === run.pid, {
    what:
      `${want.resource} by ${want.comm}[${run.pid}] (exit ${run.code}: ${run.stdout}${run.stderr})`,
  });
  assert.equal(e.type, "access");
  assert.equal(e.resource, want.resource);
  assert.equal(e.action, want.action ?? "allowed");
  assert.equal(e.accessor.comm, want.comm);
  assert.equal(e.accessor.tid, run.pid);
  assert.equal(e.accessor.uid, want.uid ?? 0);
  assert.ok(e.accessor.exe?.endsWith(want.comm), `accessor exe ${e.accessor.exe}`);
  assert.notEqual(e.accessor.cgroup_id, "0");
  assert.equal(e.target?.pid, f.target.pid);
  assert.equal(e.target?.comm, "sleep");
  assert.equal(e.target?.uid, 0);
  assert.equal(e.hook, "syscall");
  assert.equal(e.mode, "monitor");
  assert.equal(e.protected, false);
  assert.equal(e.ptrace_mode, undefined, "the fallback sees no ptrace mode");
  return e;
}

/** Runs a last access and waits for it: every event of earlier attempts has been consumed by then. */
async function settle(f: Fixture): Promise<void> {
  const sentinel = await runCommand("cat", [`/proc/${f.target.pid}/environ`]);
  await f.events.waitFor((e) => e.accessor.pid === sentinel.pid, { what: "the sentinel read" });
}

/** Exactly one event per attempt. */
function assertOneEach(f: Fixture, runs: CommandResult[]): void {
  for (const r of runs) {
    const n = f.events.filter((e) => e.accessor.pid === r.pid).length;
    assert.equal(n, 1, `events of accessor ${r.pid}`);
  }
}

Deno.test("AccessMonitor falls back to syscall tracepoints on this kernel and says why", async () => {
  await withFixture(({ monitor }) => {
    assert.equal(monitor.mechanism, "tracepoint");
    assert.match(monitor.fallbackReason ?? "", /refused to load BPF-LSM programs/);
    assert.match(monitor.fallbackReason ?? "", /errno 1/);
    assert.equal(monitor.lostEvents(), 0n);
    return Promise.resolve();
  });
});

Deno.test("AccessMonitor reports environ reads: /proc/P, /proc/P/task/T, a symlink, a second procfs", async () => {
  await withFixture(async (f) => {
    const pid = f.target.pid;
    const runs: CommandResult[] = [];

    const direct = await runCommand("cat", [`/proc/${pid}/environ`]);
    assert.equal(direct.code, 0);
    await expectAttempt(f, direct, { resource: "environ", comm: "cat" });
    runs.push(direct);

    const task = await runCommand("cat", [`/proc/${pid}/task/${pid}/environ`]);
    assert.equal(task.code, 0);
    const e = await expectAttempt(f, task, { resource: "environ", comm: "cat" });
    assert.equal(e.target?.tid, pid);
    runs.push(task);

    const dir = await Deno.makeTempDir({ prefix: "x00-access-" });
    try {
      await Deno.symlink(`/proc/${pid}/environ`, `${dir}/innocent.txt`);
      const link = await runCommand("cat", [`${dir}/innocent.txt`]);
      assert.equal(link.code, 0);
      await expectAttempt(f, link, { resource: "environ", comm: "cat" });
      runs.push(link);

      await Deno.mkdir(`${dir}/proc2`);
      const mount = await runCommand("mount", ["-t", "proc", "proc", `${dir}/proc2`]);
      assert.equal(mount.code, 0, mount.stderr);
      try {
        const second = await runCommand("cat", [`${dir}/proc2/${pid}/environ`]);
        assert.equal(second.code, 0, second.stderr);
        await expectAttempt(f, second, { resource: "environ", comm: "cat" });
        runs.push(second);
      } finally {
        const umount = await runCommand("umount", [`${dir}/proc2`]);
        assert.equal(umount.code, 0, umount.stderr);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    await settle(f);
    assertOneEach(f, runs);
  });
});

Deno.test("AccessMonitor reports mem opens: /proc/P/mem and /proc/P/task/T/mem", async () => {
  await withFixture(async (f) => {
    const pid = f.target.pid;
    const runs: CommandResult[] = [];
    for (const path of [`/proc/${pid}/mem`, `/proc/${pid}/task/${pid}/mem`]) {
      // count=0: open the file and read nothing (offset 0 is never mapped).
      const dd = await runCommand("dd", [`if=${path}`, "of=/dev/null", "bs=1", "count=0"]);
      assert.equal(dd.code, 0, dd.stderr);
      await expectAttempt(f, dd, { resource: "mem", comm: "dd" });
      runs.push(dd);
    }
    await settle(f);
    assertOneEach(f, runs);
  });
});

Deno.test("AccessMonitor reports ptrace seize and process_vm_readv", async () => {
  await withFixture(async (f) => {
    const pid = String(f.target.pid);
    const runs: CommandResult[] = [];

    const seize = await runCommand(f.attack, ["seize", pid]);
    assert.equal(seize.stdout.trim(), "ok", seize.stdout);
    await expectAttempt(f, seize, { resource: "ptrace", comm: "attack" });
    runs.push(seize);

    const readv = await runCommand(f.attack, ["vm_readv", pid]);
    assert.equal(readv.stdout.trim(), "ok", readv.stdout);
    await expectAttempt(f, readv, { resource: "process_vm_readv", comm: "attack" });
    runs.push(readv);

    await settle(f);
    assertOneEach(f, runs);
  });
});

Deno.test("AccessMonitor reports pidfd_getfd with its accessor", async () => {
  await withFixture(async (f) => {
    const run = await runCommand(f.attack, ["pidfd_getfd", String(f.target.pid), "0"]);
    assert.equal(run.stdout.trim(), "ok", run.stdout);
    const e = await f.events.waitFor((e) => e.accessor.pid === run.pid, { what: "pidfd_getfd" });
    assert.equal(e.resource, "pidfd_getfd");
    assert.equal(e.action, "allowed");
    assert.equal(e.accessor.comm, "attack");
    assert.equal(e.hook, "syscall");
    await settle(f);
    assertOneEach(f, [run]);
  });
});

// Since pidfs (Linux 6.9) the struct pid of a pidfd lives in file_inode(file)->i_private, before in
// file->private_data: enter_pidfd_getfd reads whichever this kernel uses.
Deno.test({
  name: "AccessMonitor names the target of pidfd_getfd",
  fn: async () => {
    await withFixture(async (f) => {
      const run = await runCommand(f.attack, ["pidfd_getfd", String(f.target.pid), "0"]);
      assert.equal(run.stdout.trim(), "ok", run.stdout);
      await expectAttempt(f, run, { resource: "pidfd_getfd", comm: "attack" });
    });
  },
});

Deno.test("AccessMonitor reports refused attempts as failed with the errno the caller got", async () => {
  await withFixture(async (f) => {
    const pid = String(f.target.pid);
    const environ = await runCommand("setpriv", [...AS_NOBODY, "cat", `/proc/${pid}/environ`]);
    assert.notEqual(environ.code, 0);
    const e1 = await expectAttempt(f, environ, {
      resource: "environ",
      comm: "cat",
      action: "failed",
      uid: 65534,
    });
    assert.equal(e1.errno, "EACCES");

    const seize = await runCommand("setpriv", [...AS_NOBODY, f.attack, "seize", pid]);
    assert.equal(seize.stdout.trim(), "errno 1");
    const e2 = await expectAttempt(f, seize, {
      resource: "ptrace",
      comm: "attack",
      action: "failed",
      uid: 65534,
    });
    assert.equal(e2.errno, "EPERM");

    const mem = await runCommand("setpriv", [...AS_NOBODY, "cat", `/proc/${pid}/mem`]);
    const e3 = await expectAttempt(f, mem, {
      resource: "mem",
      comm: "cat",
      action: "failed",
      uid: 65534,
    });
    assert.equal(e3.errno, "EACCES");

    const readv = await runCommand("setpriv", [...AS_NOBODY, f.attack, "vm_readv", pid]);
    assert.equal(readv.stdout.trim(), "errno 1");
    const e4 = await expectAttempt(f, readv, {
      resource: "process_vm_readv",
      comm: "attack",
      action: "failed",
      uid: 65534,
    });
    assert.equal(e4.errno, "EPERM");
    await settle(f);
    assertOneEach(f, [environ, seize, mem, readv]);
  });
});

Deno.test("AccessMonitor does not report a process reading its own environ, nor X00 itself", async () => {
  await withFixture(async (f) => {
    const self = await runCommand("cat", ["/proc/self/environ"]);
    assert.equal(self.code, 0);
    const selfTask = await runCommand("sh", ["-c", "cat /proc/$$/task/$$/environ >/dev/null"]);
    assert.equal(selfTask.code, 0);
    // This test process is the ignored accessor (X00's own pid in `x00 audit`).
    await Deno.readFile(`/proc/${f.target.pid}/environ`);
    await settle(f);
    assert.deepEqual(f.events.filter((e) => e.accessor.pid === self.pid), []);
    assert.deepEqual(
      f.events.filter((e) => e.accessor.pid === Deno.pid || e.target?.pid === self.pid),
      [],
    );
    // `sh` reads the environ of its own pid through `cat`, another process: that one is an access.
    const shEvents = f.events.filter((e) => e.target?.pid === selfTask.pid);
    assert.equal(shEvents.length, 1);
    assert.equal(shEvents[0]!.accessor.comm, "cat");
  });
});

Deno.test("AccessMonitor.close() leaves no BPF descriptor behind", async () => {
  requireRoot();
  const before = bpfDescriptors();
  await withFixture(async (f) => {
    await settle(f);
    assert.notDeepEqual(bpfDescriptors(), before);
  });
  assert.deepEqual(bpfDescriptors(), before);
});

// Limits of the tracepoint fallback (docs/events.md): these tests assert what is true today, so that a change in
// behaviour (an improvement or a regression) shows up here and in the documentation together.

Deno.test("fallback limit: a refused open through a symlink, another procfs mount, a relative path or task/T is not seen", async () => {
  await withFixture(async (f) => {
    const pid = f.target.pid;
    const dir = await Deno.makeTempDir({ prefix: "x00-access-" });
    const runs: CommandResult[] = [];
    try {
      await Deno.chmod(dir, 0o755);
      await Deno.symlink(`/proc/${pid}/environ`, `${dir}/link`);
      runs.push(await runCommand("setpriv", [...AS_NOBODY, "cat", `${dir}/link`]));
      await Deno.mkdir(`${dir}/proc2`);
      const mount = await runCommand("mount", ["-t", "proc", "proc", `${dir}/proc2`]);
      assert.equal(mount.code, 0, mount.stderr);
      try {
        runs.push(
          await runCommand("setpriv", [...AS_NOBODY, "cat", `${dir}/proc2/${pid}/environ`]),
        );
      } finally {
        await runCommand("umount", [`${dir}/proc2`]);
      }
      runs.push(
        await runCommand("setpriv", [...AS_NOBODY, "cat", "environ"], { cwd: `/proc/${pid}` }),
      );
      // access_monitor.bpf.c's parse_proc_path() knows /proc/<n>/environ and /proc/<n>/mem only.
      for (const file of ["environ", "mem"]) {
        runs.push(
          await runCommand("setpriv", [...AS_NOBODY, "cat", `/proc/${pid}/task/${pid}/${file}`]),
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    for (const r of runs) assert.match(r.stderr, /Permission denied/);
    await settle(f);
    for (const r of runs) assert.deepEqual(f.events.filter((e) => e.accessor.pid === r.pid), []);
  });
});

Deno.test("fallback limit: a ptrace target is the pid number in the caller's pid namespace", async () => {
  await withFixture(async (f) => {
    // Inside a new pid namespace, `sleep` is pid 2 there; the syscall argument is that number.
    const run = await runCommand("unshare", [
      "--pid",
      "--fork",
      "--mount-proc",
      "sh",
      "-c",
      `sleep 5 & sleep 0.2; ${f.attack} seize $!; echo "inner $!"; kill $!`,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const inner = Number(/inner (\d+)/.exec(run.stdout)?.[1]);
    assert.ok(inner > 0 && inner < 10, run.stdout);
    const e = await f.events.waitFor(
      (e) => e.resource === "ptrace" && e.accessor.comm === "attack",
      { what: "ptrace from a pid namespace" },
    );
    assert.equal(e.target?.pid, inner, "not the target's pid on the host");
    assert.equal(e.target?.cgroup_id, "0", "the fallback has no target task for syscalls");
  });
});

Deno.test("the BTF-free LSM probe gets EPERM exactly where the full lsm_file_protect load does", async () => {
  requireRoot();
  const { BPF_LSM_MAC, BPF_PROG_TYPE_LSM, BpfError, probeProgramLoad } = await import(
    "../../src/protect/libbpf.ts"
  );
  const { LoadedObject } = await import("../../src/protect/loaded_object.ts");
  const EPERM = 1, EINVAL = 22;
  const probe = probeProgramLoad(BPF_PROG_TYPE_LSM, BPF_LSM_MAC);
  let full = 0;
  try {
    (await LoadedObject.load("lsm_file_protect")).close();
  } catch (e) {
    assert.ok(e instanceof BpfError, String(e));
    full = e.errno;
  }
  if (full === EPERM) assert.equal(probe, EPERM);
  else assert.equal(probe, EINVAL, "a kernel that takes LSM programs wants a hook (attach_btf_id)");
});
