/**
 * The small sections of a policy: `policy` (with `foreign_bpf_allow`), `workload`, `clients`, `audit` and
 * `rotation`.
 *
 * @module
 */

import { isScalar, isSeq } from "yaml";
import { CAPABILITY_NAMES, capabilityNumber } from "../protect/capabilities.ts";
import {
  AUDIT_FORMATS,
  AUDIT_OUTPUT_PATTERN,
  DEFAULTS,
  FOREIGN_BPF,
  KEYS,
  MODES,
  ON_CHANGE,
  parseDuration,
  RELOAD_SIGNALS,
  SECRET_NAME_PATTERN,
  STOP_SIGNALS,
} from "./_spec.ts";
import type {
  AuditConfig,
  ClientPolicy,
  Mode,
  ProtectionPolicy,
  RotationConfig,
  WorkloadPolicy,
} from "./types.ts";
import {
  accountId,
  booleanField,
  Checker,
  describe,
  durationField,
  type Entry,
  enumField,
  sequenceField,
  stringField,
} from "./_checker.ts";

// ---------------------------------------------------------------------------------------------------------------
// Sections

export function checkClients(
  c: Checker,
  entry: Entry,
  secretNames: ReadonlySet<string>,
): ClientPolicy[] | undefined {
  const node = entry.value;
  if (node === undefined) return undefined;
  if (!isSeq(node) || node.items.length === 0) {
    c.invalid(entry, "a non-empty sequence of client entries");
    return undefined;
  }
  const names = new Map<string, string>();
  const out: ClientPolicy[] = [];
  node.items.forEach((item, index) => {
    const path = `${entry.path}[${index}]`;
    const fields = c.mapping(c.resolve(item, path), path, KEYS.client);
    if (fields === undefined) return;
    const name = stringField(c, fields, "name", {
      required: true,
      pattern: SECRET_NAME_PATTERN,
      expected: "a name of letters, digits, '_', '.' and '-'",
    });
    if (name !== undefined) {
      const first = names.get(name);
      if (first !== undefined) {
        c.issue(
          fields.entries.get("name")!.value,
          `${path}.name`,
          `is used twice: first at ${first}`,
        );
      }
      names.set(name, path);
    }
    const ids = (key: string) =>
      sequenceField(
        c,
        fields,
        key,
        `a sequence of ${key}`,
        (n, p) => accountId(c, n, p, false) as number | undefined,
      );
    const uids = ids("uids");
    const gids = ids("gids");
    const cgroups = sequenceField(c, fields, "cgroups", "a sequence of cgroup paths", (n, p) => {
      if (isScalar(n) && typeof n.value === "string" && n.value.startsWith("/")) return n.value;
      c.issue(
        n,
        p,
        `must be a cgroup v2 path such as "/kubepods.slice": current value is ${describe(n)}`,
      );
      return undefined;
    });
    const secrets = sequenceField(c, fields, "secrets", "a sequence of secret names", (n, p) => {
      if (isScalar(n) && typeof n.value === "string" && secretNames.has(n.value)) return n.value;
      c.issue(n, p, `must name a secret of 'secrets': current value is ${describe(n)}`);
      return undefined;
    });
    if (uids === null && gids === null && cgroups === null) {
      c.issue(
        fields.node,
        path,
        "needs at least one of 'uids', 'gids' or 'cgroups': the identity the kernel must see",
      );
      return;
    }
    if (name === undefined || uids === undefined || gids === undefined) return;
    if (cgroups === undefined || secrets === undefined) return;
    out.push({
      name,
      ...(uids !== null ? { uids } : {}),
      ...(gids !== null ? { gids } : {}),
      ...(cgroups !== null ? { cgroups } : {}),
      ...(secrets !== null ? { secrets } : {}),
    });
  });
  return out.length === node.items.length ? out : undefined;
}

export function checkProtection(c: Checker, entry: Entry): ProtectionPolicy | undefined {
  const fields = c.mapping(entry.value, entry.path, KEYS.policy);
  if (fields === undefined) return undefined;
  const mode = enumField<Mode>(c, fields, "mode", MODES, { required: true });
  const blockEnviron = booleanField(c, fields, "block_environ_read");
  const blockMem = booleanField(c, fields, "block_mem_read");
  const blockPtrace = booleanField(c, fields, "block_ptrace");
  const foreignBpf = enumField(c, fields, "foreign_bpf", FOREIGN_BPF);
  const allow = checkForeignBpfAllow(c, fields.entries.get("foreign_bpf_allow"));
  if (mode === undefined || allow === undefined) return undefined;
  return {
    mode,
    block_environ_read: blockEnviron ?? DEFAULTS.block_environ_read,
    block_mem_read: blockMem ?? DEFAULTS.block_mem_read,
    block_ptrace: blockPtrace ?? DEFAULTS.block_ptrace,
    foreign_bpf: foreignBpf ?? DEFAULTS.foreign_bpf,
    foreign_bpf_allow: allow,
  };
}

function checkForeignBpfAllow(
  c: Checker,
  entry: Entry | undefined,
): ProtectionPolicy["foreign_bpf_allow"] | undefined {
  if (entry === undefined) return { uids: [], cgroups: [] };
  const fields = c.mapping(entry.value, entry.path, KEYS.foreign_bpf_allow);
  if (fields === undefined) return undefined;
  const uids = sequenceField(
    c,
    fields,
    "uids",
    "a sequence of uids",
    (node, path) => accountId(c, node, path, false) as number | undefined,
  );
  const cgroups = sequenceField(
    c,
    fields,
    "cgroups",
    "a sequence of cgroup paths",
    (node, path) => {
      if (isScalar(node) && typeof node.value === "string" && node.value.startsWith("/")) {
        return node.value;
      }
      c.issue(
        node,
        path,
        `must be a cgroup v2 path such as "/system.slice/falco.service": current value is ${
          describe(node)
        }`,
      );
      return undefined;
    },
  );
  if (uids === undefined || cgroups === undefined) return undefined;
  return { uids: uids ?? [], cgroups: cgroups ?? [] };
}

export function checkWorkload(c: Checker, entry: Entry | undefined): WorkloadPolicy | undefined {
  if (entry === undefined) return {};
  const fields = c.mapping(entry.value, entry.path, KEYS.workload);
  if (fields === undefined) return undefined;
  const one = (name: string) => {
    const e = fields.entries.get(name);
    return e === undefined ? null : accountId(c, e.value, e.path, true);
  };
  const user = one("user");
  const group = one("group");
  const groups = sequenceField(
    c,
    fields,
    "groups",
    "a sequence of group names or numbers",
    (node, path) => accountId(c, node, path, true),
  );
  const capabilities = sequenceField(
    c,
    fields,
    "capabilities",
    "a sequence of capability names",
    (node, path) => {
      if (isScalar(node) && typeof node.value === "string") {
        const n = capabilityNumber(node.value);
        if (n !== undefined) return CAPABILITY_NAMES[n];
      }
      c.issue(
        node,
        path,
        `must be a capability name such as CAP_NET_BIND_SERVICE: current value is ${
          describe(node)
        }`,
      );
      return undefined;
    },
  );
  if (user === undefined || group === undefined || groups === undefined) return undefined;
  if (capabilities === undefined) return undefined;
  return {
    ...(user !== null ? { user } : {}),
    ...(group !== null ? { group } : {}),
    ...(groups !== null ? { groups } : {}),
    ...(capabilities !== null ? { capabilities: [...new Set(capabilities)] } : {}),
  };
}

export function checkAudit(c: Checker, entry: Entry | undefined): AuditConfig | undefined {
  const defaults: AuditConfig = { output: DEFAULTS.audit_output, format: DEFAULTS.audit_format };
  if (entry === undefined) return defaults;
  const fields = c.mapping(entry.value, entry.path, KEYS.audit);
  if (fields === undefined) return undefined;
  const output = stringField(c, fields, "output", {
    pattern: AUDIT_OUTPUT_PATTERN,
    expected: `"stderr", "stdout" or an absolute file path`,
  });
  const format = enumField(c, fields, "format", AUDIT_FORMATS);
  return { output: output ?? defaults.output, format: format ?? defaults.format };
}

export function checkRotation(c: Checker, entry: Entry | undefined): RotationConfig | undefined {
  const defaults: RotationConfig = {
    on_change: DEFAULTS.on_change,
    signal: DEFAULTS.signal,
    stop_signal: DEFAULTS.stop_signal,
    grace_period_ms: parseDuration(DEFAULTS.grace_period)!,
    poll_interval_ms: parseDuration(DEFAULTS.poll_interval)!,
  };
  if (entry === undefined) return defaults;
  const fields = c.mapping(entry.value, entry.path, KEYS.rotation);
  if (fields === undefined) return undefined;
  const onChange = enumField(c, fields, "on_change", ON_CHANGE) ?? defaults.on_change;
  const signal = enumField(c, fields, "signal", RELOAD_SIGNALS);
  const signalEntry = fields.entries.get("signal");
  if (signalEntry !== undefined && onChange !== "signal") {
    c.issue(
      signalEntry.key,
      signalEntry.path,
      `is only used with 'on_change: signal': current on_change is ${JSON.stringify(onChange)}`,
    );
  }
  const stopSignal = enumField(c, fields, "stop_signal", STOP_SIGNALS);
  const grace = durationField(c, fields, "grace_period", 0);
  const poll = durationField(c, fields, "poll_interval", 1000);
  return {
    on_change: onChange,
    signal: signal ?? defaults.signal,
    stop_signal: stopSignal ?? defaults.stop_signal,
    grace_period_ms: grace ?? defaults.grace_period_ms,
    poll_interval_ms: poll ?? defaults.poll_interval_ms,
  };
}
