/**
 * The JSON Schema (draft 2020-12) of the policy file, for editors (yaml-language-server, VS Code's YAML
 * extension) and for other tools. `x00 policy schema` prints it.
 *
 * The schema describes the same format the loader accepts, key for key (a test checks it). A few rules cannot be
 * written in JSON Schema and are checked only by the loader: unique secret names, a variable delivered once,
 * duration bounds (`poll_interval` at least 1s, every duration at most 24h), and duplicate YAML keys.
 *
 * @module
 */

import { CAPABILITY_NAMES } from "../protect/capabilities.ts";
import {
  ABSOLUTE_PATH_PATTERN,
  ACCOUNT_NAME_PATTERN,
  AUDIT_FORMATS,
  AUDIT_OUTPUT_PATTERN,
  AUTH_METHODS,
  DEFAULTS,
  DURATION_PATTERN,
  ENGINES,
  ENV_NAME_PATTERN,
  FOREIGN_BPF,
  MAX_ID,
  MODES,
  ON_CHANGE,
  PKI_KEYS,
  PKI_ROLE_PATTERN,
  PKI_SOURCE_KEYS,
  RELOAD_SIGNALS,
  SECRET_NAME_PATTERN,
  SOURCE_TYPES,
  STOP_SIGNALS,
  VAULT_ADDRESS_PATTERN,
  VAULT_PATH_PATTERN,
} from "./_spec.ts";

/** A JSON Schema object. */
export type JsonSchema = { readonly [keyword: string]: unknown };

const ref = (name: string): JsonSchema => ({ $ref: `#/$defs/${name}` });

const absolutePath = (description: string): JsonSchema => ({
  description,
  type: "string",
  pattern: ABSOLUTE_PATH_PATTERN,
});

const id: JsonSchema = { type: "integer", minimum: 0, maximum: MAX_ID };
const account = (description: string): JsonSchema => ({
  description,
  oneOf: [{ type: "string", pattern: ACCOUNT_NAME_PATTERN }, id],
});
const capabilityPattern = `^(?:CAP_)?(?:${CAPABILITY_NAMES.map((n) => n.slice(4)).join("|")})$`;

const duration = (description: string, defaultValue?: string): JsonSchema => ({
  description:
    `${description} A duration: 500ms, 10s, 5m, 1h or a combination such as 1m30s (at most 24h).`,
  type: "string",
  pattern: DURATION_PATTERN,
  ...(defaultValue !== undefined ? { default: defaultValue } : {}),
});

const vaultPath = (description: string): JsonSchema => ({
  description,
  type: "string",
  pattern: VAULT_PATH_PATTERN,
});

const pkiNames = (description: string): JsonSchema => ({
  description: `pki only: ${description}`,
  type: "array",
  items: { type: "string", pattern: "^[^,\\s]+$" },
});

const hasConst = (key: string, value: unknown): JsonSchema => ({
  type: "object",
  required: [key],
  properties: { [key]: { const: value } },
});

/**
 * The JSON Schema of the policy file.
 *
 * @example Usage
 * ```ts
 * import { policySchema } from "./schema.ts";
 *
 * await Deno.writeTextFile("x00-policy.schema.json", JSON.stringify(policySchema, null, 2) + "\n");
 * ```
 */
export const policySchema: JsonSchema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "X00 policy",
  description:
    "An X00 policy: how the kernel protects the workload (policy), which secrets it receives and how (secrets), " +
    "where audit events go (audit), what happens when a Vault value changes (rotation) and how to reach Vault " +
    "(vault). Unknown keys are errors.",
  type: "object",
  additionalProperties: false,
  required: ["policy"],
  properties: {
    policy: ref("policy"),
    secrets: {
      description:
        "The secrets delivered to the workload. Names and delivered variables must be unique.",
      type: "array",
      items: ref("secret"),
      default: [],
    },
    templates: {
      description:
        "Values built from several secrets (a DSN, a .pgpass, a properties file), delivered like secrets.",
      type: "array",
      items: ref("template"),
      default: [],
    },
    audit: ref("audit"),
    rotation: ref("rotation"),
    vault: ref("vault"),
    workload: ref("workload"),
    clients: {
      description:
        "x00 agent only (required there): the processes it serves, by the identity the kernel recorded when " +
        "they connected, and which secrets each receives.",
      type: "array",
      minItems: 1,
      items: ref("client"),
    },
  },
  allOf: [
    {
      description: "A policy with a Vault source needs a 'vault' section.",
      if: {
        required: ["secrets"],
        properties: {
          secrets: {
            type: "array",
            contains: {
              type: "object",
              required: ["source"],
              properties: { source: hasConst("type", "vault") },
            },
          },
        },
      },
      then: { required: ["vault"] },
    },
    {
      description:
        "In enforce mode, 'vault.address' must use https:// and 'vault.tls_skip_verify' must be false unless " +
        "'vault.allow_insecure' is true.",
      if: {
        required: ["policy"],
        properties: {
          policy: hasConst("mode", "enforce"),
          vault: { type: "object", not: hasConst("allow_insecure", true) },
        },
      },
      then: {
        properties: {
          vault: {
            type: "object",
            properties: {
              address: { type: "string", pattern: "^https://" },
              tls_skip_verify: { const: false },
            },
          },
        },
      },
    },
  ],
  $defs: {
    policy: {
      description: "How the kernel protects the workload (BPF-LSM). Required.",
      type: "object",
      additionalProperties: false,
      required: ["mode"],
      properties: {
        mode: {
          description:
            "enforce: deny and log access by other processes (the workload does not start if enforcement is " +
            "impossible); audit: allow and log.",
          enum: MODES,
        },
        block_environ_read: {
          description:
            "Deny (enforce) or log (audit) reads of /proc/PID/environ and /proc/PID/task/TID/environ.",
          type: "boolean",
          default: DEFAULTS.block_environ_read,
        },
        block_mem_read: {
          description:
            "Deny (enforce) or log (audit) opens of /proc/PID/mem and /proc/PID/task/TID/mem.",
          type: "boolean",
          default: DEFAULTS.block_mem_read,
        },
        block_ptrace: {
          description:
            "Deny (enforce) or log (audit) ptrace attach/seize, process_vm_readv/writev and pidfd_getfd.",
          type: "boolean",
          default: DEFAULTS.block_ptrace,
        },
        foreign_bpf: {
          description:
            "BPF program loads by other processes while X00 runs. Every load is logged; in enforce mode " +
            "refuse_tracing refuses the program types that run in other tasks' context and can read their " +
            "memory (kprobe/uprobe, tracepoint, perf_event, raw_tracepoint, tracing incl. iterators, lsm, ext, " +
            "struct_ops, syscall), refuse_all refuses every load. Loaders in foreign_bpf_allow are never refused.",
          enum: FOREIGN_BPF,
          default: DEFAULTS.foreign_bpf,
        },
        foreign_bpf_allow: ref("foreign_bpf_allow"),
      },
    },
    foreign_bpf_allow: {
      description:
        "Loaders whose BPF programs are never refused (still logged): identities the kernel vouches for.",
      type: "object",
      additionalProperties: false,
      properties: {
        uids: {
          description: "Kernel uids (of the initial user namespace).",
          type: "array",
          items: id,
        },
        cgroups: {
          description:
            "cgroup v2 paths relative to the cgroup2 mount, e.g. /system.slice/falco.service; the loader must " +
            "be in exactly this cgroup.",
          type: "array",
          items: { type: "string", pattern: ABSOLUTE_PATH_PATTERN },
        },
      },
    },
    client: {
      description:
        "One client of x00 agent. A connecting process is this client when its kernel-recorded identity " +
        "matches every criterion given; at least one of uids, gids, cgroups is required.",
      type: "object",
      additionalProperties: false,
      required: ["name"],
      anyOf: [{ required: ["uids"] }, { required: ["gids"] }, { required: ["cgroups"] }],
      properties: {
        name: {
          description: "Unique name, for events and for x00 exec --name.",
          type: "string",
          pattern: SECRET_NAME_PATTERN,
        },
        uids: { description: "Real uids it may have.", type: "array", items: id },
        gids: { description: "Real gids it may have.", type: "array", items: id },
        cgroups: {
          description:
            "cgroup v2 paths it must be in or below (e.g. /kubepods.slice/kubepods-pod<uid>.slice).",
          type: "array",
          items: { type: "string", pattern: ABSOLUTE_PATH_PATTERN },
        },
        secrets: {
          description: "Names of the secrets it receives. Default: every secret.",
          type: "array",
          items: { type: "string", pattern: SECRET_NAME_PATTERN },
        },
      },
    },
    workload: {
      description:
        "How the workload runs. It always starts with no_new_privs and never holds X00's own capabilities.",
      type: "object",
      additionalProperties: false,
      properties: {
        user: account(
          "The user it runs as, a name from /etc/passwd or a uid. Default: X00's own user.",
        ),
        group: account(
          "Its primary group, a name from /etc/group or a gid. Default: the user's group from /etc/passwd " +
            "(required when user is a uid without an entry).",
        ),
        groups: {
          description:
            "Its supplementary groups. Default: the user's groups from /etc/group when user is a name, " +
            "none when it is a number; X00's own when user is not set.",
          type: "array",
          items: account("A group name or gid."),
        },
        capabilities: {
          description:
            "The capabilities it may hold (CAP_NET_BIND_SERVICE or NET_BIND_SERVICE). A root workload holds " +
            "them; a non-root one gets them as ambient capabilities. Default: the default set of a container " +
            "(Docker/containerd), for root only; a non-root workload holds none.",
          type: "array",
          items: { type: "string", pattern: capabilityPattern },
        },
      },
    },
    secret: {
      description:
        "One secret: where its value comes from (source) and where it goes (delivery, or keys for several keys " +
        "of a Vault secret).",
      type: "object",
      additionalProperties: false,
      required: ["name", "source"],
      properties: {
        name: {
          description:
            "Unique name; appears in audit events (values never do). Letters, digits, '_', '.' and '-', " +
            "starting with a letter or a digit.",
          type: "string",
          pattern: SECRET_NAME_PATTERN,
        },
        source: ref("source"),
        delivery: ref("delivery"),
        all_keys: ref("all_keys"),
        keys: {
          description:
            "Vault sources only: several keys of one Vault secret, each delivered on its own. Exclusive with " +
            "'delivery'.",
          type: "object",
          minProperties: 1,
          propertyNames: { minLength: 1 },
          additionalProperties: ref("delivery"),
        },
      },
      not: {
        description:
          "At most one of delivery, keys and all_keys (none: a template must read the secret).",
        anyOf: [
          { required: ["delivery", "keys"] },
          { required: ["delivery", "all_keys"] },
          { required: ["keys", "all_keys"] },
        ],
      },
      allOf: [
        {
          description: "'keys' needs a Vault source without 'key'.",
          if: { required: ["keys"] },
          then: {
            properties: {
              source: { type: "object", properties: { type: { const: "vault" }, key: false } },
            },
          },
        },
        {
          description: "'all_keys' needs a Vault source without 'key'.",
          if: { required: ["all_keys"] },
          then: {
            properties: {
              source: { type: "object", properties: { type: { const: "vault" }, key: false } },
            },
          },
        },
        {
          description: "The keys of an engine: pki entry are keys of Vault's pki/issue answer.",
          if: {
            required: ["keys", "source"],
            properties: { source: hasConst("engine", "pki") },
          },
          then: { properties: { keys: { type: "object", propertyNames: { enum: PKI_KEYS } } } },
        },
        {
          description: "A Vault source with 'delivery' names its key.",
          if: {
            required: ["delivery", "source"],
            properties: { source: hasConst("type", "vault") },
          },
          then: { properties: { source: { type: "object", required: ["key"] } } },
        },
      ],
    },
    source: {
      description: "Where the value comes from.",
      type: "object",
      required: ["type"],
      properties: {
        type: {
          description:
            "file: the whole content of a file; env: a variable of X00's own environment; vault: a Vault secret.",
          enum: SOURCE_TYPES,
        },
      },
      allOf: [
        { if: hasConst("type", "file"), then: ref("file_source") },
        { if: hasConst("type", "env"), then: ref("env_source") },
        { if: hasConst("type", "vault"), then: ref("vault_source") },
      ],
    },
    file_source: {
      description:
        "The whole content of a file is the value (e.g. a mounted Kubernetes Secret key).",
      type: "object",
      additionalProperties: false,
      required: ["type", "path"],
      properties: {
        type: { const: "file" },
        path: absolutePath(
          "Absolute path of the file. Read by `x00 run` at start-up, never by the loader.",
        ),
      },
    },
    env_source: {
      description: "A variable of X00's own environment. The workload does not inherit it.",
      type: "object",
      additionalProperties: false,
      required: ["type", "var"],
      properties: {
        type: { const: "env" },
        var: { description: "The variable name.", type: "string", pattern: ENV_NAME_PATTERN },
      },
    },
    vault_source: {
      description: "A Vault secret.",
      type: "object",
      additionalProperties: false,
      required: ["type", "engine"],
      properties: {
        type: { const: "vault" },
        engine: {
          description:
            "kv-v2 reads <mount>/data/<path>, kv-v1 reads <mount>/<path>, dynamic reads <path> as is (database " +
            "credentials, ...), pki issues a certificate with POST <mount>/issue/<role>.",
          enum: ENGINES,
        },
        mount: vaultPath(
          "Mount point, e.g. secret or pki. Required for kv engines and pki, not allowed for dynamic.",
        ),
        path: vaultPath(
          "Path below the mount (kv) or the full path (dynamic), e.g. app/config or database/creds/readonly.",
        ),
        key: {
          description:
            "The key of the secret's data to deliver. Required with 'delivery', not allowed with 'keys'.",
          type: "string",
          minLength: 1,
        },
        version: {
          description: "kv-v2 only: the version to read. Latest when absent.",
          type: "integer",
          minimum: 1,
        },
        role: {
          description: "pki only (required): the PKI role, e.g. web.",
          type: "string",
          pattern: PKI_ROLE_PATTERN,
        },
        common_name: {
          description: "pki only (required): the certificate's common name, e.g. app.example.com.",
          type: "string",
          minLength: 1,
        },
        alt_names: pkiNames("DNS names or email addresses (Vault's alt_names)."),
        ip_sans: pkiNames("IP addresses (Vault's ip_sans)."),
        uri_sans: pkiNames("URIs (Vault's uri_sans)."),
        ttl: {
          description:
            "pki only: the certificate's requested validity, whole seconds (e.g. 72h; at most 87600h). The " +
            "role's TTL when absent; Vault caps it at the role's max_ttl.",
          type: "string",
          pattern: DURATION_PATTERN,
        },
        exclude_cn_from_sans: {
          description: "pki only: do not add the common name to the DNS or email SANs.",
          type: "boolean",
          default: false,
        },
        renew_fraction: {
          description:
            "pki only: a new certificate is issued after this share of the validity left when one is received.",
          type: "number",
          exclusiveMinimum: 0,
          exclusiveMaximum: 1,
          default: DEFAULTS.renew_fraction,
        },
      },
      allOf: [
        {
          if: { required: ["engine"], properties: { engine: { not: { const: "pki" } } } },
          then: {
            required: ["path"],
            properties: Object.fromEntries(PKI_SOURCE_KEYS.map((k) => [k, false])),
          },
        },
        {
          if: hasConst("engine", "pki"),
          then: {
            required: ["mount", "role", "common_name"],
            properties: { path: false, key: { enum: PKI_KEYS } },
          },
        },
        {
          if: { required: ["engine"], properties: { engine: { enum: ["kv-v1", "kv-v2"] } } },
          then: { required: ["mount"] },
        },
        { if: hasConst("engine", "dynamic"), then: { properties: { mount: false } } },
        {
          if: { required: ["engine"], properties: { engine: { not: { const: "kv-v2" } } } },
          then: { properties: { version: false } },
        },
      ],
    },
    all_keys: {
      description:
        "Vault sources only: every key of the secret, each in the variable PREFIX + the key in upper case with " +
        "characters other than A-Z, 0-9 and _ replaced by _ (envconsul's sanitize and upcase). No other " +
        "variable may start with the prefix. Exclusive with 'delivery' and 'keys'.",
      type: "object",
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
      properties: {
        env: {
          description: "Each key's value in a variable named PREFIX + KEY.",
          type: "string",
          pattern: ENV_NAME_PATTERN,
        },
        file: {
          description:
            "Each key's value in a sealed memfd whose path is in the variable PREFIX + KEY.",
          type: "string",
          pattern: ENV_NAME_PATTERN,
        },
      },
    },
    template: {
      description:
        "A value built from secrets of the policy, delivered like a secret: text with {{ NAME }}, " +
        '{{ NAME:KEY }}, {{ "literal" }} and filters | trim, | json, | url, | base64. A missing key or an ' +
        "unknown secret is an error when the policy is loaded, never an empty value.",
      type: "object",
      additionalProperties: false,
      required: ["name", "template", "delivery"],
      properties: {
        name: {
          description: "Unique among secrets and templates; appears in audit events.",
          type: "string",
          pattern: SECRET_NAME_PATTERN,
        },
        template: {
          description: "The template text (see docs/policy.md, Templates).",
          type: "string",
          minLength: 1,
        },
        delivery: ref("delivery"),
      },
    },
    delivery: {
      description: "Where the value goes in the workload: exactly one of env or file.",
      type: "object",
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
      properties: {
        env: {
          description: "A variable of the workload's environment that holds the value.",
          type: "string",
          pattern: ENV_NAME_PATTERN,
        },
        file: {
          description:
            "A variable that receives /proc/self/fd/N, the path of a sealed memfd holding the value (the *_FILE " +
            "convention of official container images).",
          type: "string",
          pattern: ENV_NAME_PATTERN,
        },
      },
    },
    audit: {
      description: "Where audit events go.",
      type: "object",
      additionalProperties: false,
      properties: {
        output: {
          description:
            "stderr (default: the workload owns stdout), stdout, or an absolute file path (opened for append, mode 0600).",
          type: "string",
          pattern: AUDIT_OUTPUT_PATTERN,
          default: DEFAULTS.audit_output,
        },
        format: {
          description: "json: JSON Lines; table: one aligned line per event for people.",
          enum: AUDIT_FORMATS,
          default: DEFAULTS.audit_format,
        },
      },
    },
    rotation: {
      description: "What happens when a Vault value changes while the workload runs.",
      type: "object",
      additionalProperties: false,
      properties: {
        on_change: {
          description:
            "restart: stop the workload (stop_signal, then SIGKILL after grace_period) and start it with the new " +
            "values; signal: deliver the new values where possible and send 'signal'; none: keep running.",
          enum: ON_CHANGE,
          default: DEFAULTS.on_change,
        },
        signal: {
          description: "Only with on_change: signal. The signal that asks the workload to reload.",
          enum: RELOAD_SIGNALS,
          default: DEFAULTS.signal,
        },
        stop_signal: {
          description: "The signal that stops the workload before a restart.",
          enum: STOP_SIGNALS,
          default: DEFAULTS.stop_signal,
        },
        grace_period: duration(
          "Time between stop_signal and SIGKILL on restart.",
          DEFAULTS.grace_period,
        ),
        poll_interval: duration(
          "Time between checks of Vault for new values (at least 1s).",
          DEFAULTS.poll_interval,
        ),
      },
      if: { not: hasConst("on_change", "signal") },
      then: { properties: { signal: false } },
    },
    vault: {
      description:
        "How to reach Vault; required when a secret has a Vault source. Names follow Vault Agent's vault and " +
        "auto_auth stanzas; unset values fall back to the usual VAULT_* variables where Vault does.",
      type: "object",
      additionalProperties: false,
      properties: {
        address: {
          description:
            "Vault's URL, e.g. https://vault.example:8200 (else VAULT_ADDR). http:// needs allow_insecure in " +
            "enforce mode.",
          type: "string",
          pattern: VAULT_ADDRESS_PATTERN,
        },
        namespace: { description: "Vault Enterprise namespace.", type: "string", minLength: 1 },
        ca_cert: absolutePath("PEM file of the CA certificates that verify Vault's certificate."),
        ca_path: absolutePath("Directory of PEM CA certificates that verify Vault's certificate."),
        client_cert: absolutePath("PEM client certificate for mTLS (needs client_key)."),
        client_key: absolutePath("PEM private key of client_cert (needs client_cert)."),
        tls_server_name: {
          description:
            "Name to verify in Vault's certificate (SNI) when it differs from the address.",
          type: "string",
          minLength: 1,
        },
        tls_skip_verify: {
          description: "Do not verify Vault's certificate. Needs allow_insecure in enforce mode.",
          type: "boolean",
          default: DEFAULTS.tls_skip_verify,
        },
        allow_insecure: {
          description: "Permit http:// addresses and tls_skip_verify in enforce mode.",
          type: "boolean",
          default: DEFAULTS.allow_insecure,
        },
        max_retries: {
          description: "Retries on connection errors, 412, 429 and 5xx responses.",
          type: "integer",
          minimum: 0,
          default: DEFAULTS.max_retries,
        },
        timeout: duration("Timeout of one request.", DEFAULTS.timeout),
        auth: ref("auth"),
      },
      dependentRequired: { client_cert: ["client_key"], client_key: ["client_cert"] },
      // Certificate auth logs in with the mTLS client certificate.
      if: { required: ["auth"], properties: { auth: hasConst("method", "cert") } },
      then: { required: ["client_cert", "client_key"] },
    },
    auth: {
      description:
        "How X00 logs in to Vault. Default: method token (VAULT_TOKEN when set, else token_file_path).",
      type: "object",
      required: ["method"],
      properties: {
        method: { description: "The auth method.", enum: AUTH_METHODS },
      },
      allOf: [
        { if: hasConst("method", "token"), then: ref("token_auth") },
        { if: hasConst("method", "approle"), then: ref("approle_auth") },
        { if: hasConst("method", "kubernetes"), then: ref("kubernetes_auth") },
        { if: hasConst("method", "jwt"), then: ref("jwt_auth") },
        { if: hasConst("method", "cert"), then: ref("cert_auth") },
      ],
    },
    token_auth: {
      description: "A Vault token from VAULT_TOKEN when it is set, else read from token_file_path.",
      type: "object",
      additionalProperties: false,
      required: ["method"],
      properties: {
        method: { const: "token" },
        token_file_path: absolutePath(
          "File holding the token (VAULT_TOKEN, when set, takes precedence).",
        ),
      },
    },
    approle_auth: {
      description: "AppRole login with a role ID and a secret ID read from files.",
      type: "object",
      additionalProperties: false,
      required: ["method", "role_id_file_path", "secret_id_file_path"],
      properties: {
        method: { const: "approle" },
        mount_path: {
          ...vaultPath("Where the auth method is mounted."),
          default: DEFAULTS.approle_mount_path,
        },
        role_id_file_path: absolutePath("File holding the role ID."),
        secret_id_file_path: absolutePath("File holding the secret ID."),
        remove_secret_id_file_after_reading: {
          description: "Delete the secret ID file once read, as Vault Agent does.",
          type: "boolean",
          default: DEFAULTS.remove_secret_id_file_after_reading,
        },
        secret_id_response_wrapping_path: vaultPath(
          "When set, the secret ID file holds a response-wrapping token created at this path (e.g. " +
            "auth/approle/role/app/secret-id); it is checked with sys/wrapping/lookup and unwrapped.",
        ),
      },
    },
    kubernetes_auth: {
      description: "Kubernetes login with the pod's service account token.",
      type: "object",
      additionalProperties: false,
      required: ["method", "role"],
      properties: {
        method: { const: "kubernetes" },
        mount_path: {
          ...vaultPath("Where the auth method is mounted."),
          default: DEFAULTS.kubernetes_mount_path,
        },
        role: { description: "The Vault role to log in as.", type: "string", minLength: 1 },
        token_path: {
          ...absolutePath("The service account token file."),
          default: DEFAULTS.kubernetes_token_path,
        },
      },
    },
    jwt_auth: {
      description: "JWT/OIDC login with a workload identity token read from a file at every login.",
      type: "object",
      additionalProperties: false,
      required: ["method", "role", "token_path"],
      properties: {
        method: { const: "jwt" },
        mount_path: {
          ...vaultPath("Where the auth method is mounted."),
          default: DEFAULTS.jwt_mount_path,
        },
        role: { description: "The Vault role to log in as.", type: "string", minLength: 1 },
        token_path: absolutePath("The JWT file (Vault Agent's jwt method calls it path)."),
        remove_jwt_after_reading: {
          description:
            "Delete the JWT file once read (the JWT is then kept in memory for re-login).",
          type: "boolean",
          default: DEFAULTS.remove_jwt_after_reading,
        },
      },
    },
    cert_auth: {
      description:
        "TLS certificate login with vault.client_cert and vault.client_key (both required).",
      type: "object",
      additionalProperties: false,
      required: ["method"],
      properties: {
        method: { const: "cert" },
        mount_path: {
          ...vaultPath("Where the auth method is mounted."),
          default: DEFAULTS.cert_mount_path,
        },
        name: {
          description: "The certificate role to log in against (default: every role of the mount).",
          type: "string",
          minLength: 1,
        },
      },
    },
  },
};
