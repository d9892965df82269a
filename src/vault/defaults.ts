/**
 * Facts of Vault and its CLI stated once: the defaults the client uses when a caller gives no value, and names of
 * Vault's API; X00's policy format takes the ones it keeps from here (`src/policy/format/`).
 *
 * @module
 */

/** The vault CLI's per-request timeout (`VAULT_CLIENT_TIMEOUT`), which X00's `vault.timeout` keeps. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * The vault CLI's retry count (`VAULT_MAX_RETRIES`): the client's default when used on its own. X00's policy
 * chooses more (`vault.max_retries`, 12) so that start-up rides out a leader election or a rolling restart.
 */
export const DEFAULT_MAX_RETRIES = 2;

/** Where Kubernetes mounts a pod's service account token. */
export const KUBERNETES_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** The keys of Vault's `pki/issue` answer that X00 can deliver, as Vault names them. */
export const PKI_RESPONSE_KEYS = [
  "certificate",
  "private_key",
  "issuing_ca",
  "ca_chain",
  "serial_number",
  "private_key_type",
  "expiration",
] as const;
