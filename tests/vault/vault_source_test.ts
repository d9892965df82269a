import assert from "node:assert/strict";
import { ExitCode, X00Error } from "../../src/errors.ts";
import type {
  Delivery,
  Policy,
  SecretSpec,
  VaultConfig,
  VaultSource,
} from "../../src/policy/types.ts";
import { createSources, fetchAll } from "../../src/secrets/mod.ts";
import {
  createVaultClient,
  createVaultSources,
  resolveVaultSettings,
  type RotationEvent,
  VaultSecretSource,
  VaultSourceError,
} from "../../src/secrets/vault/mod.ts";
import { tokenAuth } from "../../src/vault/mod.ts";
import { certs, LogSink, mtlsClient, rejection, startServer, waitFor } from "./_helpers.ts";
import type { VaultTestServer } from "./server.ts";

const POLICIES = ["secret/*", "kv/*", "database/creds/*", "sys/leases/renew"];
const FAST_RETRY = { minDelayMs: 10, maxDelayMs: 50, maxElapsedMs: 5000 };

function spec(
  name: string,
  source: Omit<VaultSource, "type">,
  keys: Record<string, string>,
): SecretSpec {
  const deliveries = new Map<string, Delivery>(
    Object.entries(keys).map(([k, v]) => [k, { kind: "env", var: v }]),
  );
  return { name, source: { type: "vault", ...source }, deliveries };
}

async function vaultConfig(
  server: VaultTestServer,
  extra: Partial<VaultConfig> = {},
): Promise<VaultConfig> {
  const c = await certs();
  return {
    address: server.address,
    ca_cert: c.caCert,
    client_cert: c.clientCert,
    client_key: c.clientKey,
    tls_skip_verify: false,
    allow_insecure: false,
    max_retries: 2,
    timeout_ms: 2000,
    auth: { method: "token" },
    ...extra,
  };
}

function policyOf(secrets: SecretSpec[], vault: VaultConfig, pollMs = 100): Policy {
  return {
    file: "test.yaml",
    policy: {
      mode: "enforce",
      block_environ_read: true,
      block_mem_read: true,
      block_ptrace: true,
      foreign_bpf: "log",
      foreign_bpf_allow: { uids: [], cgroups: [] },
    },
    secrets,
    audit: { output: "stderr", format: "json" },
    rotation: {
      on_change: "restart",
      signal: "SIGHUP",
      stop_signal: "SIGTERM",
      grace_period_ms: 1000,
      poll_interval_ms: pollMs,
    },
    vault,
    workload: {},
    templates: [],
  };
}

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

Deno.test("resolveVaultSettings() lets VAULT_* variables override the policy, and the policy the defaults", () => {
  const s = resolveVaultSettings(
    {
      address: "https://policy:8200",
      namespace: "ns-policy",
      tls_skip_verify: false,
      allow_insecure: false,
      max_retries: 4,
      timeout_ms: 5000,
      auth: { method: "token" },
    },
    {
      VAULT_ADDR: "https://env:8200",
      VAULT_MAX_RETRIES: "7",
      VAULT_CLIENT_TIMEOUT: "1m",
      VAULT_CAPATH: "/etc/ca",
    },
  );
  assert.equal(s.address, "https://env:8200");
  assert.equal(s.maxRetries, 7);
  assert.equal(s.timeoutMs, 60000);
  assert.equal(s.namespace, "ns-policy");
  assert.equal(s.caPath, "/etc/ca");
  assert.deepEqual(
    [s.origin.address, s.origin.namespace, s.origin.maxRetries],
    ["env", "policy", "env"],
  );
  const d = resolveVaultSettings(undefined, {});
  assert.equal(d.address, "https://127.0.0.1:8200");
  assert.equal(d.maxRetries, 12);
  assert.equal(d.timeoutMs, 60000);
  assert.throws(
    () => resolveVaultSettings(undefined, { VAULT_MAX_RETRIES: "many" }),
    (e: unknown) =>
      e instanceof X00Error && e.exitCode === ExitCode.USAGE && /VAULT_MAX_RETRIES/.test(e.message),
  );
});

Deno.test("createVaultClient() refuses http:// and tls_skip_verify in enforce mode unless allow_insecure", async () => {
  const base: VaultConfig = {
    address: "http://127.0.0.1:8200",
    tls_skip_verify: false,
    allow_insecure: false,
    max_retries: 0,
    timeout_ms: 1000,
    auth: { method: "token" },
  };
  let err = await rejection(createVaultClient(base, { mode: "enforce", env: {} }));
  assert.ok(err instanceof X00Error);
  assert.equal(err.exitCode, ExitCode.USAGE);
  assert.match(
    err.message,
    /enforce mode as the address http:\/\/127\.0\.0\.1:8200 \(vault\.address\) is plain http/,
  );
  err = await rejection(
    createVaultClient({ ...base, address: "https://127.0.0.1:8200" }, {
      mode: "enforce",
      env: { VAULT_SKIP_VERIFY: "true" },
    }),
  );
  assert.match(err.message, /certificate verification is off \(VAULT_SKIP_VERIFY\)/);
  err = await rejection(
    createVaultClient(undefined, { mode: "enforce", env: { VAULT_ADDR: "http://vault:8200" } }),
  );
  assert.match(err.message, /\(VAULT_ADDR\) is plain http/);

  for (const [mode, allow] of [["enforce", true], ["audit", false]] as const) {
    const logs = new LogSink();
    const client = await createVaultClient({ ...base, allow_insecure: allow }, {
      mode,
      env: {},
      logger: logs.logger,
    });
    await client.close();
    assert.match(logs.text, /^warn: INSECURE VAULT CONNECTION: the address .* is plain http/m);
  }
});

Deno.test("createVaultClient() takes the address, TLS files, namespace and token from VAULT_* variables", async () => {
  const server = await startServer();
  const c = await certs();
  server.putKvV2("secret", "app", { v: "from-ns" }, "team-b");
  const client = await createVaultClient(undefined, {
    mode: "enforce",
    env: {
      VAULT_ADDR: server.address,
      VAULT_CACERT: c.caCert,
      VAULT_CLIENT_CERT: c.clientCert,
      VAULT_CLIENT_KEY: c.clientKey,
      VAULT_NAMESPACE: "team-b",
      VAULT_TOKEN: server.rootToken,
      VAULT_MAX_RETRIES: "0",
    },
  });
  try {
    const source = new VaultSecretSource(
      client,
      spec("app", { engine: "kv-v2", mount: "secret", path: "app" }, {
        v: "APP_V",
      }),
    );
    const s = await source.fetch();
    assert.equal(text(s.values.get("v")), "from-ns");
    assert.equal(s.version, "1");
    const req = server.requestsTo("secret/data/app")[0]!;
    assert.equal(req.headers["x-vault-namespace"], "team-b");
    assert.equal(req.clientCn, "x00-client");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("createVaultClient() maps an unreadable CA file to a usage error and an expired client cert to exit 5", async () => {
  const c = await certs();
  let err = await rejection(
    createVaultClient({
      address: "https://127.0.0.1:8200",
      ca_cert: "/nonexistent/ca.pem",
      tls_skip_verify: false,
      allow_insecure: false,
      max_retries: 0,
      timeout_ms: 1000,
      auth: { method: "token" },
    }, { mode: "enforce" }),
  );
  assert.ok(err instanceof X00Error && err.exitCode === ExitCode.USAGE);
  err = await rejection(
    createVaultClient(undefined, {
      mode: "enforce",
      env: { VAULT_CLIENT_CERT: c.expiredClientCert, VAULT_CLIENT_KEY: c.expiredClientKey },
    }),
  );
  assert.ok(err instanceof X00Error && err.exitCode === ExitCode.SECRET_UNAVAILABLE);
  assert.match(err.message, /expired on 2020-01-02/);
});

Deno.test("createVaultSources() fetches KV v2 keys, KV v1 and dynamic entries concurrently with AppRole", async () => {
  const server = await startServer();
  server.addAppRole({ roleId: "role-42", secretId: "secret-id-42-abcdef", policies: POLICIES });
  server.addDatabaseRole("readonly", { ttlS: 3600, maxTtlS: 7200 });
  server.putKvV2("secret", "app/config", { user: "app", password: "s3cr3t-pw", port: 5432 });
  server.putKvV1("kv", "legacy", { api_key: "legacy-key-1" });
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/role_id`, "role-42");
  await Deno.writeTextFile(`${dir}/secret_id`, "secret-id-42-abcdef");
  const policy = policyOf(
    [
      spec("config", { engine: "kv-v2", mount: "secret", path: "app/config" }, {
        user: "DB_USER",
        password: "DB_PASSWORD",
        port: "DB_PORT",
      }),
      spec("legacy", { engine: "kv-v1", mount: "kv", path: "legacy", key: "api_key" }, {
        api_key: "API_KEY",
      }),
      spec("db", { engine: "dynamic", path: "database/creds/readonly" }, {
        username: "U",
        password: "P",
      }),
    ],
    await vaultConfig(server, {
      auth: {
        method: "approle",
        mount_path: "auth/approle",
        role_id_file_path: `${dir}/role_id`,
        secret_id_file_path: `${dir}/secret_id`,
        remove_secret_id_file_after_reading: true,
      },
    }),
  );
  const vault = (await createVaultSources(policy, { env: {}, retry: FAST_RETRY }))!;
  try {
    server.faults.delay = { count: -1, ms: 300, path: "secret/" };
    const sources = createSources(policy.secrets, vault.factory);
    const t0 = Date.now();
    const fetched = await fetchAll(sources);
    const elapsed = Date.now() - t0;
    const config = fetched.get("config")!;
    assert.equal(text(config.values.get("password")), "s3cr3t-pw");
    assert.equal(text(config.values.get("port")), "5432");
    assert.equal(config.version, "1");
    assert.equal(text(fetched.get("legacy")!.values.get("api_key")), "legacy-key-1");
    const db = fetched.get("db")!;
    assert.match(text(db.values.get("username")), /^v-token-readonly-1$/);
    assert.match(db.version!, /^database\/creds\/readonly\//);
    assert.equal(
      server.requestsTo("auth/approle/login").length,
      1,
      "one login shared by concurrent reads",
    );
    await assert.rejects(Deno.stat(`${dir}/secret_id`), Deno.errors.NotFound);
    // kv reads wait 300 ms each: concurrent reads take one delay, not three.
    assert.ok(elapsed < 600, `fetchAll took ${elapsed} ms`);
  } finally {
    await vault.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fetchAll() stops start-up with exit code 5 naming the entry, the path and the reason", async () => {
  const server = await startServer();
  server.putKvV2("secret", "ok", { a: "1" });
  server.putKvV2("secret", "nokey", { other: "x" });
  const token = server.createToken({ policies: ["secret/data/ok", "secret/data/nokey"] });
  const policy = policyOf(
    [
      spec("ok", { engine: "kv-v2", mount: "secret", path: "ok" }, { a: "A" }),
      spec("denied", { engine: "kv-v2", mount: "secret", path: "denied" }, { a: "B" }),
    ],
    await vaultConfig(server),
  );
  const vault =
    (await createVaultSources(policy, { env: { VAULT_TOKEN: token }, retry: FAST_RETRY }))!;
  try {
    const err = await rejection(fetchAll(createSources(policy.secrets, vault.factory)));
    assert.ok(err instanceof VaultSourceError);
    assert.equal(err.exitCode, ExitCode.SECRET_UNAVAILABLE);
    assert.equal(
      err.message,
      "Cannot fetch secret 'denied' from Vault path 'secret/data/denied': permission denied (HTTP 403)",
    );
    const missing = new VaultSecretSource(
      vault.client,
      spec("nokey", { engine: "kv-v2", mount: "secret", path: "nokey" }, { password: "P" }),
    );
    const err2 = await rejection(missing.fetch());
    assert.equal(
      err2.message,
      "Cannot fetch secret 'nokey' from Vault path 'secret/data/nokey': no key 'password' (keys present: other)",
    );
  } finally {
    await vault.close();
    await server.close();
  }
});

Deno.test("fetchAll() reports an unreachable Vault with exit code 5", async () => {
  const server = await startServer();
  const address = server.address;
  await server.close();
  const policy = policyOf(
    [spec("a", { engine: "kv-v2", mount: "secret", path: "a" }, { k: "K" })],
    { ...(await vaultConfig(server)), address, max_retries: 1 },
  );
  const vault = (await createVaultSources(policy, {
    env: { VAULT_TOKEN: "hvs.unused-token-value" },
    retry: FAST_RETRY,
  }))!;
  try {
    const err = await rejection(fetchAll(createSources(policy.secrets, vault.factory)));
    assert.ok(err instanceof X00Error && err.exitCode === ExitCode.SECRET_UNAVAILABLE);
    assert.match(
      err.message,
      // Reported against the secret being read, not the token lookup that met the failure first.
      /^Cannot fetch secret 'a' from Vault path 'secret\/data\/a': Cannot reach Vault at .*connection refused/,
    );
  } finally {
    await vault.close();
  }
});

Deno.test("VaultRotationWatcher emits a change for a new KV version with new values, and nothing for the same values", async () => {
  const server = await startServer();
  server.putKvV2("secret", "app", { password: "one", unrelated: "x" });
  server.putKvV1("kv", "app", { token: "t1" });
  server.putKvV2("secret", "pinned", { v: "p1" });
  const policy = policyOf(
    [
      spec("app", { engine: "kv-v2", mount: "secret", path: "app", key: "password" }, {
        password: "PW",
      }),
      spec("v1", { engine: "kv-v1", mount: "kv", path: "app", key: "token" }, { token: "TOK" }),
      spec("pinned", { engine: "kv-v2", mount: "secret", path: "pinned", version: 1, key: "v" }, {
        v: "V",
      }),
    ],
    await vaultConfig(server),
    60_000,
  );
  const vault = (await createVaultSources(policy, {
    env: { VAULT_TOKEN: server.rootToken },
    retry: FAST_RETRY,
  }))!;
  const events: RotationEvent[] = [];
  vault.watcher.subscribe((e) => events.push(e));
  try {
    await fetchAll(createSources(policy.secrets, vault.factory));
    await vault.watcher.pollNow();
    assert.equal(events.length, 0);
    // A new version whose delivered key is unchanged: no event.
    server.putKvV2("secret", "app", { password: "one", unrelated: "y" });
    await vault.watcher.pollNow();
    assert.equal(events.length, 0);
    assert.equal(vault.sources[0]!.version, "2");
    // A new value.
    server.putKvV2("secret", "app", { password: "two", unrelated: "y" });
    server.putKvV1("kv", "app", { token: "t2" });
    server.putKvV2("secret", "pinned", { v: "p2" });
    await vault.watcher.pollNow();
    const changed = events.filter((e) => e.type === "changed");
    assert.deepEqual(changed.map((e) => [e.name, e.reason]).sort(), [["app", "kv_version"], [
      "v1",
      "kv_value",
    ]]);
    const app = changed.find((e) => e.name === "app")!;
    assert.equal(text(app.secret.values.get("password")), "two");
    assert.equal(app.secret.version, "3");
    assert.equal(
      server.requestsTo("secret/data/pinned").length,
      1,
      "a pinned version is never polled",
    );
    await vault.watcher.pollNow();
    assert.equal(events.length, 2);
  } finally {
    await vault.close();
    await server.close();
  }
});

Deno.test("VaultRotationWatcher polls on its interval and reports failures without a change", async () => {
  const server = await startServer();
  server.putKvV2("secret", "app", { password: "one" });
  const logs = new LogSink();
  const policy = policyOf(
    [spec("app", { engine: "kv-v2", mount: "secret", path: "app" }, { password: "PW" })],
    { ...(await vaultConfig(server)), max_retries: 0 },
    50,
  );
  const vault = (await createVaultSources(policy, {
    env: { VAULT_TOKEN: server.rootToken },
    retry: FAST_RETRY,
    logger: logs.logger,
  }))!;
  const events: RotationEvent[] = [];
  vault.watcher.subscribe((e) => events.push(e));
  try {
    await fetchAll(createSources(policy.secrets, vault.factory));
    vault.watcher.start();
    server.faults.sealed = true;
    await waitFor(() => events.some((e) => e.type === "error"), 2000, "an error event");
    const err = events.find((e) => e.type === "error")!;
    assert.ok(err.type === "error");
    assert.match(
      err.error.message,
      /Cannot fetch secret 'app' from Vault path 'secret\/data\/app': Vault is sealed/,
    );
    assert.match(logs.text, /the workload keeps its current values/);
    server.faults.sealed = false;
    server.putKvV2("secret", "app", { password: "two" });
    await waitFor(() => events.some((e) => e.type === "changed"), 2000, "a change event");
  } finally {
    await vault.close();
    await server.close();
  }
});

Deno.test("VaultSecretSource re-issues dynamic credentials at max TTL and emits them", async () => {
  const server = await startServer();
  server.addDatabaseRole("app", { ttlS: 1, maxTtlS: 2 });
  const policy = policyOf(
    [spec("db", { engine: "dynamic", path: "database/creds/app" }, {
      username: "U",
      password: "P",
    })],
    await vaultConfig(server),
  );
  const vault = (await createVaultSources(policy, {
    env: { VAULT_TOKEN: server.rootToken },
    retry: FAST_RETRY,
  }))!;
  const events: RotationEvent[] = [];
  vault.watcher.subscribe((e) => events.push(e));
  try {
    const first = (await fetchAll(createSources(policy.secrets, vault.factory))).get("db")!;
    assert.equal(text(first.values.get("username")), "v-token-app-1");
    await waitFor(() => events.length > 0, 5000, "re-issued credentials");
    const e = events[0]!;
    assert.ok(e.type === "changed");
    assert.equal(e.reason, "lease_reissued");
    assert.equal(e.detail, "max_ttl");
    assert.equal(text(e.secret.values.get("username")), "v-token-app-2");
    assert.notEqual(e.secret.version, first.version);
    assert.ok(server.requestsTo("sys/leases/renew").length >= 1);
  } finally {
    await vault.close();
    await server.close();
  }
});

Deno.test("VaultSecretSource re-issues dynamic credentials when their lease expired", async () => {
  const server = await startServer();
  server.addDatabaseRole("app", { ttlS: 1, maxTtlS: 60 });
  const client = await mtlsClient(server, { auth: tokenAuth({ token: server.rootToken }) });
  const source = new VaultSecretSource(
    client,
    spec("db", { engine: "dynamic", path: "database/creds/app" }, { username: "U" }),
  );
  const events: RotationEvent[] = [];
  source.subscribe((e) => events.push(e));
  try {
    await source.fetch();
    server.expireLeases();
    await waitFor(() => events.length > 0, 3000, "re-issue");
    const e = events[0]!;
    assert.ok(e.type === "changed" && e.detail === "renewal_refused");
    assert.equal(server.issuedCount("app"), 2);
  } finally {
    await source.close();
    await client.close();
    await server.close();
  }
});
