/**
 * The Vault HTTP client: one address, TLS/mTLS, namespace, the `X-Vault-Request` header, per-request timeouts,
 * retries with backoff, Vault's JSON envelope, and a token from an {@linkcode AuthMethod} that is renewed in the
 * background.
 *
 * @module
 */

import { VaultError, type VaultErrorKind } from "./errors.ts";
import {
  backoffDelay,
  DEFAULT_RETRY,
  isRetryableStatus,
  parseRetryAfter,
  type RetryOptions,
  sleep,
} from "./retry.ts";
import { createTransport, type Transport } from "./transport.ts";
import type { TlsMaterial } from "./tls.ts";
import { type AuthMethod, TokenManager } from "./auth.ts";
import { Redactor } from "./_redact.ts";
import { DEFAULT_TIMEOUT_MS } from "./defaults.ts";
import type {
  Logger,
  VaultAuthInfo,
  VaultRequester,
  VaultRequestOptions,
  VaultResponse,
} from "./types.ts";

export type {
  Logger,
  LogLevel,
  VaultAuthInfo,
  VaultRequester,
  VaultRequestOptions,
  VaultResponse,
} from "./types.ts";

/** Options of {@linkcode VaultClient}. */
export interface VaultClientOptions {
  /** Vault's address, e.g. `https://vault.example:8200`. */
  address: string;
  /** Enterprise namespace, sent as `X-Vault-Namespace`. */
  namespace?: string;
  /** CA certificates and the client certificate/key, already loaded (see `loadTlsMaterial`). */
  tls?: TlsMaterial;
  /** Name expected in the server certificate (and sent in SNI) when it is not the address's host. */
  tlsServerName?: string;
  /** Skip server certificate verification. Insecure; for tests only. */
  tlsSkipVerify?: boolean;
  /** Retries after the first attempt. Default 2. */
  maxRetries?: number;
  /** Per-request timeout in milliseconds. Default 60000. */
  timeoutMs?: number;
  /** Backoff bounds; see {@linkcode RetryOptions}. */
  retry?: Omit<RetryOptions, "maxRetries">;
  /** How to obtain a token; requests are unauthenticated without one. */
  auth?: AuthMethod;
  /** Receives debug/info/warn/error lines. */
  logger?: Logger;
  /** Replaces the HTTP transport (tests). */
  transport?: Transport;
}

/**
 * A small, typed Vault client usable on its own.
 *
 * @example Reading a KV v2 secret with a token
 * ```ts ignore
 * import { VaultClient, tokenAuth, loadTlsMaterial } from "./mod.ts";
 *
 * const client = new VaultClient({
 *   address: "https://vault.example:8200",
 *   tls: await loadTlsMaterial({ caCert: "/etc/vault/ca.pem" }),
 *   auth: tokenAuth({ tokenFile: "/run/secrets/vault-token" }),
 * });
 * const res = await client.read<{ data: Record<string, string> }>("secret/data/app");
 * console.log(Object.keys(res.data?.data ?? {}));
 * await client.close();
 * ```
 */
export class VaultClient implements VaultRequester {
  /** Vault's address. */
  readonly address: URL;
  /** Namespace sent with every request, if any. */
  readonly namespace?: string;
  /** The token manager, when an auth method was given. */
  readonly tokens?: TokenManager;
  #transport: Transport;
  #retry: Required<RetryOptions>;
  #timeoutMs: number;
  #logger: Logger;
  #redactor = new Redactor();
  #closed = false;

  constructor(options: VaultClientOptions) {
    let address: URL;
    try {
      address = new URL(options.address);
    } catch {
      throw new VaultError(`Cannot use Vault address '${options.address}' as it is not a URL`, {
        kind: "config",
      });
    }
    if (address.protocol !== "https:" && address.protocol !== "http:") {
      throw new VaultError(
        `Cannot use Vault address '${options.address}' as it must start with https:// (or http://)`,
        { kind: "config" },
      );
    }
    this.address = address;
    if (options.namespace !== undefined && options.namespace !== "") {
      this.namespace = options.namespace;
    }
    this.#logger = options.logger ?? (() => {});
    this.#retry = {
      ...DEFAULT_RETRY,
      ...options.retry,
      maxRetries: options.maxRetries ?? DEFAULT_RETRY.maxRetries,
    };
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const transportOptions: Parameters<typeof createTransport>[1] = {
      tls: options.tls ?? { caCerts: [] },
    };
    if (options.tlsServerName !== undefined) transportOptions.serverName = options.tlsServerName;
    if (options.tlsSkipVerify !== undefined) transportOptions.skipVerify = options.tlsSkipVerify;
    this.#transport = options.transport ?? createTransport(address, transportOptions);
    if (options.auth !== undefined) {
      this.tokens = new TokenManager(this, options.auth, this.#logger);
    }
  }

  /** Which transport carries the requests: `fetch` or `node` (server-name override, skip-verify). */
  get transportKind(): "fetch" | "node" {
    return this.#transport.kind;
  }

  /** The logger given at construction (a no-op if none). */
  get logger(): Logger {
    return this.#logger;
  }

  /**
   * Registers a credential (token, secret_id, JWT) so that it is cut out of any server text the client puts in
   * an error or a log line.
   */
  markSensitive(value: string): void {
    this.#redactor.add(value);
  }

  /**
   * Registers a secret value (by hash only) so that a server message quoting it is cleaned. The client does this
   * for every string in the `data` and `auth` blocks it returns.
   */
  markSensitiveValue(value: string): void {
    this.#redactor.addValue(value);
  }

  /** Cleans foreign text (server error strings) for use in messages. */
  clean(text: string): string {
    return this.#redactor.clean(text);
  }

  /** Logs in now (otherwise the first authenticated request does). No-op without an auth method. */
  async login(signal?: AbortSignal): Promise<void> {
    if (this.tokens !== undefined) await this.tokens.token(signal);
  }

  /** `GET /v1/<path>`. */
  read<T = Record<string, unknown>>(
    path: string,
    options: VaultRequestOptions = {},
  ): Promise<VaultResponse<T>> {
    return this.request<T>("GET", path, options);
  }

  /** `POST /v1/<path>` with a JSON body. */
  write<T = Record<string, unknown>>(
    path: string,
    body: unknown,
    options: VaultRequestOptions = {},
  ): Promise<VaultResponse<T>> {
    return this.request<T>("POST", path, { ...options, body });
  }

  /**
   * Sends one request with retries and returns Vault's envelope. Throws a {@linkcode VaultError} naming the path.
   */
  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: VaultRequestOptions = {},
  ): Promise<VaultResponse<T>> {
    if (this.#closed) throw new VaultError("Cannot use a closed Vault client", { kind: "config" });
    const clean = normalizePath(path);
    const url = new URL(`/v1/${clean.split("/").map(encodeURIComponent).join("/")}`, this.address);
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    const authenticated = options.authenticated ?? options.token === undefined;
    const verb = method === "GET" || method === "LIST" ? "read" : "write to";
    const started = Date.now();
    let attempt = 0;
    let reauthenticated = options.reauthenticate === false;
    for (;;) {
      attempt++;
      let token = options.token;
      if (authenticated && this.tokens !== undefined) {
        token = await this.tokens.token(options.signal);
      }
      const headers: Record<string, string> = {
        "X-Vault-Request": "true",
        "Accept": "application/json",
      };
      if (this.namespace !== undefined) headers["X-Vault-Namespace"] = this.namespace;
      if (token !== undefined) headers["X-Vault-Token"] = token;
      let body: string | undefined;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers["Content-Type"] = "application/json";
      }
      let error: VaultError;
      let retryAfterMs: number | undefined;
      const timeout = AbortSignal.timeout(this.#timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      try {
        const req: Parameters<Transport["request"]>[0] = { method, url, headers, signal };
        if (body !== undefined) req.body = body;
        const res = await this.#transport.request(req);
        if (res.status >= 200 && res.status < 300) {
          const envelope = parseEnvelope<T>(res.body, res.status, clean, verb);
          this.#markStrings(envelope.data);
          this.#markStrings(envelope.auth);
          for (const w of envelope.warnings ?? []) {
            this.#logger("debug", `Vault warning for '${clean}': ${this.clean(w)}`);
          }
          return envelope;
        }
        if (res.status === 404 && options.allowNotFound) {
          return parseEnvelope<T>(res.body, res.status, clean, verb, true);
        }
        error = this.#httpError(res.status, res.body, clean, verb);
        if (res.status === 429) retryAfterMs = parseRetryAfter(res.headers.get("Retry-After"));
        if (
          res.status === 403 && authenticated && !reauthenticated && this.tokens !== undefined &&
          token
        ) {
          reauthenticated = true;
          const fresh = await this.tokens.refresh(token, options.signal).catch((err) => {
            this.#logger(
              "warn",
              `Cannot re-authenticate after 'permission denied' on '${clean}': ${messageOf(err)}`,
            );
            return undefined;
          });
          if (fresh !== undefined && fresh !== token) {
            attempt--; // a re-authentication is not a retry
            continue;
          }
        }
      } catch (err) {
        if (options.signal?.aborted) {
          throw VaultError.request(verb, clean, `the request was aborted`, {
            kind: "aborted",
            attempts: attempt,
          });
        }
        if (timeout.aborted) {
          error = VaultError.request(
            verb,
            clean,
            `no answer within ${this.#timeoutMs} ms (timeout)`,
            { kind: "timeout" },
          );
        } else if (err instanceof VaultError) {
          error = VaultError.request(verb, clean, `${err.message}`, { kind: err.kind, cause: err });
        } else {
          throw err;
        }
      }
      const retryable = error.retryable;
      const elapsed = Date.now() - started;
      if (retryable && attempt <= this.#retry.maxRetries) {
        let delay = backoffDelay(attempt - 1, this.#retry);
        if (retryAfterMs !== undefined) delay = Math.max(delay, retryAfterMs);
        if (elapsed + delay <= this.#retry.maxElapsedMs) {
          this.#logger(
            "warn",
            `${error.message}; retrying in ${delay} ms (attempt ${attempt + 1} of ${
              this.#retry.maxRetries + 1
            })`,
          );
          await sleep(delay, options.signal).catch(() => {});
          if (options.signal?.aborted) {
            throw VaultError.request(verb, clean, `the request was aborted`, {
              kind: "aborted",
              attempts: attempt,
            });
          }
          continue;
        }
        throw withAttempts(
          error,
          attempt,
          `retry budget of ${this.#retry.maxElapsedMs} ms exhausted`,
        );
      }
      throw retryable && attempt > 1
        ? withAttempts(error, attempt)
        : withAttempts(error, attempt, undefined, true);
    }
  }

  /** Stops token renewal and closes connections. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.tokens?.stop();
      this.#transport.close();
    }
    return Promise.resolve();
  }

  /** Registers every string leaf of a response block as a value to redact (hash only). */
  #markStrings(v: unknown, depth = 0): void {
    if (typeof v === "string") this.#redactor.addValue(v);
    else if (depth < 4 && typeof v === "object" && v !== null) {
      for (const x of Object.values(v)) this.#markStrings(x, depth + 1);
    }
  }

  #httpError(
    status: number,
    bodyText: string,
    path: string,
    verb: "read" | "write to",
  ): VaultError {
    const errors = this.#serverErrors(bodyText);
    const detail = errors.length > 0 ? `: ${errors.join("; ")}` : "";
    const joined = errors.join(" ").toLowerCase();
    let kind: VaultErrorKind;
    let reason: string;
    if (status === 403) {
      kind = "permission_denied";
      const extra = errors.filter((e) => e.toLowerCase() !== "permission denied");
      reason = `permission denied (HTTP 403)${extra.length > 0 ? `: ${extra.join("; ")}` : ""}`;
    } else if (status === 404) {
      kind = "not_found";
      reason = "not found (HTTP 404): nothing at this path, or no mount there";
    } else if (status === 412) {
      kind = "precondition_failed";
      reason = `precondition failed (HTTP 412): the node has not caught up yet${detail}`;
    } else if (status === 429) {
      kind = "rate_limited";
      reason = `rate limited (HTTP 429)${detail}`;
    } else if (status === 501) {
      kind = "uninitialized";
      reason = "Vault is not initialized (HTTP 501)";
    } else if (status === 503 && joined.includes("sealed")) {
      kind = "sealed";
      reason = "Vault is sealed (HTTP 503)";
    } else if (joined.includes("standby") || joined.includes("node not active")) {
      kind = "standby";
      reason = `Vault is in standby mode and cannot serve the request (HTTP ${status})${detail}`;
    } else if (status >= 500) {
      kind = "server_error";
      reason = `server error (HTTP ${status})${detail}`;
    } else {
      kind = "bad_request";
      reason = `request refused (HTTP ${status})${detail}`;
    }
    if (isRetryableStatus(status) && kind === "bad_request") kind = "server_error";
    return VaultError.request(verb, path, `${reason}`, { kind, status });
  }

  #serverErrors(bodyText: string): string[] {
    try {
      const parsed: unknown = JSON.parse(bodyText);
      const errors = (parsed as { errors?: unknown } | null)?.errors;
      if (Array.isArray(errors)) {
        return errors.filter((e): e is string => typeof e === "string").flatMap(unwrapMultiError)
          .map((e) => this.clean(e)).filter((e) => e !== "").slice(0, 3);
      }
    } catch {
      // not JSON: say nothing about the body
    }
    return [];
  }
}

/**
 * Vault wraps many errors with go-multierror: `"1 error occurred:\n\t* permission denied\n\n"`. Returns the
 * errors inside (or the text itself).
 */
export function unwrapMultiError(text: string): string[] {
  const m = /^\d+ errors? occurred:\s*\n/.exec(text);
  if (!m) return [text.trim()];
  return text.slice(m[0].length).split(/\n?\t\* /).map((e) => e.trim()).filter((e) => e !== "");
}

function withAttempts(
  error: VaultError,
  attempts: number,
  why?: string,
  single = false,
): VaultError {
  const suffix = single ? "" : ` (gave up after ${attempts} attempts${why ? `: ${why}` : ""})`;
  const opts: ConstructorParameters<typeof VaultError>[1] = { kind: error.kind, attempts };
  if (error.status !== undefined) opts.status = error.status;
  if (error.path !== undefined) opts.path = error.path;
  if (error.cause !== undefined) opts.cause = error.cause;
  if (error.reason !== undefined) opts.reason = error.reason + suffix;
  return new VaultError(error.message + suffix, opts);
}

function parseEnvelope<T>(
  text: string,
  status: number,
  path: string,
  verb: "read" | "write to",
  notFound = false,
): VaultResponse<T> {
  const empty: VaultResponse<T> = {
    request_id: "",
    lease_id: "",
    renewable: false,
    lease_duration: 0,
    data: null,
    wrap_info: null,
    warnings: null,
    auth: null,
  };
  if (text.trim() === "") return empty;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message quotes the body, which may hold secrets: it is not kept.
    throw VaultError.request(verb, path, `the HTTP ${status} answer is not JSON`, {
      kind: "invalid_response",
      status,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw VaultError.request(verb, path, `the HTTP ${status} answer is not a JSON object`, {
      kind: "invalid_response",
      status,
    });
  }
  const p = parsed as Record<string, unknown>;
  const out: VaultResponse<T> = {
    request_id: typeof p.request_id === "string" ? p.request_id : "",
    lease_id: typeof p.lease_id === "string" ? p.lease_id : "",
    renewable: p.renewable === true,
    lease_duration: typeof p.lease_duration === "number" ? p.lease_duration : 0,
    data: isObject(p.data) ? p.data as T : null,
    wrap_info: p.wrap_info ?? null,
    warnings: Array.isArray(p.warnings)
      ? p.warnings.filter((w): w is string => typeof w === "string")
      : null,
    auth: null,
  };
  if (typeof p.mount_type === "string") out.mount_type = p.mount_type;
  if (isObject(p.auth)) {
    const a = p.auth as Record<string, unknown>;
    if (typeof a.client_token !== "string" || a.client_token === "") {
      throw VaultError.request(verb, path, `the answer's auth block has no client_token`, {
        kind: "invalid_response",
        status,
      });
    }
    out.auth = {
      ...(a as unknown as VaultAuthInfo),
      lease_duration: typeof a.lease_duration === "number" ? a.lease_duration : 0,
      renewable: a.renewable === true,
    };
  }
  if (notFound && out.data === null) return empty;
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Strips a leading `/`, `v1/` or `/v1/` from a Vault path. */
function normalizePath(path: string): string {
  return path.replace(/^\/+/, "").replace(/^v1\//, "").replace(/\/+$/, "");
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : "unknown error";
}
