/**
 * The processes `x00 agent` has served and can still reach: each sent a pidfd of itself with its request, so the
 * agent can signal it across pid namespaces when a secret it holds changes (`rotation.on_change`), without a
 * shared pid namespace. Entries go when their process exits.
 *
 * @module
 */
import { close, pidfdSendSignal, waitReadable } from "../../ffi/libc.ts";
import type { RotationConfig } from "../policy/types.ts";
import { signalNumber } from "../workload/supervisor.ts";

/** One served process. */
export interface ServedProcess {
  /** Kernel tgid (for events). */
  pid: number;
  /** The client entry it was served as. */
  client: string;
  /** The secrets it received. */
  secrets: ReadonlySet<string>;
  /** A pidfd of it, owned by this registry. */
  pidfd: number;
}

/** What a rotation did to one process. */
export interface RotationAction {
  pid: number;
  client: string;
  action: "stopped" | "killed" | "signalled" | "gone";
}

/** The registry. */
export class ServedProcesses {
  readonly #entries = new Set<ServedProcess & { done: Promise<void> }>();
  #closed = false;

  /** Adds `p` and forgets it (closing its pidfd) when it exits. */
  add(p: ServedProcess): void {
    const entry = { ...p, done: Promise.resolve() };
    this.#entries.add(entry);
    entry.done = (async () => {
      try {
        while (!this.#closed && !(await waitReadable(p.pidfd, 1000))) {
          // a pidfd becomes readable when its process exits
        }
      } finally {
        this.#entries.delete(entry);
        close(p.pidfd);
      }
    })();
  }

  /** How many are alive. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Applies `rotation.on_change` to every process holding `secret`: `restart` sends `stop_signal`, waits
   * `grace_period` and then SIGKILLs (its container runtime starts it again, and `x00 exec` fetches the new
   * value); `signal` sends `signal`; `none` does nothing.
   */
  async rotate(secret: string, rotation: RotationConfig): Promise<RotationAction[]> {
    const targets = [...this.#entries].filter((e) => e.secrets.has(secret));
    if (rotation.on_change === "none") return [];
    return await Promise.all(targets.map(async (e): Promise<RotationAction> => {
      const base = { pid: e.pid, client: e.client };
      if (rotation.on_change === "signal") {
        return {
          ...base,
          action: pidfdSendSignal(e.pidfd, signalNumber(rotation.signal)) ? "signalled" : "gone",
        };
      }
      if (!pidfdSendSignal(e.pidfd, signalNumber(rotation.stop_signal))) {
        return { ...base, action: "gone" };
      }
      if (await waitReadable(e.pidfd, rotation.grace_period_ms)) {
        return { ...base, action: "stopped" };
      }
      pidfdSendSignal(e.pidfd, 9);
      return { ...base, action: "killed" };
    }));
  }

  /** Stops watching; closes every pidfd (within a second). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#entries].map((e) => e.done));
  }
}
