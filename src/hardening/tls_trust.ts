/**
 * Whom X00's own TLS trusts: exactly the CAs it is configured with (`vault.ca_cert`, `vault.ca_path`, `VAULT_CACERT`,
 * `VAULT_CAPATH`), else the system's roots (src/vault/tls.ts), as Vault's own clients do. Deno adds other roots to
 * every connection, whatever a `caCerts` option says: its Mozilla store (`DENO_TLS_CA_STORE`, read at start-up),
 * and the files named by `DENO_CERT` and `NODE_EXTRA_CA_CERTS` (read at the first TLS connection). A CA listed
 * there (a corporate inspection proxy's, any public CA for a Vault with a public name) could otherwise stand in for
 * Vault and receive X00's login.
 *
 * So the re-executed X00 process (src/hardening/inspector_signal.ts) starts with `DENO_TLS_CA_STORE` empty and
 * without `DENO_CERT` and `NODE_EXTRA_CA_CERTS`; the values it was given travel in `X00_ORIGINAL_TRUST` and the
 * workload gets them back ({@linkcode workloadEnvironment}), so what X00 starts sees the environment X00 was
 * started with.
 *
 * @module
 */

/** Deno's variables that add trusted roots to every TLS connection of the process. */
export const TRUST_VARIABLES = ["DENO_TLS_CA_STORE", "DENO_CERT", "NODE_EXTRA_CA_CERTS"] as const;

/** X00's record of the {@linkcode TRUST_VARIABLES} it was started with (a JSON object), while it runs. */
export const ORIGINAL_TRUST = "X00_ORIGINAL_TRUST";

/** Whether `env` is the environment {@linkcode trustEnvironment} prepares: Deno trusts no root of its own. */
export function trustPrepared(env: Record<string, string>): boolean {
  return env[ORIGINAL_TRUST] !== undefined && env.DENO_TLS_CA_STORE === "" &&
    env.DENO_CERT === undefined && env.NODE_EXTRA_CA_CERTS === undefined;
}

/**
 * The environment for X00's re-executed process: {@linkcode TRUST_VARIABLES} recorded in `X00_ORIGINAL_TRUST` and
 * removed, `DENO_TLS_CA_STORE` empty (no Mozilla or system store). Already prepared: returned as it is.
 *
 * @example Usage
 * ```ts
 * import { trustEnvironment, workloadEnvironment } from "./tls_trust.ts";
 * const env = trustEnvironment({ DENO_CERT: "/etc/corp-ca.pem", PATH: "/bin" });
 * console.assert(env.DENO_CERT === undefined && env.DENO_TLS_CA_STORE === "");
 * console.assert(workloadEnvironment(env).DENO_CERT === "/etc/corp-ca.pem");
 * ```
 */
export function trustEnvironment(env: Record<string, string>): Record<string, string> {
  if (trustPrepared(env)) return { ...env };
  const out = { ...env };
  const original: Record<string, string> = {};
  for (const name of TRUST_VARIABLES) {
    if (out[name] !== undefined) original[name] = out[name]!;
    delete out[name];
  }
  out[ORIGINAL_TRUST] = JSON.stringify(original);
  out.DENO_TLS_CA_STORE = "";
  return out;
}

/**
 * What a process that X00 starts gets of `env` (X00's own environment): {@linkcode TRUST_VARIABLES} as X00 was
 * given them, X00's record gone. An environment {@linkcode trustEnvironment} did not prepare is returned as it is.
 */
export function workloadEnvironment(env: Record<string, string>): Record<string, string> {
  if (!trustPrepared(env)) return { ...env };
  const out = { ...env };
  let original: Record<string, unknown> = {};
  try {
    original = JSON.parse(out[ORIGINAL_TRUST]!);
  } catch {
    // not X00's record: nothing to give back
  }
  delete out[ORIGINAL_TRUST];
  for (const name of TRUST_VARIABLES) {
    delete out[name];
    const value = original[name];
    if (typeof value === "string") out[name] = value;
  }
  return out;
}
