/**
 * AppRole auth with Vault Agent's options, including a response-wrapped secret_id
 * (`secret_id_response_wrapping_path`): the secret_id file then holds a single-use wrapping token that is checked
 * with `sys/wrapping/lookup` (its `creation_path` must be the configured one) and unwrapped with
 * `sys/wrapping/unwrap`.
 *
 * @module
 */

import { sha256Hex } from "./_sha256.ts";
import type { AuthMethod } from "./types.ts";
import type { VaultRequester } from "./types.ts";
import { VaultError } from "./errors.ts";
import { fileError } from "./_fs.ts";
import { authMount, loginRequest, readCached, removeAfterReading } from "./_login.ts";

/** Options of {@linkcode appRoleAuth} (Vault Agent's `approle` method). */
export interface AppRoleAuthOptions {
  /** Mount path of the AppRole method: `approle` or, as Vault Agent writes it, `auth/approle` (the default). */
  mountPath?: string;
  /** File holding the role_id. */
  roleIdFile: string;
  /** File holding the secret_id, or a wrapping token when `secretIdResponseWrappingPath` is set. */
  secretIdFile: string;
  /** Delete the secret_id file once read, as Vault Agent's `remove_secret_id_file_after_reading`. */
  removeSecretIdFileAfterReading?: boolean;
  /**
   * Vault Agent's `secret_id_response_wrapping_path`: the secret_id file holds a response-wrapping token that
   * must have been created at this path (e.g. `auth/approle/role/app/secret-id`); anything else is refused.
   */
  secretIdResponseWrappingPath?: string;
}

/**
 * AppRole auth: `POST auth/<mount>/login` with the role_id and secret_id read from files. As Vault Agent does, the
 * values are kept in memory so that a later login works after the secret_id file was removed, and a new file
 * replaces them. With `secretIdResponseWrappingPath`, the file's wrapping token is looked up, its creation path
 * checked, and unwrapped once; a later login with the same file content reuses the unwrapped secret_id (a
 * wrapping token works only once).
 *
 * @example Usage
 * ```ts
 * import { appRoleAuth } from "./approle_auth.ts";
 * const auth = appRoleAuth({
 *   roleIdFile: "/etc/x00/role_id",
 *   secretIdFile: "/etc/x00/wrapped_secret_id",
 *   secretIdResponseWrappingPath: "auth/approle/role/app/secret-id",
 * });
 * console.assert(auth.name === "approle");
 * ```
 */
export function appRoleAuth(options: AppRoleAuthOptions): AuthMethod {
  const mount = authMount(options.mountPath ?? "approle");
  const file = options.secretIdFile;
  const wrappingPath = options.secretIdResponseWrappingPath;
  let cachedRoleId: string | undefined;
  let cachedSecretId: string | undefined;
  /** SHA-256 of the wrapping token the cached secret_id came from (the token itself is spent). */
  let unwrappedFrom: string | undefined;
  return {
    name: "approle",
    async login(client, signal) {
      const roleId = await readCached(options.roleIdFile, "AppRole role_id file", cachedRoleId);
      cachedRoleId = roleId;
      client.markSensitive(roleId);
      let content: string | undefined;
      try {
        content = (await Deno.readTextFile(file)).trim();
      } catch (err) {
        if (cachedSecretId === undefined) {
          throw fileError(file, "AppRole secret_id file", err, "auth");
        }
      }
      if (content === "" && cachedSecretId === undefined) {
        throw new VaultError(
          `Cannot authenticate to Vault: AppRole secret_id file '${file}' is empty`,
          { kind: "auth" },
        );
      }
      const fresh = content !== undefined && content !== "";
      let secretId = cachedSecretId;
      if (fresh) {
        client.markSensitive(content!);
        if (wrappingPath === undefined) {
          secretId = content;
        } else if (unwrappedFrom !== sha256Hex(content!) || cachedSecretId === undefined) {
          secretId = await unwrapSecretId(client, content!, wrappingPath, file, signal);
          unwrappedFrom = sha256Hex(content!);
        }
      }
      client.markSensitive(secretId!);
      cachedSecretId = secretId;
      if (fresh && options.removeSecretIdFileAfterReading) {
        await removeAfterReading(client, file, "AppRole secret_id file");
      }
      return await loginRequest(client, `auth/${mount}/login`, {
        role_id: roleId,
        secret_id: secretId!,
      }, signal);
    },
  };
}

/**
 * Checks a wrapping token's creation path with `sys/wrapping/lookup`, then unwraps it with `sys/wrapping/unwrap`
 * (the token as `X-Vault-Token`) and returns `data.secret_id`.
 */
async function unwrapSecretId(
  client: VaultRequester,
  token: string,
  expectedPath: string,
  file: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  const what = `the response-wrapped AppRole secret_id of '${file}'`;
  const opts = { authenticated: false, reauthenticate: false, ...(signal ? { signal } : {}) };
  let creationPath: unknown;
  try {
    const info = await client.write("sys/wrapping/lookup", { token }, opts);
    creationPath = info.data?.creation_path;
  } catch (err) {
    throw unwrapError(err, what, "sys/wrapping/lookup");
  }
  if (typeof creationPath !== "string") {
    throw new VaultError(
      `Cannot unwrap ${what}: Vault's answer to sys/wrapping/lookup has no creation_path`,
      { kind: "invalid_response", path: "sys/wrapping/lookup" },
    );
  }
  if (creationPath !== expectedPath) {
    throw new VaultError(
      `Refusing ${what}: the wrapping token was created at ${
        // A path is no credential (Vault returned it, so the client's cleaner would hide it); anything else is.
        /^[A-Za-z0-9_.\-/]{1,200}$/.test(creationPath)
          ? `'${creationPath}'`
          : "another path"}, not at secret_id_response_wrapping_path '${expectedPath}' (a swapped token?); it was not unwrapped`,
      { kind: "auth", path: "sys/wrapping/lookup" },
    );
  }
  let secretId: unknown;
  try {
    const res = await client.write("sys/wrapping/unwrap", {}, { ...opts, token });
    secretId = res.data?.secret_id;
  } catch (err) {
    throw unwrapError(err, what, "sys/wrapping/unwrap");
  }
  if (typeof secretId !== "string" || secretId === "") {
    throw new VaultError(
      `Cannot unwrap ${what}: the unwrapped response has no data.secret_id`,
      { kind: "invalid_response", path: "sys/wrapping/unwrap" },
    );
  }
  client.markSensitive(secretId);
  return secretId;
}

function unwrapError(err: unknown, what: string, path: string): unknown {
  if (!(err instanceof VaultError)) return err;
  if (err.kind === "bad_request") {
    return new VaultError(
      `Cannot unwrap ${what}: Vault says the wrapping token is not valid or does not exist (${path}, ` +
        "HTTP 400): it was already used, expired or revoked; if X00 did not unwrap it, someone else may " +
        "have: issue a new secret_id and investigate",
      { kind: "auth", status: 400, path, cause: err },
    );
  }
  return err;
}
