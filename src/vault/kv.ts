/**
 * Reading secrets: KV v2 (`<mount>/data/<path>`, latest or a pinned version), KV v1 (`<mount>/<path>`) and leased
 * (dynamic) secrets such as `database/creds/<role>`.
 *
 * @module
 */

import type { VaultRequester } from "./types.ts";
import { VaultError } from "./errors.ts";

/** Metadata of a KV v2 version. */
export interface KvV2Metadata {
  version: number;
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
  custom_metadata?: Record<string, string> | null;
}

/** A KV v2 secret version. */
export interface KvV2Secret {
  /** Key -> value (values are usually strings). Secret: never log. */
  data: Record<string, unknown>;
  metadata: KvV2Metadata;
}

/** A KV v1 secret. */
export interface KvV1Secret {
  /** Key -> value. Secret: never log. */
  data: Record<string, unknown>;
}

/** A secret with a lease (dynamic secrets). */
export interface LeasedSecret {
  /** Key -> value. Secret: never log. */
  data: Record<string, unknown>;
  /** The lease id, used to renew (`sys/leases/renew`) or revoke it. */
  leaseId: string;
  /** Lease TTL in seconds (0: no lease). */
  leaseDurationS: number;
  renewable: boolean;
}

/** Options of the read functions. */
export interface ReadOptions {
  /** Aborts the read. */
  signal?: AbortSignal;
}

function joinPath(...parts: string[]): string {
  return parts.map((p) => p.replace(/^\/+|\/+$/g, "")).filter((p) => p !== "").join("/");
}

/**
 * Reads a KV v2 secret: `GET <mount>/data/<path>[?version=N]`. A deleted or destroyed version is reported as a
 * `not_found` {@linkcode VaultError} that says so.
 *
 * @example Usage
 * ```ts ignore
 * import { readKvV2 } from "./kv.ts";
 * const s = await readKvV2(client, "secret", "app/db", { version: 3 });
 * console.log(s.metadata.version);
 * ```
 */
export async function readKvV2(
  client: VaultRequester,
  mount: string,
  path: string,
  options: ReadOptions & { version?: number } = {},
): Promise<KvV2Secret> {
  const full = joinPath(mount, "data", path);
  const query: Record<string, string> = {};
  if (options.version !== undefined) query.version = String(options.version);
  const res = await client.read<{ data?: unknown; metadata?: Partial<KvV2Metadata> }>(full, {
    query,
    allowNotFound: true,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const meta = res.data?.metadata;
  const which = options.version !== undefined
    ? `version ${options.version} of '${full}'`
    : `'${full}'`;
  if (
    meta &&
    (meta.destroyed === true ||
      (typeof meta.deletion_time === "string" && meta.deletion_time !== ""))
  ) {
    throw new VaultError(
      `Cannot read ${which} in Vault: the version was ${
        meta.destroyed ? "destroyed" : `deleted at ${meta.deletion_time}`
      } (HTTP 404)`,
      { kind: "not_found", status: 404, path: full },
    );
  }
  const data = res.data?.data;
  if (res.data === null || data === null || data === undefined) {
    throw new VaultError(
      `Cannot read ${which} in Vault: not found (HTTP 404): no secret at this path`,
      {
        kind: "not_found",
        status: 404,
        path: full,
      },
    );
  }
  if (
    typeof data !== "object" || Array.isArray(data) || !meta || typeof meta.version !== "number"
  ) {
    throw new VaultError(
      `Cannot read ${which} in Vault: the answer is not a KV v2 secret (is '${mount}' a KV version 1 mount?)`,
      { kind: "invalid_response", path: full },
    );
  }
  return {
    data: data as Record<string, unknown>,
    metadata: {
      version: meta.version,
      created_time: meta.created_time ?? "",
      deletion_time: meta.deletion_time ?? "",
      destroyed: meta.destroyed ?? false,
      custom_metadata: meta.custom_metadata ?? null,
    },
  };
}

/**
 * Reads a KV v1 secret: `GET <mount>/<path>`.
 *
 * @example Usage
 * ```ts ignore
 * import { readKvV1 } from "./kv.ts";
 * const s = await readKvV1(client, "kv", "app/db");
 * console.log(Object.keys(s.data));
 * ```
 */
export async function readKvV1(
  client: VaultRequester,
  mount: string,
  path: string,
  options: ReadOptions = {},
): Promise<KvV1Secret> {
  const full = joinPath(mount, path);
  const res = await client.read(full, options.signal ? { signal: options.signal } : {});
  if (res.data === null) {
    throw new VaultError(`Cannot read '${full}' in Vault: the answer has no data`, {
      kind: "invalid_response",
      path: full,
    });
  }
  return { data: res.data };
}

/**
 * Reads a leased secret (a dynamic secret such as `database/creds/<role>`): each read issues new credentials
 * with their own lease.
 *
 * @example Usage
 * ```ts ignore
 * import { readLeased } from "./kv.ts";
 * const creds = await readLeased(client, "database/creds/readonly");
 * console.log(creds.leaseDurationS, creds.renewable);
 * ```
 */
export async function readLeased(
  client: VaultRequester,
  path: string,
  options: ReadOptions = {},
): Promise<LeasedSecret> {
  const full = joinPath(path);
  const res = await client.read(full, options.signal ? { signal: options.signal } : {});
  if (res.data === null) {
    throw new VaultError(`Cannot read '${full}' in Vault: the answer has no data`, {
      kind: "invalid_response",
      path: full,
    });
  }
  return {
    data: res.data,
    leaseId: res.lease_id,
    leaseDurationS: res.lease_duration,
    renewable: res.renewable,
  };
}
