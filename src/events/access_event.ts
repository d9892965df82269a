/**
 * Decodes `struct x00_access_event` (bpf/lsm_file_protect.h) into {@linkcode AccessEvent}.
 *
 * @module
 */
import { cString, EventSizeError } from "./exec_event.ts";
import { bootNsToRfc3339 } from "./time.ts";
import type { AccessEvent, ProcessIdentity, Resource } from "./types.ts";

/** sizeof(struct x00_access_event). */
export const ACCESS_EVENT_SIZE = 168;

/** enum x00_resource, by value. */
const RESOURCES: Resource[] = [
  "other_attach",
  "environ",
  "mem",
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "pidfd_getfd",
  "secret_file",
  "ptrace_traceme",
  "bpf_prog",
  "bpf_map",
  "bpf_link",
  "bpf_load",
  "net_listen",
];

const HOOKS: Record<number, string> = {
  1: "lsm:ptrace_access_check",
  2: "lsm:file_open",
  3: "lsm:ptrace_traceme",
  4: "syscall",
  5: "lsm:bpf",
  6: "lsm:socket_listen",
};

/** enum bpf_prog_type (include/uapi/linux/bpf.h), by value. */
const PROG_TYPES = [
  "unspec",
  "socket_filter",
  "kprobe",
  "sched_cls",
  "sched_act",
  "tracepoint",
  "xdp",
  "perf_event",
  "cgroup_skb",
  "cgroup_sock",
  "lwt_in",
  "lwt_out",
  "lwt_xmit",
  "sock_ops",
  "sk_skb",
  "cgroup_device",
  "sk_msg",
  "raw_tracepoint",
  "cgroup_sock_addr",
  "lwt_seg6local",
  "lirc_mode2",
  "sk_reuseport",
  "flow_dissector",
  "cgroup_sysctl",
  "raw_tracepoint_writable",
  "cgroup_sockopt",
  "tracing",
  "struct_ops",
  "ext",
  "lsm",
  "sk_lookup",
  "syscall",
  "netfilter",
];

/** enum bpf_attach_type values that name what a tracing, LSM or kprobe program attaches to. */
const ATTACH_TYPES: Record<number, string> = {
  23: "trace_raw_tp",
  24: "trace_fentry",
  25: "trace_fexit",
  26: "modify_return",
  27: "lsm_mac",
  28: "trace_iter",
  41: "perf_event",
  42: "trace_kprobe_multi",
  43: "lsm_cgroup",
  48: "trace_uprobe_multi",
  56: "trace_kprobe_session",
  57: "trace_uprobe_session",
};

/** Program types whose expected_attach_type says where they attach (for the others it is not meaningful). */
const TYPED_ATTACH = new Set(["kprobe", "tracing", "lsm", "ext"]);

const BPF_F_SLEEPABLE = 1 << 4;

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  9: "EBADF",
  13: "EACCES",
  14: "EFAULT",
  22: "EINVAL",
  38: "ENOSYS",
};

/** Names of the PTRACE_MODE_* bits set in `mode`. */
export function ptraceModeNames(mode: number): string[] {
  const names: [number, string][] = [
    [0x01, "READ"],
    [0x02, "ATTACH"],
    [0x04, "NOAUDIT"],
    [0x08, "FSCREDS"],
    [0x10, "REALCREDS"],
  ];
  return names.filter(([bit]) => mode & bit).map(([, n]) => n);
}

/** Options of {@linkcode decodeAccessEvent}. */
export interface DecodeAccessOptions {
  /** Mode to report for protected targets. */
  mode: "enforce" | "audit";
  /** Looks up what the kernel could not fill in (full exe path, comm of a target known only by pid). */
  enrich?: (pid: number) => { exe?: string; comm?: string; uid?: number } | undefined;
}

/** Decodes one access record. */
export function decodeAccessEvent(data: Uint8Array, options: DecodeAccessOptions): AccessEvent {
  if (data.length !== ACCESS_EVENT_SIZE) {
    throw new EventSizeError("access event", data.length, ACCESS_EVENT_SIZE);
  }
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const accessorPid = v.getUint32(24, true);
  const accessorExe = cString(data, 104, 64);
  const accessor: ProcessIdentity = {
    pid: accessorPid,
    tid: v.getUint32(28, true),
    uid: v.getUint32(32, true),
    comm: cString(data, 72, 16),
    cgroup_id: v.getBigUint64(8, true).toString(),
  };
  const extra = options.enrich?.(accessorPid);
  accessor.exe = extra?.exe ?? (accessorExe || undefined);

  const targetPid = v.getUint32(36, true);
  const resource = RESOURCES[v.getUint32(48, true)] ?? "other_attach";
  let target: ProcessIdentity | undefined;
  if (targetPid !== 0) {
    target = {
      pid: targetPid,
      tid: v.getUint32(40, true),
      uid: v.getUint32(44, true),
      comm: cString(data, 88, 16),
      cgroup_id: v.getBigUint64(16, true).toString(),
    };
    if (!target.comm) {
      const t = options.enrich?.(targetPid);
      if (t?.comm) target.comm = t.comm;
      if (t?.uid !== undefined) target.uid = t.uid;
      if (t?.exe) target.exe = t.exe;
    }
  }
  const family = v.getUint32(64, true);
  const denied = v.getUint32(60, true) !== 0;
  const result = v.getInt32(68, true);
  const mode = v.getUint32(52, true);
  const event: AccessEvent = {
    type: "access",
    time: bootNsToRfc3339(v.getBigUint64(0, true)),
    action: denied ? "denied" : result < 0 ? "failed" : "allowed",
    mode: family === 0 ? "monitor" : options.mode,
    resource,
    accessor,
    target,
    hook: HOOKS[v.getUint32(56, true)] ?? "unknown",
    protected: family !== 0,
  };
  if (result < 0) event.errno = ERRNO_NAMES[-result] ?? `errno ${-result}`;
  if (mode !== 0) event.ptrace_mode = ptraceModeNames(mode);
  // Records without a target task carry their own facts in the target's fields (bpf/lsm_file_protect.h).
  if (resource === "bpf_load") {
    const type = v.getUint32(40, true);
    const typeName = PROG_TYPES[type] ?? `type ${type}`;
    const attach = v.getUint32(52, true);
    event.bpf_program = {
      type: typeName,
      name: cString(data, 88, 16),
      sleepable: (v.getUint32(44, true) & BPF_F_SLEEPABLE) !== 0,
    };
    if (TYPED_ATTACH.has(typeName)) {
      event.bpf_program.attach_type = ATTACH_TYPES[attach] ?? `attach type ${attach}`;
    }
    delete event.ptrace_mode;
    event.mode = options.mode;
  } else if (resource === "net_listen") {
    const family = v.getUint32(40, true);
    event.address_family = family === 10 ? "inet6" : family === 2 ? "inet" : `family ${family}`;
  } else if (resource.startsWith("bpf_")) {
    event.object_id = v.getUint32(40, true); // an X00 object: its id
  }
  return event;
}

/** Reads comm, uid and exe of a live process from /proc (best effort; undefined when it is gone). */
export function procInfo(pid: number): { exe?: string; comm?: string; uid?: number } | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const comm = /^Name:\t(.*)$/m.exec(status)?.[1];
    const uid = /^Uid:\t(\d+)/m.exec(status)?.[1];
    let exe: string | undefined;
    try {
      exe = Deno.readLinkSync(`/proc/${pid}/exe`);
    } catch {
      exe = undefined;
    }
    return { comm, uid: uid === undefined ? undefined : Number(uid), exe };
  } catch {
    return undefined;
  }
}
