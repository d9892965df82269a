/**
 * Retry policy of the Vault client: which answers are retried, exponential backoff with jitter, `Retry-After`.
 *
 * @module
 */

import { DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS } from "./defaults.ts";

/** How requests are retried. */
export interface RetryOptions {
  /** Retries after the first attempt (Vault's `VAULT_MAX_RETRIES`; default 2, so 3 attempts). */
  maxRetries: number;
  /** First backoff delay in milliseconds. Default 250. */
  minDelayMs?: number;
  /** Largest backoff delay in milliseconds. Default 5000. */
  maxDelayMs?: number;
  /**
   * Time budget in milliseconds for all attempts of one request, waits included. A wait that would end past the
   * budget (a long `Retry-After`, for example) is not started. Default 60000.
   */
  maxElapsedMs?: number;
}

/** Default values of {@linkcode RetryOptions}. */
export const DEFAULT_RETRY: Required<RetryOptions> = {
  maxRetries: DEFAULT_MAX_RETRIES,
  minDelayMs: 250,
  maxDelayMs: 5000,
  maxElapsedMs: DEFAULT_TIMEOUT_MS,
};

/**
 * Whether an HTTP status from Vault is worth retrying: 412 (a standby has not caught up yet), 429 (rate limit
 * quota) and 5xx (sealed, standby, internal errors), except 501 (not initialized, which no retry fixes).
 *
 * @example Usage
 * ```ts
 * import { isRetryableStatus } from "./retry.ts";
 * console.assert(isRetryableStatus(503) && !isRetryableStatus(403));
 * ```
 */
export function isRetryableStatus(status: number): boolean {
  return status === 412 || status === 429 || (status >= 500 && status <= 599 && status !== 501);
}

/**
 * The backoff delay before retry number `attempt` (0 for the first retry): exponential from `minDelayMs`, capped
 * at `maxDelayMs`, with "equal jitter" (a random value between half and all of it) so that many clients that
 * failed together do not come back together.
 *
 * @example Usage
 * ```ts
 * import { backoffDelay } from "./retry.ts";
 * const d = backoffDelay(2, { maxRetries: 5, minDelayMs: 100, maxDelayMs: 1000 }, () => 1);
 * console.assert(d === 400);
 * ```
 */
export function backoffDelay(
  attempt: number,
  options: RetryOptions,
  random: () => number = Math.random,
): number {
  const min = options.minDelayMs ?? DEFAULT_RETRY.minDelayMs;
  const max = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const exp = Math.min(max, min * 2 ** attempt);
  return Math.round(exp / 2 + (exp / 2) * random());
}

/**
 * Parses a `Retry-After` header (delay in seconds, or an HTTP date) into milliseconds from `now`.
 * Returns `undefined` when the header is absent or unreadable.
 *
 * @example Usage
 * ```ts
 * import { parseRetryAfter } from "./retry.ts";
 * console.assert(parseRetryAfter("2") === 2000);
 * ```
 */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Waits `ms` milliseconds unless `signal` aborts first (then rejects with the signal's reason).
 *
 * @example Usage
 * ```ts
 * import { sleep } from "./retry.ts";
 * await sleep(1);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(id);
      reject(signal?.reason);
    };
    const id = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
