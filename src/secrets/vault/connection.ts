/**
 * The Vault connection of a policy: the `vault:` section overridden by the `VAULT_*` variables (the precedence of
 * the vault CLI and Vault Agent), the insecure-connection rules, TLS files and the auth method, as one
 * {@linkcode VaultClient}.
 *
 * @module
 */

import { ExitCode, X00Error } from "../../errors.ts";
import { VAULT_DEFAULTS } from "../../policy/mod.ts";
import type { Mode, VaultConfig } from "../../policy/types.ts";
import {
  appRoleAuth,
  type AuthMethod,
  certAuth,
  jwtAuth,
  kubernetesAuth,
  loadTlsMaterial,
  type Logger,
  readVaultEnv,
  type RetryOptions,
  tokenAuth,
  VaultClient,
  VaultError,
} from "../../vault/mod.ts";

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

/** The policy format's defaults, for a `vault:` section that is absent (VAULT_* variables only). */
const DEFAULTS = {
  max_retries: VAULT_DEFAULTS.max_retries,
  timeout_ms: VAULT_DEFAULTS.timeout_ms,
};

/**
 * Applies the `VAULT_*` variables over the policy's `vault:` section over defaults, the precedence of the vault
 * CLI and Vault Agent. `VAULT_TOKEN` is not part of the result (see {@linkcode createVaultClient}).
 *
 * @example Usage
 * ```ts
 * import { resolveVaultSettings } from "./mod.ts";
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
    // The only roots for an https address X00 verifies: the configured CAs, else the system's (docs/vault.md).
    const tlsFiles: Parameters<typeof loadTlsMaterial>[0] = {
      systemRoots: url.protocol === "https:" && !s.tlsSkipVerify,
    };
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
      const expired = err.certificate !== undefined;
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
