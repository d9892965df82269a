/**
 * Vault as a secret source for `x00 run`: builds a {@linkcode VaultClient} from the policy's `vault:` section and
 * the `VAULT_*` variables, provides one {@linkcode VaultSecretSource} per Vault secret entry, and a
 * {@linkcode VaultRotationWatcher} that tells the supervisor when an entry's delivered values changed.
 *
 * For the supervisor:
 *
 * ```ts ignore
 * const vault = await createVaultSources(policy, { env: Deno.env.toObject(), logger });
 * const sources = createSources(policy.secrets, vault?.factory);
 * const fetched = await fetchAll(sources);         // concurrent; exit code 5 on failure
 * vault?.watcher.subscribe((e) => {
 *   if (e.type === "changed") { ...restart / signal / ignore per policy.rotation, then zeroSecret(e.secret) }
 *   else log(e.error.message);                        // later failures: the workload keeps running
 * });
 * vault?.watcher.start();
 * ...
 * await vault?.close();
 * ```
 *
 * @module
 */

import { createHash } from "node:crypto";
import { ExitCode, X00Error } from "../errors.ts";
import type { Mode, Policy, SecretSpec, VaultConfig, VaultSource } from "../policy/types.ts";
import type { FetchedSecret, FetchOptions, SecretSource } from "./source.ts";
import { zeroSecret } from "./source.ts";
import {
  appRoleAuth,
  type AuthMethod,
  backoffDelay,
  certAuth,
  certificateRetry,
  certificateValues,
  issueCertificate,
  jwtAuth,
  kubernetesAuth,
  LeaseKeeper,
  loadTlsMaterial,
  type Logger,
  readKvV1,
  readKvV2,
  readLeased,
  readVaultEnv,
  type ReissueReason,
  renewalDelayMs,
  type RetryOptions,
  tokenAuth,
  VaultClient,
  VaultError,
  type VaultErrorKind,
} from "../vault/mod.ts";

/** Vault's default address, as in the vault CLI. */
export const DEFAULT_VAULT_ADDRESS = "https://127.0.0.1:8200";

/** Options of {@linkcode createVaultClient}. */
export interface VaultSetupOptions {
  /** X00's environment (`Deno.env.toObject()`), read for `VAULT_*` variables. Default: none. */
  env?: Record<string, string | undefined>;
  /** The policy's mode: `enforce` refuses http:// and tls_skip_verify unless `allow_insecure`. */
  mode: Mode;
  /** Receives log lines (never secrets). */
  logger?: Logger;
  /** Backoff bounds of the client (tests shorten them). */
  retry?: Omit<RetryOptions, "maxRetries">;
}

/** Where each connection setting came from. */
export type SettingOrigin = "env" | "policy" | "default";

/** The connection settings after applying `VAULT_*` variables over the policy over defaults. */
export interface ResolvedVaultSettings {
  address: string;
  namespace?: string;
  caCert?: string;
  caPath?: string;
  clientCert?: string;
  clientKey?: string;
  tlsServerName?: string;
  tlsSkipVerify: boolean;
  allowInsecure: boolean;
  maxRetries: number;
  timeoutMs: number;
  /** Origin of each setting above, for messages. */
  origin: Record<string, SettingOrigin>;
}

const DEFAULTS = { max_retries: 12, timeout_ms: 60_000 };

/**
 * Applies the `VAULT_*` variables over the policy's `vault:` section over defaults, the precedence of the vault
 * CLI and Vault Agent. `VAULT_TOKEN` is not part of the result (see {@linkcode createVaultClient}).
 *
 * @example Usage
 * ```ts
 * import { resolveVaultSettings } from "./vault_source.ts";
 * const s = resolveVaultSettings(undefined, { VAULT_ADDR: "https://vault:8200" });
 * console.assert(s.address === "https://vault:8200" && s.origin.address === "env");
 * ```
 */
export function resolveVaultSettings(
  config: VaultConfig | undefined,
  env: Record<string, string | undefined> = {},
): ResolvedVaultSettings {
  let e;
  try {
    e = readVaultEnv(env);
  } catch (err) {
    throw new X00Error(err instanceof Error ? err.message : "Cannot read VAULT_* variables", {
      exitCode: ExitCode.USAGE,
      cause: err,
    });
  }
  const origin: Record<string, SettingOrigin> = {};
  const pick = <T>(name: string, fromEnv: T | undefined, fromPolicy: T | undefined, def: T): T => {
    if (fromEnv !== undefined) {
      origin[name] = "env";
      return fromEnv;
    }
    if (fromPolicy !== undefined) {
      origin[name] = "policy";
      return fromPolicy;
    }
    origin[name] = "default";
    return def;
  };
  const out: ResolvedVaultSettings = {
    address: pick("address", e.address, config?.address, DEFAULT_VAULT_ADDRESS),
    tlsSkipVerify: pick("tlsSkipVerify", e.tlsSkipVerify, config?.tls_skip_verify, false),
    allowInsecure: config?.allow_insecure ?? false,
    maxRetries: pick("maxRetries", e.maxRetries, config?.max_retries, DEFAULTS.max_retries),
    timeoutMs: pick("timeoutMs", e.timeoutMs, config?.timeout_ms, DEFAULTS.timeout_ms),
    origin,
  };
  const opt = (name: keyof ResolvedVaultSettings, fromEnv?: string, fromPolicy?: string) => {
    const v = pick<string | undefined>(name, fromEnv, fromPolicy, undefined);
    if (v !== undefined && v !== "") (out as unknown as Record<string, unknown>)[name] = v;
  };
  opt("namespace", e.namespace, config?.namespace);
  opt("caCert", e.caCert, config?.ca_cert);
  opt("caPath", e.caPath, config?.ca_path);
  opt("clientCert", e.clientCert, config?.client_cert);
  opt("clientKey", e.clientKey, config?.client_key);
  opt("tlsServerName", e.tlsServerName, config?.tls_server_name);
  return out;
}

const ENV_NAMES: Record<string, string> = {
  address: "VAULT_ADDR",
  tlsSkipVerify: "VAULT_SKIP_VERIFY",
};
const POLICY_NAMES: Record<string, string> = {
  address: "vault.address",
  tlsSkipVerify: "vault.tls_skip_verify",
};

function originText(s: ResolvedVaultSettings, name: string): string {
  const o = s.origin[name];
  return o === "env" ? ENV_NAMES[name]! : o === "policy" ? POLICY_NAMES[name]! : "the default";
}

/**
 * Builds the Vault client for a policy: resolves the settings, enforces the insecure-connection rules, loads TLS
 * files, and chooses the auth method. Nothing is sent to Vault until the first fetch.
 *
 * Rules: an `http://` address or `tls_skip_verify` (from the policy or `VAULT_SKIP_VERIFY`) is refused in
 * `enforce` mode unless the policy sets `vault.allow_insecure: true`; whenever it is used, a warning is logged.
 * With `auth.method: token`, `VAULT_TOKEN` (when set) wins over `token_file_path`; with other methods it is
 * ignored (and a warning says so).
 *
 * @throws {X00Error} Exit code {@linkcode ExitCode.USAGE} for a refused insecure connection, a bad `VAULT_*`
 * value, or unreadable/invalid TLS files; {@linkcode ExitCode.SECRET_UNAVAILABLE} for an expired client
 * certificate.
 *
 * @example Usage
 * ```ts ignore
 * const client = await createVaultClient(policy.vault, { env: Deno.env.toObject(), mode: "enforce" });
 * ```
 */
export async function createVaultClient(
  config: VaultConfig | undefined,
  options: VaultSetupOptions,
): Promise<VaultClient> {
  const env = options.env ?? {};
  const log = options.logger ?? (() => {});
  const s = resolveVaultSettings(config, env);
  let url: URL;
  try {
    url = new URL(s.address);
  } catch {
    throw new X00Error(
      `Cannot use Vault address '${s.address}' from ${originText(s, "address")}: not a URL`,
      {
        exitCode: ExitCode.USAGE,
      },
    );
  }
  const insecure: string[] = [];
  if (url.protocol === "http:") {
    insecure.push(`the address ${url.origin} (${originText(s, "address")}) is plain http`);
  }
  if (s.tlsSkipVerify) {
    insecure.push(`certificate verification is off (${originText(s, "tlsSkipVerify")})`);
  }
  if (insecure.length > 0) {
    if (options.mode === "enforce" && !s.allowInsecure) {
      throw new X00Error(
        `Cannot connect to Vault in enforce mode as ${
          insecure.join(" and ")
        }: anyone on the path could read ` +
          "or alter the secrets; use https:// with certificate verification, or set vault.allow_insecure: true",
        { exitCode: ExitCode.USAGE },
      );
    }
    log(
      "warn",
      `INSECURE VAULT CONNECTION: ${
        insecure.join(" and ")
      }; secrets and tokens can be read or altered on the ` +
        `network path (${options.mode} mode${
          s.allowInsecure ? ", vault.allow_insecure: true" : ""
        })`,
    );
  }
  try {
    const tlsFiles: Parameters<typeof loadTlsMaterial>[0] = {};
    if (s.caCert !== undefined) tlsFiles.caCert = s.caCert;
    if (s.caPath !== undefined) tlsFiles.caPath = s.caPath;
    if (s.clientCert !== undefined) tlsFiles.clientCert = s.clientCert;
    if (s.clientKey !== undefined) tlsFiles.clientKey = s.clientKey;
    const tls = await loadTlsMaterial(tlsFiles);
    const clientOptions: ConstructorParameters<typeof VaultClient>[0] = {
      address: s.address,
      tls,
      tlsSkipVerify: s.tlsSkipVerify,
      maxRetries: s.maxRetries,
      timeoutMs: s.timeoutMs,
      auth: authMethod(config, env, log),
      logger: log,
    };
    if (s.namespace !== undefined) clientOptions.namespace = s.namespace;
    if (s.tlsServerName !== undefined) clientOptions.tlsServerName = s.tlsServerName;
    if (options.retry !== undefined) clientOptions.retry = options.retry;
    return new VaultClient(clientOptions);
  } catch (err) {
    if (err instanceof VaultError) {
      const expired = /expired|not valid before/.test(err.message);
      throw new X00Error(err.message, {
        exitCode: expired ? ExitCode.SECRET_UNAVAILABLE : ExitCode.USAGE,
        cause: err,
      });
    }
    throw err;
  }
}

function authMethod(
  config: VaultConfig | undefined,
  env: Record<string, string | undefined>,
  log: Logger,
): AuthMethod {
  const auth = config?.auth ?? { method: "token" as const };
  const envToken = env.VAULT_TOKEN?.trim() ? env.VAULT_TOKEN.trim() : undefined;
  switch (auth.method) {
    case "token": {
      if (envToken !== undefined) {
        if (auth.token_file_path !== undefined) {
          log(
            "info",
            `Using the Vault token from VAULT_TOKEN (it overrides token_file_path '${auth.token_file_path}')`,
          );
        }
        return tokenAuth({ token: envToken, label: "VAULT_TOKEN" });
      }
      if (auth.token_file_path !== undefined) return tokenAuth({ tokenFile: auth.token_file_path });
      return tokenAuth({});
    }
    case "approle":
      if (envToken !== undefined) {
        log("warn", "VAULT_TOKEN is set but vault.auth.method is approle: it is ignored");
      }
      return appRoleAuth({
        mountPath: auth.mount_path,
        roleIdFile: auth.role_id_file_path,
        secretIdFile: auth.secret_id_file_path,
        removeSecretIdFileAfterReading: auth.remove_secret_id_file_after_reading,
        ...(auth.secret_id_response_wrapping_path !== undefined
          ? { secretIdResponseWrappingPath: auth.secret_id_response_wrapping_path }
          : {}),
      });
    case "kubernetes":
      if (envToken !== undefined) {
        log("warn", "VAULT_TOKEN is set but vault.auth.method is kubernetes: it is ignored");
      }
      return kubernetesAuth({
        mountPath: auth.mount_path,
        role: auth.role,
        tokenPath: auth.token_path,
      });
    case "jwt":
      if (envToken !== undefined) {
        log("warn", "VAULT_TOKEN is set but vault.auth.method is jwt: it is ignored");
      }
      return jwtAuth({
        mountPath: auth.mount_path,
        role: auth.role,
        tokenPath: auth.token_path,
        removeJwtAfterReading: auth.remove_jwt_after_reading,
      });
    case "cert":
      if (envToken !== undefined) {
        log("warn", "VAULT_TOKEN is set but vault.auth.method is cert: it is ignored");
      }
      return certAuth({
        mountPath: auth.mount_path,
        ...(auth.name !== undefined ? { name: auth.name } : {}),
      });
  }
}

/**
 * An error fetching a Vault secret entry. Names the entry, the Vault path and the reason; never a value, token,
 * secret_id or JWT. Exit code {@linkcode ExitCode.SECRET_UNAVAILABLE}.
 *
 * @example Usage
 * ```ts
 * import { VaultSourceError } from "./vault_source.ts";
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

function wrap(name: string, err: unknown, path?: string): VaultSourceError {
  if (err instanceof VaultSourceError) return err;
  if (err instanceof VaultError) {
    const m = /^Cannot (?:read|write to) '(.+?)' in Vault: (.*)$/s.exec(err.message);
    if (m && path !== undefined && m[1] === path) {
      return new VaultSourceError(name, m[2]!, err.kind, { cause: err, path });
    }
    // The state of Vault itself (sealed, standby, unreachable) is not about the internal request that met it
    // (often the token lookup): it is reported against the secret being read.
    if (m && path !== undefined && SERVER_STATE_KINDS.has(err.kind)) {
      return new VaultSourceError(name, m[2]!, err.kind, { cause: err, path });
    }
    const reason = err.message.replace(/^Cannot (read|write to) /, "cannot $1 ");
    return new VaultSourceError(name, reason, err.kind, { cause: err });
  }
  return new VaultSourceError(name, "unexpected error", "invalid_response", {
    cause: err instanceof Error ? new Error(err.name) : undefined,
  });
}

/** A change of one entry's values, or a failure while watching it. */
export type VaultSourceEvent =
  | {
    type: "changed";
    /** The secret entry's name. */
    name: string;
    /**
     * `kv_version`: a new KV v2 version; `kv_value`: a KV v1 value changed; `lease_reissued`: new credentials;
     * `certificate_renewed`: a new certificate (`engine: pki`) before the previous one expires.
     */
    reason: "kv_version" | "kv_value" | "lease_reissued" | "certificate_renewed";
    /** For `lease_reissued`: why the credentials were issued again. */
    detail?: ReissueReason;
    /** The new values; the listener owns them and zeroes them once delivered (or unused). */
    secret: FetchedSecret;
  }
  | {
    type: "error";
    /** The secret entry's name. */
    name: string;
    /** What failed; the running workload keeps its values. */
    error: VaultSourceError;
  };

/** Options of {@linkcode VaultSecretSource}. */
export interface VaultSecretSourceOptions {
  logger?: Logger;
}

/**
 * The source of one Vault secret entry: reads KV v2 (latest or pinned), KV v1 or a dynamic secret, and delivers
 * the keys the entry's deliveries name. For a dynamic secret it keeps the lease alive and, when the credentials
 * must be issued again (max TTL, renewal refused, lease expired), issues new ones and emits a `changed` event.
 *
 * Each `fetch()` of a dynamic entry issues new credentials (and keeps their lease instead of the previous one);
 * after start-up, take new values from the events.
 *
 * @example Usage
 * ```ts ignore
 * const source = new VaultSecretSource(client, spec);
 * const secret = await source.fetch();
 * console.log([...secret.values.keys()], secret.version);
 * ```
 */
export class VaultSecretSource implements SecretSource {
  /** The secret entry's name. */
  readonly name: string;
  /** The entry's Vault source. */
  readonly source: VaultSource;
  /** The keys delivered or read by templates (`""`: the whole data object as JSON). */
  readonly keys: readonly string[];
  /** Whether every key of the secret is delivered (`all_keys`), `keys` included. */
  readonly allKeys: boolean;
  #client: VaultClient;
  #logger: Logger;
  #keeper: LeaseKeeper | undefined;
  #digest: string | undefined;
  #version: string | undefined;
  #listeners = new Set<(e: VaultSourceEvent) => void>();
  #closed = false;
  #reissueTimer: ReturnType<typeof setTimeout> | undefined;
  /** `engine: pki`: when the certificate handed out last expires (ms since the epoch). */
  #certExpiresAt: number | undefined;

  constructor(client: VaultClient, spec: SecretSpec, options: VaultSecretSourceOptions = {}) {
    if (spec.source.type !== "vault") {
      throw new X00Error(
        `Cannot use secret '${spec.name}' as a Vault source: its source is ${spec.source.type}`,
      );
    }
    this.name = spec.name;
    this.source = spec.source;
    this.keys = [...new Set([...spec.deliveries.keys(), ...(spec.template_keys ?? [])])];
    this.allKeys = spec.all_keys !== undefined;
    this.#client = client;
    this.#logger = options.logger ?? client.logger;
  }

  /** The Vault path read, e.g. `secret/data/app` (for messages). */
  get path(): string {
    const s = this.source;
    const join = (...p: (string | undefined)[]) => p.filter((x) => x).join("/");
    if (s.engine === "kv-v2") return join(s.mount, "data", s.path);
    if (s.engine === "kv-v1" || s.engine === "pki") return join(s.mount, s.path);
    return s.path;
  }

  /**
   * How changes are detected: `poll` (KV, latest), `lease` (dynamic; pki, whose certificates are renewed before
   * they expire) or `never` (KV v2 pinned version).
   */
  get rotation(): "poll" | "lease" | "never" {
    if (this.source.engine === "dynamic" || this.source.engine === "pki") return "lease";
    if (this.source.engine === "kv-v2" && this.source.version !== undefined) return "never";
    return "poll";
  }

  /** The version marker of the values last handed out (KV v2 version, lease id). */
  get version(): string | undefined {
    return this.#version;
  }

  /** Registers a listener for this entry's events; returns a function that removes it. */
  subscribe(listener: (e: VaultSourceEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Reads the entry's current values.
   *
   * @throws {VaultSourceError} Exit code 5, naming the entry, the path and the reason.
   */
  async fetch(options: FetchOptions = {}): Promise<FetchedSecret> {
    const read = await this.#read(options.signal);
    const secret = this.#extract(read.data, read.version);
    this.#keepAll(read);
    this.#digest = digest(secret);
    this.#version = read.version;
    return secret;
  }

  /**
   * Checks KV entries for new values (used by the watcher). Returns the new values when the delivered keys'
   * values differ from those last handed out, `undefined` otherwise (a new KV version with the same values
   * included). Dynamic and pinned entries return `undefined`.
   *
   * @throws {VaultSourceError} When Vault cannot be read.
   */
  async poll(signal?: AbortSignal): Promise<VaultSourceEvent | undefined> {
    if (this.rotation !== "poll" || this.#closed) return undefined;
    const read = await this.#read(signal);
    const secret = this.#extract(read.data, read.version);
    const d = digest(secret);
    if (d === this.#digest) {
      if (read.version !== this.#version) {
        this.#logger(
          "debug",
          `Secret '${this.name}': version ${this.#version} -> ${read.version}, delivered values unchanged`,
        );
        this.#version = read.version;
      }
      zeroSecret(secret);
      return undefined;
    }
    this.#digest = d;
    this.#version = read.version;
    this.#logger(
      "info",
      `Secret '${this.name}' changed in Vault` +
        (read.version !== undefined ? ` (version ${read.version})` : ""),
    );
    return {
      type: "changed",
      name: this.name,
      reason: this.source.engine === "kv-v2" ? "kv_version" : "kv_value",
      secret,
    };
  }

  /** Stops lease renewal and re-issue. The client is not closed (it is shared). */
  close(): Promise<void> {
    this.#closed = true;
    this.#keeper?.stop();
    this.#keeper = undefined;
    if (this.#reissueTimer !== undefined) clearTimeout(this.#reissueTimer);
    this.#listeners.clear();
    return Promise.resolve();
  }

  async #read(signal: AbortSignal | undefined): Promise<ReadResult> {
    const s = this.source;
    const opts = signal ? { signal } : {};
    try {
      if (s.engine === "pki") {
        const p = s.pki!;
        const cert = await issueCertificate(this.#client, s.mount ?? "pki", p.role, {
          ...opts,
          commonName: p.common_name,
          ...(p.alt_names ? { altNames: p.alt_names } : {}),
          ...(p.ip_sans ? { ipSans: p.ip_sans } : {}),
          ...(p.uri_sans ? { uriSans: p.uri_sans } : {}),
          ...(p.ttl_s !== undefined ? { ttlS: p.ttl_s } : {}),
          ...(p.exclude_cn_from_sans !== undefined
            ? { excludeCnFromSans: p.exclude_cn_from_sans }
            : {}),
        });
        return {
          data: certificateValues(cert),
          version: cert.serialNumber,
          expiration: cert.expiration,
        };
      }
      if (s.engine === "kv-v2") {
        const r = await readKvV2(this.#client, s.mount ?? "secret", s.path, {
          ...opts,
          ...(s.version !== undefined ? { version: s.version } : {}),
        });
        return { data: r.data, version: String(r.metadata.version) };
      }
      if (s.engine === "kv-v1") {
        return { data: (await readKvV1(this.#client, s.mount ?? "secret", s.path, opts)).data };
      }
      const r = await readLeased(this.#client, s.path, opts);
      return {
        data: r.data,
        ...(r.leaseId !== "" ? { version: r.leaseId } : {}),
        lease: { leaseId: r.leaseId, leaseDurationS: r.leaseDurationS, renewable: r.renewable },
      };
    } catch (err) {
      throw wrap(this.name, err, this.path);
    }
  }

  #extract(data: Record<string, unknown>, version: string | undefined): FetchedSecret {
    const enc = new TextEncoder();
    const values = new Map<string, Uint8Array>();
    for (const key of this.keys) {
      if (key === "") {
        values.set(key, enc.encode(JSON.stringify(data)));
        continue;
      }
      if (!Object.hasOwn(data, key)) {
        for (const v of values.values()) v.fill(0);
        const present = Object.keys(data).sort().slice(0, 20).join(", ") || "none";
        throw new VaultSourceError(
          this.name,
          `no key '${key}' (keys present: ${present})`,
          "missing_key",
          {
            path: this.path,
          },
        );
      }
      const v = data[key];
      values.set(key, enc.encode(typeof v === "string" ? v : JSON.stringify(v)));
    }
    if (this.allKeys) {
      for (const [key, v] of Object.entries(data)) {
        if (values.has(key)) continue;
        values.set(key, enc.encode(typeof v === "string" ? v : JSON.stringify(v)));
      }
    }
    return version !== undefined ? { values, version } : { values };
  }

  #keepAll(read: ReadResult): void {
    if (read.lease !== undefined) this.#keep(read.lease);
    if (read.expiration !== undefined) this.#keepCertificate(read.expiration);
  }

  /** Schedules the next certificate at `renew_fraction` of the validity left now. */
  #keepCertificate(expirationS: number): void {
    if (this.#reissueTimer !== undefined) clearTimeout(this.#reissueTimer);
    this.#reissueTimer = undefined;
    this.#certExpiresAt = expirationS * 1000;
    if (this.#closed) return;
    const fraction = this.source.pki?.renew_fraction ?? 2 / 3;
    const delay = renewalDelayMs(expirationS, fraction, Date.now());
    this.#logger(
      "debug",
      `Secret '${this.name}': certificate ${this.#version ?? ""}; the next one in ${delay} ms`,
    );
    // The reason only names lease re-issues; a certificate renewal is reported as such.
    const timer = setTimeout(() => void this.#reissue("expired", 0), delay);
    Deno.unrefTimer(timer);
    this.#reissueTimer = timer;
  }

  #keep(lease: LeaseInfoLike): void {
    this.#keeper?.stop();
    this.#keeper = undefined;
    if (this.#closed || lease.leaseDurationS <= 0) return;
    const keeper = new LeaseKeeper(this.#client, lease, {
      label: this.name,
      logger: this.#logger,
      onReissue: (reason) => void this.#reissue(reason, 0),
    });
    this.#keeper = keeper;
    keeper.start();
  }

  async #reissue(reason: ReissueReason, failures: number): Promise<void> {
    if (this.#closed) return;
    try {
      const read = await this.#read(undefined);
      if (this.#closed) return;
      const secret = this.#extract(read.data, read.version);
      this.#keepAll(read);
      this.#digest = digest(secret);
      this.#version = read.version;
      if (read.expiration !== undefined) {
        this.#logger(
          "info",
          `Secret '${this.name}': new certificate issued (serial ${read.version}, expires ${
            new Date(read.expiration * 1000).toISOString()
          })`,
        );
        this.#emit({ type: "changed", name: this.name, reason: "certificate_renewed", secret });
        return;
      }
      this.#logger(
        "info",
        `Secret '${this.name}': new credentials issued (${reason.replaceAll("_", " ")})`,
      );
      this.#emit({
        type: "changed",
        name: this.name,
        reason: "lease_reissued",
        detail: reason,
        secret,
      });
    } catch (err) {
      const error = wrap(this.name, err, this.path);
      const backoff = backoffDelay(failures, {
        maxRetries: 0,
        minDelayMs: 1000,
        maxDelayMs: 30_000,
      });
      const { delayMs: delay, note } = certificateRetry(backoff, this.#certExpiresAt, Date.now());
      this.#logger(
        "error",
        `${error.message}; the workload keeps its current values; retrying in ${delay} ms${note}`,
      );
      this.#emit({ type: "error", name: this.name, error });
      if (this.#closed) return;
      const timer = setTimeout(() => void this.#reissue(reason, failures + 1), delay);
      Deno.unrefTimer(timer);
      this.#reissueTimer = timer;
    }
  }

  #emit(e: VaultSourceEvent): void {
    const listeners = [...this.#listeners];
    if (e.type === "changed" && listeners.length === 0) {
      this.#logger(
        "warn",
        `Secret '${this.name}' changed but nothing listens for rotation: new values dropped`,
      );
      zeroSecret(e.secret);
      return;
    }
    listeners.forEach((l, i) => {
      // Each listener owns its copy of the values; the last one gets the original.
      const ev: VaultSourceEvent = e.type === "changed" && i < listeners.length - 1
        ? { ...e, secret: cloneSecret(e.secret) }
        : e;
      try {
        l(ev);
      } catch (err) {
        this.#logger(
          "error",
          `A rotation listener failed: ${err instanceof Error ? err.name : "error"}`,
        );
      }
    });
  }
}

/** What one read of an entry returned. */
interface ReadResult {
  data: Record<string, unknown>;
  /** KV v2 version, lease id or certificate serial number. */
  version?: string;
  lease?: LeaseInfoLike;
  /** `engine: pki`: the certificate's notAfter, seconds since the epoch. */
  expiration?: number;
}

interface LeaseInfoLike {
  leaseId: string;
  leaseDurationS: number;
  renewable: boolean;
}

function cloneSecret(s: FetchedSecret): FetchedSecret {
  const values = new Map([...s.values].map(([k, v]) => [k, v.slice()]));
  return s.version !== undefined ? { values, version: s.version } : { values };
}

/** SHA-256 over the delivered keys and values (lengths included), hex. Values are never kept, only this. */
function digest(s: FetchedSecret): string {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const k of [...s.values.keys()].sort()) {
    const kb = enc.encode(k);
    const v = s.values.get(k)!;
    parts.push(u32(kb.length), kb, u32(v.length), v);
  }
  const total = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    total.set(p, off);
    off += p.length;
  }
  // node:crypto's synchronous hash: crypto.subtle.digest costs a thread-pool round trip per fetch.
  const hex = createHash("sha256").update(total).digest("hex");
  total.fill(0);
  return hex;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/** An event of the {@linkcode VaultRotationWatcher}: the same as a source's. */
export type RotationEvent = VaultSourceEvent;

/** Options of {@linkcode VaultRotationWatcher}. */
export interface RotationWatcherOptions {
  /** Milliseconds between KV checks (`rotation.poll_interval_ms`). */
  pollIntervalMs: number;
  logger?: Logger;
}

/**
 * Watches Vault entries after start-up and emits `changed` when the values an entry delivers changed (a new KV v2
 * version with different values, a changed KV v1 value, re-issued dynamic credentials) and `error` when a check
 * fails (the workload keeps its values; checks go on). Unchanged values never produce an event.
 *
 * The baseline is what each source's last `fetch()` returned: call {@linkcode start} after the initial fetch.
 *
 * @example Usage
 * ```ts ignore
 * const watcher = new VaultRotationWatcher(sources, { pollIntervalMs: policy.rotation.poll_interval_ms });
 * const stop = watcher.subscribe((e) => {
 *   if (e.type === "changed") { restartWith(e.name, e.secret); }
 * });
 * watcher.start();
 * ```
 */
export class VaultRotationWatcher {
  #sources: VaultSecretSource[] = [];
  #listeners = new Set<(e: RotationEvent) => void>();
  #unsubscribe: (() => void)[] = [];
  #options: RotationWatcherOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #round: Promise<void> | undefined;
  #abort = new AbortController();

  constructor(sources: readonly VaultSecretSource[], options: RotationWatcherOptions) {
    this.#options = options;
    for (const s of sources) this.add(s);
  }

  /** The sources watched. */
  get sources(): readonly VaultSecretSource[] {
    return this.#sources;
  }

  /** Adds a source to watch. */
  add(source: VaultSecretSource): void {
    if (this.#sources.includes(source)) return;
    this.#sources.push(source);
    this.#unsubscribe.push(source.subscribe((e) => this.#emit(e)));
  }

  /** Registers a listener; returns a function that removes it. Listeners own the values of `changed` events. */
  subscribe(listener: (e: RotationEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts periodic KV checks (dynamic entries report through their leases at any time). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#scheduleNext();
  }

  /** Checks every polled entry now (concurrently); resolves when done. */
  pollNow(): Promise<void> {
    if (this.#round !== undefined) return this.#round;
    const round = (async () => {
      const polled = this.#sources.filter((s) => s.rotation === "poll");
      const results = await Promise.allSettled(polled.map((s) => s.poll(this.#abort.signal)));
      results.forEach((r, i) => {
        const source = polled[i]!;
        if (r.status === "fulfilled") {
          if (r.value !== undefined) this.#emit(r.value);
        } else if (!this.#abort.signal.aborted) {
          const error = r.reason instanceof VaultSourceError
            ? r.reason
            : wrap(source.name, r.reason);
          this.#options.logger?.("warn", `${error.message}; the workload keeps its current values`);
          this.#emit({ type: "error", name: source.name, error });
        }
      });
    })();
    this.#round = round.finally(() => this.#round = undefined);
    return this.#round;
  }

  /** Stops checking and closes the sources' lease keeping. */
  async close(): Promise<void> {
    this.#running = false;
    this.#abort.abort();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const u of this.#unsubscribe) u();
    await this.#round?.catch(() => {});
    this.#listeners.clear();
  }

  #scheduleNext(): void {
    if (!this.#running) return;
    const timer = setTimeout(() => {
      this.pollNow().finally(() => this.#scheduleNext());
    }, this.#options.pollIntervalMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  #emit(e: RotationEvent): void {
    const listeners = [...this.#listeners];
    if (e.type === "changed" && listeners.length === 0) {
      zeroSecret(e.secret);
      return;
    }
    listeners.forEach((l, i) => {
      const ev: RotationEvent = e.type === "changed" && i < listeners.length - 1
        ? { ...e, secret: cloneSecret(e.secret) }
        : e;
      try {
        l(ev);
      } catch {
        this.#options.logger?.("error", "A rotation listener failed");
      }
    });
  }
}

/** What {@linkcode createVaultSources} returns. */
export interface VaultSources {
  /** The shared client (closed by {@linkcode VaultSources.close}). */
  client: VaultClient;
  /** One source per Vault entry of the policy, in policy order. */
  sources: VaultSecretSource[];
  /** The rotation watcher over those sources (not started). */
  watcher: VaultRotationWatcher;
  /** For `createSources(policy.secrets, factory)` in `src/secrets/mod.ts`: returns the entry's source. */
  factory: (spec: SecretSpec) => SecretSource;
  /** Closes the watcher, the sources and the client. */
  close(): Promise<void>;
}

/**
 * Creates the Vault client, the sources of every Vault entry of `policy` and their watcher. Returns `undefined`
 * when the policy has no Vault entry.
 *
 * @throws {X00Error} See {@linkcode createVaultClient}.
 *
 * @example Usage
 * ```ts ignore
 * const vault = await createVaultSources(policy, { env: Deno.env.toObject(), logger });
 * ```
 */
export async function createVaultSources(
  policy: Policy,
  options: Omit<VaultSetupOptions, "mode"> & { mode?: Mode },
): Promise<VaultSources | undefined> {
  const specs = policy.secrets.filter((s) => s.source.type === "vault");
  if (specs.length === 0) return undefined;
  const logger = options.logger ?? (() => {});
  const client = await createVaultClient(policy.vault, {
    ...options,
    mode: options.mode ?? policy.policy.mode,
  });
  const sources = specs.map((spec) => new VaultSecretSource(client, spec, { logger }));
  const watcher = new VaultRotationWatcher(sources, {
    pollIntervalMs: policy.rotation.poll_interval_ms,
    logger,
  });
  const byName = new Map(sources.map((s) => [s.name, s]));
  return {
    client,
    sources,
    watcher,
    factory: (spec) => {
      let s = byName.get(spec.name);
      if (s === undefined) {
        s = new VaultSecretSource(client, spec, { logger });
        byName.set(spec.name, s);
        sources.push(s);
        watcher.add(s);
      }
      return s;
    },
    close: async () => {
      await watcher.close();
      await Promise.all(sources.map((s) => s.close()));
      await client.close();
    },
  };
}
