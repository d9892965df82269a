/**
 * Leases of dynamic secrets: renewal through `sys/leases/renew`, and a {@linkcode LeaseKeeper} that renews a
 * lease at two thirds of its TTL and says when the secret must be issued again (max TTL reached, renewal
 * refused, lease not renewable).
 *
 * @module
 */

import type { Logger, VaultRequester } from "./types.ts";
import { VaultError } from "./errors.ts";
import { RenewalSchedule, twoThirds } from "./_renewal.ts";

/** A lease after renewal. */
export interface RenewedLease {
  leaseId: string;
  /** New TTL in seconds, possibly capped by the max TTL. */
  leaseDurationS: number;
  renewable: boolean;
}

/**
 * Renews a lease: `PUT sys/leases/renew` with `lease_id` and `increment` (seconds).
 *
 * @example Usage
 * ```ts ignore
 * import { renewLease } from "./lease.ts";
 * const r = await renewLease(client, "database/creds/readonly/abcd", 3600);
 * console.log(r.leaseDurationS);
 * ```
 */
export async function renewLease(
  client: VaultRequester,
  leaseId: string,
  incrementS: number,
  options: { signal?: AbortSignal } = {},
): Promise<RenewedLease> {
  const res = await client.request("PUT", "sys/leases/renew", {
    body: { lease_id: leaseId, increment: incrementS },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return {
    leaseId: res.lease_id || leaseId,
    leaseDurationS: res.lease_duration,
    renewable: res.renewable,
  };
}

/** Why a leased secret must be issued again. */
export type ReissueReason = "max_ttl" | "renewal_refused" | "not_renewable" | "expired";

/** Options of {@linkcode LeaseKeeper}. */
export interface LeaseKeeperOptions {
  /** Called once when the secret must be issued again; the keeper stops. */
  onReissue: (reason: ReissueReason) => void;
  /** Called after each successful renewal. */
  onRenewed?: (lease: RenewedLease) => void;
  /** For messages: the secret's name or path (never a value). */
  label: string;
  logger?: Logger;
}

/** A lease to keep. */
export interface LeaseInfo {
  leaseId: string;
  leaseDurationS: number;
  renewable: boolean;
}

/**
 * Keeps one lease alive. Renews at two thirds of the TTL with the original TTL as increment; when Vault gives
 * back less than asked (max TTL), calls `onReissue("max_ttl")` at two thirds of what is left; when Vault refuses
 * (`lease not found`, not renewable, permission denied), calls `onReissue("renewal_refused")` at once; transient
 * failures are retried with backoff until the lease expires (`onReissue("expired")`).
 *
 * @example Usage
 * ```ts ignore
 * import { LeaseKeeper } from "./lease.ts";
 * const keeper = new LeaseKeeper(client, { leaseId, leaseDurationS: 3600, renewable: true }, {
 *   label: "db",
 *   onReissue: (why) => console.log("issue new credentials:", why),
 * });
 * keeper.start();
 * ```
 */
export class LeaseKeeper {
  #client: VaultRequester;
  #lease: LeaseInfo;
  #options: LeaseKeeperOptions;
  #logger: Logger;
  #schedule = new RenewalSchedule();
  #increment: number;

  constructor(client: VaultRequester, lease: LeaseInfo, options: LeaseKeeperOptions) {
    this.#client = client;
    this.#lease = lease;
    this.#options = options;
    this.#logger = options.logger ?? (() => {});
    this.#schedule.expiresAt = Date.now() + lease.leaseDurationS * 1000;
    this.#increment = lease.leaseDurationS;
  }

  /** When the lease expires (ms since the epoch). */
  get expiresAt(): number {
    return this.#schedule.expiresAt;
  }

  /** Starts the renewal schedule. A lease of 0 s (no lease) needs nothing. */
  start(): void {
    if (this.#lease.leaseDurationS <= 0) return;
    const at = twoThirds(this.#lease.leaseDurationS);
    if (!this.#lease.renewable || this.#lease.leaseId === "") {
      this.#schedule.at(at, () => this.#reissue("not_renewable"));
    } else {
      this.#schedule.at(at, () => this.#renew());
    }
  }

  /** Stops renewing (the lease is left to expire in Vault). */
  stop(): void {
    this.#schedule.stop();
  }

  #reissue(reason: ReissueReason): void {
    if (this.#schedule.stopped) return;
    this.stop();
    this.#options.onReissue(reason);
  }

  async #renew(): Promise<void> {
    const label = this.#options.label;
    try {
      const r = await renewLease(this.#client, this.#lease.leaseId, this.#increment);
      if (this.#schedule.stopped) return;
      this.#options.onRenewed?.(r);
      const capped = this.#schedule.granted(
        r.leaseDurationS,
        this.#increment,
        () => this.#renew(),
        () => this.#reissue("max_ttl"),
      );
      if (capped) {
        this.#logger(
          "info",
          `Lease of '${label}' renewed for ${r.leaseDurationS} s only (max TTL reached); new credentials will be ` +
            "issued before it expires",
        );
      } else {
        this.#logger("debug", `Lease of '${label}' renewed for ${r.leaseDurationS} s`);
      }
    } catch (err) {
      if (this.#schedule.stopped) return;
      const outcome = this.#schedule.failed(err);
      const message = err instanceof VaultError ? err.message : "unknown error";
      if (outcome.next === "refused") {
        this.#logger(
          "warn",
          `Vault refused to renew the lease of '${label}' (${message}); issuing new credentials`,
        );
        this.#reissue("renewal_refused");
      } else if (outcome.next === "expired") {
        this.#logger(
          "warn",
          `The lease of '${label}' expired while renewal kept failing; issuing new credentials`,
        );
        this.#reissue("expired");
      } else {
        this.#logger(
          "warn",
          `Cannot renew the lease of '${label}': ${message}; retrying in ${
            Math.round(outcome.delayMs)
          } ms`,
        );
        this.#schedule.at(outcome.delayMs, () => this.#renew());
      }
    }
  }
}
