import assert from "node:assert/strict";
import { ACCESS_EVENT_SIZE, decodeAccessEvent, ptraceModeNames } from "./access_event.ts";
import { EventSizeError } from "./exec_event.ts";

/** Fields of `struct x00_access_event` (bpf/lsm_file_protect.h). */
interface AccessRecord {
  ts_ns?: bigint;
  accessor_cgroup_id?: bigint;
  target_cgroup_id?: bigint;
  accessor_pid?: number;
  accessor_tid?: number;
  accessor_uid?: number;
  target_pid?: number;
  target_tid?: number;
  target_uid?: number;
  resource?: number;
  ptrace_mode?: number;
  hook?: number;
  denied?: number;
  family?: number;
  result?: number;
  accessor_comm?: string;
  target_comm?: string;
  accessor_exe?: string;
}

const encoder = new TextEncoder();

/** Lays a record out exactly as the C struct: three u64 @0..16, twelve 32-bit fields @24..68, accessor_comm[16]
 * @72, target_comm[16] @88, accessor_exe[64] @104; 168 bytes. */
function accessRecord(r: AccessRecord): Uint8Array {
  const buf = new Uint8Array(ACCESS_EVENT_SIZE);
  const v = new DataView(buf.buffer);
  v.setBigUint64(0, r.ts_ns ?? 1_000_000_000n, true);
  v.setBigUint64(8, r.accessor_cgroup_id ?? 1n, true);
  v.setBigUint64(16, r.target_cgroup_id ?? 1n, true);
  v.setUint32(24, r.accessor_pid ?? 200, true);
  v.setUint32(28, r.accessor_tid ?? r.accessor_pid ?? 200, true);
  v.setUint32(32, r.accessor_uid ?? 0, true);
  v.setUint32(36, r.target_pid ?? 300, true);
  v.setUint32(40, r.target_tid ?? r.target_pid ?? 300, true);
  v.setUint32(44, r.target_uid ?? 0, true);
  v.setUint32(48, r.resource ?? 1, true);
  v.setUint32(52, r.ptrace_mode ?? 0, true);
  v.setUint32(56, r.hook ?? 1, true);
  v.setUint32(60, r.denied ?? 0, true);
  v.setUint32(64, r.family ?? 0, true);
  v.setInt32(68, r.result ?? 0, true);
  buf.set(encoder.encode(r.accessor_comm ?? "cat").subarray(0, 16), 72);
  buf.set(encoder.encode(r.target_comm ?? "app").subarray(0, 16), 88);
  buf.set(encoder.encode(r.accessor_exe ?? "cat").subarray(0, 64), 104);
  return buf;
}

const audit = { mode: "audit" } as const;

Deno.test("decodeAccessEvent() decodes a denied LSM record of a protected target", () => {
  const e = decodeAccessEvent(
    accessRecord({
      accessor_cgroup_id: 0x1_0000_0001n,
      target_cgroup_id: 77n,
      accessor_pid: 1234,
      accessor_tid: 1235,
      accessor_uid: 1000,
      target_pid: 555,
      target_tid: 556,
      target_uid: 1001,
      resource: 1,
      ptrace_mode: 0x01 | 0x08,
      hook: 1,
      denied: 1,
      family: 9,
      result: -1,
      accessor_comm: "cat",
      target_comm: "vault-app",
      accessor_exe: "cat",
    }),
    { mode: "enforce" },
  );
  assert.deepEqual({ ...e, time: "" }, {
    type: "access",
    time: "",
    action: "denied",
    mode: "enforce",
    resource: "environ",
    accessor: {
      pid: 1234,
      tid: 1235,
      uid: 1000,
      comm: "cat",
      cgroup_id: "4294967297",
      exe: "cat",
    },
    target: { pid: 555, tid: 556, uid: 1001, comm: "vault-app", cgroup_id: "77" },
    hook: "lsm:ptrace_access_check",
    protected: true,
    errno: "EPERM",
    ptrace_mode: ["READ", "FSCREDS"],
  });
  assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
});

Deno.test("decodeAccessEvent() says allowed, failed or denied", () => {
  assert.equal(decodeAccessEvent(accessRecord({}), audit).action, "allowed");
  const failed = decodeAccessEvent(accessRecord({ result: -13, hook: 4 }), audit);
  assert.equal(failed.action, "failed");
  assert.equal(failed.errno, "EACCES");
  const denied = decodeAccessEvent(accessRecord({ denied: 1, result: -1, family: 2 }), audit);
  assert.equal(denied.action, "denied");
  assert.equal(denied.errno, "EPERM");
  assert.equal("errno" in decodeAccessEvent(accessRecord({ result: 0 }), audit), false);
});

Deno.test("decodeAccessEvent() names errno values and falls back to the number", () => {
  const names: [number, string][] = [
    [1, "EPERM"],
    [2, "ENOENT"],
    [3, "ESRCH"],
    [9, "EBADF"],
    [13, "EACCES"],
    [14, "EFAULT"],
    [22, "EINVAL"],
    [38, "ENOSYS"],
    [95, "errno 95"],
  ];
  for (const [n, name] of names) {
    assert.equal(decodeAccessEvent(accessRecord({ result: -n }), audit).errno, name);
  }
});

Deno.test("decodeAccessEvent() reports mode monitor for unprotected targets", () => {
  assert.equal(decodeAccessEvent(accessRecord({ family: 0 }), { mode: "enforce" }).mode, "monitor");
  const e = decodeAccessEvent(accessRecord({ family: 3 }), audit);
  assert.equal(e.mode, "audit");
  assert.equal(e.protected, true);
  assert.equal(decodeAccessEvent(accessRecord({ family: 0 }), audit).protected, false);
});

Deno.test("decodeAccessEvent() maps enum x00_resource and enum x00_hook", () => {
  const resources = [
    "other_attach",
    "environ",
    "mem",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "secret_file",
    "ptrace_traceme",
  ];
  resources.forEach((name, value) => {
    assert.equal(decodeAccessEvent(accessRecord({ resource: value }), audit).resource, name);
  });
  assert.equal(decodeAccessEvent(accessRecord({ resource: 99 }), audit).resource, "other_attach");
  const hooks = ["lsm:ptrace_access_check", "lsm:file_open", "lsm:ptrace_traceme", "syscall"];
  hooks.forEach((name, i) => {
    assert.equal(decodeAccessEvent(accessRecord({ hook: i + 1 }), audit).hook, name);
  });
  assert.equal(decodeAccessEvent(accessRecord({ hook: 0 }), audit).hook, "unknown");
});

Deno.test("ptraceModeNames() names each PTRACE_MODE_* bit", () => {
  assert.deepEqual(ptraceModeNames(0), []);
  assert.deepEqual(ptraceModeNames(0x01 | 0x08), ["READ", "FSCREDS"]); // PTRACE_MODE_READ_FSCREDS
  assert.deepEqual(ptraceModeNames(0x02 | 0x08), ["ATTACH", "FSCREDS"]); // PTRACE_MODE_ATTACH_FSCREDS
  assert.deepEqual(ptraceModeNames(0x02 | 0x10), ["ATTACH", "REALCREDS"]); // PTRACE_MODE_ATTACH_REALCREDS
  assert.deepEqual(ptraceModeNames(0x1f), ["READ", "ATTACH", "NOAUDIT", "FSCREDS", "REALCREDS"]);
  assert.deepEqual(ptraceModeNames(0x20), [], "unknown bits are not named");
});

Deno.test("decodeAccessEvent() leaves out ptrace_mode when the hook passed none", () => {
  assert.equal("ptrace_mode" in decodeAccessEvent(accessRecord({ ptrace_mode: 0 }), audit), false);
  const e = decodeAccessEvent(accessRecord({ ptrace_mode: 0x12 }), audit);
  assert.deepEqual(e.ptrace_mode, ["ATTACH", "REALCREDS"]);
});

Deno.test("decodeAccessEvent() has no target for secret_file records (target_pid 0)", () => {
  const e = decodeAccessEvent(
    accessRecord({ resource: 7, hook: 2, target_pid: 0, target_comm: "", family: 4 }),
    audit,
  );
  assert.equal(e.resource, "secret_file");
  assert.equal(e.hook, "lsm:file_open");
  assert.equal(e.target, undefined);
});

Deno.test("decodeAccessEvent() enriches what the kernel left empty", () => {
  const seen: number[] = [];
  const enrich = (pid: number) => {
    seen.push(pid);
    return pid === 200
      ? { exe: "/usr/bin/cat", comm: "cat", uid: 0 }
      : { exe: "/usr/bin/sleep", comm: "sleep", uid: 1001 };
  };
  const e = decodeAccessEvent(
    accessRecord({ accessor_pid: 200, target_pid: 300, target_comm: "", target_uid: 0 }),
    { mode: "audit", enrich },
  );
  assert.equal(e.accessor.exe, "/usr/bin/cat", "the full path wins over the kernel's basename");
  assert.equal(e.target?.comm, "sleep");
  assert.equal(e.target?.uid, 1001);
  assert.equal(e.target?.exe, "/usr/bin/sleep");
  assert.deepEqual(seen, [200, 300]);
});

Deno.test("decodeAccessEvent() does not enrich a target the kernel named", () => {
  const e = decodeAccessEvent(accessRecord({ target_comm: "app", target_uid: 5 }), {
    mode: "audit",
    enrich: () => ({ comm: "other", uid: 6, exe: "/x" }),
  });
  assert.equal(e.target?.comm, "app");
  assert.equal(e.target?.uid, 5);
  assert.equal(e.target?.exe, undefined);
});

Deno.test("decodeAccessEvent() keeps the kernel's exe basename when enrichment finds nothing", () => {
  const gone = decodeAccessEvent(accessRecord({ accessor_exe: "gdb" }), {
    mode: "audit",
    enrich: () => undefined,
  });
  assert.equal(gone.accessor.exe, "gdb");
  const none = decodeAccessEvent(accessRecord({ accessor_exe: "" }), audit);
  assert.equal(none.accessor.exe, undefined);
});

Deno.test("decodeAccessEvent() rejects records of the wrong size", () => {
  for (const size of [0, ACCESS_EVENT_SIZE - 1, ACCESS_EVENT_SIZE + 1, 840]) {
    assert.throws(
      () => decodeAccessEvent(new Uint8Array(size), audit),
      (e: unknown) =>
        e instanceof EventSizeError && e.message.includes(`${size} bytes`) &&
        e.message.includes(`expected ${ACCESS_EVENT_SIZE}`),
      `size ${size}`,
    );
  }
});
