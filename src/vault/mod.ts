/**
 * A small, typed HashiCorp Vault client for Deno, usable without the rest of X00: TLS with a custom CA, mTLS,
 * server-name override, namespaces, token, AppRole (with a response-wrapped secret_id), Kubernetes, JWT and TLS
 * certificate auth with token renewal, KV v1/v2, dynamic secrets with lease renewal, retries with backoff.
 * Nothing here prints; pass a logger to see what happens. Tokens, wrapping tokens, secret_ids, JWTs and secret
 * values never appear in its messages.
 *
 * @example Reading a KV v2 secret over mTLS with AppRole
 * ```ts ignore
 * import { appRoleAuth, loadTlsMaterial, readKvV2, VaultClient } from "./mod.ts";
 *
 * const client = new VaultClient({
 *   address: "https://vault.example:8200",
 *   tls: await loadTlsMaterial({ caCert: "ca.pem", clientCert: "client.pem", clientKey: "client.key" }),
 *   auth: appRoleAuth({ roleIdFile: "role_id", secretIdFile: "secret_id" }),
 * });
 * const secret = await readKvV2(client, "secret", "app/db");
 * console.log(secret.metadata.version);
 * await client.close();
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./client.ts";
export * from "./auth.ts";
export * from "./kv.ts";
export * from "./lease.ts";
export * from "./pki.ts";
export * from "./retry.ts";
export * from "./env.ts";
export * from "./tls.ts";
export * from "./transport.ts";
