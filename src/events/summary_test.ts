import assert from "node:assert/strict";
import { Summary } from "./summary.ts";
import type { AccessEvent, ExecEvent } from "./types.ts";

const TIME = "2026-11-28T22:01:47.123456789Z";

function exec(filename: string): ExecEvent {
  return {
    type: "exec",
    time: TIME,
    process: { pid: 1, uid: 0, comm: "x", cgroup_id: "1" },
    filename,
    args: [],
    args_truncated: false,
  };
}

function access(
  accessor: [string, number, string?],
  target: [string, number] | undefined,
  resource: AccessEvent["resource"],
  action: AccessEvent["action"] = "allowed",
): AccessEvent {
  return {
    type: "access",
    time: TIME,
    action,
    mode: "monitor",
    resource,
    accessor: { pid: accessor[1], uid: 0, comm: accessor[0], exe: accessor[2], cgroup_id: "1" },
    target: target && { pid: target[1], uid: 0, comm: target[0], cgroup_id: "1" },
    hook: "syscall",
    protected: false,
  };
}

Deno.test("Summary counts events by type and ranks executed binaries", () => {
  const s = new Summary();
  for (const f of ["/bin/a", "/bin/b", "/bin/b", "/bin/c", "/bin/b", "/bin/c"]) s.add(exec(f));
  s.add({
    type: "fork",
    time: TIME,
    process: { pid: 1, uid: 0, comm: "x", cgroup_id: "1" },
    child_pid: 2,
  });
  const d = s.data();
  assert.equal(d.type, "summary");
  assert.deepEqual(d.events, { exec: 6, fork: 1 });
  assert.deepEqual(d.top_binaries, [
    { filename: "/bin/b", count: 3 },
    { filename: "/bin/c", count: 2 },
    { filename: "/bin/a", count: 1 },
  ]);
  assert.deepEqual(s.data(2).top_binaries.map((b) => b.filename), ["/bin/b", "/bin/c"]);
  assert.equal(typeof d.duration_seconds, "number");
  assert.deepEqual(d.accesses, []);
});

Deno.test("Summary groups access attempts by accessor and target", () => {
  const s = new Summary();
  s.add(access(["cat", 10, "/usr/bin/cat"], ["app", 99], "environ"));
  s.add(access(["cat", 10, "/usr/bin/cat"], ["app", 99], "mem", "failed"));
  s.add(access(["cat", 10, "/usr/bin/cat"], ["app", 99], "environ"));
  s.add(access(["gdb", 11], ["app", 99], "ptrace"));
  s.add(access(["cat", 10, "/usr/bin/cat"], ["db", 98], "environ"));
  s.add(access(["cat", 12], undefined, "secret_file", "denied"));
  const { accesses } = s.data();
  assert.equal(accesses.length, 4);
  assert.deepEqual(accesses[0], {
    accessor: "cat[10] uid=0 /usr/bin/cat",
    target: "app[99]",
    resources: { environ: 2, mem: 1 },
    actions: { allowed: 2, failed: 1 },
    count: 3,
  });
  const byKey = new Map(accesses.map((g) => [`${g.accessor} -> ${g.target}`, g]));
  assert.equal(byKey.get("gdb[11] uid=0 -> app[99]")?.count, 1);
  assert.equal(byKey.get("cat[10] uid=0 /usr/bin/cat -> db[98]")?.count, 1);
  assert.deepEqual(byKey.get("cat[12] uid=0 -> protected secret file")?.actions, { denied: 1 });
  assert.deepEqual(s.data().events, { access: 6 });
});

Deno.test("Summary reports lost events per source, 0 when none were lost", () => {
  const s = new Summary();
  assert.deepEqual(s.data().lost_events, { exec: 0, access: 0 });
  s.add({ type: "lost_events", time: TIME, source: "exec", count: 5 });
  s.add({ type: "lost_events", time: TIME, source: "exec", count: 9 });
  assert.deepEqual(s.data().lost_events, { exec: 9, access: 0 }, "counts are totals: last wins");
  assert.equal(s.data().events.lost_events, 2);
});

Deno.test("Summary.data() is the JSON summary line", () => {
  const s = new Summary();
  s.add(exec("/bin/true"));
  const line = JSON.stringify(s.data());
  assert.ok(!line.includes("\n"));
  assert.deepEqual(Object.keys(JSON.parse(line)), [
    "type",
    "duration_seconds",
    "events",
    "top_binaries",
    "accesses",
    "lost_events",
  ]);
});

Deno.test("Summary.text() lists events, lost events, binaries and access groups", () => {
  const s = new Summary();
  s.add(exec("/bin/b"));
  s.add(exec("/bin/b"));
  s.add(access(["cat", 10], ["app", 99], "environ"));
  s.add(access(["cat", 10], ["app", 99], "mem", "failed"));
  s.add({ type: "lost_events", time: TIME, source: "access", count: 3 });
  const lines = s.text().split("\n");
  assert.match(lines[0]!, /^--- x00 audit summary \([\d.]+s\) ---$/);
  assert.deepEqual(lines.slice(1), [
    "events: exec=2 access=2 lost_events=1",
    "lost events: exec=0 access=3",
    "top executed binaries:",
    "       2  /bin/b",
    "access attempts (accessor -> target):",
    "       2  cat[10] uid=0 -> app[99]  environx1,memx1  allowedx1,failedx1",
  ]);
});

Deno.test("Summary.text() of an empty run says none", () => {
  const lines = new Summary().text().split("\n");
  assert.deepEqual(lines.slice(1), [
    "events: none",
    "lost events: exec=0 access=0",
    "access attempts: none",
  ]);
});
