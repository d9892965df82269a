import assert from "node:assert/strict";
import { ExitCode, X00Error } from "../errors.ts";
import {
  loadPolicy,
  MAX_POLICY_BYTES,
  parsePolicy,
  type Policy,
  PolicyError,
  PolicyFileError,
} from "./mod.ts";
import { INVALID_CASES, VALID_CASES } from "./testdata/policy_cases.ts";

const EXAMPLES = new URL("../../examples/", import.meta.url);

function rejects(text: string): PolicyError {
  try {
    parsePolicy(text, "x.yaml");
  } catch (error) {
    assert.ok(error instanceof PolicyError, `expected a PolicyError, got ${error}`);
    return error;
  }
  assert.fail("expected parsePolicy() to throw");
}

for (const c of INVALID_CASES) {
  Deno.test(`parsePolicy() rejects ${c.title}`, () => {
    const error = rejects(c.yaml);
    assert.equal(error.message, c.error);
    assert.equal(error.path, c.path);
    const [, line, column] = /^x\.yaml:(\d+):(\d+): /.exec(c.error)!;
    assert.equal(error.line, Number(line));
    assert.equal(error.column, Number(column));
  });
}

for (const c of VALID_CASES) {
  Deno.test(`parsePolicy() accepts ${c.title}`, () => {
    parsePolicy(c.yaml, "x.yaml");
  });
}

Deno.test("PolicyError is a usage error named PolicyError", () => {
  const error = rejects("policy: { mode: on }\n");
  assert.ok(error instanceof X00Error);
  assert.equal(error.name, "PolicyError");
  assert.equal(error.exitCode, ExitCode.USAGE);
  assert.equal(error.file, "x.yaml");
});

Deno.test("parsePolicy() reports every problem, one line each, in document order", () => {
  const error = rejects(
    `rotation: { on_change: sometimes }
policy:
  mode: enforced
  block_ptrac: true
secrets:
  - name: a
    source: { type: env, var: A }
    delivery: { env: 1BAD }
`,
  );
  assert.deepEqual(error.issues.map((i) => `${i.line}:${i.column} ${i.path}`), [
    "1:24 rotation.on_change",
    "3:9 policy.mode",
    "4:3 policy.block_ptrac",
    "8:22 secrets[0].delivery.env",
  ]);
  assert.equal(
    error.message,
    error.issues.length > 0 ? `x.yaml:1:24: ${error.issues[0]!.message}` : "",
  );
  for (const issue of error.issues) assert.ok(!issue.message.includes("\n"));
});

Deno.test("parsePolicy() never repeats the value of an unknown key", () => {
  const error = rejects(
    "policy: { mode: enforce }\nvault:\n  token: hvs.NOT-A-REAL-TOKEN\n  auth: { method: token, secret_id: s3cr3t }\n",
  );
  assert.equal(error.issues.length, 2);
  for (const issue of error.issues) {
    assert.ok(!issue.message.includes("NOT-A-REAL-TOKEN"), issue.message);
    assert.ok(!issue.message.includes("s3cr3t"), issue.message);
  }
});

Deno.test("parsePolicy() fills in the defaults", () => {
  const policy = parsePolicy(
    `policy:
  mode: audit
vault:
  address: https://vault.example:8200
`,
    "min.yaml",
  );
  assert.deepEqual(
    policy,
    {
      file: "min.yaml",
      policy: {
        mode: "audit",
        block_environ_read: true,
        block_mem_read: true,
        block_ptrace: true,
        foreign_bpf: "log",
        foreign_bpf_allow: { uids: [], cgroups: [] },
      },
      secrets: [],
      audit: { output: "stderr", format: "json" },
      rotation: {
        on_change: "restart",
        signal: "SIGHUP",
        stop_signal: "SIGTERM",
        grace_period_ms: 10_000,
        poll_interval_ms: 300_000,
      },
      vault: {
        address: "https://vault.example:8200",
        tls_skip_verify: false,
        allow_insecure: false,
        max_retries: 12,
        timeout_ms: 60_000,
        auth: { method: "token" },
      },
      workload: {},
      templates: [],
    } satisfies Policy,
  );
});

Deno.test("parsePolicy() keeps protection flags that are turned off", () => {
  const policy = parsePolicy(
    "policy:\n  mode: audit\n  block_environ_read: false\n  block_mem_read: false\n  block_ptrace: false\n",
    "x.yaml",
  );
  assert.deepEqual(policy.policy, {
    mode: "audit",
    block_environ_read: false,
    block_mem_read: false,
    block_ptrace: false,
    foreign_bpf: "log",
    foreign_bpf_allow: { uids: [], cgroups: [] },
  });
});

Deno.test("parsePolicy() reads the foreign BPF settings and the workload's identity", () => {
  const policy = parsePolicy(
    "policy:\n  mode: enforce\n  foreign_bpf: refuse_all\n" +
      "  foreign_bpf_allow: { uids: [0, 1000], cgroups: [/system.slice/falco.service] }\n" +
      "workload:\n  user: app\n  group: 1000\n  groups: [audio, 44]\n" +
      "  capabilities: [NET_BIND_SERVICE, CAP_NET_BIND_SERVICE, CAP_KILL]\n",
    "x.yaml",
  );
  assert.equal(policy.policy.foreign_bpf, "refuse_all");
  assert.deepEqual(policy.policy.foreign_bpf_allow, {
    uids: [0, 1000],
    cgroups: ["/system.slice/falco.service"],
  });
  assert.deepEqual(policy.workload, {
    user: "app",
    group: 1000,
    groups: ["audio", 44],
    capabilities: ["CAP_NET_BIND_SERVICE", "CAP_KILL"],
  });
});

Deno.test("parsePolicy() types every source and delivery", () => {
  const policy = parsePolicy(
    `policy: { mode: enforce }
secrets:
  - name: f
    source: { type: file, path: /run/f }
    delivery: { env: F }
  - name: e
    source: { type: env, var: E_IN }
    delivery: { file: E_FILE }
  - name: d
    source: { type: vault, engine: dynamic, path: database/creds/readonly }
    keys:
      username: { env: DB_USER }
      "pass word": { file: DB_PASSWORD_FILE }
  - name: k
    source: { type: vault, engine: kv-v2, mount: secret, path: app/config, key: api_key, version: 3 }
    delivery: { env: API_KEY }
  - name: k1
    source: { type: vault, engine: kv-v1, mount: kv, path: legacy, key: token }
    delivery: { file: LEGACY_FILE }
vault:
  address: https://vault.example:8200
  timeout: 1m30s
  max_retries: 0
  auth:
    method: kubernetes
    role: app
`,
    "x.yaml",
  );
  assert.deepEqual(policy.secrets, [
    {
      name: "f",
      source: { type: "file", path: "/run/f" },
      deliveries: new Map([["", { kind: "env", var: "F" }]]),
    },
    {
      name: "e",
      source: { type: "env", var: "E_IN" },
      deliveries: new Map([["", { kind: "file", var: "E_FILE" }]]),
    },
    {
      name: "d",
      source: { type: "vault", engine: "dynamic", path: "database/creds/readonly" },
      deliveries: new Map([
        ["username", { kind: "env", var: "DB_USER" }],
        ["pass word", { kind: "file", var: "DB_PASSWORD_FILE" }],
      ]),
    },
    {
      name: "k",
      source: {
        type: "vault",
        engine: "kv-v2",
        mount: "secret",
        path: "app/config",
        key: "api_key",
        version: 3,
      },
      deliveries: new Map([["api_key", { kind: "env", var: "API_KEY" }]]),
    },
    {
      name: "k1",
      source: { type: "vault", engine: "kv-v1", mount: "kv", path: "legacy", key: "token" },
      deliveries: new Map([["token", { kind: "file", var: "LEGACY_FILE" }]]),
    },
  ]);
  assert.deepEqual(policy.vault?.auth, {
    method: "kubernetes",
    mount_path: "auth/kubernetes",
    role: "app",
    token_path: "/var/run/secrets/kubernetes.io/serviceaccount/token",
  });
  assert.equal(policy.vault?.timeout_ms, 90_000);
  assert.equal(policy.vault?.max_retries, 0);
});

Deno.test("parsePolicy() names odd Vault keys with brackets in paths", () => {
  const error = rejects(
    `policy: { mode: enforce }
vault: { address: https://vault.example:8200 }
secrets:
  - name: d
    source: { type: vault, engine: dynamic, path: db/creds/ro }
    keys: { "user.name": { env: 1X } }
`,
  );
  assert.equal(error.path, 'secrets[0].keys["user.name"].env');
});

Deno.test("loadPolicy() loads every example policy", async () => {
  const full = await loadPolicy(new URL("policy.yaml", EXAMPLES).pathname);
  assert.equal(full.policy.mode, "enforce");
  assert.deepEqual(full.secrets.map((s) => s.name), [
    "db-password",
    "api-token",
    "db-creds",
    "app",
  ]);
  assert.deepEqual(full.vault?.auth, {
    method: "approle",
    mount_path: "auth/approle",
    role_id_file_path: "/etc/x00/role-id",
    secret_id_file_path: "/etc/x00/secret-id",
    remove_secret_id_file_after_reading: true,
  });
  const approle = await loadPolicy(new URL("vault-approle.yaml", EXAMPLES).pathname);
  assert.equal(approle.secrets.length, 2);
  assert.equal(approle.rotation.poll_interval_ms, 60_000);
  const minimal = await loadPolicy(new URL("minimal.yaml", EXAMPLES).pathname);
  assert.deepEqual(minimal.secrets, [{
    name: "db-password",
    source: { type: "file", path: "/var/run/secrets/db/password" },
    deliveries: new Map([["", { kind: "env", var: "DB_PASSWORD" }]]),
  }]);
});

Deno.test("loadPolicy() names the file and the OS reason when it is missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/missing.yaml`;
    const error = await loadPolicy(file).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof PolicyFileError);
    assert.equal(error.name, "PolicyFileError");
    assert.equal(error.exitCode, ExitCode.USAGE);
    assert.equal(error.file, file);
    assert.equal(
      error.message,
      `${file}: Cannot load policy as the file cannot be read: No such file or directory (os error 2)`,
    );
    assert.ok(error.cause instanceof Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadPolicy() refuses directories, non-UTF-8 and oversized files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(loadPolicy(dir), (e: unknown) => {
      assert.ok(e instanceof PolicyFileError);
      assert.equal(
        e.message,
        `${dir}: Cannot load policy as the file cannot be read: Is a directory (os error 21)`,
      );
      return true;
    });
    await Deno.writeFile(
      `${dir}/latin1.yaml`,
      new Uint8Array([0x6d, 0x6f, 0x64, 0x65, 0xe9, 0x0a]),
    );
    await assert.rejects(loadPolicy(`${dir}/latin1.yaml`), (e: unknown) => {
      assert.ok(e instanceof PolicyFileError);
      assert.equal(e.reason, "not valid UTF-8");
      return true;
    });
    await Deno.writeTextFile(`${dir}/big.yaml`, "#".repeat(MAX_POLICY_BYTES + 1));
    await assert.rejects(loadPolicy(`${dir}/big.yaml`), (e: unknown) => {
      assert.ok(e instanceof PolicyFileError);
      assert.equal(e.reason, `larger than ${MAX_POLICY_BYTES} bytes`);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadPolicy() reports positions in the file it read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/p.yaml`;
    await Deno.writeTextFile(file, "# comment\npolicy:\n  mode: enforce\n  block_ptrace: 1\n");
    await assert.rejects(loadPolicy(file), (e: unknown) => {
      assert.ok(e instanceof PolicyError);
      assert.equal(
        e.message,
        `${file}:4:17: Cannot load policy as 'policy.block_ptrace' must be a boolean (true or false): ` +
          "current value is 1",
      );
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
