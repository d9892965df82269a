/**
 * The small sections of a policy, from what `_read.ts` read to their typed form: `policy` (with
 * `foreign_bpf_allow`), `workload`, `clients`, `audit`, `rotation` and `vault`. Their format, defaults and rules
 * are in `./format/`; here is only what the format cannot say (unique client names, clients naming secrets).
 *
 * @module
 */

import { AUDIT, ROTATION, VAULT } from "./format/mod.ts";
import type {
  AccountId,
  AuditConfig,
  ClientPolicy,
  ProtectionPolicy,
  RotationConfig,
  VaultAuthConfig,
  VaultConfig,
  WorkloadPolicy,
} from "./types.ts";
import { type Checker, describe } from "./_checker.ts";
import { defaultsOf, ReadMap, ReadSeq, valid } from "./_read.ts";

/** The items of a read sequence (`[]` when absent). */
export function list<T>(value: unknown): T[] {
  return value instanceof ReadSeq ? value.items.map((item) => item.value as T) : [];
}

/** A read mapping, or an absent one with its defaults; `undefined` when it has a problem. */
function section(value: unknown, shape: typeof AUDIT): ReadMap | undefined {
  if (value === undefined) {
    return new ReadMap({ node: undefined!, path: "", entries: new Map() }, defaultsOf(shape), true);
  }
  return value instanceof ReadMap && value.ok ? value : undefined;
}

/** `{ key: value }` when the key is present, for optional fields. */
function optional<K extends string>(map: ReadMap, key: K, as = key): { [P in K]?: unknown } {
  const value = map.get(key);
  return (value === undefined ? {} : { [as]: value }) as { [P in K]?: unknown };
}

export function buildProtection(value: unknown): ProtectionPolicy | undefined {
  if (!(value instanceof ReadMap) || !value.ok) return undefined;
  const allow = value.get("foreign_bpf_allow");
  return {
    mode: value.get("mode") as ProtectionPolicy["mode"],
    block_environ_read: value.get("block_environ_read") as boolean,
    block_mem_read: value.get("block_mem_read") as boolean,
    block_ptrace: value.get("block_ptrace") as boolean,
    foreign_bpf: value.get("foreign_bpf") as ProtectionPolicy["foreign_bpf"],
    foreign_bpf_allow: allow instanceof ReadMap
      ? { uids: list(allow.get("uids")), cgroups: list(allow.get("cgroups")) }
      : { uids: [], cgroups: [] },
  };
}

export function buildWorkload(value: unknown): WorkloadPolicy | undefined {
  if (value === undefined) return {};
  if (!(value instanceof ReadMap) || !value.ok) return undefined;
  const user = value.get("user") as AccountId | undefined;
  const group = value.get("group") as AccountId | undefined;
  const groups = value.get("groups");
  const capabilities = value.get("capabilities");
  return {
    ...(user !== undefined ? { user } : {}),
    ...(group !== undefined ? { group } : {}),
    ...(groups !== undefined ? { groups: list<AccountId>(groups) } : {}),
    ...(capabilities !== undefined
      ? { capabilities: [...new Set(list<string>(capabilities))] }
      : {}),
  };
}

export function buildAudit(value: unknown): AuditConfig | undefined {
  const map = section(value, AUDIT);
  if (map === undefined) return undefined;
  return {
    output: map.get("output") as string,
    format: map.get("format") as AuditConfig["format"],
  };
}

export function buildRotation(value: unknown): RotationConfig | undefined {
  const map = section(value, ROTATION);
  if (map === undefined) return undefined;
  return {
    on_change: map.get("on_change") as RotationConfig["on_change"],
    signal: map.get("signal") as Deno.Signal,
    stop_signal: map.get("stop_signal") as Deno.Signal,
    grace_period_ms: map.get("grace_period") as number,
    poll_interval_ms: map.get("poll_interval") as number,
  };
}

/** The `vault:` section; `undefined` (absent) gives the values of an empty section. */
export function buildVault(value: unknown): VaultConfig | undefined {
  const map = section(value, VAULT);
  if (map === undefined) return undefined;
  const auth = map.get("auth");
  return {
    ...optional(map, "address"),
    ...optional(map, "namespace"),
    ...optional(map, "ca_cert"),
    ...optional(map, "ca_path"),
    ...optional(map, "client_cert"),
    ...optional(map, "client_key"),
    ...optional(map, "tls_server_name"),
    tls_skip_verify: map.get("tls_skip_verify") as boolean,
    allow_insecure: map.get("allow_insecure") as boolean,
    max_retries: map.get("max_retries") as number,
    timeout_ms: map.get("timeout") as number,
    auth: auth instanceof ReadMap ? buildAuth(auth) : { method: "token" },
  } as VaultConfig;
}

function buildAuth(map: ReadMap): VaultAuthConfig {
  const values = Object.fromEntries(map.values);
  return values as VaultAuthConfig;
}

/** The clients of `x00 agent`: unique names, and only secrets of the policy. */
export function buildClients(
  c: Checker,
  value: unknown,
  secretNames: ReadonlySet<string>,
): ClientPolicy[] | undefined {
  if (!(value instanceof ReadSeq)) return undefined;
  const names = new Map<string, string>();
  let ok = value.ok;
  const out: ClientPolicy[] = [];
  for (const item of value.items) {
    if (!(item.value instanceof ReadMap)) continue;
    const client = item.value;
    const name = client.get("name");
    if (typeof name === "string") {
      const first = names.get(name);
      if (first !== undefined) {
        c.issue(
          client.entry("name")!.value,
          `${item.path}.name`,
          `is used twice: first at ${first}`,
        );
        ok = false;
      }
      names.set(name, item.path);
    }
    const secrets = client.get("secrets");
    if (secrets instanceof ReadSeq) {
      for (const s of secrets.items) {
        if (typeof s.value !== "string" || secretNames.has(s.value)) continue;
        c.issue(
          s.node,
          s.path,
          `must name a secret of 'secrets': current value is ${describe(s.node)}`,
        );
        ok = false;
      }
    }
    if (!valid(client)) continue;
    out.push({
      name: name as string,
      ...(client.get("uids") !== undefined ? { uids: list<number>(client.get("uids")) } : {}),
      ...(client.get("gids") !== undefined ? { gids: list<number>(client.get("gids")) } : {}),
      ...(client.get("cgroups") !== undefined
        ? { cgroups: list<string>(client.get("cgroups")) }
        : {}),
      ...(secrets !== undefined ? { secrets: list<string>(secrets) } : {}),
    });
  }
  return ok ? out : undefined;
}

/** The values of an absent `vault:` section (only `VAULT_*` variables set): the format's defaults. */
export const VAULT_DEFAULTS: VaultConfig = buildVault(undefined)!;
