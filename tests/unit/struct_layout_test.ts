/**
 * The C structs shared with the kernel (bpf/exec_monitor.h, bpf/lsm_file_protect.h) and the TypeScript decoders
 * must agree byte for byte. A tiny C program, compiled with gcc at test time, prints sizeof/offsetof of every
 * field and fills one record of each struct through the C field names; the decoders must read those records back.
 */
import assert from "node:assert/strict";
import { ACCESS_EVENT_SIZE, decodeAccessEvent } from "../../src/events/access_event.ts";
import { decodeExecEvent, EXEC_EVENT_SIZE, EXEC_HEADER_SIZE } from "../../src/events/exec_event.ts";
import type { AccessEvent, ExecEvent, ExitEvent, ForkEvent } from "../../src/events/types.ts";

const BPF_DIR = new URL("../../bpf/", import.meta.url).pathname;

const EXEC_FIELDS = [
  "ts_ns",
  "cgroup_id",
  "kind",
  "pid",
  "tid",
  "ppid",
  "uid",
  "gid",
  "args_len",
  "args_truncated",
  "exit_code",
  "child_pid",
  "comm",
  "filename_len",
  "reserved",
  "data",
];
const ACCESS_FIELDS = [
  "ts_ns",
  "accessor_cgroup_id",
  "target_cgroup_id",
  "accessor_pid",
  "accessor_tid",
  "accessor_uid",
  "target_pid",
  "target_tid",
  "target_uid",
  "resource",
  "ptrace_mode",
  "hook",
  "denied",
  "family",
  "result",
  "accessor_comm",
  "target_comm",
  "accessor_exe",
];

/** [offset, size] of every field, as src/events/exec_event.ts and access_event.ts read them. */
const DECODER_EXEC: Record<string, [number, number]> = {
  ts_ns: [0, 8],
  cgroup_id: [8, 8],
  kind: [16, 4],
  pid: [20, 4],
  tid: [24, 4],
  ppid: [28, 4],
  uid: [32, 4],
  gid: [36, 4],
  args_len: [40, 4],
  args_truncated: [44, 4],
  exit_code: [48, 4],
  child_pid: [52, 4],
  comm: [56, 16],
  filename_len: [72, 4],
  reserved: [76, 4],
  data: [80, 768],
};
const DECODER_ACCESS: Record<string, [number, number]> = {
  ts_ns: [0, 8],
  accessor_cgroup_id: [8, 8],
  target_cgroup_id: [16, 8],
  accessor_pid: [24, 4],
  accessor_tid: [28, 4],
  accessor_uid: [32, 4],
  target_pid: [36, 4],
  target_tid: [40, 4],
  target_uid: [44, 4],
  resource: [48, 4],
  ptrace_mode: [52, 4],
  hook: [56, 4],
  denied: [60, 4],
  family: [64, 4],
  result: [68, 4],
  accessor_comm: [72, 16],
  target_comm: [88, 16],
  accessor_exe: [104, 64],
};

function layoutLines(struct: string, fields: string[]): string {
  return fields.map((f) =>
    `  printf("${struct} ${f} %zu %zu\\n", offsetof(struct ${struct}, ${f}), ` +
    `sizeof(((struct ${struct} *)0)->${f}));`
  ).join("\n");
}

const PROGRAM = `
#include <linux/types.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "exec_monitor.h"
#include "lsm_file_protect.h"

static void hex(const char *name, const void *p, size_t n)
{
  printf("%s ", name);
  for (size_t i = 0; i < n; i++) printf("%02x", ((const unsigned char *)p)[i]);
  printf("\\n");
}

int main(void)
{
  printf("sizeof x00_exec_event %zu\\n", sizeof(struct x00_exec_event));
  printf("sizeof X00_EXEC_HEADER_LEN %d\\n", X00_EXEC_HEADER_LEN);
  printf("sizeof x00_access_event %zu\\n", sizeof(struct x00_access_event));
${layoutLines("x00_exec_event", EXEC_FIELDS)}
${layoutLines("x00_access_event", ACCESS_FIELDS)}

  struct x00_exec_event e;
  memset(&e, 0xee, sizeof(e));
  e.ts_ns = 123456789012ULL;
  e.cgroup_id = 0x0102030405060708ULL;
  e.kind = X00_PROC_EXEC;
  e.pid = 1001; e.tid = 1002; e.ppid = 1003; e.uid = 1004; e.gid = 1005;
  static const char name[] = "/layout/filename";
  static const char args[] = "prog\\0--flag\\0value";
  e.filename_len = sizeof(name) - 1;
  e.reserved = 0;
  memcpy(e.data, name, e.filename_len);
  memcpy(e.data + e.filename_len, args, sizeof(args));
  e.args_len = sizeof(args);
  e.args_truncated = 1;
  e.exit_code = 0; e.child_pid = 0;
  strcpy(e.comm, "layout-comm");
  hex("exec_record", &e, X00_EXEC_HEADER_LEN + e.filename_len + e.args_len);

  e.kind = X00_PROC_FORK; e.child_pid = 2002; e.filename_len = 0; e.args_len = 0;
  hex("fork_record", &e, X00_EXEC_HEADER_LEN);
  e.kind = X00_PROC_EXIT; e.exit_code = (7 << 8); e.child_pid = 0;
  hex("exit_record", &e, X00_EXEC_HEADER_LEN);

  struct x00_access_event a;
  memset(&a, 0xee, sizeof(a));
  a.ts_ns = 123456789012ULL;
  a.accessor_cgroup_id = 0x1111222233334444ULL;
  a.target_cgroup_id = 0x5555666677778888ULL;
  a.accessor_pid = 3001; a.accessor_tid = 3002; a.accessor_uid = 3003;
  a.target_pid = 4001; a.target_tid = 4002; a.target_uid = 4003;
  a.resource = X00_RES_PIDFD_GETFD;
  a.ptrace_mode = 0x12;
  a.hook = X00_HOOK_PTRACE_ACCESS_CHECK;
  a.denied = 1;
  a.family = 42;
  a.result = -1;
  strcpy(a.accessor_comm, "acc-comm");
  strcpy(a.target_comm, "tgt-comm");
  strcpy(a.accessor_exe, "acc-exe");
  hex("access_record", &a, sizeof(a));
  return 0;
}
`;

interface CLayout {
  sizes: Record<string, number>;
  fields: Record<string, Record<string, [number, number]>>;
  records: Record<string, Uint8Array>;
}

let cached: Promise<CLayout> | undefined;

/** Compiles and runs the layout program once per test run. */
function cLayout(): Promise<CLayout> {
  cached ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "x00-layout-" });
    try {
      await Deno.writeTextFile(`${dir}/layout.c`, PROGRAM);
      const cc = await new Deno.Command("gcc", {
        args: ["-Wall", "-Werror", "-I", BPF_DIR, "-o", `${dir}/layout`, `${dir}/layout.c`],
      }).output();
      assert.equal(cc.code, 0, `gcc failed:\n${new TextDecoder().decode(cc.stderr)}`);
      const run = await new Deno.Command(`${dir}/layout`).output();
      assert.equal(run.code, 0);
      const out: CLayout = { sizes: {}, fields: {}, records: {} };
      for (const line of new TextDecoder().decode(run.stdout).trim().split("\n")) {
        const parts = line.split(" ");
        if (parts[0] === "sizeof") out.sizes[parts[1]!] = Number(parts[2]);
        else if (parts.length === 4) {
          (out.fields[parts[0]!] ??= {})[parts[1]!] = [Number(parts[2]), Number(parts[3])];
        } else {
          const hex = parts[1]!;
          out.records[parts[0]!] = Uint8Array.from(
            { length: hex.length / 2 },
            (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16),
          );
        }
      }
      return out;
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return cached;
}

Deno.test("sizeof(struct x00_exec_event) is EXEC_EVENT_SIZE and every offset matches the decoder", async () => {
  const c = await cLayout();
  assert.equal(c.sizes.x00_exec_event, EXEC_EVENT_SIZE);
  assert.equal(c.sizes.X00_EXEC_HEADER_LEN, EXEC_HEADER_SIZE);
  assert.equal(
    c.fields.x00_exec_event!.data![0],
    EXEC_HEADER_SIZE,
    "the header ends where data starts",
  );
  assert.deepEqual(c.fields.x00_exec_event, DECODER_EXEC);
});

Deno.test("sizeof(struct x00_access_event) is ACCESS_EVENT_SIZE and every offset matches the decoder", async () => {
  const c = await cLayout();
  assert.equal(c.sizes.x00_access_event, ACCESS_EVENT_SIZE);
  assert.deepEqual(c.fields.x00_access_event, DECODER_ACCESS);
});

Deno.test("decodeExecEvent() reads back records filled through the C field names", async () => {
  const { records } = await cLayout();
  const exec = decodeExecEvent(records.exec_record!) as ExecEvent;
  assert.equal(exec.type, "exec");
  assert.deepEqual(exec.process, {
    pid: 1001,
    tid: 1002,
    ppid: 1003,
    uid: 1004,
    gid: 1005,
    comm: "layout-comm",
    cgroup_id: 0x0102030405060708n.toString(),
    exe: "/layout/filename",
  });
  assert.equal(exec.filename, "/layout/filename");
  assert.deepEqual(exec.args, ["prog", "--flag", "value"]);
  assert.equal(exec.args_truncated, true);

  const fork = decodeExecEvent(records.fork_record!) as ForkEvent;
  assert.equal(fork.type, "fork");
  assert.equal(fork.child_pid, 2002);
  const exit = decodeExecEvent(records.exit_record!) as ExitEvent;
  assert.equal(exit.type, "exit");
  assert.equal(exit.exit_code, 7);
  assert.equal(exit.signal, 0);
});

Deno.test("decodeAccessEvent() reads back a record filled through the C field names", async () => {
  const { records } = await cLayout();
  const e: AccessEvent = decodeAccessEvent(records.access_record!, { mode: "enforce" });
  assert.deepEqual({ ...e, time: "" }, {
    type: "access",
    time: "",
    action: "denied",
    mode: "enforce",
    resource: "pidfd_getfd",
    accessor: {
      pid: 3001,
      tid: 3002,
      uid: 3003,
      comm: "acc-comm",
      exe: "acc-exe",
      cgroup_id: 0x1111222233334444n.toString(),
    },
    target: {
      pid: 4001,
      tid: 4002,
      uid: 4003,
      comm: "tgt-comm",
      cgroup_id: 0x5555666677778888n.toString(),
    },
    hook: "lsm:ptrace_access_check",
    protected: true,
    errno: "EPERM",
    ptrace_mode: ["ATTACH", "REALCREDS"],
  });
});
