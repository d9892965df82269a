/**
 * Typed errors of the Vault client. Every message is one line that names the Vault path and the reason; it never
 * contains a token, a secret_id, a JWT or a secret value.
 *
 * @module
 */

/**
 * Why a Vault operation failed.
 *
 * - `config`: bad client configuration (unreadable CA file, expired client certificate, bad address).
 * - `tls`: the TLS handshake failed (untrusted server certificate, wrong server name, client certificate refused).
 * - `connection`: the connection could not be made or was dropped.
 * - `timeout`: no answer within the per-request timeout.
 * - `aborted`: the caller aborted the request.
 * - `sealed`: Vault answered 503 "Vault is sealed".
 * - `standby`: a standby node could not serve or forward the request.
 * - `uninitialized`: Vault answered 501 (not initialized).
 * - `permission_denied`: HTTP 403.
 * - `not_found`: HTTP 404.
 * - `bad_request`: HTTP 400 (or 405).
 * - `rate_limited`: HTTP 429.
 * - `precondition_failed`: HTTP 412 (eventual consistency on a standby node).
 * - `server_error`: other 5xx answers.
 * - `invalid_response`: an answer that is not Vault's JSON envelope.
 * - `auth`: authentication could not produce a token (missing credential file, empty token).
 */
export type VaultErrorKind =
  | "config"
  | "tls"
  | "connection"
  | "timeout"
  | "aborted"
  | "sealed"
  | "standby"
  | "uninitialized"
  | "permission_denied"
  | "not_found"
  | "bad_request"
  | "rate_limited"
  | "precondition_failed"
  | "server_error"
  | "invalid_response"
  | "auth";

/** Options accepted by {@linkcode VaultError}. */
export interface VaultErrorOptions extends ErrorOptions {
  /** Why the operation failed. */
  kind: VaultErrorKind;
  /** HTTP status, when Vault answered. */
  status?: number;
  /** The Vault path (without `/v1/`), when the error concerns one request. */
  path?: string;
  /** How many attempts were made before giving up. */
  attempts?: number;
  /** The reason alone, without "Cannot read 'PATH' in Vault: " (for callers that name the path themselves). */
  reason?: string;
  /** `config` errors about the client certificate's validity period. */
  certificate?: "expired" | "not_yet_valid";
}

/**
 * An error of the Vault client. `kind` says why, `status` and `path` say where; the message is safe to print.
 *
 * @example Telling a missing secret from a denied one
 * ```ts
 * import { VaultError } from "./errors.ts";
 *
 * const err = new VaultError("Cannot read 'secret/data/app': permission denied (HTTP 403)", {
 *   kind: "permission_denied",
 *   status: 403,
 *   path: "secret/data/app",
 * });
 * if (err.kind === "permission_denied") console.assert(err.status === 403);
 * ```
 */
export class VaultError extends Error {
  /** Why the operation failed. */
  readonly kind: VaultErrorKind;
  /** HTTP status, when Vault answered. */
  readonly status?: number;
  /** The Vault path concerned, without the `/v1/` prefix. */
  readonly path?: string;
  /** Number of attempts made (1 when not retried). */
  readonly attempts?: number;
  /** The reason alone, when the error is about a request to {@linkcode VaultError.path}. */
  readonly reason?: string;
  /** Set when the client certificate is expired or not yet valid. */
  readonly certificate?: "expired" | "not_yet_valid";

  constructor(message: string, options: VaultErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "VaultError";
    this.kind = options.kind;
    if (options.status !== undefined) this.status = options.status;
    if (options.path !== undefined) this.path = options.path;
    if (options.attempts !== undefined) this.attempts = options.attempts;
    if (options.reason !== undefined) this.reason = options.reason;
    if (options.certificate !== undefined) this.certificate = options.certificate;
  }

  /**
   * An error of one request: `Cannot VERB 'PATH' in Vault: REASON`, with `path` and `reason` set.
   *
   * @example Usage
   * ```ts
   * import { VaultError } from "./errors.ts";
   * const e = VaultError.request("read", "secret/data/app", "permission denied", { kind: "permission_denied" });
   * console.assert(e.reason === "permission denied" && e.path === "secret/data/app");
   * ```
   */
  static request(
    verb: "read" | "write to",
    path: string,
    reason: string,
    options: Omit<VaultErrorOptions, "path" | "reason">,
  ): VaultError {
    return new VaultError(`Cannot ${verb} '${path}' in Vault: ${reason}`, {
      ...options,
      path,
      reason,
    });
  }

  /** Whether retrying the same request later may succeed. */
  get retryable(): boolean {
    return RETRYABLE_KINDS.has(this.kind);
  }
}

const RETRYABLE_KINDS: ReadonlySet<VaultErrorKind> = new Set<VaultErrorKind>([
  "connection",
  "timeout",
  "sealed",
  "standby",
  "rate_limited",
  "precondition_failed",
  "server_error",
]);
