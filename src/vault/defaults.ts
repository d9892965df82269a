/**
 * Defaults the Vault client shares with the vault CLI, stated once: the client uses them when a caller gives no
 * value, and X00's policy format takes the ones it keeps from here (`src/policy/_spec.ts`).
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
