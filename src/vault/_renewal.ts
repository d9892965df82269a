/**
 * The renewal schedule that tokens (`TokenManager`) and leases (`LeaseKeeper`) share: renew at two thirds of the
 * TTL; when Vault gives back less than asked, replace the credential before what is left runs out; when Vault
 * refuses, replace it at once; on a transient failure, retry with backoff (within half of what is left) until it
 * expires. What "renew" and "replace" do is the caller's.
 *
 * @module
 */
import { VaultError } from "./errors.ts";
import { backoffDelay } from "./retry.ts";

/** What the schedule does next after a renewal failed. */
export type FailureOutcome =
  | { next: "refused"; kind: string }
  | { next: "expired" }
  | { next: "retry"; delayMs: number };

/** Vault refusals of a renewal: no retry can help, the credential must be replaced. */
const REFUSED = new Set(["permission_denied", "bad_request", "not_found"]);

/** One credential's timer, expiry and failure count. */
export class RenewalSchedule {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #failures = 0;
  /** When the credential expires (ms since the epoch), 0 when unknown or never. */
  expiresAt = 0;

  /** Whether {@linkcode stop} was called. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Runs `fn` in `ms` (replacing what was scheduled); nothing once stopped. The timer does not keep Deno alive. */
  at(ms: number, fn: () => Promise<void> | void): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#stopped) Promise.resolve(fn()).catch(() => {});
    }, Math.max(0, ms));
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Forgets earlier failures (a new credential was obtained). */
  reset(): void {
    this.#failures = 0;
  }

  /** The next backoff delay (ms) after one more failure, at least `minDelayMs`. */
  backoff(minDelayMs?: number): number {
    return backoffDelay(this.#failures++, {
      maxRetries: 0,
      maxDelayMs: 30_000,
      ...(minDelayMs !== undefined ? { minDelayMs } : {}),
    });
  }

  /** Cancels what was scheduled and everything later. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * A renewal (or a new credential) granted `grantedS` seconds of the `requestedS` asked: records the expiry and
   * schedules `renew` at two thirds of the TTL, or `replace` there when Vault capped it (max TTL; at once when
   * nothing is left). Returns whether it was capped.
   */
  granted(
    grantedS: number,
    requestedS: number,
    renew: () => Promise<void> | void,
    replace: () => Promise<void> | void,
  ): boolean {
    this.#failures = 0;
    this.expiresAt = Date.now() + grantedS * 1000;
    const capped = grantedS < requestedS;
    this.at(twoThirds(grantedS), capped ? replace : renew);
    return capped;
  }

  /** Classifies a failed renewal: refused by Vault, expired meanwhile, or worth a retry after `delayMs`. */
  failed(err: unknown): FailureOutcome {
    if (err instanceof VaultError && REFUSED.has(err.kind)) {
      return { next: "refused", kind: err.kind };
    }
    const remaining = this.expiresAt - Date.now();
    if (this.expiresAt > 0 && remaining <= 0) return { next: "expired" };
    const backoff = this.backoff();
    return {
      next: "retry",
      delayMs: this.expiresAt > 0 ? Math.min(backoff, remaining / 2) : backoff,
    };
  }
}

/** Two thirds of a TTL in seconds, in milliseconds, with up to 10% jitter downwards. */
export function twoThirds(seconds: number): number {
  return seconds * 1000 * (2 / 3) * (0.9 + 0.1 * Math.random());
}
