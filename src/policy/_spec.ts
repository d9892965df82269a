/**
 * The vocabulary of the policy format, shared by the validator (`load.ts`) and the JSON Schema (`schema.ts`):
 * the keys each mapping accepts, the enum values, the patterns and the defaults. A test asserts that the schema
 * lists exactly these keys.
 *
 * @module
 */

import { DEFAULT_TIMEOUT_MS, KUBERNETES_TOKEN_PATH, PKI_RESPONSE_KEYS } from "../vault/defaults.ts";

/** The keys of a Vault source that only `engine: pki` accepts. */
export const PKI_SOURCE_KEYS = [
  "role",
  "common_name",
  "alt_names",
  "ip_sans",
  "uri_sans",
  "ttl",
  "exclude_cn_from_sans",
  "renew_fraction",
] as const;

/** The keys every mapping of the format accepts. */
export const KEYS = {
  root: ["policy", "secrets", "templates", "audit", "rotation", "vault", "workload", "clients"],
  client: ["name", "uids", "gids", "cgroups", "secrets"],
  policy: [
    "mode",
    "block_environ_read",
    "block_mem_read",
    "block_ptrace",
    "foreign_bpf",
    "foreign_bpf_allow",
  ],
  foreign_bpf_allow: ["uids", "cgroups"],
  workload: ["user", "group", "groups", "capabilities"],
  secret: ["name", "source", "delivery", "keys", "all_keys"],
  template: ["name", "template", "delivery"],
  source: {
    file: ["type", "path"],
    env: ["type", "var"],
    vault: ["type", "engine", "mount", "path", "key", "version", ...PKI_SOURCE_KEYS],
  },
  delivery: ["env", "file"],
  all_keys: ["env", "file"],
  audit: ["output", "format"],
  rotation: ["on_change", "signal", "stop_signal", "grace_period", "poll_interval"],
  vault: [
    "address",
    "namespace",
    "ca_cert",
    "ca_path",
    "client_cert",
    "client_key",
    "tls_server_name",
    "tls_skip_verify",
    "allow_insecure",
    "max_retries",
    "timeout",
    "auth",
  ],
  auth: {
    token: ["method", "token_file_path"],
    approle: [
      "method",
      "mount_path",
      "role_id_file_path",
      "secret_id_file_path",
      "remove_secret_id_file_after_reading",
      "secret_id_response_wrapping_path",
    ],
    kubernetes: ["method", "mount_path", "role", "token_path"],
    jwt: ["method", "mount_path", "role", "token_path", "remove_jwt_after_reading"],
    cert: ["method", "mount_path", "name"],
  },
} as const;

/** `policy.mode` values. */
export const MODES = ["enforce", "audit"] as const;
/** `policy.foreign_bpf` values. */
export const FOREIGN_BPF = ["log", "refuse_tracing", "refuse_all"] as const;
/** `secrets[].source.type` values. */
export const SOURCE_TYPES = ["file", "env", "vault"] as const;
/** `secrets[].source.engine` values. */
export const ENGINES = ["kv-v2", "kv-v1", "dynamic", "pki"] as const;
/** The keys of Vault's `pki/issue` answer an `engine: pki` entry may deliver. */
export const PKI_KEYS = PKI_RESPONSE_KEYS;
/** A PKI role name, as Vault's `framework.GenericNameRegex` matches it. */
export const PKI_ROLE_PATTERN = "^\\w(?:[\\w.-]*\\w)?$";
/** The longest `ttl` of an `engine: pki` source, in milliseconds (10 years of 365 days: 87600h). */
export const MAX_PKI_TTL_MS = 87600 * 60 * 60 * 1000;
/** `audit.format` values. */
export const AUDIT_FORMATS = ["json", "table"] as const;
/** `rotation.on_change` values. */
export const ON_CHANGE = ["restart", "signal", "none"] as const;
/** `vault.auth.method` values. */
export const AUTH_METHODS = ["token", "approle", "kubernetes", "jwt", "cert"] as const;
/** Signals accepted for `rotation.signal` (asking the workload to reload). */
export const RELOAD_SIGNALS = [
  "SIGHUP",
  "SIGUSR1",
  "SIGUSR2",
  "SIGINT",
  "SIGQUIT",
  "SIGTERM",
  "SIGWINCH",
  "SIGALRM",
] as const;
/** Signals accepted for `rotation.stop_signal` (stopping the workload before a restart). */
export const STOP_SIGNALS = [
  "SIGTERM",
  "SIGINT",
  "SIGQUIT",
  "SIGHUP",
  "SIGUSR1",
  "SIGUSR2",
  "SIGKILL",
] as const;

/** A secret name. */
export const SECRET_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]*$";
/** An environment variable name. */
export const ENV_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$";
/** A user or group name (`workload.user`, `workload.group`, `workload.groups`). */
export const ACCOUNT_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_.-]*\\$?$";
/** The largest uid or gid (2^32 - 2; 2^32 - 1 is "no id"). */
export const MAX_ID = 4294967294;
/** An absolute path. */
export const ABSOLUTE_PATH_PATTERN = "^/";
/** A Vault path: segments separated by `/`, none empty, `.` or `..`, no leading or trailing `/`. */
export const VAULT_PATH_PATTERN = "^(?!\\.\\.?(?:/|$))(?!.*/\\.\\.?(?:/|$))[^/]+(?:/[^/]+)*$";
export { DURATION_PATTERN, parseDuration } from "../duration.ts";
/** A Vault address: http(s), a host, an optional path; no user info (credentials go in auth). */
export const VAULT_ADDRESS_PATTERN = "^https?://[^/?#@\\s]+(?:/[^?#\\s]*)?$";

/** `audit.output`: `stderr`, `stdout` or an absolute path. */
export const AUDIT_OUTPUT_PATTERN = "^(?:stdout|stderr|/.*)$";

/** The longest duration any field accepts, in milliseconds (24 hours). */
export const MAX_DURATION_MS = 24 * 60 * 60 * 1000;

/** Default values of optional keys, in the policy's own notation. */
export const DEFAULTS = {
  block_environ_read: true,
  block_mem_read: true,
  block_ptrace: true,
  foreign_bpf: "log",
  audit_output: "stderr",
  audit_format: "json",
  on_change: "restart",
  signal: "SIGHUP",
  stop_signal: "SIGTERM",
  grace_period: "10s",
  poll_interval: "5m",
  tls_skip_verify: false,
  allow_insecure: false,
  max_retries: 12,
  timeout: `${DEFAULT_TIMEOUT_MS / 1000}s`,
  auth_method: "token",
  approle_mount_path: "auth/approle",
  kubernetes_mount_path: "auth/kubernetes",
  kubernetes_token_path: KUBERNETES_TOKEN_PATH,
  remove_secret_id_file_after_reading: true,
  jwt_mount_path: "auth/jwt",
  remove_jwt_after_reading: false,
  cert_mount_path: "auth/cert",
  /** `engine: pki`: a new certificate after two thirds of the validity left when one is received. */
  renew_fraction: 2 / 3,
} as const;
