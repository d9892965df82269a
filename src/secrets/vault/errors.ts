/**
 * {@linkcode VaultSourceError}: a Vault secret entry could not be fetched, named by entry, path and reason (exit
 * code 5), built from the typed fields of the client's `VaultError`.
 *
 * @module
 */

import { ExitCode, X00Error } from "../../errors.ts";
import { VaultError, type VaultErrorKind } from "../../vault/mod.ts";

/**
 * An error fetching a Vault secret entry. Names the entry, the Vault path and the reason; never a value, token,
 * secret_id or JWT. Exit code {@linkcode ExitCode.SECRET_UNAVAILABLE}.
 *
 * @example Usage
 * ```ts
 * import { VaultSourceError } from "./mod.ts";
 * const e = new VaultSourceError("db", "permission denied", "permission_denied");
 * console.assert(e.exitCode === 5 && e.secretName === "db");
 * ```
 */
export class VaultSourceError extends X00Error {
  /** The secret entry's name. */
  readonly secretName: string;
  /** Why, as the Vault client classified it. */
  readonly kind: VaultErrorKind | "missing_key";
  /** The Vault path concerned, when the failure is about the entry's own path. */
  readonly path?: string;
  constructor(
    secretName: string,
    reason: string,
    kind: VaultErrorKind | "missing_key",
    options: ErrorOptions & { path?: string } = {},
  ) {
    const where = options.path !== undefined ? ` path '${options.path}'` : "";
    super(`Cannot fetch secret '${secretName}' from Vault${where}: ${reason}`, {
      ...(options.cause !== undefined ? { cause: options.cause } : {}),
      exitCode: ExitCode.SECRET_UNAVAILABLE,
    });
    this.name = "VaultSourceError";
    this.secretName = secretName;
    this.kind = kind;
    if (options.path !== undefined) this.path = options.path;
  }
}

/** Failures that are about Vault as a whole, whichever request met them. */
const SERVER_STATE_KINDS: ReadonlySet<string> = new Set([
  "sealed",
  "standby",
  "uninitialized",
  "connection",
  "timeout",
  "tls",
]);

export function wrap(name: string, err: unknown, path?: string): VaultSourceError {
  if (err instanceof VaultSourceError) return err;
  if (err instanceof VaultError) {
    // About the entry's own path; or the state of Vault itself (sealed, standby, unreachable), which is not about
    // the internal request that met it (often the token lookup): both are reported against the secret's path.
    if (
      err.reason !== undefined && path !== undefined &&
      (err.path === path || SERVER_STATE_KINDS.has(err.kind))
    ) {
      return new VaultSourceError(name, err.reason, err.kind, { cause: err, path });
    }
    const reason = err.reason !== undefined // "Cannot read 'P' in Vault: ..." inside a longer sentence
      ? err.message.charAt(0).toLowerCase() + err.message.slice(1)
      : err.message;
    return new VaultSourceError(name, reason, err.kind, { cause: err });
  }
  return new VaultSourceError(name, "unexpected error", "invalid_response", {
    cause: err instanceof Error ? new Error(err.name) : undefined,
  });
}
