/**
 * The `vault:` section of a policy and its `auth` block.
 *
 * @module
 */

import { AUTH_METHODS, DEFAULTS, KEYS, parseDuration, VAULT_ADDRESS_PATTERN } from "./_spec.ts";
import type { Mode, VaultAuthConfig, VaultConfig } from "./types.ts";
import {
  ABSOLUTE_PATH,
  booleanField,
  Checker,
  CREDENTIAL_PATH,
  durationField,
  type Entry,
  enumField,
  integerField,
  join,
  stringField,
  VAULT_PATH,
} from "./_checker.ts";

export function checkVault(
  c: Checker,
  entry: Entry,
  mode: Mode | undefined,
): VaultConfig | undefined {
  const fields = c.mapping(entry.value, entry.path, KEYS.vault);
  if (fields === undefined) return undefined;
  const address = stringField(c, fields, "address", {
    pattern: VAULT_ADDRESS_PATTERN,
    expected: "an http:// or https:// URL such as https://vault.example:8200, without user info",
    credential: (value) => value.includes("@"),
  });
  const namespace = stringField(c, fields, "namespace");
  const caCert = stringField(c, fields, "ca_cert", ABSOLUTE_PATH);
  const caPath = stringField(c, fields, "ca_path", ABSOLUTE_PATH);
  const clientCert = stringField(c, fields, "client_cert", ABSOLUTE_PATH);
  const clientKey = stringField(c, fields, "client_key", CREDENTIAL_PATH);
  const serverName = stringField(c, fields, "tls_server_name");
  const skipVerify = booleanField(c, fields, "tls_skip_verify") ?? DEFAULTS.tls_skip_verify;
  const allowInsecure = booleanField(c, fields, "allow_insecure") ?? DEFAULTS.allow_insecure;
  const maxRetries = integerField(c, fields, "max_retries", 0, "a non-negative integer");
  const timeout = durationField(c, fields, "timeout", 1);
  const authEntry = fields.entries.get("auth");
  const auth = authEntry === undefined
    ? { method: "token" as const }
    : checkAuth(c, authEntry, fields.entries.has("client_cert"));

  for (const [present, other] of [["client_cert", "client_key"], ["client_key", "client_cert"]]) {
    if (fields.entries.has(present!) && !fields.entries.has(other!)) {
      c.missing(fields, other!, ` when '${join(fields.path, present!)}' is set`);
    }
  }
  if (mode === "enforce" && !allowInsecure) {
    const addressEntry = fields.entries.get("address");
    if (address?.startsWith("http://") && addressEntry) {
      c.invalid(
        addressEntry,
        "an https:// URL in enforce mode unless 'vault.allow_insecure' is true",
      );
    }
    const skipEntry = fields.entries.get("tls_skip_verify");
    if (skipVerify && skipEntry) {
      c.invalid(skipEntry, "false in enforce mode unless 'vault.allow_insecure' is true");
    }
  }
  if (auth === undefined) return undefined;
  return {
    ...(address !== undefined ? { address } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(caCert !== undefined ? { ca_cert: caCert } : {}),
    ...(caPath !== undefined ? { ca_path: caPath } : {}),
    ...(clientCert !== undefined ? { client_cert: clientCert } : {}),
    ...(clientKey !== undefined ? { client_key: clientKey } : {}),
    ...(serverName !== undefined ? { tls_server_name: serverName } : {}),
    tls_skip_verify: skipVerify,
    allow_insecure: allowInsecure,
    max_retries: maxRetries ?? DEFAULTS.max_retries,
    timeout_ms: timeout ?? parseDuration(DEFAULTS.timeout)!,
    auth,
  };
}

/** Every auth key, and `path` (Vault Agent's name for the JWT file), reported with a hint below. */
const ALL_AUTH_KEYS = [...new Set(Object.values(KEYS.auth).flat()), "path"];

function checkAuth(
  c: Checker,
  entry: Entry,
  hasClientCert: boolean,
): VaultAuthConfig | undefined {
  const fields = c.mapping(entry.value, entry.path, ALL_AUTH_KEYS);
  if (fields === undefined) return undefined;
  const method = enumField(c, fields, "method", AUTH_METHODS, { required: true });
  if (method === undefined) return undefined;
  const agentPath = fields.entries.get("path");
  if (agentPath !== undefined && method === "jwt") {
    c.issue(
      agentPath.key,
      agentPath.path,
      "is Vault Agent's name for the JWT file: X00 calls it 'token_path', as for kubernetes",
    );
  }
  c.onlyAllowed(
    fields,
    method === "jwt" ? [...KEYS.auth.jwt, "path"] : KEYS.auth[method],
    `for auth method "${method}"`,
  );
  const mountPath = stringField(c, fields, "mount_path", VAULT_PATH);
  switch (method) {
    case "token": {
      const tokenFile = stringField(c, fields, "token_file_path", CREDENTIAL_PATH);
      return { method, ...(tokenFile !== undefined ? { token_file_path: tokenFile } : {}) };
    }
    case "approle": {
      const why = ` for auth method "approle"`;
      const roleId = stringField(c, fields, "role_id_file_path", {
        ...CREDENTIAL_PATH,
        required: true,
        why,
      });
      const secretId = stringField(c, fields, "secret_id_file_path", {
        ...CREDENTIAL_PATH,
        required: true,
        why,
      });
      const remove = booleanField(c, fields, "remove_secret_id_file_after_reading");
      const wrappingPath = stringField(c, fields, "secret_id_response_wrapping_path", VAULT_PATH);
      if (roleId === undefined || secretId === undefined) return undefined;
      return {
        method,
        mount_path: mountPath ?? DEFAULTS.approle_mount_path,
        role_id_file_path: roleId,
        secret_id_file_path: secretId,
        remove_secret_id_file_after_reading: remove ?? DEFAULTS.remove_secret_id_file_after_reading,
        ...(wrappingPath !== undefined ? { secret_id_response_wrapping_path: wrappingPath } : {}),
      };
    }
    case "kubernetes": {
      const role = stringField(c, fields, "role", {
        required: true,
        why: ` for auth method "kubernetes"`,
      });
      const tokenPath = stringField(c, fields, "token_path", CREDENTIAL_PATH);
      if (role === undefined) return undefined;
      return {
        method,
        mount_path: mountPath ?? DEFAULTS.kubernetes_mount_path,
        role,
        token_path: tokenPath ?? DEFAULTS.kubernetes_token_path,
      };
    }
    case "jwt": {
      const why = ` for auth method "jwt"`;
      const role = stringField(c, fields, "role", { required: true, why });
      const tokenPath = stringField(c, fields, "token_path", {
        ...CREDENTIAL_PATH,
        required: agentPath === undefined,
        why,
      });
      const remove = booleanField(c, fields, "remove_jwt_after_reading");
      if (role === undefined || tokenPath === undefined) return undefined;
      return {
        method,
        mount_path: mountPath ?? DEFAULTS.jwt_mount_path,
        role,
        token_path: tokenPath,
        remove_jwt_after_reading: remove ?? DEFAULTS.remove_jwt_after_reading,
      };
    }
    case "cert": {
      const name = stringField(c, fields, "name");
      if (!hasClientCert) {
        const m = fields.entries.get("method")!;
        c.issue(
          m.value,
          m.path,
          `is "cert", which needs 'vault.client_cert' and 'vault.client_key': the TLS client ` +
            "certificate is the credential",
        );
        return undefined;
      }
      return {
        method,
        mount_path: mountPath ?? DEFAULTS.cert_mount_path,
        ...(name !== undefined ? { name } : {}),
      };
    }
  }
}
