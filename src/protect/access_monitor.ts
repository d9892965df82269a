/**
 * The access side of X00: BPF-LSM (lsm_file_protect, can deny) where the kernel runs LSM programs, else the
 * syscall-tracepoint fallback (access_monitor, observe only). Used by `x00 audit` (every process) and `x00 run`
 * (protected processes only).
 *
 * @module
 */
import { BPF_LSM_MAC, BPF_PROG_TYPE_LSM, BpfError, probeProgramLoad } from "./libbpf.ts";
import { X00Error } from "../errors.ts";
import type { ClientIdentity } from "../agent/authorize.ts";
import { LoadedObject } from "./loaded_object.ts";

/** How accesses are seen. */
export type Mechanism = "lsm" | "tracepoint";

/** Options of {@linkcode AccessMonitor.start}. */
export interface AccessMonitorOptions {
  /** Deny (true) or only log. Requires the LSM mechanism. */
  enforce: boolean;
  /** Report accesses to every process (host audit), not only protected ones. */
  auditAll: boolean;
  blockEnvironRead?: boolean;
  blockMemRead?: boolean;
  blockPtrace?: boolean;
  /** A tgid whose own accesses are never reported (X00 itself in host audit). */
  ignorePid?: number;
  /** Use the tracepoint fallback when LSM programs are refused. Never with `enforce`. */
  allowFallback: boolean;
  /** What other processes may load while X00 runs (BPF-LSM only; refusals need `enforce`). Default `log`. */
  foreignBpf?: ForeignBpf;
  /** Loaders never refused (still reported): kernel uids and cgroup v2 ids. */
  foreignBpfAllow?: { uids: number[]; cgroupIds: bigint[] };
}

/** `policy.foreign_bpf`: report every foreign BPF program load, and refuse some kinds in enforce mode. */
export type ForeignBpf = "log" | "refuse_tracing" | "refuse_all";

/** `enum x00_foreign_bpf` of bpf/lsm_file_protect.h. */
const FOREIGN_BPF: Record<ForeignBpf, number> = { log: 0, refuse_tracing: 1, refuse_all: 2 };

/** Enforcement could not be established: carries the reason, exit code 3. */
export class ProtectionUnavailableError extends X00Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, exitCode: 3 });
    this.name = "ProtectionUnavailableError";
  }
}

/** Explains a failed LSM load in one line, with the fix. */
export function explainLsmFailure(e: unknown): string {
  let lsm = "";
  try {
    lsm = Deno.readTextFileSync("/sys/kernel/security/lsm").trim();
  } catch {
    lsm = "";
  }
  const listed = lsm.split(",").includes("bpf");
  if (e instanceof BpfError) {
    if (!listed) {
      return `the kernel does not run BPF-LSM programs ('bpf' is not in the LSM list '${
        lsm || "unknown"
      }'): ` +
        `boot with lsm=...,bpf (e.g. GRUB_CMDLINE_LINUX="lsm=lockdown,capability,landlock,yama,apparmor,bpf")`;
    }
    if (e.errno === 1 || e.errno === 13) {
      return `the kernel refused to load BPF-LSM programs (${e.message}) although 'bpf' is in the LSM list ` +
        `'${lsm}': a sandbox or security policy (seccomp, lockdown, a hypervisor) blocks them; run on a host ` +
        `or VM whose kernel permits BPF LSM programs`;
    }
    return `BPF-LSM programs failed to load or attach: ${e.message}`;
  }
  return `BPF-LSM programs failed to load or attach: ${e instanceof Error ? e.message : String(e)}`;
}

/** The `const volatile` settings of the tracepoint fallback for these options. */
export const fallbackRodata = (o: AccessMonitorOptions): Record<string, boolean | number> => ({
  enforce: false,
  audit_all: o.auditAll,
  block_environ_read: o.blockEnvironRead ?? true,
  block_mem_read: o.blockMemRead ?? true,
  block_ptrace: o.blockPtrace ?? true,
  filter_accessor_pid: o.ignorePid ?? 0,
});

/** The `const volatile` settings of the BPF-LSM object for these options (what `x00 run` and the doctor load). */
export const lsmRodata = (o: AccessMonitorOptions): Record<string, boolean | number> => ({
  ...fallbackRodata(o),
  enforce: o.enforce,
  foreign_bpf: FOREIGN_BPF[o.foreignBpf ?? "log"],
});

/**
 * The cheap check before the full BPF-LSM load: asks the kernel to load the smallest `lsm` program, without an
 * object or BTF (ffi/libbpf.ts's `probeProgramLoad`). A kernel that refuses it with EPERM refuses
 * lsm_file_protect the same way (the capability and security checks come before the program is looked at), so
 * this throws the error that load would have thrown and the caller falls back without paying for the full object
 * (~50-130 ms). Any other outcome (on a kernel that runs BPF-LSM: EINVAL, since the probe names no hook) leaves
 * the decision to the full load. It parses no kernel BTF, so it costs well under a millisecond and no memory.
 */
function probeLsm(): void {
  if (probeProgramLoad(BPF_PROG_TYPE_LSM, BPF_LSM_MAC) === EPERM) {
    throw new BpfError("Cannot load BPF object lsm_file_protect", EPERM);
  }
}

const EPERM = 1;

/** `enum x00_object_kind` of bpf/lsm_file_protect.h. */
const OBJ_PROG = 1;
const OBJ_MAP = 2;
const OBJ_LINK = 3;

/** A loaded, attached access monitor. */
export class AccessMonitor {
  readonly object: LoadedObject;
  readonly mechanism: Mechanism;
  /** Why LSM is not in use (fallback only). */
  readonly fallbackReason?: string;

  private constructor(object: LoadedObject, mechanism: Mechanism, fallbackReason?: string) {
    this.object = object;
    this.mechanism = mechanism;
    this.fallbackReason = fallbackReason;
  }

  /**
   * Loads and attaches. With `enforce`, a kernel without usable BPF-LSM is a {@linkcode ProtectionUnavailableError}
   * (fail closed).
   *
   * @example Host audit
   * ```ts ignore
   * const m = await AccessMonitor.start({ enforce: false, auditAll: true, allowFallback: true });
   * ```
   */
  static async start(options: AccessMonitorOptions): Promise<AccessMonitor> {
    let lsm: LoadedObject | undefined;
    try {
      // Only where the fallback may follow: enforce mode keeps a single load on kernels with BPF-LSM.
      if (options.allowFallback && !options.enforce) probeLsm();
      lsm = await LoadedObject.load("lsm_file_protect", { rodata: lsmRodata(options) });
      // The allow-list is in place before the first program runs.
      const one = new Uint8Array([1]);
      for (const uid of options.foreignBpfAllow?.uids ?? []) {
        lsm.map("bpf_allowed_uids").update(new Uint8Array(new Uint32Array([uid]).buffer), one);
      }
      for (const id of options.foreignBpfAllow?.cgroupIds ?? []) {
        lsm.map("bpf_allowed_cgroups").update(new Uint8Array(new BigUint64Array([id]).buffer), one);
      }
      lsm.attachAll();
      return new AccessMonitor(lsm, "lsm");
    } catch (e) {
      lsm?.close();
      const reason = explainLsmFailure(e);
      if (options.enforce || !options.allowFallback) {
        throw new ProtectionUnavailableError(`Cannot establish enforcement: ${reason}`, {
          cause: e,
        });
      }
      const fb = await LoadedObject.load("access_monitor", { rodata: fallbackRodata(options) });
      try {
        fb.attachAll();
      } catch (e2) {
        fb.close();
        throw e2;
      }
      return new AccessMonitor(fb, "tracepoint", reason);
    }
  }

  /**
   * Protects the calling process (by its kernel tgid, right in any pid namespace) as the head of `family`.
   * Children forked afterwards inherit protection in the kernel before they run.
   */
  protectSelf(family: number, supervisor: boolean): number {
    const args = new Uint8Array(new Uint32Array([family, supervisor ? 1 : 0]).buffer);
    return this.object.program("register_self").testRun(args);
  }

  /**
   * Makes this object's programs, maps and links X00's own (BPF-LSM only): from now on no other process gets a
   * file descriptor of one of them by id (`lsm/bpf`); in audit mode such attempts are only logged. Call it
   * after {@linkcode protectSelf}, before any secret is fetched.
   */
  protectObjects(family: number): void {
    if (this.mechanism !== "lsm") return;
    const own = this.object.map("own_objects");
    const value = new Uint8Array(new Uint32Array([family]).buffer);
    const ids: [number, number][] = [
      ...this.object.object.programs().filter((p) => p.fd >= 0).map((p) => [OBJ_PROG, p.id]),
      ...this.object.object.maps().map((m) => [OBJ_MAP, m.id]),
      ...this.object.links.map((l) => [OBJ_LINK, l.id]),
    ] as [number, number][];
    for (const key of ids) own.update(new Uint8Array(new Uint32Array(key).buffer), value);
  }

  /**
   * The file descriptors of this object's links, for the workload to inherit: the links (and so protection)
   * last as long as any holder, so a workload that outlives X00 (SIGKILL, a crash, the OOM killer) stays
   * protected until it exits, and nothing is left behind after it.
   */
  linkFds(): number[] {
    return this.object.links.map((l) => l.fd).filter((fd) => fd >= 0);
  }

  /** Lets only `family` open the memfd `fd` of this process afresh (through /proc/P/fd/N or map_files). */
  protectSecretFd(fd: number, family: number): void {
    const st = Deno.statSync(`/proc/self/fd/${fd}`);
    const key = new DataView(new ArrayBuffer(16));
    key.setBigUint64(0, BigInt(st.ino ?? 0), true);
    key.setUint32(8, userDevToKernel(st.dev), true);
    this.object.map("secret_inodes").update(
      new Uint8Array(key.buffer),
      new Uint8Array(new Uint32Array([family]).buffer),
    );
  }

  /**
   * Makes the listening Unix socket `fd` an agent socket: from now on the kernel records who connects to it and
   * protects them (BPF-LSM only).
   */
  registerAgentSocket(fd: number, family: number): void {
    const ino = Deno.statSync(`/proc/self/fd/${fd}`).ino ?? 0;
    this.object.map("agent_sockets").update(
      new Uint8Array(new BigUint64Array([BigInt(ino)]).buffer),
      new Uint8Array(new Uint32Array([family]).buffer),
    );
  }

  /** Who connected on the accepted agent connection `fd`, as the kernel recorded it (undefined: nobody did). */
  clientIdentity(fd: number): ClientIdentity | undefined {
    const value = new Uint8Array(24);
    const found = this.object.map("client_identity").lookup(
      new Uint8Array(new Int32Array([fd]).buffer),
      value,
    );
    if (!found) return undefined;
    const v = new DataView(value.buffer);
    return {
      cgroupId: v.getBigUint64(0, true),
      tgid: v.getUint32(8, true),
      uid: v.getUint32(12, true),
      gid: v.getUint32(16, true),
      family: v.getUint32(20, true),
    };
  }

  /** Removes the protection of tgid `pid` (a client the agent refused). */
  unprotect(pid: number): void {
    this.object.map("protected").delete(new Uint8Array(new Uint32Array([pid]).buffer));
  }

  /** Whether tgid `pid` is currently protected. */
  isProtected(pid: number): boolean {
    return this.object.map("protected").lookup(
      new Uint8Array(new Uint32Array([pid]).buffer),
      new Uint8Array(8),
    );
  }

  /** Records dropped by the kernel so far. */
  lostEvents(): bigint {
    return this.object.readCounter("lost_events");
  }

  /** Detaches and unloads. Idempotent. */
  close(): void {
    this.object.close();
  }

  /** Detaches (links concurrently) and unloads. Idempotent. */
  closeAsync(): Promise<void> {
    return this.object.closeAsync();
  }
}

/** Converts a user-space st_dev (new_encode_dev) to the kernel's internal dev_t (MKDEV: major << 20 | minor). */
export function userDevToKernel(dev: number): number {
  const major = (dev >>> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
  return ((major << 20) | minor) >>> 0;
}
