/**
 * {@linkcode VaultRotationWatcher}: after start-up, tells the supervisor when the values a Vault entry delivers
 * changed (KV polling; leases and certificates report through their sources).
 *
 * @module
 */

import { VaultSourceError, wrap } from "./errors.ts";
import { cloneSecret, type VaultSecretSource, type VaultSourceEvent } from "./source.ts";
import { zeroSecret } from "../source.ts";
import { type Logger } from "../../vault/mod.ts";

/** An event of the {@linkcode VaultRotationWatcher}: the same as a source's. */
export type RotationEvent = VaultSourceEvent;

/** Options of {@linkcode VaultRotationWatcher}. */
export interface RotationWatcherOptions {
  /** Milliseconds between KV checks (`rotation.poll_interval_ms`). */
  pollIntervalMs: number;
  logger?: Logger;
}

/**
 * Watches Vault entries after start-up and emits `changed` when the values an entry delivers changed (a new KV v2
 * version with different values, a changed KV v1 value, re-issued dynamic credentials) and `error` when a check
 * fails (the workload keeps its values; checks go on). Unchanged values never produce an event.
 *
 * The baseline is what each source's last `fetch()` returned: call {@linkcode start} after the initial fetch.
 *
 * @example Usage
 * ```ts ignore
 * const watcher = new VaultRotationWatcher(sources, { pollIntervalMs: policy.rotation.poll_interval_ms });
 * const stop = watcher.subscribe((e) => {
 *   if (e.type === "changed") { restartWith(e.name, e.secret); }
 * });
 * watcher.start();
 * ```
 */
export class VaultRotationWatcher {
  #sources: VaultSecretSource[] = [];
  #listeners = new Set<(e: RotationEvent) => void>();
  #unsubscribe: (() => void)[] = [];
  #options: RotationWatcherOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #round: Promise<void> | undefined;
  #abort = new AbortController();

  constructor(sources: readonly VaultSecretSource[], options: RotationWatcherOptions) {
    this.#options = options;
    for (const s of sources) this.add(s);
  }

  /** The sources watched. */
  get sources(): readonly VaultSecretSource[] {
    return this.#sources;
  }

  /** Adds a source to watch. */
  add(source: VaultSecretSource): void {
    if (this.#sources.includes(source)) return;
    this.#sources.push(source);
    this.#unsubscribe.push(source.subscribe((e) => this.#emit(e)));
  }

  /** Registers a listener; returns a function that removes it. Listeners own the values of `changed` events. */
  subscribe(listener: (e: RotationEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts periodic KV checks (dynamic entries report through their leases at any time). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#scheduleNext();
  }

  /** Checks every polled entry now (concurrently); resolves when done. */
  pollNow(): Promise<void> {
    if (this.#round !== undefined) return this.#round;
    const round = (async () => {
      const polled = this.#sources.filter((s) => s.rotation === "poll");
      const results = await Promise.allSettled(polled.map((s) => s.poll(this.#abort.signal)));
      results.forEach((r, i) => {
        const source = polled[i]!;
        if (r.status === "fulfilled") {
          if (r.value !== undefined) this.#emit(r.value);
        } else if (!this.#abort.signal.aborted) {
          const error = r.reason instanceof VaultSourceError
            ? r.reason
            : wrap(source.name, r.reason);
          this.#options.logger?.("warn", `${error.message}; the workload keeps its current values`);
          this.#emit({ type: "error", name: source.name, error });
        }
      });
    })();
    this.#round = round.finally(() => this.#round = undefined);
    return this.#round;
  }

  /** Stops checking and closes the sources' lease keeping. */
  async close(): Promise<void> {
    this.#running = false;
    this.#abort.abort();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const u of this.#unsubscribe) u();
    await this.#round?.catch(() => {});
    this.#listeners.clear();
  }

  #scheduleNext(): void {
    if (!this.#running) return;
    const timer = setTimeout(() => {
      this.pollNow().finally(() => this.#scheduleNext());
    }, this.#options.pollIntervalMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #emit(e: RotationEvent): void {
    const listeners = [...this.#listeners];
    if (e.type === "changed" && listeners.length === 0) {
      zeroSecret(e.secret);
      return;
    }
    listeners.forEach((l, i) => {
      const ev: RotationEvent = e.type === "changed" && i < listeners.length - 1
        ? { ...e, secret: cloneSecret(e.secret) }
        : e;
      try {
        l(ev);
      } catch {
        this.#options.logger?.("error", "A rotation listener failed");
      }
    });
  }
}
