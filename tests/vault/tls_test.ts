import assert from "node:assert/strict";
import {
  loadTlsMaterial,
  readKvV2,
  tokenAuth,
  VaultClient,
  VaultError,
} from "../../src/vault/mod.ts";
import { certs, rejection, startServer } from "./_helpers.ts";
import { VaultTestServer } from "./server.ts";

const FAST = { maxRetries: 1, timeoutMs: 2000, retry: { minDelayMs: 10, maxDelayMs: 20 } };

Deno.test("VaultClient fails with a clear message when the server's CA is not trusted", async () => {
  const c = await certs();
  const server = await startServer();
  const client = new VaultClient({
    address: server.address,
    tls: await loadTlsMaterial({
      caCert: c.otherCaCert,
      clientCert: c.clientCert,
      clientKey: c.clientKey,
    }),
    auth: tokenAuth({ token: server.rootToken }),
    ...FAST,
  });
  try {
    const err = await rejection(client.read("secret/data/a"));
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "tls");
    assert.match(
      err.message,
      /TLS handshake with Vault at 127\.0\.0\.1:\d+ failed: .*not signed by a trusted CA/,
    );
    assert.match(err.message, /ca_cert/);
    assert.equal(err.attempts, 1, "TLS errors are not retried");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("loadTlsMaterial() refuses an expired client certificate before connecting", async () => {
  const c = await certs();
  const err = await rejection(
    loadTlsMaterial({
      caCert: c.caCert,
      clientCert: c.expiredClientCert,
      clientKey: c.expiredClientKey,
    }),
  );
  assert.ok(err instanceof VaultError);
  assert.equal(err.kind, "config");
  assert.match(
    err.message,
    /client certificate '.*expired\.pem' \(CN=expired-client\) as it expired on 2020-01-02/,
  );
});

Deno.test("loadTlsMaterial() names the files of an X.509 v1 client certificate and says how to fix it", async () => {
  const c = await certs();
  const dir = await Deno.makeTempDir();
  try {
    const run = async (args: string[]) => {
      const r = await new Deno.Command("openssl", { args, cwd: dir, stderr: "piped" }).output();
      assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    };
    // What `openssl x509 -req` makes without extensions: a v1 certificate (Vault and curl accept it).
    await run([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "v1.key",
      "-out",
      "v1.csr",
      "-subj",
      "/CN=v1",
    ]);
    await run([
      "x509",
      "-req",
      "-in",
      "v1.csr",
      "-CA",
      c.caCert,
      "-CAkey",
      c.caKey,
      "-CAcreateserial",
      "-out",
      "v1.pem",
      "-days",
      "2",
    ]);
    const err = await rejection(
      loadTlsMaterial({
        caCert: c.caCert,
        clientCert: `${dir}/v1.pem`,
        clientKey: `${dir}/v1.key`,
      }),
    );
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "config");
    assert.equal(
      err.message.split(":")[0],
      `Cannot use client certificate file '${dir}/v1.pem' with key file '${dir}/v1.key'`,
    );
    assert.match(err.message, /X\.509 v1 certificate.*reissue it as v3/);
    assert.ok(!/peer/.test(err.message), "it is X00's own certificate, not the peer's");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("VaultClient hints at the client certificate when the server refuses it", async () => {
  const c = await certs();
  const server = await startServer();
  const client = new VaultClient({
    address: server.address,
    tls: await loadTlsMaterial({
      caCert: c.caCert,
      clientCert: c.otherClientCert,
      clientKey: c.otherClientKey,
    }),
    auth: tokenAuth({ token: server.rootToken }),
    ...FAST,
  });
  try {
    const err = await rejection(client.read("secret/data/a"));
    assert.ok(err instanceof VaultError);
    assert.match(err.message, /the server may be refusing the client certificate/);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("VaultClient says a client certificate is required when it has none", async () => {
  const c = await certs();
  const server = await startServer();
  const client = new VaultClient({
    address: server.address,
    tls: await loadTlsMaterial({ caCert: c.caCert }),
    auth: tokenAuth({ token: server.rootToken }),
    ...FAST,
  });
  try {
    const err = await rejection(client.read("secret/data/a"));
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "tls");
    assert.match(err.message, /requires a client certificate \(set client_cert and client_key\)/);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("VaultClient rejects a server certificate issued for another name", async () => {
  const c = await certs();
  const server = await VaultTestServer.start({
    cert: c.wrongNameCert,
    key: c.wrongNameKey,
    clientCa: c.caCert,
  });
  const client = new VaultClient({
    address: server.address,
    tls: await loadTlsMaterial({
      caCert: c.caCert,
      clientCert: c.clientCert,
      clientKey: c.clientKey,
    }),
    auth: tokenAuth({ token: server.rootToken }),
    ...FAST,
  });
  try {
    const err = await rejection(client.read("secret/data/a"));
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "tls");
    assert.match(err.message, /not valid for the name '127\.0\.0\.1'.*tls_server_name/);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("VaultClient verifies the server against tls_server_name over mTLS", async () => {
  const c = await certs();
  const server = await VaultTestServer.start({
    cert: c.namedServerCert,
    key: c.namedServerKey,
    clientCa: c.caCert,
  });
  const tls = await loadTlsMaterial({
    caCert: c.caCert,
    clientCert: c.clientCert,
    clientKey: c.clientKey,
  });
  const good = new VaultClient({
    address: server.address,
    tls,
    tlsServerName: "vault.test",
    auth: tokenAuth({ token: server.rootToken }),
    ...FAST,
  });
  const bad = new VaultClient({
    address: server.address,
    tls,
    tlsServerName: "other.test",
    auth: tokenAuth({ token: server.rootToken }),
    ...FAST,
  });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    assert.equal(good.transportKind, "node");
    assert.equal((await readKvV2(good, "secret", "a")).data.x, "y");
    assert.equal(server.requestsTo("secret/data/a")[0]!.clientCn, "x00-client");
    assert.equal(server.requestsTo("secret/data/a")[0]!.headers["x-vault-request"], "true");
    const err = await rejection(bad.read("secret/data/a"));
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "tls");
    assert.match(err.message, /not valid for the name 'other\.test'/);
  } finally {
    await good.close();
    await bad.close();
    await server.close();
  }
});

Deno.test("VaultClient with tlsSkipVerify accepts an untrusted server certificate", async () => {
  const c = await certs();
  const server = await startServer();
  const client = new VaultClient({
    address: server.address,
    tls: await loadTlsMaterial({ clientCert: c.clientCert, clientKey: c.clientKey }),
    tlsSkipVerify: true,
    auth: tokenAuth({ token: server.rootToken }),
    ...FAST,
  });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    assert.equal(client.transportKind, "node");
    assert.equal((await readKvV2(client, "secret", "a")).data.x, "y");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("loadTlsMaterial() reads every PEM file of a CA directory", async () => {
  const c = await certs();
  const dir = await Deno.makeTempDir();
  await Deno.copyFile(c.otherCaCert, `${dir}/00-other.pem`);
  await Deno.copyFile(c.caCert, `${dir}/10-ca.crt`);
  await Deno.writeTextFile(`${dir}/README`, "not a certificate");
  const server = await startServer();
  const client = new VaultClient({
    address: server.address,
    tls: await loadTlsMaterial({ caPath: dir, clientCert: c.clientCert, clientKey: c.clientKey }),
    auth: tokenAuth({ token: server.rootToken }),
    ...FAST,
  });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    assert.equal((await readKvV2(client, "secret", "a")).data.x, "y");
    const empty = await Deno.makeTempDir();
    const err = await rejection(loadTlsMaterial({ caPath: empty }));
    assert.match(err.message, /CA directory '.*' as it holds no PEM certificate/);
    await Deno.remove(empty);
  } finally {
    await client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadTlsMaterial() names unreadable files and a certificate without its key", async () => {
  let err = await rejection(loadTlsMaterial({ caCert: "/nonexistent/ca.pem" }));
  assert.match(
    err.message,
    /Cannot read CA certificate file '\/nonexistent\/ca\.pem': no such file or directory/,
  );
  const c = await certs();
  err = await rejection(loadTlsMaterial({ clientCert: c.clientCert }));
  assert.match(err.message, /client certificate without its key/);
  err = await rejection(loadTlsMaterial({ caCert: c.caKey }));
  assert.match(err.message, /holds no PEM certificate/);
});

Deno.test("VaultClient talks plain HTTP to an http:// address", async () => {
  const server = await VaultTestServer.start({});
  const client = new VaultClient({
    address: server.address,
    auth: tokenAuth({ token: server.rootToken }),
    ...FAST,
  });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    assert.equal((await readKvV2(client, "secret", "a")).data.x, "y");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("the node:https transport (tls_server_name) retries drops and 5xx and times out like fetch", async () => {
  const c = await certs();
  const server = await VaultTestServer.start({
    cert: c.namedServerCert,
    key: c.namedServerKey,
    clientCa: c.caCert,
  });
  const client = new VaultClient({
    address: server.address,
    tls: await loadTlsMaterial({
      caCert: c.caCert,
      clientCert: c.clientCert,
      clientKey: c.clientKey,
    }),
    tlsServerName: "vault.test",
    auth: tokenAuth({ token: server.rootToken }),
    maxRetries: 2,
    timeoutMs: 200,
    retry: { minDelayMs: 10, maxDelayMs: 20 },
  });
  try {
    server.putKvV2("secret", "a", { x: "y" });
    server.faults = { drop: { count: 2, path: "secret/" } };
    assert.equal((await readKvV2(client, "secret", "a")).data.x, "y");
    server.faults = { errorBurst: { count: 2, status: 503, path: "secret/" } };
    assert.equal((await readKvV2(client, "secret", "a")).data.x, "y");
    server.faults = { rateLimit: { count: 1, retryAfterS: 0, path: "secret/" } };
    assert.equal((await readKvV2(client, "secret", "a")).data.x, "y");
    server.faults = { drop: { count: 5, path: "secret/" } };
    let err = await rejection(readKvV2(client, "secret", "a"));
    assert.ok(err instanceof VaultError && err.kind === "connection");
    assert.match(
      err.message,
      /connection was closed before Vault answered.*gave up after 3 attempts/,
    );
    server.faults = { delay: { count: -1, ms: 1000, path: "secret/" } };
    err = await rejection(readKvV2(client, "secret", "a"));
    assert.ok(err instanceof VaultError && err.kind === "timeout");
    server.faults = { sealed: true };
    err = await rejection(readKvV2(client, "secret", "a"));
    assert.ok(err instanceof VaultError && err.kind === "sealed");
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("loadTlsMaterial() without a configured CA uses the system's roots: SSL_CERT_FILE, else a bundle", async () => {
  const c = await certs();
  const { systemRoots } = await import("../../src/vault/tls.ts");
  assert.deepEqual(
    await systemRoots({ SSL_CERT_FILE: c.otherCaCert }),
    [await Deno.readTextFile(c.otherCaCert)].map((t) => t.trim() + "\n"),
  );
  const none = `${c.dir}/no-such-bundle.pem`;
  await assert.rejects(
    () => systemRoots({ SSL_CERT_FILE: none, SSL_CERT_DIR: `${c.dir}/no-such-dir` }),
    (e: unknown) =>
      e instanceof VaultError && e.kind === "config" && e.message.includes("no CA is configured"),
  );
  // SSL_CERT_DIR: every certificate of every file.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile(c.caCert, `${dir}/a.pem`);
    await Deno.copyFile(c.otherCaCert, `${dir}/b.pem`);
    assert.equal((await systemRoots({ SSL_CERT_FILE: none, SSL_CERT_DIR: dir })).length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
