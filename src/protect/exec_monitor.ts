/**
 * The exec monitor: loads exec_monitor.bpf.o (tp_btf sched_process_exec/fork/exit) and attaches it.
 *
 * @module
 */
import { LoadedObject } from "./loaded_object.ts";

/** Options of {@linkcode ExecMonitor.start}. */
export interface ExecMonitorOptions {
  /** Also report forks and exits (process ancestry). */
  forkExit?: boolean;
  /** Only report this cgroup v2 id. */
  cgroupId?: bigint;
  /** Ring buffer size in bytes (power of two). Default: as compiled (1 MiB, ~9,300 short execs). */
  ringBufferBytes?: number;
}

/** A loaded, attached exec monitor. */
export class ExecMonitor {
  readonly object: LoadedObject;

  private constructor(object: LoadedObject) {
    this.object = object;
  }

  /**
   * Loads and attaches the exec monitor.
   *
   * @example Usage
   * ```ts ignore
   * const m = await ExecMonitor.start({ forkExit: false });
   * loop.add(m.object.map("events"), (d) => console.log(decodeExecEvent(d)));
   * ```
   */
  static async start(options: ExecMonitorOptions = {}): Promise<ExecMonitor> {
    const object = await LoadedObject.load("exec_monitor", {
      rodata: {
        emit_fork_exit: options.forkExit ?? false,
        filter_cgroup_id: options.cgroupId ?? 0n,
      },
      ringBufferBytes: options.ringBufferBytes ? { events: options.ringBufferBytes } : undefined,
    });
    try {
      object.attachAll();
    } catch (e) {
      object.close();
      throw e;
    }
    return new ExecMonitor(object);
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
