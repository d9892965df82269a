/**
 * The environment variables the `vault` CLI honours, parsed the way it parses them.
 *
 * @module
 */

import { VaultError } from "./errors.ts";

/** Settings read from `VAULT_*` variables; a field is present only when its variable is set and not empty. */
export interface VaultEnvSettings {
  /** `VAULT_ADDR` */
  address?: string;
  /** `VAULT_TOKEN` (a credential: never log it). */
  token?: string;
  /** `VAULT_CACERT`: a PEM file of CA certificates. */
  caCert?: string;
  /** `VAULT_CAPATH`: a directory of PEM files. */
  caPath?: string;
  /** `VAULT_CLIENT_CERT` */
  clientCert?: string;
  /** `VAULT_CLIENT_KEY` */
  clientKey?: string;
  /** `VAULT_NAMESPACE` */
  namespace?: string;
  /** `VAULT_TLS_SERVER_NAME` */
  tlsServerName?: string;
  /** `VAULT_SKIP_VERIFY` */
  tlsSkipVerify?: boolean;
  /** `VAULT_MAX_RETRIES` */
  maxRetries?: number;
  /** `VAULT_CLIENT_TIMEOUT`, in milliseconds. */
  timeoutMs?: number;
}

/** The variables read by {@linkcode readVaultEnv}, in the order the documentation lists them. */
export const VAULT_ENV_VARS = [
  "VAULT_ADDR",
  "VAULT_TOKEN",
  "VAULT_CACERT",
  "VAULT_CAPATH",
  "VAULT_CLIENT_CERT",
  "VAULT_CLIENT_KEY",
  "VAULT_NAMESPACE",
  "VAULT_TLS_SERVER_NAME",
  "VAULT_SKIP_VERIFY",
  "VAULT_MAX_RETRIES",
  "VAULT_CLIENT_TIMEOUT",
] as const;

/**
 * Reads the `VAULT_*` variables from `env` (for example `Deno.env.toObject()`). Empty variables count as unset,
 * as in the vault CLI. Throws a {@linkcode VaultError} of kind `config` naming the variable when a value cannot
 * be parsed (the message never repeats `VAULT_TOKEN`).
 *
 * @example Usage
 * ```ts
 * import { readVaultEnv } from "./env.ts";
 * const s = readVaultEnv({ VAULT_ADDR: "https://vault:8200", VAULT_CLIENT_TIMEOUT: "30s" });
 * console.assert(s.address === "https://vault:8200" && s.timeoutMs === 30000);
 * ```
 */
export function readVaultEnv(env: Record<string, string | undefined>): VaultEnvSettings {
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  const out: VaultEnvSettings = {};
  const str = (name: string, field: keyof VaultEnvSettings) => {
    const v = get(name);
    if (v !== undefined) (out as Record<string, unknown>)[field] = v;
  };
  str("VAULT_ADDR", "address");
  str("VAULT_TOKEN", "token");
  str("VAULT_CACERT", "caCert");
  str("VAULT_CAPATH", "caPath");
  str("VAULT_CLIENT_CERT", "clientCert");
  str("VAULT_CLIENT_KEY", "clientKey");
  str("VAULT_NAMESPACE", "namespace");
  str("VAULT_TLS_SERVER_NAME", "tlsServerName");
  const skip = get("VAULT_SKIP_VERIFY");
  if (skip !== undefined) out.tlsSkipVerify = parseBool("VAULT_SKIP_VERIFY", skip);
  const retries = get("VAULT_MAX_RETRIES");
  if (retries !== undefined) {
    if (!/^\d+$/.test(retries)) {
      throw configError("VAULT_MAX_RETRIES", "a non-negative integer", retries);
    }
    out.maxRetries = Number(retries);
  }
  const timeout = get("VAULT_CLIENT_TIMEOUT");
  if (timeout !== undefined) {
    const ms = parseVaultCliDuration(timeout);
    if (ms === undefined || ms <= 0) {
      throw configError("VAULT_CLIENT_TIMEOUT", "a duration such as 60, 60s or 1m30s", timeout);
    }
    out.timeoutMs = ms;
  }
  return out;
}

/**
 * Parses a duration as the vault CLI reads `VAULT_CLIENT_TIMEOUT`: Go's `time.ParseDuration` (`1h2m3s`, `500ms`,
 * `1.5s`) or a bare number of seconds, into milliseconds. Returns `undefined` when the text is not a duration.
 * Not the policy's grammar (`src/duration.ts`, which takes no fractions and no bare numbers): a variable meant for
 * the vault CLI must mean the same to X00.
 *
 * @example Usage
 * ```ts
 * import { parseVaultCliDuration } from "./env.ts";
 * console.assert(parseVaultCliDuration("1m30s") === 90000 && parseVaultCliDuration("15") === 15000);
 * ```
 */
export function parseVaultCliDuration(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const unit: Record<string, number> = {
    h: 3_600_000,
    m: 60_000,
    s: 1000,
    ms: 1,
    us: 0.001,
    "µs": 0.001,
  };
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|h|m|s)/y;
  let total = 0;
  let pos = 0;
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (m === null) return undefined;
    total += Number(m[1]) * (unit[m[2]!] ?? 0);
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : Math.round(total);
}

/** Go's strconv.ParseBool, which the vault CLI uses for VAULT_SKIP_VERIFY. */
function parseBool(name: string, v: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  throw configError(name, "a boolean (true, false, 1, 0)", v);
}

function configError(name: string, expected: string, value: string): VaultError {
  const shown = value.length > 40 ? value.slice(0, 40) + "…" : value;
  return new VaultError(
    `Cannot read environment variable ${name} as it must be ${expected}: current value is '${shown}'`,
    { kind: "config" },
  );
}
