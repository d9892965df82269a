/**
 * Authentication: the token and Kubernetes methods here, AppRole (`approle_auth.ts`), JWT (`jwt_auth.ts`) and TLS
 * certificate (`cert_auth.ts`) re-exported (with Vault Agent's option names and behaviour), and the
 * {@linkcode TokenManager} that logs in lazily, renews the token with `auth/token/renew-self` before it expires,
 * and logs in again when renewal is refused or the token reaches its max TTL.
 *
 * @module
 */

import type { AuthLogin, AuthMethod, Logger, VaultRequester } from "./types.ts";

export type { AuthLogin, AuthMethod } from "./types.ts";
import { VaultError } from "./errors.ts";
import { RenewalSchedule, twoThirds } from "./_renewal.ts";
import { readTextFile } from "./_fs.ts";
import { authMount, loginRequest } from "./_login.ts";
import { KUBERNETES_TOKEN_PATH } from "./defaults.ts";

export * from "./approle_auth.ts";
export * from "./jwt_auth.ts";
export * from "./cert_auth.ts";

/** Options of {@linkcode tokenAuth}. */
export interface TokenAuthOptions {
  /** A token given directly (e.g. from `VAULT_TOKEN`). Wins over `tokenFile`. */
  token?: string;
  /** A file holding the token (Vault Agent's `token_file` method); re-read on each login. */
  tokenFile?: string;
  /** Where the token came from, for messages (default: `VAULT_TOKEN` or the file path). */
  label?: string;
}

/**
 * Token auth: a token from the environment or a file. `auth/token/lookup-self` tells its TTL and whether it is
 * renewable; a token without permission to look itself up is used as is, without renewal.
 *
 * @example Usage
 * ```ts
 * import { tokenAuth } from "./auth.ts";
 * const auth = tokenAuth({ tokenFile: "/run/secrets/vault-token" });
 * console.assert(auth.name === "token");
 * ```
 */
export function tokenAuth(options: TokenAuthOptions): AuthMethod {
  const label = options.label ??
    (options.token !== undefined ? "VAULT_TOKEN" : `token file '${options.tokenFile}'`);
  return {
    name: "token",
    async login(client, signal) {
      let token = options.token;
      if (token === undefined) {
        if (options.tokenFile === undefined) {
          throw new VaultError(
            "Cannot authenticate to Vault with a token: set VAULT_TOKEN or vault.auth.token_file_path",
            { kind: "auth" },
          );
        }
        token = (await readTextFile(options.tokenFile, "Vault token file", "auth")).trim();
      }
      if (token === "") {
        throw new VaultError(`Cannot authenticate to Vault: ${label} is empty`, { kind: "auth" });
      }
      client.markSensitive(token);
      try {
        const res = await client.read<{ ttl?: number; renewable?: boolean }>(
          "auth/token/lookup-self",
          {
            token,
            authenticated: false,
            ...(signal ? { signal } : {}),
          },
        );
        return {
          token,
          leaseDurationS: typeof res.data?.ttl === "number" ? res.data.ttl : 0,
          renewable: res.data?.renewable === true,
        };
      } catch (err) {
        if (err instanceof VaultError && err.kind === "permission_denied") {
          client.logger(
            "warn",
            `Cannot look up the Vault token from ${label} (permission denied on auth/token/lookup-self): ` +
              "using it without renewal; it may be invalid or expired",
          );
          return { token, leaseDurationS: 0, renewable: false };
        }
        throw err;
      }
    },
  };
}

/** Options of {@linkcode kubernetesAuth} (Vault Agent's `kubernetes` method). */
export interface KubernetesAuthOptions {
  /** Mount path of the Kubernetes method: `kubernetes` or `auth/kubernetes` (the default). */
  mountPath?: string;
  /** The Vault role to log in as. */
  role: string;
  /** The service account JWT file. Default `/var/run/secrets/kubernetes.io/serviceaccount/token`. */
  tokenPath?: string;
}

export { KUBERNETES_TOKEN_PATH };

/**
 * Kubernetes auth: `POST auth/<mount>/login` with the role and the service account JWT, re-read at every login
 * because projected tokens rotate.
 *
 * @example Usage
 * ```ts
 * import { kubernetesAuth } from "./auth.ts";
 * const auth = kubernetesAuth({ role: "app" });
 * console.assert(auth.name === "kubernetes");
 * ```
 */
export function kubernetesAuth(options: KubernetesAuthOptions): AuthMethod {
  const mount = authMount(options.mountPath ?? "kubernetes");
  const path = options.tokenPath ?? KUBERNETES_TOKEN_PATH;
  return {
    name: "kubernetes",
    async login(client, signal) {
      const jwt = (await readTextFile(path, "Kubernetes service account token file", "auth"))
        .trim();
      if (jwt === "") {
        throw new VaultError(
          `Cannot authenticate to Vault: Kubernetes service account token file '${path}' is empty`,
          {
            kind: "auth",
          },
        );
      }
      client.markSensitive(jwt);
      return await loginRequest(client, `auth/${mount}/login`, { role: options.role, jwt }, signal);
    },
  };
}

/** Token lifecycle events, for observers (tests, metrics). Never carry the token. */
export type TokenEvent =
  | { type: "login"; method: string; leaseDurationS: number; renewable: boolean }
  | { type: "renewed"; leaseDurationS: number }
  | { type: "renewal_refused"; reason: string }
  | { type: "login_failed"; reason: string };

/**
 * Holds the client's token: logs in on first use (concurrent callers share one login), renews the token at two
 * thirds of its TTL with `auth/token/renew-self`, logs in again when renewal is refused or the token nears its
 * max TTL, and keeps retrying (with backoff) while logins fail.
 *
 * @example Usage
 * ```ts ignore
 * import { VaultClient, appRoleAuth } from "./mod.ts";
 * const client = new VaultClient({
 *   address: "https://vault:8200",
 *   auth: appRoleAuth({ roleIdFile: "role_id", secretIdFile: "secret_id" }),
 * });
 * client.tokens?.subscribe((e) => console.log(e.type));
 * await client.login();
 * ```
 */
export class TokenManager {
  #client: VaultRequester;
  #method: AuthMethod;
  #logger: Logger;
  #token: string | undefined;
  #pending: Promise<string> | undefined;
  #schedule = new RenewalSchedule();
  #requestedS = 0;
  #listeners = new Set<(e: TokenEvent) => void>();

  constructor(client: VaultRequester, method: AuthMethod, logger: Logger) {
    this.#client = client;
    this.#method = method;
    this.#logger = logger;
  }

  /** The auth method's name. */
  get method(): string {
    return this.#method.name;
  }

  /** When the current token expires (ms since the epoch), 0 when unknown or never. */
  get expiresAt(): number {
    return this.#schedule.expiresAt;
  }

  /** Registers a listener for token events; returns a function that removes it. */
  subscribe(listener: (e: TokenEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The current token, logging in first if there is none. */
  token(signal?: AbortSignal): Promise<string> {
    if (this.#token !== undefined) return Promise.resolve(this.#token);
    return this.#login(signal);
  }

  /**
   * Logs in again after Vault answered 403 to `stale`. Returns the new token, or `undefined` when the method gave
   * the same token back (a static token: nothing changes).
   */
  async refresh(stale: string, signal?: AbortSignal): Promise<string | undefined> {
    if (this.#token !== undefined && this.#token !== stale) return this.#token;
    if (this.#pending === undefined) this.#token = undefined;
    const fresh = await this.#login(signal);
    return fresh === stale ? undefined : fresh;
  }

  /** Stops background renewal. */
  stop(): void {
    this.#schedule.stop();
  }

  #emit(e: TokenEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch {
        // a listener's failure is not the token manager's
      }
    }
  }

  #login(signal?: AbortSignal): Promise<string> {
    if (this.#pending !== undefined) return this.#pending;
    const p = (async () => {
      try {
        const res = await this.#method.login(this.#client, signal);
        this.#token = res.token;
        this.#schedule.reset();
        this.#requestedS = res.leaseDurationS;
        this.#schedule.expiresAt = res.leaseDurationS > 0
          ? Date.now() + res.leaseDurationS * 1000
          : 0;
        this.#logger(
          "info",
          `Authenticated to Vault with ${this.#method.name}` +
            (res.leaseDurationS > 0
              ? ` (token TTL ${res.leaseDurationS} s, ${
                res.renewable ? "renewable" : "not renewable"
              })`
              : " (token without expiry)"),
        );
        this.#emit({
          type: "login",
          method: this.#method.name,
          leaseDurationS: res.leaseDurationS,
          renewable: res.renewable,
        });
        this.#scheduleAfterLogin(res);
        return res.token;
      } finally {
        this.#pending = undefined;
      }
    })();
    this.#pending = p;
    return p;
  }

  #scheduleAfterLogin(res: AuthLogin): void {
    if (res.leaseDurationS <= 0) return;
    const at = twoThirds(res.leaseDurationS);
    if (res.renewable) this.#schedule.at(at, () => this.#renew());
    else {
      this.#schedule.at(at, () => this.#relogin("the token is not renewable and nears its expiry"));
    }
  }

  async #renew(): Promise<void> {
    const token = this.#token;
    if (token === undefined) return;
    try {
      const res = await this.#client.write("auth/token/renew-self", {
        increment: `${this.#requestedS}s`,
      }, {
        token,
        authenticated: false,
        reauthenticate: false,
      });
      const lease = res.auth?.lease_duration ?? 0;
      if (lease <= 0) {
        this.#schedule.reset();
        this.#schedule.expiresAt = 0;
        this.#emit({ type: "renewed", leaseDurationS: lease });
        await this.#relogin("the token reached its max TTL");
        return;
      }
      const capped = this.#schedule.granted(
        lease,
        this.#requestedS,
        () => this.#renew(),
        () => this.#relogin("the token reaches its max TTL"),
      );
      this.#emit({ type: "renewed", leaseDurationS: lease });
      if (capped) {
        this.#logger(
          "info",
          `Vault token renewed for ${lease} s only (max TTL reached); logging in again before it expires`,
        );
      } else {
        this.#logger("debug", `Vault token renewed for ${lease} s`);
      }
    } catch (err) {
      const outcome = this.#schedule.failed(err);
      if (outcome.next === "refused") {
        this.#logger(
          "warn",
          `Vault refused to renew the token (${
            outcome.kind.replaceAll("_", " ")
          }); logging in again`,
        );
        this.#emit({ type: "renewal_refused", reason: outcome.kind });
        await this.#relogin("renewal was refused");
      } else if (outcome.next === "expired") {
        await this.#relogin("the token expired while renewal kept failing");
      } else {
        const message = err instanceof VaultError ? err.message : "unknown error";
        this.#logger(
          "warn",
          `Cannot renew the Vault token: ${message}; retrying in ${Math.round(outcome.delayMs)} ms`,
        );
        this.#schedule.at(outcome.delayMs, () => this.#renew());
      }
    }
  }

  async #relogin(why: string): Promise<void> {
    if (this.#schedule.stopped) return;
    const old = this.#token;
    this.#token = undefined;
    try {
      const fresh = await this.#login();
      if (fresh === old && this.#method.name === "token") {
        this.#logger(
          "warn",
          `The Vault token cannot be extended (${why}) and no new token was provided`,
        );
      }
    } catch (err) {
      this.#token = old; // keep using the old token while it may still work
      const reason = err instanceof Error ? err.message : "unknown error";
      this.#emit({ type: "login_failed", reason });
      const delay = this.#schedule.backoff(500);
      this.#logger(
        "error",
        `Cannot log in to Vault again (${why}): ${reason}; retrying in ${delay} ms`,
      );
      this.#schedule.at(delay, () => this.#relogin(why));
    }
  }
}
