/**
 * The values the policy format's keys share: enum lists, patterns, bounds and the field options built on them.
 *
 * @module
 */

import { PKI_RESPONSE_KEYS } from "../../vault/defaults.ts";
import { DURATION_PATTERN } from "../../duration.ts";
import type { DurationShape, StringShape } from "./shape.ts";

export { DURATION_PATTERN };

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
/** A Vault address: http(s), a host, an optional path; no user info (credentials go in auth). */
export const VAULT_ADDRESS_PATTERN = "^https?://[^/?#@\\s]+(?:/[^?#\\s]*)?$";
/** `audit.output`: `stderr`, `stdout` or an absolute path. */
export const AUDIT_OUTPUT_PATTERN = "^(?:stdout|stderr|/.*)$";
/** The longest duration any field accepts, in milliseconds (24 hours). */
export const MAX_DURATION_MS = 24 * 60 * 60 * 1000;

// ---------------------------------------------------------------------------------------------------------------
// Field options

type StringOptions = Omit<StringShape, "kind" | "description">;

/** An environment variable name. */
export const ENV_NAME: StringOptions = {
  pattern: ENV_NAME_PATTERN,
  expected: "a valid environment variable name",
};
/** An absolute path. */
export const ABSOLUTE_PATH: StringOptions = {
  pattern: ABSOLUTE_PATH_PATTERN,
  expected: "an absolute path",
};
/** A path to a file holding a credential: a wrong value may be the credential pasted in its place. */
export const CREDENTIAL_PATH: StringOptions = { ...ABSOLUTE_PATH, credential: () => true };
/** A Vault path. */
export const VAULT_PATH: StringOptions = {
  pattern: VAULT_PATH_PATTERN,
  expected:
    "a Vault path such as 'app/config' (no leading or trailing '/', no empty, '.' or '..' segments)",
};

/** A duration field. */
export const duration = (
  description: string,
  minMs: number,
  maxMs: number,
  defaultValue?: string,
): DurationShape => ({
  kind: "duration",
  description,
  minMs,
  maxMs,
  ...(defaultValue !== undefined ? { default: defaultValue } : {}),
});
