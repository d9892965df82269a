/**
 * The interface every secret source implements (file, env, vault). Delivery and protection only see
 * {@linkcode FetchedSecret}: adding a source never touches them.
 *
 * @module
 */

/** The values of one secret entry, keyed by key name (`""` for single-value sources). */
export interface FetchedSecret {
  /** Key -> value bytes. The caller zeroes them after delivery. */
  values: Map<string, Uint8Array>;
  /** A version marker (KV v2 version, lease id) used to detect rotation; absent when the source has none. */
  version?: string;
}

/** Options for {@linkcode SecretSource.fetch}. */
export interface FetchOptions {
  /** Aborts the fetch. */
  signal?: AbortSignal;
}

/** A source of one secret entry. */
export interface SecretSource {
  /** The secret entry's name (for messages; never the value). */
  readonly name: string;
  /** Fetch the current values. Throws an `X00Error` naming the entry and the reason, never the value. */
  fetch(options?: FetchOptions): Promise<FetchedSecret>;
  /** Release timers, leases and connections. */
  close?(): Promise<void>;
}

/** Overwrites every value with zeroes. */
export function zeroSecret(secret: FetchedSecret): void {
  for (const v of secret.values.values()) v.fill(0);
}
