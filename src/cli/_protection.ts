/**
 * What `x00 run` and `x00 agent` share to protect themselves and their workloads: the access monitor's options
 * derived from a policy (with `foreign_bpf_allow.cgroups` resolved to cgroup v2 ids; a missing cgroup is a usage
 * error naming the field), and {@linkcode Protection}, the start-up sequence both follow.
 *
 * @module
 */
import { getpid, PR_SET_DUMPABLE, prctl, RLIMIT_CORE, setrlimit } from "../../ffi/libc.ts";
import { UsageError, X00Error } from "../errors.ts";
import { decodeAccessEvent, procInfo } from "../events/access_event.ts";
import { nowRfc3339 } from "../events/time.ts";
import type { AuditEvent } from "../events/types.ts";
import type { Mode, Policy } from "../policy/types.ts";
import { AccessMonitor, type AccessMonitorOptions } from "../protect/access_monitor.ts";
import { EventLoop } from "../protect/event_loop.ts";
import { cgroupId } from "../protect/kernel_fs.ts";
import { dropMainThreadCapabilities } from "../workload/credentials.ts";

/** The access monitor's options for `policy` in enforce or audit mode. */
export function monitorOptions(
  policy: Policy,
  enforce: boolean,
  allowFallback: boolean,
): AccessMonitorOptions {
  const cgroupIds = policy.policy.foreign_bpf_allow.cgroups.map((path, i) => {
    try {
      return cgroupId(path);
    } catch (e) {
      throw new UsageError(
        `${policy.file}: policy.foreign_bpf_allow.cgroups[${i}]: ${(e as Error).message}`,
      );
    }
  });
  return {
    enforce,
    auditAll: false,
    blockEnvironRead: policy.policy.block_environ_read,
    blockMemRead: policy.policy.block_mem_read,
    blockPtrace: policy.policy.block_ptrace,
    allowFallback,
    foreignBpf: policy.policy.foreign_bpf,
    foreignBpfAllow: { uids: policy.policy.foreign_bpf_allow.uids, cgroupIds },
  };
}

/** Options of {@linkcode Protection.start}. */
export interface ProtectionStartOptions {
  /** From {@linkcode monitorOptions}. */
  monitor: AccessMonitorOptions;
  /** `enforce` or `audit`, for events. */
  mode: Mode;
  /** Names the process in the error when the kernel does not register it (`x00`, `x00 agent`). */
  who: string;
  /** Capabilities the main thread keeps beyond CAP_BPF, CAP_SYS_PTRACE and the default set (workload caps). */
  keepCapabilities?: bigint;
  /** Receives access events and the `protection` event. */
  emit: (e: AuditEvent) => void;
  /** Status lines. */
  log: (line: string) => void;
}

/**
 * The kernel side of `x00 run` and `x00 agent`, started in one order: load and attach the access monitor, protect
 * this process (supervisor flag) and its BPF objects, drop what only loading needed from the main thread, turn
 * off core dumps, then stream access events (a failing stream is reported and retried each second: the kernel
 * keeps enforcing) and emit `protection: established`. Anything failing on the way closes what was opened.
 */
export class Protection {
  /** The loaded monitor. */
  readonly monitor: AccessMonitor;
  /** This process's tgid: the protection family of what it protects. */
  readonly family: number;
  /** This process's tgid as the kernel sees it (differs from `family` in another pid namespace). */
  kernelPid = 0;
  readonly #loop: EventLoop;
  readonly #stop = new AbortController();
  #done: Promise<void> = Promise.resolve();

  private constructor(monitor: AccessMonitor, family: number, loop: EventLoop) {
    this.monitor = monitor;
    this.family = family;
    this.#loop = loop;
  }

  /** Starts protection. */
  static async start(o: ProtectionStartOptions): Promise<Protection> {
    const monitor = await AccessMonitor.start(o.monitor);
    const loop = new EventLoop();
    const p = new Protection(monitor, getpid(), loop);
    try {
      p.kernelPid = monitor.protectSelf(p.family, true);
      if (p.kernelPid === 0) {
        throw new X00Error(`Cannot protect ${o.who} itself: the kernel did not register it`);
      }
      // Its programs, maps and links are this process's own from here on: no other process gets a descriptor.
      monitor.protectObjects(p.family);
      // Loaded and attached: what only loading needed (CAP_SYS_ADMIN, CAP_PERFMON, ...) leaves the main thread.
      dropMainThreadCapabilities(o.keepCapabilities);
      prctl(PR_SET_DUMPABLE, 0n); // it holds secrets and credentials: no core dumps, root-owned /proc entries
      setrlimit(RLIMIT_CORE, 1n); // 1 = no core dump at all, not even to a pipe; inherited by the workload
      loop.add(
        monitor.object.map("access_events"),
        (d) => o.emit(decodeAccessEvent(d, { mode: o.mode, enrich: procInfo })),
      );
    } catch (e) {
      loop.free();
      await monitor.closeAsync();
      throw e;
    }
    p.#done = (async () => {
      while (!p.#stop.signal.aborted) {
        try {
          await loop.run({ signal: p.#stop.signal });
        } catch (e) {
          o.log(
            `x00: audit event stream failed (enforcement continues): ${
              e instanceof Error ? e.message : e
            }`,
          );
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
    o.emit({
      type: "protection",
      time: nowRfc3339(),
      state: "established",
      mode: o.mode,
      mechanism: monitor.mechanism,
      pid: p.family,
      reason: monitor.fallbackReason,
    });
    return p;
  }

  /** Stops the event stream and unloads the monitor (protection ends). */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#done;
    this.#loop.free();
    await this.monitor.closeAsync();
  }
}
