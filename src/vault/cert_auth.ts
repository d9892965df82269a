/**
 * TLS certificate auth (Vault's `cert` auth method): `POST auth/<mount>/login`, optionally naming the certificate
 * role. The credential is the client certificate the connection presents (the client's mTLS certificate and
 * key); nothing secret is in the request body.
 *
 * @module
 */

import type { AuthMethod } from "./types.ts";
import { authMount, loginRequest } from "./_login.ts";

/** Options of {@linkcode certAuth}. */
export interface CertAuthOptions {
  /** Mount path of the cert method: `cert` or `auth/cert` (the default). */
  mountPath?: string;
  /** The certificate role (`auth/cert/certs/<name>`) to log in against; absent: Vault tries every role. */
  name?: string;
}

/**
 * Cert auth: `POST auth/<mount>/login` with `{ name }` (or `{}`), over the client's TLS connection, whose client
 * certificate Vault verifies against the role's trusted certificates and CRLs. The client must have been built
 * with a client certificate (`loadTlsMaterial({ clientCert, clientKey })`).
 *
 * @example Usage
 * ```ts
 * import { certAuth } from "./cert_auth.ts";
 * const auth = certAuth({ name: "web" });
 * console.assert(auth.name === "cert");
 * ```
 */
export function certAuth(options: CertAuthOptions = {}): AuthMethod {
  const mount = authMount(options.mountPath ?? "cert");
  const body: Record<string, string> = options.name !== undefined ? { name: options.name } : {};
  return {
    name: "cert",
    login: (client, signal) => loginRequest(client, `auth/${mount}/login`, body, signal),
  };
}
