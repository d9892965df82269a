/**
 * The validated, typed form of an X00 policy file. `loadPolicy()` turns YAML into these types; every other module
 * consumes them and never sees YAML.
 *
 * @module
 */

import type { TemplatePart } from "./template.ts";

/** `enforce` denies and logs; `audit` allows and logs. */
export type Mode = "enforce" | "audit";

/** The `policy:` section: the seed's keys are the contract. */
export interface ProtectionPolicy {
  mode: Mode;
  /** Deny/log opens of `/proc/PID/environ` and `/proc/PID/task/TID/environ`. */
  block_environ_read: boolean;
  /** Deny/log opens of `/proc/PID/mem` and the task variant. */
  block_mem_read: boolean;
  /** Deny/log ptrace attach/seize, process_vm_readv/writev and pidfd_getfd. */
  block_ptrace: boolean;
  /** BPF program loads by other processes: always logged; refused in enforce mode as this says. */
  foreign_bpf: "log" | "refuse_tracing" | "refuse_all";
  /** Loaders whose BPF programs are never refused (still logged). */
  foreign_bpf_allow: { uids: number[]; cgroups: string[] };
}

/** A user or group: a name (looked up in /etc/passwd or /etc/group when X00 starts) or a number. */
export type AccountId = string | number;

/** A process `x00 agent` serves, by the identity the kernel recorded when it connected. */
export interface ClientPolicy {
  /** Names it in events and for `x00 exec --name`. */
  name: string;
  /** Its real uid must be one of these (absent: any). */
  uids?: number[];
  /** Its real gid must be one of these (absent: any). */
  gids?: number[];
  /** Its cgroup v2 path must be one of these or below one (absent: any). */
  cgroups?: string[];
  /** The secrets it receives (absent: every secret of the policy). */
  secrets?: string[];
}

/** How the workload runs: identity and capabilities. */
export interface WorkloadPolicy {
  /** The user it runs as (default: X00's own). */
  user?: AccountId;
  /** Its primary group (default: the user's group from /etc/passwd). */
  group?: AccountId;
  /** Its supplementary groups (default: the user's groups from /etc/group when `user` is a name, else none). */
  groups?: AccountId[];
  /** Capability names (`CAP_NET_BIND_SERVICE`) it may hold; absent: a default container's set. */
  capabilities?: string[];
}

/** Where one value goes in the workload. Exactly one of `env` or `file` is set. */
export type Delivery =
  /** A variable in the workload's environment at exec. */
  | { kind: "env"; var: string }
  /** A sealed memfd inherited by the workload; `var` receives its `/proc/self/fd/N` path. */
  | { kind: "file"; var: string };

/** A file source: the whole file content is the value (e.g. a mounted Kubernetes Secret key). */
export interface FileSource {
  type: "file";
  path: string;
}

/** An env source: a variable of X00's own environment; the workload does not inherit it. */
export interface EnvSource {
  type: "env";
  var: string;
}

/** What an `engine: pki` source asks `POST <mount>/issue/<role>` for. */
export interface PkiRequest {
  /** The PKI role, e.g. `web`. */
  role: string;
  /** `common_name`. */
  common_name: string;
  /** `alt_names`: DNS names or email addresses. */
  alt_names?: string[];
  /** `ip_sans`. */
  ip_sans?: string[];
  /** `uri_sans`. */
  uri_sans?: string[];
  /** `ttl` in whole seconds; the role's when absent. */
  ttl_s?: number;
  /** `exclude_cn_from_sans`. */
  exclude_cn_from_sans?: boolean;
  /** Share of the validity left at issue after which a new certificate is issued (0 < f < 1, default 2/3). */
  renew_fraction: number;
}

/** A Vault source. */
export interface VaultSource {
  type: "vault";
  /**
   * `kv-v2` reads `<mount>/data/<path>`, `kv-v1` reads `<mount>/<path>`, `dynamic` reads `<path>` as is, `pki`
   * writes `<mount>/issue/<role>`.
   */
  engine: "kv-v2" | "kv-v1" | "dynamic" | "pki";
  /** The mount point (kv and pki engines), e.g. `secret` or `pki`. */
  mount?: string;
  /**
   * Path below the mount (kv), the full path (dynamic), e.g. `database/creds/readonly`, or `issue/<role>` below
   * the mount (pki; derived from `role`, not written in the policy).
   */
  path: string;
  /** `engine: pki` only: the certificate to issue. */
  pki?: PkiRequest;
  /** KV v2 version to read; latest when absent. */
  version?: number;
  /** The key to deliver when the entry uses `delivery` (single value). */
  key?: string;
}

/** Any secret source. */
export type Source = FileSource | EnvSource | VaultSource;

/** One entry of `secrets:`. */
export interface SecretSpec {
  /** Unique name; appears in audit events (values never do). */
  name: string;
  source: Source;
  /**
   * Key -> delivery. For `file` and `env` sources there is one entry under the key `""` (the whole value); for
   * Vault sources with `delivery` it is `{ [source.key]: delivery }`, with `keys:` one entry per key.
   */
  deliveries: Map<string, Delivery>;
  /** `all_keys:` (Vault sources): every key of the secret, each as `prefix` + its normalised name. */
  all_keys?: { kind: "env" | "file"; prefix: string };
  /** Keys that templates read beyond `deliveries` (`""`: the single value); absent when none. */
  template_keys?: string[];
}

/** One entry of `templates:`: a value built from secrets of the policy, delivered like a secret. */
export interface TemplateSpec {
  /** Unique among secrets and templates; appears in audit events. */
  name: string;
  /** The parsed template. */
  parts: TemplatePart[];
  /** The secrets it reads (names, in order of first use). */
  secrets: string[];
  delivery: Delivery;
}

/** The `audit:` section. */
export interface AuditConfig {
  /** `stderr` (default), `stdout` or a file path (opened for append). */
  output: string;
  format: "json" | "table";
}

/** The `rotation:` section: what happens when a Vault value changes while the workload runs. */
export interface RotationConfig {
  on_change: "restart" | "signal" | "none";
  /** Signal sent for `on_change: signal`, e.g. `SIGHUP`. */
  signal: Deno.Signal;
  /** Signal used to stop the workload on restart. */
  stop_signal: Deno.Signal;
  /** Milliseconds between the stop signal and SIGKILL on restart. */
  grace_period_ms: number;
  /** Milliseconds between KV version checks. */
  poll_interval_ms: number;
}

/** The `vault:` section (names follow Vault Agent's `vault {}` and `auto_auth {}` stanzas). */
export interface VaultConfig {
  address?: string;
  namespace?: string;
  ca_cert?: string;
  ca_path?: string;
  client_cert?: string;
  client_key?: string;
  tls_server_name?: string;
  tls_skip_verify: boolean;
  /** Permits `http://` and `tls_skip_verify` in enforce mode. */
  allow_insecure: boolean;
  /** Retries on connection errors, 412, 429 and 5xx. */
  max_retries: number;
  /** Per-request timeout in milliseconds. */
  timeout_ms: number;
  auth: VaultAuthConfig;
}

/** The `vault.auth` section. */
export type VaultAuthConfig =
  | { method: "token"; token_file_path?: string }
  | {
    method: "approle";
    mount_path: string;
    role_id_file_path: string;
    secret_id_file_path: string;
    remove_secret_id_file_after_reading: boolean;
    /**
     * When set, the secret_id file holds a response-wrapping token whose `creation_path` must be this path
     * (e.g. `auth/approle/role/app/secret-id`); X00 unwraps it to get the secret_id.
     */
    secret_id_response_wrapping_path?: string;
  }
  | { method: "kubernetes"; mount_path: string; role: string; token_path: string }
  | {
    method: "jwt";
    mount_path: string;
    role: string;
    /** The JWT file, re-read at every login. */
    token_path: string;
    remove_jwt_after_reading: boolean;
  }
  /** TLS certificate auth with `vault.client_cert` / `vault.client_key`; `name` is the cert role. */
  | { method: "cert"; mount_path: string; name?: string };

/** A whole validated policy. */
export interface Policy {
  /** The file it was loaded from (for messages). */
  file: string;
  policy: ProtectionPolicy;
  secrets: SecretSpec[];
  audit: AuditConfig;
  rotation: RotationConfig;
  vault?: VaultConfig;
  workload: WorkloadPolicy;
  /** Values built from secrets (`templates:`); empty when none. */
  templates: TemplateSpec[];
  /** `x00 agent` only: who may receive which secrets. */
  clients?: ClientPolicy[];
}
