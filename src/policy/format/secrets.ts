/**
 * The format of `secrets:` entries (sources and deliveries) and of `templates:` entries.
 *
 * @module
 */

import { suggest } from "../suggest.ts";
import {
  ABSOLUTE_PATH,
  ENV_NAME,
  MAX_PKI_TTL_MS,
  PKI_KEYS,
  PKI_ROLE_PATTERN,
  SECRET_NAME_PATTERN,
  VAULT_PATH,
} from "./values.ts";
import {
  boolean,
  type CountRule,
  object,
  type ObjectShape,
  required,
  type Rule,
  sequence,
  type Shape,
  string,
  type UnionShape,
} from "./shape.ts";

const exactlyOneTarget: CountRule = {
  kind: "exactlyOne",
  description: "Exactly one of env or file.",
  keys: ["env", "file"],
  message: "must have exactly one of 'env' (the value in a variable) or 'file' (a sealed memfd)",
};

/** Where one value goes in the workload. */
export const DELIVERY: ObjectShape = object(
  "delivery",
  "Where the value goes in the workload: exactly one of env or file.",
  {
    env: string("A variable of the workload's environment that holds the value.", ENV_NAME),
    file: string(
      "A variable that receives /proc/self/fd/N, the path of a sealed memfd holding the value (the *_FILE " +
        "convention of official container images).",
      ENV_NAME,
    ),
  },
  { rules: [exactlyOneTarget] },
);

const PREFIX = { ...ENV_NAME, expected: "a variable name prefix such as DB_" };

const ALL_KEYS: ObjectShape = object(
  "all_keys",
  "Vault sources only: every key of the secret, each in the variable PREFIX + the key in upper case with " +
    "characters other than A-Z, 0-9 and _ replaced by _ (envconsul's sanitize and upcase). No other " +
    "variable may start with the prefix. Exclusive with 'delivery' and 'keys'.",
  {
    env: string("Each key's value in a variable named PREFIX + KEY.", PREFIX),
    file: string(
      "Each key's value in a sealed memfd whose path is in the variable PREFIX + KEY.",
      PREFIX,
    ),
  },
  { rules: [exactlyOneTarget] },
);

const vaultPath = (description: string): Shape => string(description, VAULT_PATH);
const key = string(
  "The key of the secret's data to deliver. Required with 'delivery', not allowed with 'keys'.",
);
const mount = required(
  vaultPath(
    "Mount point, e.g. secret or pki. Required for kv engines and pki, not allowed for dynamic.",
  ),
  "variant",
);
const path = required(
  vaultPath(
    "Path below the mount (kv) or the full path (dynamic), e.g. app/config or database/creds/readonly.",
  ),
);
const pkiNames = (description: string): Shape =>
  sequence(
    `pki only: ${description}`,
    string("", { pattern: "^[^,\\s]+$", expected: "a non-empty string without ',' or spaces" }),
    "a sequence of names",
  );

const VAULT_SOURCE: UnionShape = {
  kind: "union",
  name: "vault_source",
  description: "A Vault secret.",
  discriminator: "engine",
  discriminatorDescription:
    "kv-v2 reads <mount>/data/<path>, kv-v1 reads <mount>/<path>, dynamic reads <path> as is (database " +
    "credentials, ...), pki issues a certificate with POST <mount>/issue/<role>.",
  label: "engine",
  variants: {
    "kv-v2": object("kv_v2_source", "A KV version 2 secret: <mount>/data/<path>.", {
      mount,
      path,
      key,
      version: {
        shape: {
          kind: "integer",
          description: "The version to read. Latest when absent.",
          minimum: 1,
          expected: "a positive integer",
        },
      },
    }),
    "kv-v1": object("kv_v1_source", "A KV version 1 secret: <mount>/<path>.", { mount, path, key }),
    dynamic: object(
      "dynamic_source",
      "A secret read at <path> as is (database credentials, ...).",
      {
        path,
        key,
      },
    ),
    pki: object("pki_source", "A certificate issued by POST <mount>/issue/<role>.", {
      mount,
      role: required(
        string("The PKI role, e.g. web.", {
          pattern: PKI_ROLE_PATTERN,
          expected: "a PKI role name (letters, digits, '_', '-' and '.')",
        }),
        "variant",
      ),
      common_name: required(
        string("The certificate's common name, e.g. app.example.com."),
        "variant",
      ),
      key: string("The key of Vault's pki/issue answer to deliver with 'delivery'.", {
        values: PKI_KEYS,
        expected: `one of the keys of Vault's pki/issue answer (${PKI_KEYS.join(", ")})`,
      }),
      alt_names: pkiNames("DNS names or email addresses (Vault's alt_names)."),
      ip_sans: pkiNames("IP addresses (Vault's ip_sans)."),
      uri_sans: pkiNames("URIs (Vault's uri_sans)."),
      ttl: {
        shape: {
          kind: "duration",
          description:
            "The certificate's requested validity, whole seconds (e.g. 72h; at most 87600h). The role's TTL " +
            "when absent; Vault caps it at the role's max_ttl.",
          minMs: 1000,
          maxMs: MAX_PKI_TTL_MS,
          wholeSeconds: true,
          expected:
            "a duration of whole seconds such as 90s, 72h or 720h (at least 1s, at most 87600h)",
        },
      },
      exclude_cn_from_sans: boolean("Do not add the common name to the DNS or email SANs.", false),
      renew_fraction: {
        shape: {
          kind: "number",
          description:
            "A new certificate is issued after this share of the validity left when one is received.",
          exclusiveMinimum: 0,
          exclusiveMaximum: 1,
          expected: "a number between 0 and 1, both excluded, such as 0.5 or 0.75",
          default: 2 / 3,
        },
      },
    }),
  },
};

const SOURCE: UnionShape = {
  kind: "union",
  name: "source",
  description: "Where the value comes from.",
  discriminator: "type",
  discriminatorDescription:
    "file: the whole content of a file; env: a variable of X00's own environment; vault: a Vault secret.",
  label: "source type",
  variants: {
    file: object(
      "file_source",
      "The whole content of a file is the value (e.g. a mounted Kubernetes Secret key).",
      {
        path: required(
          string(
            "Absolute path of the file. Read by `x00 run` at start-up, never by the loader.",
            ABSOLUTE_PATH,
          ),
        ),
      },
    ),
    env: object(
      "env_source",
      "A variable of X00's own environment. The workload does not inherit it.",
      { var: required(string("The variable name.", ENV_NAME)) },
    ),
    vault: VAULT_SOURCE,
  },
};

/** `keys` or `all_keys` need a Vault source that names no key. */
const vaultWithoutKey = (form: "keys" | "all_keys", why: (path: string) => string): Rule[] => [
  {
    kind: "when",
    description: `'${form}' needs a Vault source.`,
    when: [{ at: form, present: true }],
    then: { at: "source.type", equals: "vault" },
    report: { node: "when.key", path: "when" },
    message: ({ thenValue }) =>
      `is only allowed for Vault sources: current source type is ${JSON.stringify(thenValue)}`,
  },
  {
    kind: "when",
    description: `'${form}' needs a Vault source without 'key'.`,
    when: [{ at: form, present: true }],
    then: { at: "source.key", present: false },
    report: { node: "then.key", path: "then" },
    message: ({ whenPath }) => `is not allowed with ${why(whenPath)}`,
  },
];

/** One entry of `secrets:`. */
export const SECRET: ObjectShape = object(
  "secret",
  "One secret: where its value comes from (source) and where it goes (delivery, or keys for several keys " +
    "of a Vault secret).",
  {
    name: required(
      string(
        "Unique name; appears in audit events (values never do). Letters, digits, '_', '.' and '-', " +
          "starting with a letter or a digit.",
        {
          pattern: SECRET_NAME_PATTERN,
          expected:
            "a secret name (letters, digits, '_', '.' and '-', starting with a letter or digit)",
        },
      ),
    ),
    source: required(SOURCE),
    delivery: DELIVERY,
    keys: {
      shape: {
        kind: "map",
        description:
          "Vault sources only: several keys of one Vault secret, each delivered on its own. Exclusive with " +
          "'delivery'.",
        values: DELIVERY,
        expected: "a mapping of at least one Vault key to its delivery",
        keyName: "a Vault key",
      },
    },
    all_keys: ALL_KEYS,
  },
  {
    rules: [
      {
        kind: "atMostOne",
        description:
          "At most one of delivery, keys and all_keys (none: a template must read the secret).",
        keys: ["delivery", "keys", "all_keys"],
        message: "must have one of 'delivery', 'keys' or 'all_keys', not several",
      },
      ...vaultWithoutKey("keys", (path) => `'keys' (each key of '${path}' names a Vault key)`),
      ...vaultWithoutKey("all_keys", () => "'all_keys' (every key is delivered)"),
      {
        kind: "when",
        description: "A Vault source with 'delivery' names its key.",
        when: [{ at: "delivery", present: true }, { at: "source.type", equals: "vault" }],
        then: { at: "source.key", present: true },
        report: { node: "then.parent", path: "then" },
        message: () =>
          "is required for a Vault source with 'delivery' (it names the key to deliver)",
      },
      {
        kind: "when",
        description: "The keys of an engine: pki entry are keys of Vault's pki/issue answer.",
        when: [{ at: "source.engine", equals: "pki" }],
        then: { at: "keys", keysIn: PKI_KEYS },
        report: { node: "then.key", path: "then" },
        message: ({ thenValue }) =>
          `is not a key of Vault's pki/issue answer: ${suggest(String(thenValue), PKI_KEYS)}`,
      },
    ],
  },
);

/** One entry of `templates:`. */
export const TEMPLATE: ObjectShape = object(
  "template",
  "A value built from secrets of the policy, delivered like a secret: text with {{ NAME }}, " +
    '{{ NAME:KEY }}, {{ "literal" }} and filters | trim, | json, | url, | base64. A missing key or an ' +
    "unknown secret is an error when the policy is loaded, never an empty value.",
  {
    name: required(
      string("Unique among secrets and templates; appears in audit events.", {
        pattern: SECRET_NAME_PATTERN,
        expected: "a name of letters, digits, '_', '.' and '-', starting with a letter or digit",
      }),
    ),
    template: required(string("The template text (see docs/policy.md, Templates).")),
    delivery: required(DELIVERY),
  },
);
