/**
 * Drains ring buffers without blocking Deno's event loop: a `nonblocking` epoll_wait on a worker thread, then a
 * synchronous consume (ffi/libbpf.ts's `RingBuffer`) whose handlers run on the main thread.
 *
 * @module
 */
import { type BpfMap, RingBuffer, type RingBufferHandler } from "./libbpf.ts";
import { epollWait } from "../../ffi/libc.ts";

/** Options of {@linkcode EventLoop.run}. */
export interface RunOptions {
  /** Stops the loop (after at most `pollMs`). */
  signal: AbortSignal;
  /** Longest wait in one epoll_wait, in ms. Default 100. */
  pollMs?: number;
  /** Called about once per `tickMs` (default 1000) — e.g. to check lost-event counters. */
  onTick?: () => void;
  tickMs?: number;
  /**
   * While records keep arriving, consume every `batchMs` ms instead of per wake-up. Default 50: a wake-up of
   * Deno's event loop costs 150-300 µs of CPU on a loaded 2-vCPU host, about 20 records' decoding
   * (bench/RESULTS.md, "Issue 12 (branch consumer)"), and JSON output is only flushed every `tickMs` anyway.
   * A drain that found more than 1/8 of a ring buffer waiting is followed by the next at once.
   */
  batchMs?: number;
}

/** Several ring buffer maps consumed together. */
export class EventLoop {
  readonly #ring = new RingBuffer();
  #count = 0;

  /** Adds a ring buffer map and the handler for its records (records are only valid during the call). */
  add(map: BpfMap, handler: RingBufferHandler): void {
    this.#ring.add(map, handler);
    this.#count++;
  }

  /** Consumes what is waiting now; returns the number of records. */
  drain(): number {
    return this.#count === 0 ? 0 : this.#ring.consume();
  }

  /**
   * Runs until `signal` aborts, then drains what is left. While records keep coming, the loop consumes every
   * `batchMs` instead of waking up for each record (a wake-up costs far more than a record); when the buffers run
   * dry it goes back to waiting on epoll, so an idle monitor costs nothing and the first event is seen at once.
   */
  async run(options: RunOptions): Promise<void> {
    const { signal, pollMs = 100, onTick, tickMs = 1000, batchMs = 50 } = options;
    if (this.#count === 0) {
      await new Promise<void>((resolve) =>
        signal.addEventListener("abort", () => resolve(), { once: true })
      );
      return;
    }
    const fd = this.#ring.epollFd;
    let nextTick = Date.now() + tickMs;
    let busy = false;
    let full = false;
    // Stopping does not wait for an epoll_wait in flight (up to pollMs): the final consume below drains.
    const aborted = new Promise<void>((r) =>
      signal.addEventListener("abort", () => r(), { once: true })
    );
    while (!signal.aborted) {
      if (busy) await new Promise((r) => setTimeout(r, full ? 0 : batchMs));
      else await Promise.race([epollWait(fd, pollMs), aborted]);
      busy = this.#ring.consume() > 0;
      full = this.#ring.lastFill > 1 / 8;
      if (onTick && Date.now() >= nextTick) {
        onTick();
        nextTick = Date.now() + tickMs;
      }
    }
    this.#ring.consume();
    onTick?.();
  }

  /** Frees the ring buffer. Idempotent. */
  free(): void {
    this.#ring.free();
  }
}
