/**
 * The policy format, stated once: every key, its type, whether it is required, its default, its description
 * and the rules between keys. `../schema.ts` derives the JSON Schema from it and `../_read.ts` checks YAML
 * against it; what neither can say (unique names, a variable delivered once, templates) is checked in
 * `../_check_*.ts`. `docs/policy.md` is the guide.
 *
 * @module
 */

import { CAPABILITY_NAMES } from "../../protect/capabilities.ts";
import {
  ABSOLUTE_PATH_PATTERN,
  AUDIT_FORMATS,
  AUDIT_OUTPUT_PATTERN,
  duration,
  FOREIGN_BPF,
  MAX_DURATION_MS,
  MODES,
  ON_CHANGE,
  RELOAD_SIGNALS,
  SECRET_NAME_PATTERN,
  STOP_SIGNALS,
} from "./values.ts";
import {
  type AccountShape,
  boolean,
  object,
  type ObjectShape,
  oneOf,
  required,
  sequence,
  type Shape,
  string,
} from "./shape.ts";
import { SECRET, TEMPLATE } from "./secrets.ts";
import { VAULT } from "./vault.ts";

export * from "./shape.ts";
export * from "./values.ts";
export { DELIVERY, SECRET, TEMPLATE } from "./secrets.ts";
export { VAULT } from "./vault.ts";

const id: AccountShape = { kind: "account", names: false };
const account = (description: string): AccountShape => ({
  kind: "account",
  names: true,
  description,
});
const cgroups = (description: string, example: string, defaultEmpty = false): Shape =>
  sequence(
    description,
    string("", {
      pattern: ABSOLUTE_PATH_PATTERN,
      expected: `a cgroup v2 path such as ${JSON.stringify(example)}`,
    }),
    "a sequence of cgroup paths",
    { defaultEmpty },
  );

const FOREIGN_BPF_ALLOW = object(
  "foreign_bpf_allow",
  "Loaders whose BPF programs are never refused (still logged): identities the kernel vouches for.",
  {
    uids: sequence(
      "Kernel uids (of the initial user namespace).",
      id,
      "a sequence of uids",
      { defaultEmpty: true },
    ),
    cgroups: cgroups(
      "cgroup v2 paths relative to the cgroup2 mount, e.g. /system.slice/falco.service; the loader must " +
        "be in exactly this cgroup.",
      "/system.slice/falco.service",
      true,
    ),
  },
);

/** The `policy:` section. */
export const PROTECTION: ObjectShape = object(
  "policy",
  "How the kernel protects the workload (BPF-LSM). Required.",
  {
    mode: required(oneOf(
      "enforce: deny and log access by other processes (the workload does not start if enforcement is " +
        "impossible); audit: allow and log.",
      MODES,
    )),
    block_environ_read: boolean(
      "Deny (enforce) or log (audit) reads of /proc/PID/environ and /proc/PID/task/TID/environ.",
      true,
    ),
    block_mem_read: boolean(
      "Deny (enforce) or log (audit) opens of /proc/PID/mem and /proc/PID/task/TID/mem.",
      true,
    ),
    block_ptrace: boolean(
      "Deny (enforce) or log (audit) ptrace attach/seize, process_vm_readv/writev and pidfd_getfd.",
      true,
    ),
    foreign_bpf: oneOf(
      "BPF program loads by other processes while X00 runs. Every load is logged; in enforce mode " +
        "refuse_tracing refuses the program types that run in other tasks' context and can read their " +
        "memory (kprobe/uprobe, tracepoint, perf_event, raw_tracepoint, tracing incl. iterators, lsm, ext, " +
        "struct_ops, syscall), refuse_all refuses every load. Loaders in foreign_bpf_allow are never refused.",
      FOREIGN_BPF,
      "log",
    ),
    foreign_bpf_allow: FOREIGN_BPF_ALLOW,
  },
);

/** One entry of `clients:`. */
export const CLIENT: ObjectShape = object(
  "client",
  "One client of x00 agent. A connecting process is this client when its kernel-recorded identity " +
    "matches every criterion given; at least one of uids, gids, cgroups is required.",
  {
    name: required(string("Unique name, for events and for x00 exec --name.", {
      pattern: SECRET_NAME_PATTERN,
      expected: "a name of letters, digits, '_', '.' and '-'",
    })),
    uids: sequence("Real uids it may have.", id, "a sequence of uids"),
    gids: sequence("Real gids it may have.", id, "a sequence of gids"),
    cgroups: cgroups(
      "cgroup v2 paths it must be in or below (e.g. /kubepods.slice/kubepods-pod<uid>.slice).",
      "/kubepods.slice",
    ),
    secrets: sequence(
      "Names of the secrets it receives. Default: every secret.",
      string("", { pattern: SECRET_NAME_PATTERN, expected: "the name of a secret of 'secrets'" }),
      "a sequence of secret names",
    ),
  },
  {
    rules: [{
      kind: "atLeastOne",
      description: "At least one of uids, gids and cgroups: the identity the kernel must see.",
      keys: ["uids", "gids", "cgroups"],
      message:
        "needs at least one of 'uids', 'gids' or 'cgroups': the identity the kernel must see",
    }],
  },
);

/** The `workload:` section. */
export const WORKLOAD: ObjectShape = object(
  "workload",
  "How the workload runs. It always starts with no_new_privs and never holds X00's own capabilities.",
  {
    user: account(
      "The user it runs as, a name from /etc/passwd or a uid. Default: X00's own user.",
    ),
    group: account(
      "Its primary group, a name from /etc/group or a gid. Default: the user's group from /etc/passwd " +
        "(required when user is a uid without an entry).",
    ),
    groups: sequence(
      "Its supplementary groups. Default: the user's groups from /etc/group when user is a name, " +
        "none when it is a number; X00's own when user is not set.",
      account("A group name or gid."),
      "a sequence of group names or numbers",
    ),
    capabilities: sequence(
      "The capabilities it may hold (CAP_NET_BIND_SERVICE or NET_BIND_SERVICE). A root workload holds " +
        "them; a non-root one gets them as ambient capabilities. Default: the default set of a container " +
        "(Docker/containerd), for root only; a non-root workload holds none.",
      { kind: "capability", names: CAPABILITY_NAMES },
      "a sequence of capability names",
    ),
  },
);

/** The `audit:` section. */
export const AUDIT: ObjectShape = object("audit", "Where audit events go.", {
  output: string(
    "stderr (default: the workload owns stdout), stdout, or an absolute file path (opened for append, mode 0600).",
    {
      pattern: AUDIT_OUTPUT_PATTERN,
      expected: `"stderr", "stdout" or an absolute file path`,
      default: "stderr",
    },
  ),
  format: oneOf(
    "json: JSON Lines; table: one aligned line per event for people.",
    AUDIT_FORMATS,
    "json",
  ),
});

/** The `rotation:` section. */
export const ROTATION: ObjectShape = object(
  "rotation",
  "What happens when a Vault value changes while the workload runs.",
  {
    on_change: oneOf(
      "restart: stop the workload (stop_signal, then SIGKILL after grace_period) and start it with the new " +
        "values; signal: deliver the new values where possible and send 'signal'; none: keep running.",
      ON_CHANGE,
      "restart",
    ),
    signal: oneOf(
      "Only with on_change: signal. The signal that asks the workload to reload.",
      RELOAD_SIGNALS,
      "SIGHUP",
    ),
    stop_signal: oneOf(
      "The signal that stops the workload before a restart.",
      STOP_SIGNALS,
      "SIGTERM",
    ),
    grace_period: duration(
      "Time between stop_signal and SIGKILL on restart.",
      0,
      MAX_DURATION_MS,
      "10s",
    ),
    poll_interval: duration(
      "Time between checks of Vault for new values (at least 1s).",
      1000,
      MAX_DURATION_MS,
      "5m",
    ),
  },
  {
    rules: [{
      kind: "when",
      description: "'signal' only with on_change: signal.",
      when: [{ at: "on_change", notEquals: "signal" }, { at: "signal", present: true }],
      then: { at: "signal", present: false },
      report: { node: "then.key", path: "then" },
      message: ({ whenValue }) =>
        `is only used with 'on_change: signal': current on_change is ${JSON.stringify(whenValue)}`,
    }],
  },
);

/** The whole policy file. */
export const POLICY: ObjectShape = object(
  undefined,
  "An X00 policy: how the kernel protects the workload (policy), which secrets it receives and how (secrets), " +
    "where audit events go (audit), what happens when a Vault value changes (rotation) and how to reach Vault " +
    "(vault). Unknown keys are errors.",
  {
    policy: required(PROTECTION),
    secrets: sequence(
      "The secrets delivered to the workload. Names and delivered variables must be unique.",
      SECRET,
      "a sequence of secret entries",
      { defaultEmpty: true },
    ),
    templates: sequence(
      "Values built from several secrets (a DSN, a .pgpass, a properties file), delivered like secrets.",
      TEMPLATE,
      "a sequence of template entries",
      { defaultEmpty: true },
    ),
    audit: AUDIT,
    rotation: ROTATION,
    vault: VAULT,
    workload: WORKLOAD,
    clients: sequence(
      "x00 agent only (required there): the processes it serves, by the identity the kernel recorded when " +
        "they connected, and which secrets each receives.",
      CLIENT,
      "a non-empty sequence of client entries",
      { minItems: 1 },
    ),
  },
  {
    rules: [
      {
        kind: "when",
        description: "A policy with a Vault source needs a 'vault' section.",
        when: [{ at: "secrets", some: { at: "source.type", equals: "vault" } }],
        then: { at: "vault", present: true },
        report: { node: "when.value", path: "then" },
        message: ({ whenParent }) => `is required because '${whenParent}' is a Vault source`,
      },
      {
        kind: "when",
        description:
          "In enforce mode, 'vault.address' must use https:// unless 'vault.allow_insecure' is true.",
        when: [{ at: "policy.mode", equals: "enforce" }, {
          at: "vault.allow_insecure",
          notEquals: true,
        }],
        then: { at: "vault.address", matches: "^https://" },
        report: { node: "then.value", path: "then" },
        message: ({ thenText }) =>
          `must be an https:// URL in enforce mode unless 'vault.allow_insecure' is true: current value is ${thenText}`,
      },
      {
        kind: "when",
        description:
          "In enforce mode, 'vault.tls_skip_verify' must be false unless 'vault.allow_insecure' is true.",
        when: [{ at: "policy.mode", equals: "enforce" }, {
          at: "vault.allow_insecure",
          notEquals: true,
        }],
        then: { at: "vault.tls_skip_verify", equals: false },
        report: { node: "then.value", path: "then" },
        message: () =>
          "must be false in enforce mode unless 'vault.allow_insecure' is true: current value is true",
      },
    ],
  },
);
