/**
 * Audit event types: the JSON Lines schema X00 writes (docs/events.md documents every field). Field names are
 * stable; new fields may be added, existing ones never change meaning.
 *
 * @module
 */

/** The identity of a process as seen by the kernel (pids are the kernel's, i.e. of the initial pid namespace). */
export interface ProcessIdentity {
  pid: number;
  tid?: number;
  ppid?: number;
  uid: number;
  gid?: number;
  comm: string;
  /** Executable path when known (basename from the kernel, full path when /proc still had it). */
  exe?: string;
  /** cgroup v2 id (the inode number of the cgroup directory). */
  cgroup_id: string;
}

/** Fields every event has. */
export interface EventBase {
  /** Event type. */
  type: string;
  /** RFC 3339 time with nanoseconds, UTC. */
  time: string;
}

/** A program was executed. */
export interface ExecEvent extends EventBase {
  type: "exec";
  process: ProcessIdentity;
  /** The path passed to execve. */
  filename: string;
  /** argv, bounded to 512 bytes in the kernel. */
  args: string[];
  /** True when argv was longer than the kernel-side bound. */
  args_truncated: boolean;
}

/** A process was forked (only when fork/exit tracking is on). */
export interface ForkEvent extends EventBase {
  type: "fork";
  process: ProcessIdentity;
  child_pid: number;
}

/** A process exited (only when fork/exit tracking is on). */
export interface ExitEvent extends EventBase {
  type: "exit";
  process: ProcessIdentity;
  exit_code: number;
  signal: number;
}

/** What an access attempt targeted. */
export type Resource =
  | "environ"
  | "mem"
  | "ptrace"
  | "process_vm_readv"
  | "process_vm_writev"
  | "pidfd_getfd"
  | "secret_file"
  | "ptrace_traceme"
  | "bpf_prog"
  | "bpf_map"
  | "bpf_link"
  | "bpf_load"
  | "net_listen"
  | "other_attach";

/** A BPF program another process loaded (`bpf_load` events). */
export interface BpfProgramInfo {
  /** bpf_prog_type without the prefix, lower case: `tracing`, `kprobe`, `cgroup_device`, ... */
  type: string;
  /** Where it attaches, for kprobe, tracing, lsm and ext programs: `trace_iter`, `trace_fentry`, ... */
  attach_type?: string;
  /** BPF_F_SLEEPABLE: may sleep, and so copy other tasks' user memory (bpf_copy_from_user_task). */
  sleepable: boolean;
  /** The name the loader gave it (up to 15 characters). */
  name: string;
}

/** One process tried to read another process's environment or memory, or to attach to it. */
export interface AccessEvent extends EventBase {
  type: "access";
  /** `denied`: X00 refused it (enforce). `allowed`: it went through X00 (audit), `failed`: the kernel refused it
   * for its own reasons (e.g. ordinary permissions). */
  action: "denied" | "allowed" | "failed";
  /** `enforce` or `audit` for protected targets; `monitor` for host-wide `x00 audit`. */
  mode: "enforce" | "audit" | "monitor";
  resource: Resource;
  accessor: ProcessIdentity;
  /** The process whose resource was accessed (absent for secret_file opens, where the file is the target). */
  target?: ProcessIdentity;
  /** errno name the caller got (`EPERM`, `EACCES`), absent on success. */
  errno?: string;
  /** The kernel hook that saw it: `lsm:ptrace_access_check`, `lsm:file_open`, `lsm:ptrace_traceme`, `lsm:bpf`,
   * `lsm:socket_listen`, `syscall`. */
  hook: string;
  /** PTRACE_MODE_* names the kernel passed (LSM hooks only). */
  ptrace_mode?: string[];
  /** For `bpf_prog`, `bpf_map`, `bpf_link`: the kernel id of the X00 object asked for. */
  object_id?: number;
  /** For `bpf_load`: the program being loaded. */
  bpf_program?: BpfProgramInfo;
  /** For `net_listen`: `inet` or `inet6`. */
  address_family?: string;
  /** True when the target is protected by X00 (false in host-wide monitoring of unprotected processes). */
  protected: boolean;
}

/** Records the kernel dropped because user space fell behind. */
export interface LostEventsEvent extends EventBase {
  type: "lost_events";
  /** Which ring buffer: `exec` or `access`. */
  source: string;
  /** Total dropped since start. */
  count: number;
}

/** Protection state changes (established, fell back, released). */
export interface ProtectionEvent extends EventBase {
  type: "protection";
  state: "established" | "unavailable" | "released";
  mode: "enforce" | "audit";
  /** `lsm` or `tracepoint`. */
  mechanism: string;
  pid: number;
  reason?: string;
}

/** A secret was delivered to the workload (names only, never values). */
export interface SecretDeliveredEvent extends EventBase {
  type: "secret_delivered";
  secret: string;
  /** `env` or `file`. */
  delivery: string;
  /** The variable name. */
  var: string;
  pid: number;
}

/** Any audit event. */
/** `x00 agent` served or refused a connected process (identity as the kernel recorded it). */
export interface ClientEvent extends EventBase {
  type: "client";
  action: "served" | "refused";
  /** The policy's client entry it was served as. */
  client?: string;
  /** Why it was refused. */
  reason?: string;
  /** Kernel tgid, uid, gid and cgroup v2 id of the connecting process (absent when unidentified). */
  pid?: number;
  uid?: number;
  gid?: number;
  cgroup_id?: string;
}

export type AuditEvent =
  | ClientEvent
  | ExecEvent
  | ForkEvent
  | ExitEvent
  | AccessEvent
  | LostEventsEvent
  | ProtectionEvent
  | SecretDeliveredEvent;
