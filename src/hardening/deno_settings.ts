/**
 * The Deno settings X00's own process runs with, whatever environment it was started in. The re-executed X00
 * process (src/hardening/inspector_signal.ts) gets them in its environment ({@linkcode ownDenoEnvironment}); the
 * values X00 was given travel in `X00_ORIGINAL_DENO`, and a workload gets them back
 * ({@linkcode workloadEnvironment}), so what X00 starts sees the environment X00 was started with.
 *
 * - **Whom X00's own TLS trusts**: exactly the CAs it is configured with (`vault.ca_cert`, `vault.ca_path`,
 *   `VAULT_CACERT`, `VAULT_CAPATH`), else the system's roots (src/vault/tls.ts), as Vault's own clients do. Deno
 *   adds other roots to every connection, whatever a `caCerts` option says: its Mozilla store
 *   (`DENO_TLS_CA_STORE`, read at start-up), and the files named by `DENO_CERT` and `NODE_EXTRA_CA_CERTS` (read
 *   at the first TLS connection). A CA listed there (a corporate inspection proxy's, any public CA for a Vault
 *   with a public name) could otherwise stand in for Vault and receive X00's login. So `DENO_TLS_CA_STORE` is
 *   empty and the other two are unset.
 * - **No connection but Vault's**: `deno run` checks for a newer Deno once a day, in the background of every
 *   process (a DNS lookup and an HTTPS request to dl.deno.land, its answer written to `DENO_DIR`), and retries at
 *   every start where it cannot reach it. A privileged security tool must not talk to a third party on its own,
 *   nor write files it was not asked to: `DENO_NO_UPDATE_CHECK=1`. (The compiled runtime has no update check.)
 *
 * @module
 */

/** Deno's variables X00's process runs with, and their values (`undefined`: not set). */
export const DENO_SETTINGS: Readonly<Record<string, string | undefined>> = {
  DENO_TLS_CA_STORE: "",
  DENO_CERT: undefined,
  NODE_EXTRA_CA_CERTS: undefined,
  DENO_NO_UPDATE_CHECK: "1",
};

/** X00's record of the {@linkcode DENO_SETTINGS} variables it was started with (a JSON object), while it runs. */
export const ORIGINAL_SETTINGS = "X00_ORIGINAL_DENO";

/** Whether `env` is the environment {@linkcode ownDenoEnvironment} prepares. */
export function denoSettingsPrepared(env: Record<string, string>): boolean {
  return env[ORIGINAL_SETTINGS] !== undefined &&
    Object.entries(DENO_SETTINGS).every(([name, value]) => env[name] === value);
}

/**
 * The environment for X00's re-executed process: the {@linkcode DENO_SETTINGS} variables it was given recorded in
 * `X00_ORIGINAL_DENO`, and set (or removed) as {@linkcode DENO_SETTINGS} says. Already prepared: returned as it
 * is.
 *
 * @example Usage
 * ```ts
 * import { ownDenoEnvironment, workloadEnvironment } from "./deno_settings.ts";
 * const env = ownDenoEnvironment({ DENO_CERT: "/etc/corp-ca.pem", PATH: "/bin" });
 * console.assert(env.DENO_CERT === undefined && env.DENO_TLS_CA_STORE === "");
 * console.assert(env.DENO_NO_UPDATE_CHECK === "1");
 * console.assert(workloadEnvironment(env).DENO_CERT === "/etc/corp-ca.pem");
 * ```
 */
export function ownDenoEnvironment(env: Record<string, string>): Record<string, string> {
  if (denoSettingsPrepared(env)) return { ...env };
  const out = { ...env };
  const original: Record<string, string> = {};
  for (const [name, value] of Object.entries(DENO_SETTINGS)) {
    if (out[name] !== undefined) original[name] = out[name]!;
    if (value === undefined) delete out[name];
    else out[name] = value;
  }
  out[ORIGINAL_SETTINGS] = JSON.stringify(original);
  return out;
}

/**
 * What a process that X00 starts gets of `env` (X00's own environment): the {@linkcode DENO_SETTINGS} variables
 * as X00 was given them, X00's record gone. An environment {@linkcode ownDenoEnvironment} did not prepare is
 * returned as it is.
 */
export function workloadEnvironment(env: Record<string, string>): Record<string, string> {
  if (!denoSettingsPrepared(env)) return { ...env };
  const out = { ...env };
  let original: Record<string, unknown> = {};
  try {
    original = JSON.parse(out[ORIGINAL_SETTINGS]!);
  } catch {
    // not X00's record: nothing to give back
  }
  delete out[ORIGINAL_SETTINGS];
  for (const name of Object.keys(DENO_SETTINGS)) {
    delete out[name];
    const value = original[name];
    if (typeof value === "string") out[name] = value;
  }
  return out;
}
