/**
 * JWT/OIDC auth (Vault's `jwt` auth method, Vault Agent's `jwt` auto_auth method): `POST auth/<mount>/login` with
 * the role and a workload identity JWT read from a file at every login, since such tokens rotate.
 *
 * @module
 */

import type { AuthMethod } from "./types.ts";
import { VaultError } from "./errors.ts";
import { fileError } from "./_fs.ts";
import { authMount, loginRequest, removeAfterReading } from "./_login.ts";

/** Options of {@linkcode jwtAuth}. */
export interface JwtAuthOptions {
  /** Mount path of the JWT method: `jwt` or `auth/jwt` (the default). */
  mountPath?: string;
  /** The Vault role to log in as. */
  role: string;
  /** The JWT file (Vault Agent's `path`), re-read at every login. */
  tokenPath: string;
  /**
   * Delete the file once read (Vault Agent's `remove_jwt_after_reading`; default `false` here). The JWT is then
   * kept in memory for re-logins until a new file appears.
   */
  removeJwtAfterReading?: boolean;
}

/**
 * JWT auth: `POST auth/<mount>/login` with `{ role, jwt }`. The file is read at every login, so a rotated token is
 * picked up; when it is missing or empty and an earlier login read a JWT (only possible after
 * `removeJwtAfterReading`), that JWT is used again.
 *
 * @example Usage
 * ```ts
 * import { jwtAuth } from "./jwt_auth.ts";
 * const auth = jwtAuth({ role: "app", tokenPath: "/var/run/secrets/tokens/vault-jwt" });
 * console.assert(auth.name === "jwt");
 * ```
 */
export function jwtAuth(options: JwtAuthOptions): AuthMethod {
  const mount = authMount(options.mountPath ?? "jwt");
  const path = options.tokenPath;
  let cached: string | undefined;
  return {
    name: "jwt",
    async login(client, signal) {
      let jwt: string | undefined;
      try {
        jwt = (await Deno.readTextFile(path)).trim();
      } catch (err) {
        if (cached === undefined || !options.removeJwtAfterReading) {
          throw fileError(path, "JWT file", err, "auth");
        }
      }
      const fresh = jwt !== undefined && jwt !== "";
      if (!fresh) {
        if (cached === undefined || !options.removeJwtAfterReading) {
          throw new VaultError(`Cannot authenticate to Vault: JWT file '${path}' is empty`, {
            kind: "auth",
          });
        }
        jwt = cached;
      }
      client.markSensitive(jwt!);
      if (fresh && options.removeJwtAfterReading) {
        cached = jwt;
        await removeAfterReading(client, path, "JWT file");
      }
      return await loginRequest(
        client,
        `auth/${mount}/login`,
        { role: options.role, jwt: jwt! },
        signal,
      );
    },
  };
}
