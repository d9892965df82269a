/**
 * Policies shared by the loader's and the schema's tests, so both are held to the same format.
 *
 * @module
 */

/** What the JSON Schema says about a case. */
export type SchemaVerdict =
  /** The schema rejects it too. */
  | "rejects"
  /** The schema cannot express the rule (uniqueness, duration bounds, YAML-level problems). */
  | "accepts"
  /** The text is not YAML the schema can be applied to. */
  | "skip";

/** A policy the loader must reject. */
export interface InvalidCase {
  /** Completes "parsePolicy() rejects ...". */
  title: string;
  yaml: string;
  /** The first error line, `x.yaml:LINE:COL: message`. */
  error: string;
  /** The first error's field path. */
  path: string;
  schema: SchemaVerdict;
}

/** A policy the loader and the schema must accept. */
export interface ValidCase {
  /** Completes "parsePolicy() accepts ...". */
  title: string;
  yaml: string;
}

const head = "policy:\n  mode: enforce\n";
const vault = "vault:\n  address: https://vault.example:8200\n";

/** Policies with exactly the error given (the first one in document order). */
export const INVALID_CASES: InvalidCase[] = [
  {
    title: "a client without any identity",
    yaml: head + "clients:\n  - { name: web }\n",
    error:
      "x.yaml:4:5: Cannot load policy as 'clients[0]' needs at least one of 'uids', 'gids' or 'cgroups': the identity the kernel must see",
    path: "clients[0]",
    schema: "rejects",
  },
  {
    title: "a client naming a secret that does not exist",
    yaml: head + "clients:\n  - { name: web, uids: [1000], secrets: [nope] }\n",
    error:
      "x.yaml:4:42: Cannot load policy as 'clients[0].secrets[0]' must name a secret of 'secrets': current value is \"nope\"",
    path: "clients[0].secrets[0]",
    schema: "accepts",
  },
  {
    title: "an unknown foreign_bpf value",
    yaml: head + "  foreign_bpf: refuse\n",
    error:
      'x.yaml:3:16: Cannot load policy as \'policy.foreign_bpf\' must be one of "log", "refuse_tracing", "refuse_all": current value is "refuse"',
    path: "policy.foreign_bpf",
    schema: "rejects",
  },
  {
    title: "a cgroup allow-list entry that is not a path",
    yaml: head + "  foreign_bpf_allow: { cgroups: [falco] }\n",
    error:
      'x.yaml:3:34: Cannot load policy as \'policy.foreign_bpf_allow.cgroups[0]\' must be a cgroup v2 path such as "/system.slice/falco.service": current value is "falco"',
    path: "policy.foreign_bpf_allow.cgroups[0]",
    schema: "rejects",
  },
  {
    title: "a negative workload uid",
    yaml: head + "workload: { user: -1 }\n",
    error:
      "x.yaml:3:19: Cannot load policy as 'workload.user' must be a name or a number from 0 to 4294967294: current value is -1",
    path: "workload.user",
    schema: "rejects",
  },
  {
    title: "an unknown capability",
    yaml: head + "workload:\n  capabilities: [CAP_NET_BIND_SERVICE, CAP_EVERYTHING]\n",
    error:
      "x.yaml:4:40: Cannot load policy as 'workload.capabilities[1]' must be a capability name such as CAP_NET_BIND_SERVICE: current value is \"CAP_EVERYTHING\"",
    path: "workload.capabilities[1]",
    schema: "rejects",
  },
  // --- the document
  {
    title: "an empty file",
    yaml: "",
    error: "x.yaml:1:1: Cannot load policy as the file is empty",
    path: "",
    schema: "rejects",
  },
  {
    title: "a file with only comments",
    yaml: "# nothing here\n",
    error: "x.yaml:1:1: Cannot load policy as the file is empty",
    path: "",
    schema: "rejects",
  },
  {
    title: "a policy without a 'policy' section",
    yaml: "secrets: []\n",
    error: "x.yaml:1:1: Cannot load policy as 'policy' is required",
    path: "policy",
    schema: "rejects",
  },
  {
    title: "a document that is not a mapping",
    yaml: "- policy\n",
    error:
      "x.yaml:1:1: Cannot load policy as the document must be a mapping: current value is a sequence",
    path: "",
    schema: "rejects",
  },
  {
    title: "YAML syntax errors",
    yaml: "policy:\n  mode: [enforce\n",
    error: "x.yaml:3:1: Cannot load policy as the YAML is invalid: " +
      "Flow sequence in block collection must be sufficiently indented and end with a ]",
    path: "",
    schema: "skip",
  },
  {
    title: "an unclosed quote",
    yaml: 'policy:\n  mode: "enforce\n',
    error: 'x.yaml:3:1: Cannot load policy as the YAML is invalid: Missing closing "quote',
    path: "",
    schema: "skip",
  },
  {
    title: "several YAML documents",
    yaml: "policy: { mode: enforce }\n---\npolicy: { mode: audit }\n",
    error: "x.yaml:2:1: Cannot load policy as the YAML is invalid: " +
      "a policy file must contain exactly one YAML document",
    path: "",
    schema: "skip",
  },
  {
    title: "duplicate YAML keys",
    yaml: "policy:\n  mode: enforce\n  mode: audit\n",
    error:
      "x.yaml:3:3: Cannot load policy as 'policy.mode' is defined twice: first at line 2, column 3",
    path: "policy.mode",
    schema: "skip",
  },
  {
    title: "unknown tags",
    yaml: "policy:\n  mode: !strict enforce\n",
    error: "x.yaml:2:9: Cannot load policy as the YAML is invalid: Unresolved tag: !strict",
    path: "",
    schema: "skip",
  },
  {
    title: "aliases to unknown anchors",
    yaml: "policy:\n  mode: *m\n",
    error:
      "x.yaml:2:9: Cannot load policy as 'policy.mode' refers to an unknown anchor: current value is *m",
    path: "policy.mode",
    schema: "skip",
  },
  {
    title: "keys that are not strings",
    yaml: "policy: { mode: enforce }\n1: x\n",
    error: "x.yaml:2:1: Cannot load policy as the document must have string keys: current key is 1",
    path: "",
    schema: "skip",
  },
  // --- unknown keys
  {
    title: "unknown top-level keys with a suggestion",
    yaml: "policy: { mode: enforce }\nsecret: []\n",
    error: "x.yaml:2:1: Cannot load policy as 'secret' is not a known key: did you mean 'secrets'?",
    path: "secret",
    schema: "rejects",
  },
  {
    title: "a misspelt protection flag",
    yaml: head + "  block_ptrac: true\n",
    error:
      "x.yaml:3:3: Cannot load policy as 'policy.block_ptrac' is not a known key: did you mean 'block_ptrace'?",
    path: "policy.block_ptrac",
    schema: "rejects",
  },
  {
    title: "unknown keys with the list of known ones",
    yaml: head + "  allow_root: true\n",
    error: "x.yaml:3:3: Cannot load policy as 'policy.allow_root' is not a known key: " +
      "expected one of mode, block_environ_read, block_mem_read, block_ptrace, foreign_bpf, foreign_bpf_allow",
    path: "policy.allow_root",
    schema: "rejects",
  },
  {
    title: "keys of another source type",
    yaml: head +
      "secrets:\n  - name: a\n    source: { type: file, path: /a, var: A }\n    delivery: { env: A }\n",
    error:
      `x.yaml:5:37: Cannot load policy as 'secrets[0].source.var' is not allowed for source type "file"`,
    path: "secrets[0].source.var",
    schema: "rejects",
  },
  {
    title: "unknown keys without echoing their value",
    yaml: head + vault + "  auth:\n    method: token\n    token: hvs.NOT-A-REAL-TOKEN\n",
    error: "x.yaml:7:5: Cannot load policy as 'vault.auth.token' is not a known key: " +
      "did you mean 'token_file_path' or 'token_path'?",
    path: "vault.auth.token",
    schema: "rejects",
  },
  // --- types and enums
  {
    title: "an invalid mode",
    yaml: "policy:\n  mode: enforced\n",
    error: `x.yaml:2:9: Cannot load policy as 'policy.mode' must be one of "enforce", "audit": ` +
      `current value is "enforced"`,
    path: "policy.mode",
    schema: "rejects",
  },
  {
    title: "a missing mode",
    yaml: "policy:\n  block_ptrace: true\n",
    error: "x.yaml:2:3: Cannot load policy as 'policy.mode' is required",
    path: "policy.mode",
    schema: "rejects",
  },
  {
    title: "an empty 'policy' section",
    yaml: "policy:\n",
    error: "x.yaml:1:8: Cannot load policy as 'policy' must be a mapping: current value is null",
    path: "policy",
    schema: "rejects",
  },
  {
    title: "a string where a boolean is expected",
    yaml: head + '  block_environ_read: "true"\n',
    error: "x.yaml:3:23: Cannot load policy as 'policy.block_environ_read' must be a boolean " +
      '(true or false): current value is "true"',
    path: "policy.block_environ_read",
    schema: "rejects",
  },
  {
    title: "YAML 1.1 booleans",
    yaml: head + "  block_mem_read: yes\n",
    error: "x.yaml:3:19: Cannot load policy as 'policy.block_mem_read' must be a boolean " +
      '(true or false): current value is "yes"',
    path: "policy.block_mem_read",
    schema: "rejects",
  },
  {
    title: "'secrets' that is not a sequence",
    yaml: head + "secrets: { name: a }\n",
    error: "x.yaml:3:10: Cannot load policy as 'secrets' must be a sequence of secret entries: " +
      "current value is a mapping",
    path: "secrets",
    schema: "rejects",
  },
  // --- secrets
  {
    title: "invalid secret names",
    yaml: head +
      "secrets:\n  - name: -db\n    source: { type: env, var: A }\n    delivery: { env: A }\n",
    error: "x.yaml:4:11: Cannot load policy as 'secrets[0].name' must be a secret name (letters, " +
      `digits, '_', '.' and '-', starting with a letter or digit): current value is "-db"`,
    path: "secrets[0].name",
    schema: "rejects",
  },
  {
    title: "a secret without a name",
    yaml: head + "secrets:\n  - source: { type: env, var: A }\n    delivery: { env: A }\n",
    error: "x.yaml:4:5: Cannot load policy as 'secrets[0].name' is required",
    path: "secrets[0].name",
    schema: "rejects",
  },
  {
    title: "duplicate secret names",
    yaml: head +
      "secrets:\n  - name: db\n    source: { type: env, var: A }\n    delivery: { env: A }\n" +
      "  - name: db\n    source: { type: env, var: B }\n    delivery: { env: B }\n",
    error: "x.yaml:7:11: Cannot load policy as 'secrets[1].name' must be unique: " +
      `"db" is already used by 'secrets[0]'`,
    path: "secrets[1].name",
    schema: "accepts",
  },
  {
    title: "invalid variable names in a delivery",
    yaml: head +
      "secrets:\n  - name: a\n    source: { type: env, var: A }\n    delivery: { env: A }\n" +
      "  - name: b\n    source: { type: env, var: B }\n    delivery: { env: 1BAD }\n",
    error:
      "x.yaml:9:22: Cannot load policy as 'secrets[1].delivery.env' must be a valid environment " +
      'variable name: current value is "1BAD"',
    path: "secrets[1].delivery.env",
    schema: "rejects",
  },
  {
    title: "invalid variable names in a file delivery",
    yaml: head + "secrets:\n  - name: a\n    source: { type: env, var: A }\n" +
      "    delivery: { file: A-FILE }\n",
    error: "x.yaml:6:23: Cannot load policy as 'secrets[0].delivery.file' must be a valid " +
      'environment variable name: current value is "A-FILE"',
    path: "secrets[0].delivery.file",
    schema: "rejects",
  },
  {
    title: "the same variable delivered twice",
    yaml: head +
      "secrets:\n  - name: a\n    source: { type: env, var: A }\n    delivery: { env: OUT }\n" +
      "  - name: b\n    source: { type: env, var: B }\n    delivery: { file: OUT }\n",
    error:
      "x.yaml:9:23: Cannot load policy as 'secrets[1].delivery.file' must not deliver a variable " +
      `twice: "OUT" is already delivered by 'secrets[0].delivery.env'`,
    path: "secrets[1].delivery.file",
    schema: "accepts",
  },
  {
    title: "the same variable delivered twice by 'keys'",
    yaml: head + vault +
      "secrets:\n  - name: db\n    source: { type: vault, engine: dynamic, path: db/creds/ro }\n" +
      "    keys:\n      username: { env: DB }\n      password: { env: DB }\n",
    error:
      "x.yaml:10:24: Cannot load policy as 'secrets[0].keys.password.env' must not deliver a " +
      `variable twice: "DB" is already delivered by 'secrets[0].keys.username.env'`,
    path: "secrets[0].keys.password.env",
    schema: "accepts",
  },
  {
    title: "both 'delivery' and 'keys'",
    yaml: head + vault +
      "secrets:\n  - name: db\n    source: { type: vault, engine: dynamic, path: db/creds/ro }\n" +
      "    delivery: { env: DB }\n    keys: { username: { env: DB_USER } }\n",
    error:
      "x.yaml:9:5: Cannot load policy as 'secrets[0]' must have one of 'delivery', 'keys' or " +
      "'all_keys', not several",
    path: "secrets[0]",
    schema: "rejects",
  },
  {
    title: "neither a delivery nor a template that reads the secret",
    yaml: head + "secrets:\n  - name: a\n    source: { type: env, var: A }\n",
    error: "x.yaml:4:5: Cannot load policy as 'secrets[0]' must have 'delivery' (one value), " +
      "'keys' (several keys of a Vault secret) or 'all_keys' (every key of a Vault secret), or be read " +
      "by a template",
    path: "secrets[0]",
    schema: "accepts",
  },
  {
    title: "'all_keys' with a file source",
    yaml: head + "secrets:\n  - name: a\n    source: { type: file, path: /a }\n" +
      "    all_keys: { env: A_ }\n",
    error: "x.yaml:6:5: Cannot load policy as 'secrets[0].all_keys' is only allowed for Vault " +
      'sources: current source type is "file"',
    path: "secrets[0].all_keys",
    schema: "rejects",
  },
  {
    title: "'all_keys' with a Vault 'key'",
    yaml: head + vault +
      "secrets:\n  - name: db\n    source: { type: vault, engine: kv-v1, mount: kv, path: db, key: a }\n" +
      "    all_keys: { env: DB_ }\n",
    error:
      "x.yaml:7:64: Cannot load policy as 'secrets[0].source.key' is not allowed with 'all_keys' " +
      "(every key is delivered)",
    path: "secrets[0].source.key",
    schema: "rejects",
  },
  {
    title: "an 'all_keys' prefix that is not a variable name",
    yaml: head + vault +
      "secrets:\n  - name: db\n    source: { type: vault, engine: kv-v2, mount: secret, path: db }\n" +
      "    all_keys: { env: 1DB }\n",
    error: "x.yaml:8:22: Cannot load policy as 'secrets[0].all_keys.env' must be a variable name " +
      'prefix such as DB_: current value is "1DB"',
    path: "secrets[0].all_keys.env",
    schema: "rejects",
  },
  {
    title: "a variable inside an 'all_keys' prefix",
    yaml: head + vault +
      "secrets:\n  - name: db\n    source: { type: vault, engine: kv-v2, mount: secret, path: db }\n" +
      "    all_keys: { env: DB_ }\n" +
      "  - name: b\n    source: { type: env, var: B }\n    delivery: { env: DB_HOST }\n",
    error: "x.yaml:11:22: Cannot load policy as 'secrets[1].delivery.env' must not start with " +
      "\"DB_\", the all_keys prefix of 'secrets[0].all_keys.env': a key of that secret could deliver " +
      "the same variable",
    path: "secrets[1].delivery.env",
    schema: "accepts",
  },
  {
    title: "overlapping 'all_keys' prefixes",
    yaml: head + vault +
      "secrets:\n  - name: db\n    source: { type: vault, engine: kv-v2, mount: secret, path: db }\n" +
      "    all_keys: { env: DB_ }\n" +
      "  - name: db2\n    source: { type: vault, engine: kv-v1, mount: kv, path: db }\n" +
      "    all_keys: { file: DB_F_ }\n",
    error: "x.yaml:11:23: Cannot load policy as 'secrets[1].all_keys.file' must not overlap the " +
      "all_keys prefix \"DB_\" of 'secrets[0].all_keys.env': two secrets could deliver the same variable",
    path: "secrets[1].all_keys.file",
    schema: "accepts",
  },
  {
    title: "a template with a syntax error, at its line and column",
    yaml: head + vault +
      "secrets:\n  - name: db\n    source: { type: vault, engine: kv-v2, mount: secret, path: db }\n" +
      "    keys: { user: { env: U } }\n" +
      "templates:\n  - name: dsn\n    delivery: { file: DSN_FILE }\n    template: |\n" +
      "      host=db\n      user={{ db:user | upper }}\n",
    error: "x.yaml:14:25: Cannot load policy as 'templates[0].template' is not a valid template: " +
      'unknown filter "upper }}": known filters are trim, json, url, base64',
    path: "templates[0].template",
    schema: "accepts",
  },
  {
    title: "a template that is not closed",
    yaml: head + "secrets:\n  - name: a\n    source: { type: env, var: A }\n" +
      "templates:\n  - name: t\n    template: 'x={{ a '\n    delivery: { env: T }\n",
    error: "x.yaml:8:18: Cannot load policy as 'templates[0].template' is not a valid template: " +
      "'{{' is not closed by '}}'",
    path: "templates[0].template",
    schema: "accepts",
  },
  {
    title: "a template reading an unknown secret",
    yaml: head +
      "secrets:\n  - name: api\n    source: { type: env, var: A }\n    delivery: { env: A }\n" +
      "templates:\n  - name: t\n    template: 'k={{ apj }}'\n    delivery: { env: T }\n",
    error:
      "x.yaml:9:18: Cannot load policy as 'templates[0].template' reads 'apj', which is not a " +
      "secret of 'secrets': did you mean 'api'?",
    path: "templates[0].template",
    schema: "accepts",
  },
  {
    title: "a template reading a key of a single-value secret",
    yaml: head + "secrets:\n  - name: api\n    source: { type: env, var: A }\n" +
      "templates:\n  - name: t\n    template: 'k={{ api:token }}'\n    delivery: { env: T }\n",
    error:
      "x.yaml:8:18: Cannot load policy as 'templates[0].template' reads key 'token' of 'api', an " +
      "env source with one value: write {{ api }}",
    path: "templates[0].template",
    schema: "accepts",
  },
  {
    title: "a template reading a Vault secret without a key",
    yaml: head + vault +
      "secrets:\n  - name: db\n    source: { type: vault, engine: kv-v2, mount: secret, path: db }\n" +
      "templates:\n  - name: t\n    template: 'k={{ db }}'\n" +
      "    delivery: { env: T }\n",
    error:
      "x.yaml:10:18: Cannot load policy as 'templates[0].template' reads 'db' without a key, but " +
      "it is a Vault secret: name the key, as in {{ db:password }}",
    path: "templates[0].template",
    schema: "accepts",
  },
  {
    title: "a template named like a secret",
    yaml: head + "secrets:\n  - name: a\n    source: { type: env, var: A }\n" +
      "templates:\n  - name: a\n    template: '{{ a }}'\n    delivery: { env: T }\n",
    error:
      "x.yaml:7:11: Cannot load policy as 'templates[0].name' must be unique among secrets and " +
      "templates: \"a\" is already used by 'secrets[0]'",
    path: "templates[0].name",
    schema: "accepts",
  },
  {
    title: "a template delivering a variable a secret delivers",
    yaml: head +
      "secrets:\n  - name: a\n    source: { type: env, var: A }\n    delivery: { env: T }\n" +
      "templates:\n  - name: t\n    template: '{{ a }}'\n    delivery: { env: T }\n",
    error: "x.yaml:10:22: Cannot load policy as 'templates[0].delivery.env' must not deliver a " +
      "variable twice: \"T\" is already delivered by 'secrets[0].delivery.env'",
    path: "templates[0].delivery.env",
    schema: "accepts",
  },
  {
    title: "a template without a secret",
    yaml: head +
      "secrets:\n  - name: a\n    source: { type: env, var: A }\n    delivery: { env: A }\n" +
      "templates:\n  - name: t\n    template: 'static'\n    delivery: { env: T }\n",
    error:
      "x.yaml:9:16: Cannot load policy as 'templates[0].template' reads no secret: a template " +
      "must insert at least one value, as in {{ NAME }}",
    path: "templates[0].template",
    schema: "accepts",
  },
  {
    title: "a delivery with both 'env' and 'file'",
    yaml: head + "secrets:\n  - name: a\n    source: { type: env, var: A }\n" +
      "    delivery: { env: A, file: A_FILE }\n",
    error:
      "x.yaml:6:15: Cannot load policy as 'secrets[0].delivery' must have exactly one of 'env' " +
      "(the value in a variable) or 'file' (a sealed memfd)",
    path: "secrets[0].delivery",
    schema: "rejects",
  },
  {
    title: "an empty delivery",
    yaml: head + "secrets:\n  - name: a\n    source: { type: env, var: A }\n    delivery: {}\n",
    error:
      "x.yaml:6:15: Cannot load policy as 'secrets[0].delivery' must have exactly one of 'env' " +
      "(the value in a variable) or 'file' (a sealed memfd)",
    path: "secrets[0].delivery",
    schema: "rejects",
  },
  {
    title: "'keys' for a file source",
    yaml: head + "secrets:\n  - name: a\n    source: { type: file, path: /a }\n" +
      "    keys: { a: { env: A } }\n",
    error:
      "x.yaml:6:5: Cannot load policy as 'secrets[0].keys' is only allowed for Vault sources: " +
      'current source type is "file"',
    path: "secrets[0].keys",
    schema: "rejects",
  },
  {
    title: "empty 'keys'",
    yaml: head + vault +
      "secrets:\n  - name: db\n    source: { type: vault, engine: dynamic, path: db/creds/ro }\n" +
      "    keys: {}\n",
    error:
      "x.yaml:8:11: Cannot load policy as 'secrets[0].keys' must be a mapping of at least one " +
      "Vault key to its delivery: current value is a mapping",
    path: "secrets[0].keys",
    schema: "rejects",
  },
  // --- sources
  {
    title: "a secret without a source",
    yaml: head + "secrets:\n  - name: a\n    delivery: { env: A }\n",
    error: "x.yaml:4:5: Cannot load policy as 'secrets[0].source' is required",
    path: "secrets[0].source",
    schema: "rejects",
  },
  {
    title: "an unknown source type",
    yaml: head + "secrets:\n  - name: a\n    source: { type: aws, path: /a }\n" +
      "    delivery: { env: A }\n",
    error: "x.yaml:5:21: Cannot load policy as 'secrets[0].source.type' must be one of " +
      `"file", "env", "vault": current value is "aws"`,
    path: "secrets[0].source.type",
    schema: "rejects",
  },
  {
    title: "a relative file source path",
    yaml: head + "secrets:\n  - name: a\n    source: { type: file, path: secrets/a }\n" +
      "    delivery: { env: A }\n",
    error:
      "x.yaml:5:33: Cannot load policy as 'secrets[0].source.path' must be an absolute path: " +
      'current value is "secrets/a"',
    path: "secrets[0].source.path",
    schema: "rejects",
  },
  {
    title: "an env source with an invalid variable",
    yaml: head + "secrets:\n  - name: a\n    source: { type: env, var: API TOKEN }\n" +
      "    delivery: { env: A }\n",
    error:
      "x.yaml:5:31: Cannot load policy as 'secrets[0].source.var' must be a valid environment " +
      'variable name: current value is "API TOKEN"',
    path: "secrets[0].source.var",
    schema: "rejects",
  },
  {
    title: "a Vault source with 'delivery' and no 'key'",
    yaml: head + vault +
      "secrets:\n  - name: app\n    source: { type: vault, engine: kv-v2, mount: secret, path: app }\n" +
      "    delivery: { env: APP }\n",
    error:
      "x.yaml:7:13: Cannot load policy as 'secrets[0].source.key' is required for a Vault source " +
      "with 'delivery' (it names the key to deliver)",
    path: "secrets[0].source.key",
    schema: "rejects",
  },
  {
    title: "a Vault source with 'keys' and 'key'",
    yaml: head + vault +
      "secrets:\n  - name: db\n    source: { type: vault, engine: dynamic, path: db/creds/ro, key: u }\n" +
      "    keys: { username: { env: DB_USER } }\n",
    error:
      "x.yaml:7:64: Cannot load policy as 'secrets[0].source.key' is not allowed with 'keys' " +
      "(each key of 'secrets[0].keys' names a Vault key)",
    path: "secrets[0].source.key",
    schema: "rejects",
  },
  {
    title: "a kv engine without 'mount'",
    yaml: head + vault +
      "secrets:\n  - name: app\n    source: { type: vault, engine: kv-v1, path: app, key: k }\n" +
      "    delivery: { env: APP }\n",
    error:
      `x.yaml:7:13: Cannot load policy as 'secrets[0].source.mount' is required for engine "kv-v1"`,
    path: "secrets[0].source.mount",
    schema: "rejects",
  },
  {
    title: "'mount' for the dynamic engine",
    yaml: head + vault +
      "secrets:\n  - name: db\n    source: { type: vault, engine: dynamic, mount: db, path: creds/ro, key: k }\n" +
      "    delivery: { env: DB }\n",
    error:
      `x.yaml:7:45: Cannot load policy as 'secrets[0].source.mount' is not allowed for engine "dynamic"`,
    path: "secrets[0].source.mount",
    schema: "rejects",
  },
  {
    title: "'version' for kv-v1",
    yaml: head + vault + "secrets:\n  - name: app\n" +
      "    source: { type: vault, engine: kv-v1, mount: kv, path: app, key: k, version: 2 }\n" +
      "    delivery: { env: APP }\n",
    error:
      `x.yaml:7:73: Cannot load policy as 'secrets[0].source.version' is not allowed for engine "kv-v1"`,
    path: "secrets[0].source.version",
    schema: "rejects",
  },
  {
    title: "a version that is not a positive integer",
    yaml: head + vault + "secrets:\n  - name: app\n" +
      "    source: { type: vault, engine: kv-v2, mount: secret, path: app, key: k, version: 0 }\n" +
      "    delivery: { env: APP }\n",
    error:
      "x.yaml:7:86: Cannot load policy as 'secrets[0].source.version' must be a positive integer: " +
      "current value is 0",
    path: "secrets[0].source.version",
    schema: "rejects",
  },
  {
    title: "a version given as a string",
    yaml: head + vault + "secrets:\n  - name: app\n" +
      '    source: { type: vault, engine: kv-v2, mount: secret, path: app, key: k, version: "3" }\n' +
      "    delivery: { env: APP }\n",
    error:
      "x.yaml:7:86: Cannot load policy as 'secrets[0].source.version' must be a positive integer: " +
      'current value is "3"',
    path: "secrets[0].source.version",
    schema: "rejects",
  },
  {
    title: "Vault paths that climb out of their mount",
    yaml: head + vault + "secrets:\n  - name: app\n" +
      "    source: { type: vault, engine: kv-v2, mount: secret, path: ../sys/raw, key: k }\n" +
      "    delivery: { env: APP }\n",
    error:
      "x.yaml:7:64: Cannot load policy as 'secrets[0].source.path' must be a Vault path such as " +
      "'app/config' (no leading or trailing '/', no empty, '.' or '..' segments): " +
      'current value is "../sys/raw"',
    path: "secrets[0].source.path",
    schema: "rejects",
  },
  {
    title: "a Vault source without a 'vault' section",
    yaml: head + "secrets:\n  - name: app\n" +
      "    source: { type: vault, engine: kv-v2, mount: secret, path: app, key: k }\n" +
      "    delivery: { env: APP }\n",
    error:
      "x.yaml:5:21: Cannot load policy as 'vault' is required because 'secrets[0].source' is a " +
      "Vault source",
    path: "vault",
    schema: "rejects",
  },
  // --- audit and rotation
  {
    title: "an invalid audit format",
    yaml: head + "audit:\n  format: yaml\n",
    error: `x.yaml:4:11: Cannot load policy as 'audit.format' must be one of "json", "table": ` +
      'current value is "yaml"',
    path: "audit.format",
    schema: "rejects",
  },
  {
    title: "a relative audit output",
    yaml: head + "audit:\n  output: audit.log\n",
    error:
      'x.yaml:4:11: Cannot load policy as \'audit.output\' must be "stderr", "stdout" or an absolute file ' +
      'path: current value is "audit.log"',
    path: "audit.output",
    schema: "rejects",
  },
  {
    title: "durations without a unit",
    yaml: head + "rotation:\n  grace_period: 10\n",
    error:
      "x.yaml:4:17: Cannot load policy as 'rotation.grace_period' must be a duration such as " +
      "500ms, 10s, 5m, 1h or 1m30s: current value is 10",
    path: "rotation.grace_period",
    schema: "rejects",
  },
  {
    title: "durations in an unknown notation",
    yaml: head + "rotation:\n  poll_interval: 1.5m\n",
    error:
      "x.yaml:4:18: Cannot load policy as 'rotation.poll_interval' must be a duration such as " +
      '500ms, 10s, 5m, 1h or 1m30s: current value is "1.5m"',
    path: "rotation.poll_interval",
    schema: "rejects",
  },
  {
    title: "a poll interval under one second",
    yaml: head + "rotation:\n  poll_interval: 500ms\n",
    error: "x.yaml:4:18: Cannot load policy as 'rotation.poll_interval' must be at least 1s: " +
      'current value is "500ms"',
    path: "rotation.poll_interval",
    schema: "accepts",
  },
  {
    title: "durations over 24 hours",
    yaml: head + "rotation:\n  grace_period: 25h\n",
    error: "x.yaml:4:17: Cannot load policy as 'rotation.grace_period' must be at most 24h: " +
      'current value is "25h"',
    path: "rotation.grace_period",
    schema: "accepts",
  },
  {
    title: "an invalid on_change",
    yaml: head + "rotation:\n  on_change: reload\n",
    error: "x.yaml:4:14: Cannot load policy as 'rotation.on_change' must be one of " +
      `"restart", "signal", "none": current value is "reload"`,
    path: "rotation.on_change",
    schema: "rejects",
  },
  {
    title: "a signal name without SIG",
    yaml: head + "rotation:\n  on_change: signal\n  signal: HUP\n",
    error: "x.yaml:5:11: Cannot load policy as 'rotation.signal' must be one of " +
      `"SIGHUP", "SIGUSR1", "SIGUSR2", "SIGINT", "SIGQUIT", "SIGTERM", "SIGWINCH", "SIGALRM": ` +
      'current value is "HUP"',
    path: "rotation.signal",
    schema: "rejects",
  },
  {
    title: "'signal' without 'on_change: signal'",
    yaml: head + "rotation:\n  signal: SIGUSR1\n",
    error: "x.yaml:4:3: Cannot load policy as 'rotation.signal' is only used with " +
      `'on_change: signal': current on_change is "restart"`,
    path: "rotation.signal",
    schema: "rejects",
  },
  // --- vault
  {
    title: "a Vault address that is not an http(s) URL",
    yaml: head + "vault:\n  address: vault.example:8200\n",
    error:
      "x.yaml:4:12: Cannot load policy as 'vault.address' must be an http:// or https:// URL " +
      'such as https://vault.example:8200, without user info: current value is "vault.example:8200"',
    path: "vault.address",
    schema: "rejects",
  },
  {
    title: "Vault addresses with user info without repeating them",
    yaml: head + "vault:\n  address: https://admin:hunter2@vault.example:8200\n",
    error:
      "x.yaml:4:12: Cannot load policy as 'vault.address' must be an http:// or https:// URL " +
      "such as https://vault.example:8200, without user info: current value is hidden as it may be " +
      "a credential",
    path: "vault.address",
    schema: "rejects",
  },
  {
    title: "a credential pasted in place of its file path without repeating it",
    yaml: head + vault + "  auth:\n    method: token\n    token_file_path: hvs.CAESIJ-not-real\n",
    error:
      "x.yaml:7:22: Cannot load policy as 'vault.auth.token_file_path' must be an absolute path: " +
      "current value is hidden as it may be a credential",
    path: "vault.auth.token_file_path",
    schema: "rejects",
  },
  {
    title: "http:// in enforce mode without allow_insecure",
    yaml: head + "vault:\n  address: http://127.0.0.1:8200\n",
    error:
      "x.yaml:4:12: Cannot load policy as 'vault.address' must be an https:// URL in enforce mode " +
      `unless 'vault.allow_insecure' is true: current value is "http://127.0.0.1:8200"`,
    path: "vault.address",
    schema: "rejects",
  },
  {
    title: "tls_skip_verify in enforce mode without allow_insecure",
    yaml: head + vault + "  tls_skip_verify: true\n",
    error:
      "x.yaml:5:20: Cannot load policy as 'vault.tls_skip_verify' must be false in enforce mode " +
      "unless 'vault.allow_insecure' is true: current value is true",
    path: "vault.tls_skip_verify",
    schema: "rejects",
  },
  {
    title: "a client certificate without its key",
    yaml: head + vault + "  client_cert: /etc/x00/client.pem\n",
    error: "x.yaml:4:3: Cannot load policy as 'vault.client_key' is required when " +
      "'vault.client_cert' is set",
    path: "vault.client_key",
    schema: "rejects",
  },
  {
    title: "a negative max_retries",
    yaml: head + vault + "  max_retries: -1\n",
    error:
      "x.yaml:5:16: Cannot load policy as 'vault.max_retries' must be a non-negative integer: " +
      "current value is -1",
    path: "vault.max_retries",
    schema: "rejects",
  },
  {
    title: "a zero timeout",
    yaml: head + vault + "  timeout: 0s\n",
    error: "x.yaml:5:12: Cannot load policy as 'vault.timeout' must be at least 1ms: " +
      'current value is "0s"',
    path: "vault.timeout",
    schema: "accepts",
  },
  {
    title: "an auth section without a method",
    yaml: head + vault + "  auth:\n    role: app\n",
    error: "x.yaml:6:5: Cannot load policy as 'vault.auth.method' is required",
    path: "vault.auth.method",
    schema: "rejects",
  },
  {
    title: "an unknown auth method",
    yaml: head + vault + "  auth:\n    method: userpass\n",
    error: "x.yaml:6:13: Cannot load policy as 'vault.auth.method' must be one of " +
      `"token", "approle", "kubernetes", "jwt", "cert": current value is "userpass"`,
    path: "vault.auth.method",
    schema: "rejects",
  },
  {
    title: "approle without a role ID file",
    yaml: head + vault +
      "  auth:\n    method: approle\n    secret_id_file_path: /etc/x00/secret-id\n",
    error:
      "x.yaml:6:5: Cannot load policy as 'vault.auth.role_id_file_path' is required for auth " +
      'method "approle"',
    path: "vault.auth.role_id_file_path",
    schema: "rejects",
  },
  {
    title: "kubernetes without a role",
    yaml: head + vault + "  auth:\n    method: kubernetes\n",
    error: "x.yaml:6:5: Cannot load policy as 'vault.auth.role' is required for auth method " +
      '"kubernetes"',
    path: "vault.auth.role",
    schema: "rejects",
  },
  {
    title: "jwt without a token file",
    yaml: head + vault + "  auth:\n    method: jwt\n    role: app\n",
    error:
      "x.yaml:6:5: Cannot load policy as 'vault.auth.token_path' is required for auth method " +
      '"jwt"',
    path: "vault.auth.token_path",
    schema: "rejects",
  },
  {
    title: "jwt with Vault Agent's 'path' for the token file",
    yaml: head + vault + "  auth:\n    method: jwt\n    role: app\n    path: /var/run/jwt\n",
    error:
      "x.yaml:8:5: Cannot load policy as 'vault.auth.path' is Vault Agent's name for the JWT " +
      "file: X00 calls it 'token_path', as for kubernetes",
    path: "vault.auth.path",
    schema: "rejects",
  },
  {
    title: "jwt with a relative token file",
    yaml: head + vault + "  auth:\n    method: jwt\n    role: app\n    token_path: jwt\n",
    error: "x.yaml:8:17: Cannot load policy as 'vault.auth.token_path' must be an absolute path: " +
      "current value is hidden as it may be a credential",
    path: "vault.auth.token_path",
    schema: "rejects",
  },
  {
    title: "cert auth without a client certificate",
    yaml: head + vault + "  auth:\n    method: cert\n    name: web\n",
    error: "x.yaml:6:13: Cannot load policy as 'vault.auth.method' is \"cert\", which needs " +
      "'vault.client_cert' and 'vault.client_key': the TLS client certificate is the credential",
    path: "vault.auth.method",
    schema: "rejects",
  },
  {
    title: "a wrapped secret_id creation path with a leading '/'",
    yaml: head + vault +
      "  auth:\n    method: approle\n    role_id_file_path: /etc/x00/role-id\n" +
      "    secret_id_file_path: /etc/x00/secret-id\n" +
      "    secret_id_response_wrapping_path: /auth/approle/role/app/secret-id\n",
    error:
      "x.yaml:9:39: Cannot load policy as 'vault.auth.secret_id_response_wrapping_path' must " +
      "be a Vault path such as 'app/config' (no leading or trailing '/', no empty, '.' or '..' " +
      'segments): current value is "/auth/approle/role/app/secret-id"',
    path: "vault.auth.secret_id_response_wrapping_path",
    schema: "rejects",
  },
  {
    title: "keys of another auth method",
    yaml: head + vault + "  auth:\n    method: token\n    role: app\n",
    error:
      `x.yaml:7:5: Cannot load policy as 'vault.auth.role' is not allowed for auth method "token"`,
    path: "vault.auth.role",
    schema: "rejects",
  },
  {
    title: "an engine: pki source without role",
    yaml: head + vault +
      "secrets:\n  - name: tls\n    source: { type: vault, engine: pki, mount: pki, common_name: a.example.com }\n" +
      "    keys: { certificate: { file: CERT_FILE } }\n",
    error:
      "x.yaml:7:13: Cannot load policy as 'secrets[0].source.role' is required for engine \"pki\"",
    path: "secrets[0].source.role",
    schema: "rejects",
  },
  {
    title: "an engine: pki source without common_name",
    yaml: head + vault +
      "secrets:\n  - name: tls\n    source: { type: vault, engine: pki, mount: pki, role: web }\n" +
      "    keys: { certificate: { file: CERT_FILE } }\n",
    error:
      "x.yaml:7:13: Cannot load policy as 'secrets[0].source.common_name' is required for engine \"pki\"",
    path: "secrets[0].source.common_name",
    schema: "rejects",
  },
  {
    title: "an engine: pki source with a path",
    yaml: head + vault +
      "secrets:\n  - name: tls\n    source: { type: vault, engine: pki, mount: pki, role: web, common_name: a, path: pki/issue/web }\n" +
      "    keys: { certificate: { file: CERT_FILE } }\n",
    error:
      "x.yaml:7:80: Cannot load policy as 'secrets[0].source.path' is not allowed for engine \"pki\"",
    path: "secrets[0].source.path",
    schema: "rejects",
  },
  {
    title: "a pki ttl that is not whole seconds",
    yaml: head + vault +
      "secrets:\n  - name: tls\n    source: { type: vault, engine: pki, mount: pki, role: web, common_name: a, ttl: 1500ms }\n" +
      "    keys: { certificate: { file: CERT_FILE } }\n",
    error:
      "x.yaml:7:85: Cannot load policy as 'secrets[0].source.ttl' must be a duration of whole seconds such as 90s, 72h or 720h (at least 1s, at most 87600h): current value is \"1500ms\"",
    path: "secrets[0].source.ttl",
    schema: "accepts",
  },
  {
    title: "a pki ttl that is not a duration",
    yaml: head + vault +
      "secrets:\n  - name: tls\n    source: { type: vault, engine: pki, mount: pki, role: web, common_name: a, ttl: 3 }\n" +
      "    keys: { certificate: { file: CERT_FILE } }\n",
    error:
      "x.yaml:7:85: Cannot load policy as 'secrets[0].source.ttl' must be a duration of whole seconds such as 90s, 72h or 720h (at least 1s, at most 87600h): current value is 3",
    path: "secrets[0].source.ttl",
    schema: "rejects",
  },
  {
    title: "a renew_fraction of 1",
    yaml: head + vault +
      "secrets:\n  - name: tls\n    source: { type: vault, engine: pki, mount: pki, role: web, common_name: a, renew_fraction: 1 }\n" +
      "    keys: { certificate: { file: CERT_FILE } }\n",
    error:
      "x.yaml:7:96: Cannot load policy as 'secrets[0].source.renew_fraction' must be a number between 0 and 1, both excluded, such as 0.5 or 0.75: current value is 1",
    path: "secrets[0].source.renew_fraction",
    schema: "rejects",
  },
  {
    title: "a renew_fraction that is a string",
    yaml: head + vault +
      "secrets:\n  - name: tls\n    source: { type: vault, engine: pki, mount: pki, role: web, common_name: a, renew_fraction: '2/3' }\n" +
      "    keys: { certificate: { file: CERT_FILE } }\n",
    error:
      "x.yaml:7:96: Cannot load policy as 'secrets[0].source.renew_fraction' must be a number between 0 and 1, both excluded, such as 0.5 or 0.75: current value is \"2/3\"",
    path: "secrets[0].source.renew_fraction",
    schema: "rejects",
  },
  {
    title: "an alt_names entry with a comma",
    yaml: head + vault +
      "secrets:\n  - name: tls\n    source: { type: vault, engine: pki, mount: pki, role: web, common_name: a, alt_names: ['b,c'] }\n" +
      "    keys: { certificate: { file: CERT_FILE } }\n",
    error:
      "x.yaml:7:92: Cannot load policy as 'secrets[0].source.alt_names[0]' must be a non-empty string without ',' or spaces: current value is \"b,c\"",
    path: "secrets[0].source.alt_names[0]",
    schema: "rejects",
  },
  {
    title: "a key that Vault's pki/issue answer does not have",
    yaml: head + vault +
      "secrets:\n  - name: tls\n    source: { type: vault, engine: pki, mount: pki, role: web, common_name: a }\n" +
      "    keys: { certificate: { file: CERT_FILE }, privatekey: { file: KEY_FILE } }\n",
    error:
      "x.yaml:8:47: Cannot load policy as 'secrets[0].keys.privatekey' is not a key of Vault's pki/issue answer: did you mean 'private_key'?",
    path: "secrets[0].keys.privatekey",
    schema: "rejects",
  },
  {
    title: "a pki source key that Vault's pki/issue answer does not have",
    yaml: head + vault +
      "secrets:\n  - name: tls\n    source: { type: vault, engine: pki, mount: pki, role: web, common_name: a, key: cert }\n" +
      "    delivery: { file: CERT_FILE }\n",
    error:
      "x.yaml:7:85: Cannot load policy as 'secrets[0].source.key' must be one of the keys of Vault's pki/issue answer (certificate, private_key, issuing_ca, ca_chain, serial_number, private_key_type, expiration): current value is \"cert\"",
    path: "secrets[0].source.key",
    schema: "rejects",
  },
  {
    title: "a pki key on a kv-v2 source",
    yaml: head + vault +
      "secrets:\n  - name: app\n    source: { type: vault, engine: kv-v2, mount: secret, path: app, key: a, common_name: a }\n" +
      "    delivery: { env: A }\n",
    error:
      "x.yaml:7:77: Cannot load policy as 'secrets[0].source.common_name' is not allowed for engine \"kv-v2\"",
    path: "secrets[0].source.common_name",
    schema: "rejects",
  },
];

/** Policies both the loader and the schema accept. */
export const VALID_CASES: ValidCase[] = [
  {
    title: "templates over Vault keys and a file, and a secret only templates read",
    yaml: head + vault +
      "secrets:\n  - name: db\n    source: { type: vault, engine: kv-v2, mount: secret, path: db }\n" +
      "  - name: ca\n    source: { type: file, path: /run/ca.pem }\n    delivery: { file: CA_FILE }\n" +
      "templates:\n  - name: dsn\n" +
      "    template: 'postgres://{{ db:username }}:{{ db:password | url }}@db/app'\n" +
      "    delivery: { env: DATABASE_URL }\n  - name: creds.json\n    template: |\n" +
      '      {"user": {{ db:username | json }}, "ca": {{ ca | trim | json }}, "x": {{ "{{" }}}\n' +
      "    delivery: { file: CREDS_FILE }\n",
  },
  {
    title: "all_keys with env and file prefixes",
    yaml: head + vault +
      "secrets:\n  - name: db\n    source: { type: vault, engine: kv-v2, mount: secret, path: db }\n" +
      "    all_keys: { env: DB_ }\n" +
      "  - name: tls\n    source: { type: vault, engine: kv-v1, mount: kv, path: tls }\n" +
      "    all_keys: { file: TLS_ }\n",
  },
  {
    title: "agent clients by uid, gid and cgroup",
    yaml: head +
      "secrets:\n  - name: a\n    source: { type: env, var: A }\n    delivery: { env: A }\n" +
      "clients:\n  - { name: web, uids: [1000], secrets: [a] }\n  - { name: job, gids: [7], cgroups: [/kubepods.slice] }\n",
  },
  {
    title: "foreign BPF refusal with an allow-list",
    yaml: "policy:\n  mode: enforce\n  foreign_bpf: refuse_tracing\n" +
      "  foreign_bpf_allow: { uids: [0], cgroups: [/system.slice/falco.service] }\n",
  },
  {
    title: "a workload user, groups and capabilities by name and number",
    yaml: head +
      "workload: { user: nobody, group: 65534, groups: [audio, 44], capabilities: [NET_BIND_SERVICE, CAP_KILL] }\n",
  },
  { title: "a policy with no secrets", yaml: "policy:\n  mode: audit\n" },
  { title: "an empty secrets list", yaml: "policy: { mode: audit }\nsecrets: []\n" },
  {
    title: "http:// Vault addresses in audit mode",
    yaml: "policy: { mode: audit }\nvault: { address: http://127.0.0.1:8200 }\n",
  },
  {
    title: "http:// Vault addresses with allow_insecure",
    yaml: head + "vault: { address: http://127.0.0.1:8200, allow_insecure: true }\n",
  },
  {
    title: "on_change: signal with a signal",
    yaml: head + "rotation: { on_change: signal, signal: SIGUSR1, poll_interval: 1h30m }\n",
  },
  {
    title: "anchors and aliases",
    yaml: head + vault + "secrets:\n" +
      "  - name: a\n    source: &app { type: vault, engine: kv-v2, mount: secret, path: app, key: a }\n" +
      "    delivery: { env: A }\n" +
      "  - name: b\n    source: *app\n    delivery: { file: A_FILE }\n",
  },
  {
    title: "kubernetes auth with defaults",
    yaml: head + vault + "  auth: { method: kubernetes, role: app }\n",
  },
  {
    title: "jwt auth with a token file",
    yaml: head + vault + "  auth: { method: jwt, role: app, token_path: /var/run/secrets/jwt }\n",
  },
  {
    title: "cert auth with the mTLS client certificate and a role name",
    yaml: head + vault + "  client_cert: /etc/x00/client.pem\n  client_key: /etc/x00/client.key\n" +
      "  auth: { method: cert, name: web, mount_path: auth/tls }\n",
  },
  {
    title: "approle with a response-wrapped secret_id",
    yaml: head + vault +
      "  auth:\n    method: approle\n    role_id_file_path: /etc/x00/role-id\n" +
      "    secret_id_file_path: /etc/x00/secret-id\n" +
      "    secret_id_response_wrapping_path: auth/approle/role/app/secret-id\n",
  },
  {
    title: "quoted Vault key names",
    yaml: head + vault +
      "secrets:\n  - name: db\n    source: { type: vault, engine: dynamic, path: db/creds/ro }\n" +
      '    keys: { "user.name": { env: DB_USER }, "1": { file: DB_ONE_FILE } }\n',
  },
  {
    title: "an engine: pki source with every key",
    yaml: head + vault +
      "secrets:\n  - name: tls\n    source:\n      type: vault\n      engine: pki\n      mount: pki_int\n" +
      "      role: web\n      common_name: app.example.com\n      alt_names: [www.example.com, ops@example.com]\n" +
      "      ip_sans: [10.0.0.5, '::1']\n      uri_sans: ['spiffe://example.com/app']\n      ttl: 720h\n" +
      "      exclude_cn_from_sans: true\n      renew_fraction: 0.5\n" +
      "    keys:\n      certificate: { file: TLS_CERT_FILE }\n      private_key: { file: TLS_KEY_FILE }\n" +
      "      ca_chain: { file: TLS_CA_FILE }\n      serial_number: { env: TLS_SERIAL }\n",
  },
  {
    title: "an engine: pki source with delivery and key",
    yaml: head + vault +
      "secrets:\n  - name: tls\n    source: { type: vault, engine: pki, mount: pki, role: web, common_name: a, key: certificate }\n" +
      "    delivery: { file: CERT_FILE }\n",
  },
];
