import assert from "node:assert/strict";
import {
  appRoleAuth,
  kubernetesAuth,
  LeaseKeeper,
  readKvV1,
  readKvV2,
  readLeased,
  type ReissueReason,
  tokenAuth,
  VaultError,
} from "../../src/vault/mod.ts";
import { LogSink, mtlsClient, rejection, startServer, waitFor } from "./_helpers.ts";

const POLICIES = ["secret/*", "kv/*", "database/creds/*", "sys/leases/renew"];

Deno.test("readKvV2() reads the latest version over mTLS and sends X-Vault-Request", async () => {
  const server = await startServer();
  const token = server.createToken({ policies: POLICIES });
  const client = await mtlsClient(server, { auth: tokenAuth({ token }) });
  try {
    server.putKvV2("secret", "app/db", { password: "v1-pass" });
    server.putKvV2("secret", "app/db", { password: "v2-pass", user: "app" });
    const s = await readKvV2(client, "secret", "app/db");
    assert.equal(s.metadata.version, 2);
    assert.deepEqual(s.data, { password: "v2-pass", user: "app" });
    assert.equal(client.transportKind, "fetch");
    const req = server.requestsTo("secret/data/app/db")[0]!;
    assert.equal(req.headers["x-vault-request"], "true");
    assert.equal(req.headers["x-vault-token"], token);
    assert.equal(req.clientCn, "x00-client");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("readKvV2() reads a pinned version and reports a deleted one as such", async () => {
  const server = await startServer();
  const client = await mtlsClient(server, {
    auth: tokenAuth({ token: server.createToken({ policies: POLICIES }) }),
  });
  try {
    server.putKvV2("secret", "app", { k: "one" });
    server.putKvV2("secret", "app", { k: "two" });
    server.putKvV2("secret", "app", { k: "three" });
    const s = await readKvV2(client, "secret", "app", { version: 2 });
    assert.equal(s.metadata.version, 2);
    assert.equal(s.data.k, "two");
    assert.equal(server.requestsTo("secret/data/app").at(-1)!.query.version, "2");
    server.deleteKvV2Version("secret", "app", 1);
    const err = await rejection(readKvV2(client, "secret", "app", { version: 1 }));
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "not_found");
    assert.match(err.message, /version 1 of 'secret\/data\/app'.*deleted/);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("readKvV1() reads <mount>/<path>", async () => {
  const server = await startServer();
  const client = await mtlsClient(server, {
    auth: tokenAuth({ token: server.createToken({ policies: POLICIES }) }),
  });
  try {
    server.putKvV1("kv", "legacy/app", { api_key: "k-123" });
    const s = await readKvV1(client, "kv", "legacy/app");
    assert.deepEqual(s.data, { api_key: "k-123" });
    assert.equal(server.requestsTo("kv/legacy/app").length, 1);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("LeaseKeeper renews a dynamic secret's lease and asks for re-issue at max TTL", async () => {
  const server = await startServer();
  server.addDatabaseRole("readonly", { ttlS: 1, maxTtlS: 3 });
  const logs = new LogSink();
  const client = await mtlsClient(server, {
    auth: tokenAuth({ token: server.createToken({ policies: POLICIES }) }),
    logger: logs.logger,
  });
  const reasons: ReissueReason[] = [];
  let keeper: LeaseKeeper | undefined;
  try {
    const creds = await readLeased(client, "database/creds/readonly");
    assert.equal(creds.leaseDurationS, 1);
    assert.ok(creds.renewable);
    assert.match(String(creds.data.username), /^v-token-readonly-1$/);
    let renewals = 0;
    keeper = new LeaseKeeper(client, creds, {
      label: "db",
      logger: logs.logger,
      onRenewed: () => renewals++,
      onReissue: (r) => reasons.push(r),
    });
    keeper.start();
    await waitFor(() => reasons.length > 0, 6000, "re-issue at max TTL");
    assert.deepEqual(reasons, ["max_ttl"]);
    assert.ok(renewals >= 2, `expected at least 2 renewals, got ${renewals}`);
    const renew = server.requestsTo("sys/leases/renew")[0]!;
    assert.equal(renew.method, "PUT");
    assert.match(logs.text, /max TTL reached/);
  } finally {
    keeper?.stop();
    await client.close();
    await server.close();
  }
});

Deno.test("LeaseKeeper asks for re-issue when Vault refuses renewal of an expired lease", async () => {
  const server = await startServer();
  server.addDatabaseRole("app", { ttlS: 1, maxTtlS: 60 });
  const client = await mtlsClient(server, {
    auth: tokenAuth({ token: server.createToken({ policies: POLICIES }) }),
  });
  const reasons: ReissueReason[] = [];
  let keeper: LeaseKeeper | undefined;
  try {
    const creds = await readLeased(client, "database/creds/app");
    server.expireLeases();
    keeper = new LeaseKeeper(client, creds, { label: "db", onReissue: (r) => reasons.push(r) });
    keeper.start();
    await waitFor(() => reasons.length > 0, 3000, "re-issue after refusal");
    assert.deepEqual(reasons, ["renewal_refused"]);
  } finally {
    keeper?.stop();
    await client.close();
    await server.close();
  }
});

Deno.test("tokenAuth() reads the token from a file and looks it up", async () => {
  const server = await startServer();
  const token = server.createToken({ policies: POLICIES });
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/token`, token + "\n");
  const client = await mtlsClient(server, { auth: tokenAuth({ tokenFile: `${dir}/token` }) });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    await readKvV2(client, "secret", "a");
    assert.equal(server.requestsTo("auth/token/lookup-self").length, 1);
    assert.equal(server.requestsTo("secret/data/a")[0]!.headers["x-vault-token"], token);
  } finally {
    await client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tokenAuth() names a missing token file without failing on anything else", async () => {
  const server = await startServer();
  const client = await mtlsClient(server, {
    auth: tokenAuth({ tokenFile: "/nonexistent/x00/token" }),
  });
  try {
    const err = await rejection(client.read("secret/data/a"));
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "auth");
    assert.match(
      err.message,
      /Cannot read Vault token file '\/nonexistent\/x00\/token': no such file/,
    );
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("appRoleAuth() logs in with files and removes the secret_id file after reading", async () => {
  const server = await startServer();
  server.addAppRole({ roleId: "role-1234", secretId: "sid-abcdef-123456", policies: POLICIES });
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/role_id`, "role-1234\n");
  await Deno.writeTextFile(`${dir}/secret_id`, "sid-abcdef-123456\n");
  const client = await mtlsClient(server, {
    auth: appRoleAuth({
      roleIdFile: `${dir}/role_id`,
      secretIdFile: `${dir}/secret_id`,
      removeSecretIdFileAfterReading: true,
    }),
  });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    await readKvV2(client, "secret", "a");
    const login = server.requestsTo("auth/approle/login")[0]!;
    assert.equal(login.method, "POST");
    assert.equal(login.headers["x-vault-token"], undefined);
    await assert.rejects(Deno.stat(`${dir}/secret_id`), Deno.errors.NotFound);
    // A later login (token expired) works from the secret_id kept in memory, as Vault Agent does.
    server.expireTokens();
    await readKvV2(client, "secret", "a");
    assert.equal(server.requestsTo("auth/approle/login").length, 2);
  } finally {
    await client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("appRoleAuth() reports a refused secret_id with Vault's reason and without the secret_id", async () => {
  const server = await startServer();
  server.addAppRole({
    mount: "ar",
    roleId: "role-1",
    secretId: "right-secret-id",
    policies: POLICIES,
  });
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/role_id`, "role-1");
  await Deno.writeTextFile(`${dir}/secret_id`, "wrong-secret-id-999");
  const client = await mtlsClient(server, {
    auth: appRoleAuth({
      mountPath: "ar",
      roleIdFile: `${dir}/role_id`,
      secretIdFile: `${dir}/secret_id`,
    }),
  });
  try {
    const err = await rejection(client.login());
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "bad_request");
    assert.match(err.message, /auth\/ar\/login.*invalid role or secret ID/);
    assert.ok(!err.message.includes("wrong-secret-id-999"));
  } finally {
    await client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kubernetesAuth() logs in with the role and the JWT file on a custom mount", async () => {
  const server = await startServer();
  const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXBwIn0.c2lnbmF0dXJl";
  server.addKubernetesRole({ mount: "k8s-prod", role: "app", jwt, policies: POLICIES });
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/token`, jwt);
  const client = await mtlsClient(server, {
    auth: kubernetesAuth({ mountPath: "k8s-prod", role: "app", tokenPath: `${dir}/token` }),
  });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    await readKvV2(client, "secret", "a");
    assert.equal(server.requestsTo("auth/k8s-prod/login").length, 1);
    await Deno.writeTextFile(`${dir}/token`, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJvdGhlciJ9.b3RoZXI");
    server.expireTokens();
    const err = await rejection(readKvV2(client, "secret", "a"));
    assert.match(err.message, /permission denied/);
    assert.ok(!err.message.includes("eyJ"));
  } finally {
    await client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("VaultClient sends X-Vault-Namespace and reads the namespace's secrets", async () => {
  const server = await startServer();
  const token = server.createToken({ policies: POLICIES });
  server.putKvV2("secret", "app", { where: "team-a" }, "team-a");
  const inNs = await mtlsClient(server, { namespace: "team-a", auth: tokenAuth({ token }) });
  const root = await mtlsClient(server, { auth: tokenAuth({ token }) });
  try {
    assert.equal((await readKvV2(inNs, "secret", "app")).data.where, "team-a");
    assert.equal(server.requestsTo("secret/data/app")[0]!.headers["x-vault-namespace"], "team-a");
    const err = await rejection(readKvV2(root, "secret", "app"));
    assert.ok(err instanceof VaultError && err.kind === "not_found");
  } finally {
    await inNs.close();
    await root.close();
    await server.close();
  }
});

Deno.test("TokenManager renews the token with renew-self before it expires", async () => {
  const server = await startServer();
  server.addAppRole({
    roleId: "r",
    secretId: "s-123456",
    ttlS: 1,
    maxTtlS: 60,
    policies: POLICIES,
  });
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/role_id`, "r");
  await Deno.writeTextFile(`${dir}/secret_id`, "s-123456");
  const client = await mtlsClient(server, {
    auth: appRoleAuth({ roleIdFile: `${dir}/role_id`, secretIdFile: `${dir}/secret_id` }),
  });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    await readKvV2(client, "secret", "a");
    await waitFor(
      () => server.requestsTo("auth/token/renew-self").length >= 2,
      4000,
      "two renewals",
    );
    const renew = server.requestsTo("auth/token/renew-self")[0]!;
    assert.equal(renew.method, "POST");
    await readKvV2(client, "secret", "a"); // the first token is still valid well past its 1 s TTL
    assert.equal(server.requestsTo("auth/approle/login").length, 1);
  } finally {
    await client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TokenManager logs in again when Vault refuses renewal", async () => {
  const server = await startServer();
  server.addAppRole({
    roleId: "r",
    secretId: "s-123456",
    ttlS: 1,
    maxTtlS: 60,
    policies: POLICIES,
  });
  server.faults.refuseTokenRenewal = true;
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/role_id`, "r");
  await Deno.writeTextFile(`${dir}/secret_id`, "s-123456");
  const logs = new LogSink();
  const client = await mtlsClient(server, {
    logger: logs.logger,
    auth: appRoleAuth({ roleIdFile: `${dir}/role_id`, secretIdFile: `${dir}/secret_id` }),
  });
  const events: string[] = [];
  client.tokens!.subscribe((e) => events.push(e.type));
  try {
    await client.login();
    await waitFor(
      () => server.requestsTo("auth/approle/login").length >= 2,
      3000,
      "a second login",
    );
    assert.ok(events.includes("renewal_refused"));
    assert.match(logs.text, /refused to renew the token \(permission denied\); logging in again/);
  } finally {
    await client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TokenManager logs in again when the token reaches its max TTL", async () => {
  const server = await startServer();
  server.addAppRole({ roleId: "r", secretId: "s-123456", ttlS: 1, maxTtlS: 2, policies: POLICIES });
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/role_id`, "r");
  await Deno.writeTextFile(`${dir}/secret_id`, "s-123456");
  const client = await mtlsClient(server, {
    auth: appRoleAuth({ roleIdFile: `${dir}/role_id`, secretIdFile: `${dir}/secret_id` }),
  });
  try {
    await client.login();
    await waitFor(
      () => server.requestsTo("auth/approle/login").length >= 2,
      5000,
      "a login at max TTL",
    );
    assert.ok(server.requestsTo("auth/token/renew-self").length >= 1);
  } finally {
    await client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("VaultClient logs in again and retries once when a read meets an expired token", async () => {
  const server = await startServer();
  server.addAppRole({ roleId: "r", secretId: "s-123456", policies: POLICIES });
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/role_id`, "r");
  await Deno.writeTextFile(`${dir}/secret_id`, "s-123456");
  const client = await mtlsClient(server, {
    auth: appRoleAuth({ roleIdFile: `${dir}/role_id`, secretIdFile: `${dir}/secret_id` }),
  });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    await readKvV2(client, "secret", "a");
    server.expireTokens();
    const s = await readKvV2(client, "secret", "a");
    assert.equal(s.data.x, "y");
    assert.equal(server.requestsTo("auth/approle/login").length, 2);
    // Denied for real: one re-login, then "permission denied" naming the path.
    const err = await rejection(client.read("other/x"));
    assert.ok(err instanceof VaultError && err.kind === "permission_denied");
    assert.equal(server.requestsTo("auth/approle/login").length, 3);
  } finally {
    await client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("VaultClient names the path and says 'permission denied' on 403", async () => {
  const server = await startServer();
  const client = await mtlsClient(server, {
    auth: tokenAuth({ token: server.createToken({ policies: ["secret/data/allowed"] }) }),
  });
  try {
    const err = await rejection(client.read("secret/data/other"));
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "permission_denied");
    assert.equal(err.status, 403);
    assert.equal(err.path, "secret/data/other");
    assert.match(err.message, /'secret\/data\/other'.*permission denied \(HTTP 403\)/);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("VaultClient names the path on 404", async () => {
  const server = await startServer();
  const client = await mtlsClient(server, {
    auth: tokenAuth({ token: server.createToken({ policies: POLICIES }) }),
  });
  try {
    const err = await rejection(readKvV2(client, "secret", "missing/thing"));
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "not_found");
    assert.match(err.message, /'secret\/data\/missing\/thing'.*not found \(HTTP 404\)/);
    const root = await mtlsClient(server, { auth: tokenAuth({ token: server.rootToken }) });
    const err2 = await rejection(root.read("nomount/x"));
    await root.close();
    assert.match(err2.message, /'nomount\/x'.*not found \(HTTP 404\)/);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("VaultClient gives up on a slow answer after the timeout and its retries", async () => {
  const server = await startServer();
  const client = await mtlsClient(server, {
    timeoutMs: 200,
    maxRetries: 1,
    auth: tokenAuth({ token: server.rootToken }),
  });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    server.faults.delay = { count: -1, ms: 1000, path: "secret/" };
    const t0 = Date.now();
    const err = await rejection(readKvV2(client, "secret", "a"));
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "timeout");
    assert.equal(err.attempts, 2);
    assert.match(err.message, /no answer within 200 ms \(timeout\).*gave up after 2 attempts/);
    assert.ok(Date.now() - t0 < 1500);
    // One slow answer within the retries is absorbed.
    server.faults.delay = { count: 1, ms: 1000, path: "secret/" };
    assert.equal((await readKvV2(client, "secret", "a")).data.x, "y");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("VaultClient retries dropped connections and names them when retries run out", async () => {
  const server = await startServer();
  const client = await mtlsClient(server, { auth: tokenAuth({ token: server.rootToken }) });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    server.faults.drop = { count: 2, path: "secret/" };
    assert.equal((await readKvV2(client, "secret", "a")).data.x, "y");
    assert.equal(server.requestsTo("secret/data/a").length, 3);
    server.faults.drop = { count: 3, path: "secret/" };
    const err = await rejection(readKvV2(client, "secret", "a"));
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "connection");
    assert.match(
      err.message,
      /connection was closed before Vault answered.*gave up after 3 attempts/,
    );
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("VaultClient rides out a 5xx burst and reports one longer than its retries", async () => {
  const server = await startServer();
  const logs = new LogSink();
  const client = await mtlsClient(server, {
    logger: logs.logger,
    auth: tokenAuth({ token: server.rootToken }),
  });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    server.faults.errorBurst = { count: 2, status: 500, path: "secret/" };
    assert.equal((await readKvV2(client, "secret", "a")).data.x, "y");
    assert.match(
      logs.text,
      /server error \(HTTP 500\): internal error; retrying in \d+ ms \(attempt 2 of 3\)/,
    );
    server.faults.errorBurst = { count: 5, status: 502, path: "secret/" };
    const err = await rejection(readKvV2(client, "secret", "a"));
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "server_error");
    assert.equal(err.status, 502);
    assert.match(err.message, /HTTP 502.*gave up after 3 attempts/);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("VaultClient waits for Retry-After on 429 and retries 412", async () => {
  const server = await startServer();
  const client = await mtlsClient(server, { auth: tokenAuth({ token: server.rootToken }) });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    server.faults.rateLimit = { count: 1, retryAfterS: 1, path: "secret/" };
    const t0 = Date.now();
    assert.equal((await readKvV2(client, "secret", "a")).data.x, "y");
    assert.ok(Date.now() - t0 >= 950, `waited only ${Date.now() - t0} ms`);
    server.faults.precondition = { count: 2, path: "secret/" };
    assert.equal((await readKvV2(client, "secret", "a")).data.x, "y");
    server.faults.precondition = { count: 5, path: "secret/" };
    const err = await rejection(readKvV2(client, "secret", "a"));
    assert.ok(err instanceof VaultError && err.kind === "precondition_failed");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("VaultClient does not wait for a Retry-After beyond its retry budget", async () => {
  const server = await startServer();
  const client = await mtlsClient(server, {
    auth: tokenAuth({ token: server.rootToken }),
    retry: { minDelayMs: 20, maxDelayMs: 100, maxElapsedMs: 500 },
  });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    server.faults.rateLimit = { count: 1, retryAfterS: 30, path: "secret/" };
    const t0 = Date.now();
    const err = await rejection(readKvV2(client, "secret", "a"));
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "rate_limited");
    assert.match(err.message, /rate limited \(HTTP 429\).*retry budget of 500 ms exhausted/);
    assert.ok(Date.now() - t0 < 1000);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("VaultClient names sealed and standby answers", async () => {
  const server = await startServer();
  const client = await mtlsClient(server, {
    maxRetries: 0,
    auth: tokenAuth({ token: server.rootToken }),
  });
  try {
    server.faults.sealed = true;
    let err = await rejection(client.read("secret/data/a"));
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "sealed");
    assert.match(err.message, /Vault is sealed \(HTTP 503\)/);
    server.faults = { standby: true };
    err = await rejection(client.read("secret/data/a"));
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "standby");
    assert.match(err.message, /standby/);
    server.faults = { standbyNoLeader: true };
    err = await rejection(client.read("secret/data/a"));
    assert.ok(err instanceof VaultError && err.kind === "standby");
    assert.match(err.message, /standby.*HTTP 500.*active cluster node not found/);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("VaultClient retries a sealed Vault and succeeds once it is unsealed", async () => {
  const server = await startServer();
  const client = await mtlsClient(server, {
    maxRetries: 5,
    retry: { minDelayMs: 50, maxDelayMs: 100, maxElapsedMs: 5000 },
    auth: tokenAuth({ token: server.rootToken }),
  });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    server.faults.sealed = true;
    setTimeout(() => server.faults.sealed = false, 150);
    assert.equal((await readKvV2(client, "secret", "a")).data.x, "y");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("VaultClient reports a body that is not JSON without quoting it", async () => {
  const server = await startServer();
  const client = await mtlsClient(server, { auth: tokenAuth({ token: server.rootToken }) });
  try {
    server.faults.malformed = {
      count: 1,
      body: '{"data": {"password": "hunter2-leaked"',
      path: "secret/",
    };
    const err = await rejection(client.read("secret/data/a"));
    assert.ok(err instanceof VaultError && err.kind === "invalid_response");
    assert.ok(!Deno.inspect(err).includes("hunter2"));
  } finally {
    await client.close();
    await server.close();
  }
});
