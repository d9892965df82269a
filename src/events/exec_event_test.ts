import assert from "node:assert/strict";
import {
  cString,
  decodeExecEvent,
  EventSizeError,
  EXEC_EVENT_SIZE,
  EXEC_HEADER_SIZE,
  splitArgs,
  utf8,
} from "./exec_event.ts";
import type { ExecEvent, ExitEvent, ForkEvent } from "./types.ts";

/** Fields of `struct x00_exec_event` (bpf/exec_monitor.h). */
interface ExecRecord {
  ts_ns?: bigint;
  cgroup_id?: bigint;
  kind: number;
  pid?: number;
  tid?: number;
  ppid?: number;
  uid?: number;
  gid?: number;
  args_len?: number;
  filename_len?: number;
  args_truncated?: number;
  exit_code?: number;
  child_pid?: number;
  comm?: string | Uint8Array;
  filename?: string;
  args?: Uint8Array;
}

const encoder = new TextEncoder();

/** Lays a record out exactly as the C struct: u64 ts_ns @0, u64 cgroup_id @8, ten u32 @16..52, comm[16] @56,
 * filename_len @72, then (exec) the filename and argv bytes; 80 bytes for fork and exit. */
function execRecord(r: ExecRecord): Uint8Array {
  const exec = r.kind !== 2 && r.kind !== 3;
  const name = exec ? encoder.encode(r.filename ?? "").subarray(0, 255) : new Uint8Array(0);
  const args = exec ? (r.args ?? new Uint8Array(0)).subarray(0, 512) : new Uint8Array(0);
  const buf = new Uint8Array(EXEC_HEADER_SIZE + name.length + args.length);
  const v = new DataView(buf.buffer);
  v.setBigUint64(0, r.ts_ns ?? 1_000_000_000n, true);
  v.setBigUint64(8, r.cgroup_id ?? 1n, true);
  v.setUint32(16, r.kind, true);
  v.setUint32(20, r.pid ?? 100, true);
  v.setUint32(24, r.tid ?? r.pid ?? 100, true);
  v.setUint32(28, r.ppid ?? 1, true);
  v.setUint32(32, r.uid ?? 0, true);
  v.setUint32(36, r.gid ?? 0, true);
  v.setUint32(40, r.args_len ?? args.length, true);
  v.setUint32(44, r.args_truncated ?? 0, true);
  v.setInt32(48, r.exit_code ?? 0, true);
  v.setUint32(52, r.child_pid ?? 0, true);
  const comm = typeof r.comm === "string" ? encoder.encode(r.comm) : r.comm ?? encoder.encode("x");
  buf.set(comm.subarray(0, 16), 56);
  v.setUint32(72, r.filename_len ?? name.length, true);
  buf.set(name, EXEC_HEADER_SIZE);
  buf.set(args, EXEC_HEADER_SIZE + name.length);
  return buf;
}

function argv(...args: string[]): Uint8Array {
  return encoder.encode(args.map((a) => a + "\0").join(""));
}

Deno.test("decodeExecEvent() decodes every field of an exec record", () => {
  const e = decodeExecEvent(execRecord({
    kind: 1,
    ts_ns: 5_000_000_123n,
    cgroup_id: 0xfedc_ba98_7654_3210n,
    pid: 4242,
    tid: 4243,
    ppid: 17,
    uid: 1000,
    gid: 1001,
    comm: "echo",
    filename: "/usr/bin/echo",
    args: argv("echo", "hello world", "x00"),
  })) as ExecEvent;
  assert.equal(e.type, "exec");
  assert.deepEqual(e.process, {
    pid: 4242,
    tid: 4243,
    ppid: 17,
    uid: 1000,
    gid: 1001,
    comm: "echo",
    cgroup_id: "18364758544493064720",
    exe: "/usr/bin/echo",
  });
  assert.equal(e.filename, "/usr/bin/echo");
  assert.deepEqual(e.args, ["echo", "hello world", "x00"]);
  assert.equal(e.args_truncated, false);
  assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
});

/** Unix nanoseconds of an RFC 3339 time with nanoseconds. */
function unixNs(time: string): bigint {
  return BigInt(Date.parse(time.slice(0, 19) + "Z")) * 1_000_000n + BigInt(time.slice(20, 29));
}

Deno.test("decodeExecEvent() keeps the nanoseconds of the boot-time stamp", () => {
  const a = decodeExecEvent(execRecord({ kind: 1, ts_ns: 7_000_000_000n }));
  const b = decodeExecEvent(execRecord({ kind: 1, ts_ns: 8_000_001_234n }));
  assert.equal(unixNs(b.time) - unixNs(a.time), 1_000_001_234n);
});

Deno.test("decodeExecEvent() keeps uids above 2^31 unsigned", () => {
  const e = decodeExecEvent(execRecord({ kind: 1, uid: 0xfffffffe, gid: 4294967294 }));
  assert.equal(e.process.uid, 4294967294);
  assert.equal(e.process.gid, 4294967294);
});

Deno.test("decodeExecEvent() reads argv right after the filename and reports truncation", () => {
  const e = decodeExecEvent(execRecord({
    kind: 1,
    filename: "/bin/sh",
    args: argv("sh", "-c", "true"),
    args_truncated: 1,
  })) as ExecEvent;
  assert.equal(e.filename, "/bin/sh");
  assert.deepEqual(e.args, ["sh", "-c", "true"]);
  assert.equal(e.args_truncated, true);
  const bare = decodeExecEvent(execRecord({ kind: 1, filename: "/bin/true" })) as ExecEvent;
  assert.deepEqual(bare.args, [], "an exec with no argv bytes (argv[0] missing)");
});

Deno.test("decodeExecEvent() rejects an exec record whose lengths disagree with its size", () => {
  const block = argv("sh", "-c", "true");
  for (
    const bad of [
      { args_len: block.length - 5 }, // bytes beyond what the header counts
      { args_len: block.length + 1 }, // the header counts more than the record has
      { args_len: 4096 }, // longer than the 512-byte argv
      { filename_len: 300 }, // longer than a 255-byte name
    ]
  ) {
    assert.throws(
      () => decodeExecEvent(execRecord({ kind: 1, filename: "/bin/sh", args: block, ...bad })),
      EventSizeError,
      JSON.stringify(bad),
    );
  }
});

Deno.test("decodeExecEvent() decodes the longest record: a 255-byte name and 512 bytes of argv", () => {
  const name = "/" + "n".repeat(254);
  const e = decodeExecEvent(
    execRecord({ kind: 1, filename: name, args: encoder.encode("a".repeat(600)) }),
  ) as ExecEvent;
  assert.equal(e.filename, name);
  assert.equal(e.args.length, 1);
  assert.equal(e.args[0]!.length, 512);
  assert.equal(EXEC_HEADER_SIZE + 255 + 512 < EXEC_EVENT_SIZE, true);
});

Deno.test("decodeExecEvent() keeps an argument cut off without its NUL", () => {
  const e = decodeExecEvent(
    execRecord({ kind: 1, args: encoder.encode("cat\0/etc/pas") }),
  ) as ExecEvent;
  assert.deepEqual(e.args, ["cat", "/etc/pas"]);
});

Deno.test("decodeExecEvent() decodes UTF-8 names and a 16-byte comm without NUL", () => {
  const e = decodeExecEvent(execRecord({
    kind: 1,
    comm: encoder.encode("abcdefghijklmnop"),
    filename: "/opt/prüfung/bin",
  })) as ExecEvent;
  assert.equal(e.process.comm, "abcdefghijklmnop");
  assert.equal(e.filename, "/opt/prüfung/bin");
});

Deno.test("decodeExecEvent() decodes a fork record", () => {
  const e = decodeExecEvent(execRecord({ kind: 2, pid: 10, ppid: 1, comm: "bash", child_pid: 11 }));
  assert.equal(e.type, "fork");
  const f = e as ForkEvent;
  assert.equal(f.child_pid, 11);
  assert.equal(f.process.pid, 10);
  assert.equal(f.process.comm, "bash");
  assert.equal("filename" in f, false);
});

Deno.test("decodeExecEvent() splits an exit record's raw exit_code into status and signal", () => {
  const normal = decodeExecEvent(execRecord({ kind: 3, exit_code: 3 << 8 })) as ExitEvent;
  assert.equal(normal.type, "exit");
  assert.equal(normal.exit_code, 3);
  assert.equal(normal.signal, 0);
  const killed = decodeExecEvent(execRecord({ kind: 3, exit_code: 9 })) as ExitEvent;
  assert.equal(killed.exit_code, 0);
  assert.equal(killed.signal, 9);
  const dumped = decodeExecEvent(execRecord({ kind: 3, exit_code: 0x80 | 11 })) as ExitEvent;
  assert.equal(dumped.signal, 11, "the core-dump bit is not part of the signal");
});

Deno.test("decodeExecEvent() rejects records shorter than the header and fork/exit records of another size", () => {
  for (const size of [0, 8, EXEC_HEADER_SIZE - 1]) {
    assert.throws(
      () => decodeExecEvent(new Uint8Array(size)),
      (e: unknown) =>
        e instanceof EventSizeError && e.message.includes(`${size} bytes`) &&
        e.message.includes(`expected at least ${EXEC_HEADER_SIZE}`),
      `size ${size}`,
    );
  }
  for (const kind of [2, 3]) {
    const padded = new Uint8Array(EXEC_HEADER_SIZE + 8);
    padded.set(execRecord({ kind }));
    assert.throws(
      () => decodeExecEvent(padded),
      (e: unknown) =>
        e instanceof EventSizeError && e.message.includes(`expected ${EXEC_HEADER_SIZE}`),
      `kind ${kind}`,
    );
  }
});

Deno.test("decodeExecEvent() rejects an unknown kind", () => {
  assert.throws(() => decodeExecEvent(execRecord({ kind: 7 })), /kind 7 is unknown/);
});

Deno.test("decodeExecEvent() decodes a record that is a view into a larger buffer", () => {
  const record = execRecord({ kind: 1, pid: 77, filename: "/bin/true" });
  const big = new Uint8Array(record.length + 64);
  big.set(record, 32);
  const e = decodeExecEvent(big.subarray(32, 32 + record.length)) as ExecEvent;
  assert.equal(e.process.pid, 77);
  assert.equal(e.filename, "/bin/true");
});

Deno.test("cString() stops at the first NUL or at max", () => {
  const buf = encoder.encode("abc\0def");
  assert.equal(cString(buf, 0, 7), "abc");
  assert.equal(cString(buf, 4, 3), "def");
  assert.equal(cString(buf, 0, 2), "ab");
});

Deno.test("splitArgs() splits NUL-separated argv", () => {
  assert.deepEqual(splitArgs(argv("a", "", "b")), ["a", "", "b"]);
  assert.deepEqual(splitArgs(new Uint8Array(0)), []);
});

Deno.test("utf8() decodes exactly as TextDecoder: ASCII, multi-byte, invalid sequences", () => {
  const decoder = new TextDecoder();
  const samples = [
    encoder.encode("/usr/bin/true"),
    encoder.encode("naïve – ☃ 𝄞"),
    new Uint8Array([0x61, 0xff, 0x62, 0xc3]), // an invalid byte and a truncated sequence
    new Uint8Array(0),
    new Uint8Array(Array.from({ length: 128 }, (_, i) => i)),
  ];
  for (const s of samples) {
    const padded = new Uint8Array(s.length + 4);
    padded.set(s, 2);
    assert.equal(utf8(padded, 2, 2 + s.length), decoder.decode(s));
  }
  assert.equal(cString(encoder.encode("é\0x"), 0, 8), "é");
});
