import assert from "node:assert/strict";
import { describeAccess, JsonLinesSink, type SyncWriter, TableSink } from "./sink.ts";
import type { AccessEvent, AuditEvent, ExecEvent } from "./types.ts";

/** Collects what a sink writes; `chunk` limits how many bytes one writeSync takes (partial writes). */
class Capture implements SyncWriter {
  readonly #chunks: Uint8Array[] = [];
  writes = 0;
  constructor(readonly chunk = Infinity) {}
  writeSync(p: Uint8Array): number {
    const n = Math.min(p.length, this.chunk);
    this.#chunks.push(p.slice(0, n));
    this.writes++;
    return n;
  }
  get text(): string {
    const all = new Uint8Array(this.#chunks.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of this.#chunks) {
      all.set(c, off);
      off += c.length;
    }
    return new TextDecoder().decode(all);
  }
}

const TIME = "2026-11-28T22:01:47.123456789Z";

function exec(pid: number, filename = "/usr/bin/echo", args = ["echo", "hi"]): ExecEvent {
  return {
    type: "exec",
    time: TIME,
    process: {
      pid,
      tid: pid,
      ppid: 1,
      uid: 0,
      gid: 0,
      comm: "echo",
      cgroup_id: "1",
      exe: filename,
    },
    filename,
    args,
    args_truncated: false,
  };
}

function access(overrides: Partial<AccessEvent> = {}): AccessEvent {
  return {
    type: "access",
    time: TIME,
    action: "allowed",
    mode: "monitor",
    resource: "environ",
    accessor: { pid: 20, uid: 0, comm: "cat", cgroup_id: "1", exe: "/usr/bin/cat" },
    target: { pid: 30, uid: 1000, comm: "app", cgroup_id: "2" },
    hook: "syscall",
    protected: false,
    ...overrides,
  };
}

const OTHERS: AuditEvent[] = [
  {
    type: "fork",
    time: TIME,
    process: { pid: 5, uid: 0, comm: "bash", cgroup_id: "1" },
    child_pid: 6,
  },
  {
    type: "exit",
    time: TIME,
    process: { pid: 6, uid: 0, comm: "true", cgroup_id: "1" },
    exit_code: 1,
    signal: 0,
  },
  { type: "lost_events", time: TIME, source: "exec", count: 12 },
  {
    type: "protection",
    time: TIME,
    state: "unavailable",
    mode: "audit",
    mechanism: "tracepoint",
    pid: 7,
    reason: "no BPF-LSM",
  },
  {
    type: "secret_delivered",
    time: TIME,
    secret: "db",
    delivery: "env",
    var: "DB_PASSWORD",
    pid: 8,
  },
];

Deno.test("JsonLinesSink writes one JSON object per line, only on flush", () => {
  const out = new Capture();
  const sink = new JsonLinesSink(out);
  const events: AuditEvent[] = [exec(1, "/bin/sh", ["sh", "-c", "echo a\nb"]), access(), ...OTHERS];
  for (const e of events) sink.write(e);
  assert.equal(out.writes, 0, "buffered until flush");
  sink.flush();
  assert.equal(out.writes, 1, "a burst costs one write");
  const lines = out.text.split("\n");
  assert.equal(lines.pop(), "", "ends with a newline");
  assert.equal(lines.length, events.length);
  lines.forEach((line, i) => assert.deepEqual(JSON.parse(line), events[i]));
  sink.flush();
  assert.equal(out.writes, 1, "an empty flush writes nothing");
});

Deno.test("JsonLinesSink flushes by itself every 256 events", () => {
  const out = new Capture();
  const sink = new JsonLinesSink(out);
  for (let i = 0; i < 300; i++) sink.write(exec(i));
  assert.equal(out.text.split("\n").length - 1, 256);
  sink.flush();
  const pids = out.text.trimEnd().split("\n").map((l) => JSON.parse(l).process.pid);
  assert.deepEqual(pids, Array.from({ length: 300 }, (_, i) => i));
});

Deno.test("JsonLinesSink writes everything through a writer that takes few bytes at a time", () => {
  const out = new Capture(7);
  const sink = new JsonLinesSink(out);
  sink.write(exec(1));
  sink.writeText('{"type":"summary"}');
  assert.equal(out.text, JSON.stringify(exec(1)) + '\n{"type":"summary"}\n');
});

Deno.test("writeText() flushes pending events first and ends the text with one newline", () => {
  const out = new Capture();
  const sink = new JsonLinesSink(out);
  sink.write(exec(1));
  sink.writeText("done\n");
  sink.writeText("again");
  assert.deepEqual(out.text.split("\n"), [JSON.stringify(exec(1)), "done", "again", ""]);
});

Deno.test("TableSink writes a header once and aligned columns", () => {
  const out = new Capture();
  const sink = new TableSink(out);
  sink.write(exec(4242, "/usr/bin/echo", ["echo", "a b", "c"]));
  sink.write(access());
  for (const e of OTHERS) sink.write(e);
  sink.flush();
  const lines = out.text.trimEnd().split("\n");
  assert.equal(lines.length, 3 + OTHERS.length, "header, exec, access and the others");
  assert.match(lines[0]!, /^TIME {12}TYPE {9}PID COMM {13}DETAILS$/);
  assert.equal(lines.filter((l) => l.startsWith("TIME")).length, 1);
  const [header, execLine, accessLine, forkLine, exitLine, lostLine, protLine, secretLine] = lines;
  const detailsAt = header!.indexOf("DETAILS");
  for (const line of lines.slice(1)) {
    assert.equal(line.slice(0, 15), "22:01:47.123456", line);
    assert.equal(line[detailsAt - 1], " ", line);
  }
  assert.equal(execLine!.slice(16, 24), "exec    ");
  assert.equal(execLine!.slice(25, 32), "   4242", "pid right-aligned in 7 columns");
  assert.equal(execLine!.slice(33, 49), "echo            ");
  assert.equal(execLine!.slice(detailsAt), 'ppid=1 uid=0 /usr/bin/echo "a b","c"');
  assert.equal(
    accessLine!.slice(detailsAt),
    "cat[20] uid=0 -> app[30] environ: allowed [syscall]",
  );
  assert.match(forkLine!, /fork +5 bash +child=6$/);
  assert.match(exitLine!, /exit +6 true +exit_code=1 signal=0$/);
  assert.match(lostLine!, /lost_events +- - +12 exec events lost \(ring buffer full\)$/);
  assert.match(protLine!, /protection unavailable \(audit, tracepoint\): no BPF-LSM$/);
  assert.match(secretLine!, /secret db delivered as env DB_PASSWORD$/);
});

Deno.test("TableSink marks truncated argv", () => {
  const out = new Capture();
  const sink = new TableSink(out);
  sink.write({ ...exec(1), args_truncated: true });
  sink.flush();
  assert.match(out.text, /"hi" \.\.\.\n$/);
});

Deno.test("describeAccess() names accessor, target, resource, action and errno", () => {
  assert.equal(describeAccess(access()), "cat[20] uid=0 -> app[30] environ: allowed");
  assert.equal(
    describeAccess(access({ action: "failed", errno: "EACCES", resource: "mem" })),
    "cat[20] uid=0 -> app[30] mem: failed (EACCES)",
  );
  assert.equal(
    describeAccess(access({ resource: "secret_file", target: undefined, action: "denied" })),
    "cat[20] uid=0 -> a protected secret file: denied",
  );
  assert.equal(
    describeAccess(access({ resource: "pidfd_getfd", target: undefined })),
    "cat[20] uid=0 -> - pidfd_getfd: allowed",
  );
});
