/**
 * The types the Vault client and its auth methods share: Vault's answer envelope, request options, the logger, and
 * {@linkcode VaultRequester}, what an auth method or the token manager needs of a client. Depending on this module
 * instead of `client.ts` keeps the client and the auth methods free of an import cycle.
 *
 * @module
 */

/** Log levels of the optional logger. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** A log sink. Messages never contain tokens, secret_ids, JWTs or secret values. */
export type Logger = (level: LogLevel, message: string) => void;

/** The `auth` block of a Vault answer (logins, token renewal). */
export interface VaultAuthInfo {
  /** The token (a credential: never log it). */
  client_token: string;
  accessor?: string;
  policies?: string[] | null;
  token_policies?: string[] | null;
  metadata?: Record<string, string> | null;
  /** Token TTL in seconds; 0 for tokens that never expire. */
  lease_duration: number;
  renewable: boolean;
  entity_id?: string;
  token_type?: string;
  orphan?: boolean;
}

/** Vault's JSON envelope, as documented for every API answer. */
export interface VaultResponse<T = Record<string, unknown>> {
  request_id: string;
  lease_id: string;
  renewable: boolean;
  /** Seconds. */
  lease_duration: number;
  data: T | null;
  wrap_info: unknown;
  warnings: string[] | null;
  auth: VaultAuthInfo | null;
  /** Type of the mount that answered (Vault 1.10+). */
  mount_type?: string;
}

/** Options of one request. */
export interface VaultRequestOptions {
  /** JSON body. */
  body?: unknown;
  /** Query parameters. */
  query?: Record<string, string>;
  /** Send the managed token (default true). */
  authenticated?: boolean;
  /** Send this token instead of the managed one (used while logging in). */
  token?: string;
  /** Return the envelope of a 404 answer instead of throwing (KV v2 reports deleted versions this way). */
  allowNotFound?: boolean;
  /** On 403, re-authenticate once and retry (default true when authenticated). */
  reauthenticate?: boolean;
  /** Aborts the request and its retries. */
  signal?: AbortSignal;
}

/** What auth methods, the token manager, KV, lease and PKI helpers need of a client: {@linkcode VaultClient}. */
export interface VaultRequester {
  /** `GET /v1/<path>`. */
  read<T = Record<string, unknown>>(
    path: string,
    options?: VaultRequestOptions,
  ): Promise<VaultResponse<T>>;
  /** `POST /v1/<path>` with a JSON body. */
  write<T = Record<string, unknown>>(
    path: string,
    body: unknown,
    options?: VaultRequestOptions,
  ): Promise<VaultResponse<T>>;
  /** Sends one request (retries, re-authentication) and returns Vault's envelope. */
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: VaultRequestOptions,
  ): Promise<VaultResponse<T>>;
  /** Registers a credential so that it is cut out of any server text put in an error or a log line. */
  markSensitive(value: string): void;
  /** The client's logger. */
  readonly logger: Logger;
}

/** The result of a login. */
export interface AuthLogin {
  /** The token (a credential: never log it). */
  token: string;
  /** TTL in seconds; 0 when the token never expires or the TTL is unknown. */
  leaseDurationS: number;
  /** Whether `auth/token/renew-self` may extend it. */
  renewable: boolean;
}

/** A way to obtain a Vault token. */
export interface AuthMethod {
  /** `token`, `approle`, `kubernetes`, `jwt` or `cert` (for messages). */
  readonly name: string;
  /** Obtains a token. Throws a {@linkcode VaultError} that never contains a credential. */
  login(client: VaultRequester, signal?: AbortSignal): Promise<AuthLogin>;
}
