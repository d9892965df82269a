/**
 * Vault PKI: the test server's `<mount>/issue/<role>` against Vault's API (envelope, errors, status codes),
 * `issueCertificate()` (real X.509 that parses, matches its key and chains to the CA; SANs and TTL honoured), and
 * `engine: pki` entries of `VaultSecretSource` (delivered keys, renewal at `renew_fraction` with a `changed` event,
 * failures that keep the workload's certificate).
 */
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { PKI_KEYS } from "../../src/policy/format/mod.ts";
import type { Delivery, SecretSpec } from "../../src/policy/types.ts";
import { type RotationEvent, VaultSecretSource } from "../../src/secrets/vault/mod.ts";
import {
  certificateRetry,
  certificateValues,
  issueCertificate,
  PKI_RESPONSE_KEYS,
  renewalDelayMs,
  tokenAuth,
  VaultError,
} from "../../src/vault/mod.ts";
import { LogSink, mtlsClient, rejection, startServer, waitFor } from "./_helpers.ts";

const dec = new TextDecoder();

function pkiSpec(
  name: string,
  pki: NonNullable<SecretSpec["source"] & { type: "vault" }>["pki"],
  keys: string[],
): SecretSpec {
  const deliveries = new Map<string, Delivery>(
    keys.map((k) => [k, { kind: "file", var: `${k.toUpperCase()}_FILE` }]),
  );
  return {
    name,
    source: { type: "vault", engine: "pki", mount: "pki", path: `issue/${pki!.role}`, pki },
    deliveries,
  };
}

Deno.test("PKI keys of the policy are the keys issueCertificate() delivers", () => {
  assert.deepEqual([...PKI_KEYS], [...PKI_RESPONSE_KEYS]);
});

Deno.test("renewalDelayMs() and certificateRetry() schedule within the validity left", () => {
  assert.equal(renewalDelayMs(1_003, 2 / 3, 1_000_000), 2000);
  assert.equal(renewalDelayMs(1_000, 0.5, 1_000_000), 1000, "expired: the minimum wait");
  assert.deepEqual(certificateRetry(4000, undefined, 0), { delayMs: 4000, note: "" });
  assert.deepEqual(certificateRetry(1000, 60_000, 0), { delayMs: 1000, note: "" });
  const near = certificateRetry(30_000, 10_000, 0);
  assert.equal(near.delayMs, 5000);
  assert.match(near.note, /certificate expires at 1970-01-01T00:00:10.000Z \(in 10 s\), possibly/);
  const gone = certificateRetry(8000, 10_000, 20_000);
  assert.equal(gone.delayMs, 8000);
  assert.match(gone.note, /certificate expired at 1970-01-01T00:00:10.000Z/);
});

Deno.test("test server: pki/issue answers Vault's envelope and Vault's errors", async () => {
  const server = await startServer();
  const client = await mtlsClient(server, { auth: tokenAuth({ token: server.rootToken }) });
  try {
    server.addPkiRole("web", {
      allowed_domains: ["example.com"],
      allow_subdomains: true,
      key_type: "ec",
      max_ttl_s: 60,
    });
    const res = await client.write("pki/issue/web", { common_name: "app.example.com", ttl: "30s" });
    assert.deepEqual(Object.keys(res.data!).sort(), [
      "ca_chain",
      "certificate",
      "expiration",
      "issuing_ca",
      "private_key",
      "private_key_type",
      "serial_number",
    ]);
    assert.equal(res.lease_id, "");
    assert.equal(res.renewable, false);
    assert.equal(res.mount_type, "pki");
    assert.equal(res.data!.private_key_type, "ec");
    assert.match(String(res.data!.private_key), /^-----BEGIN EC PRIVATE KEY-----/);
    assert.match(String(res.data!.serial_number), /^[0-9a-f]{2}(:[0-9a-f]{2})+$/);
    assert.ok(Array.isArray(res.data!.ca_chain));

    const refused = async (body: Record<string, unknown>, path = "pki/issue/web") =>
      (await rejection(client.write(path, body))) as VaultError;
    let e = await refused({ common_name: "a.example.com" }, "pki/issue/nope");
    assert.equal(e.status, 400);
    assert.match(e.message, /request refused \(HTTP 400\): unknown role: nope$/);
    e = await refused({ common_name: "evil.test" });
    assert.match(e.message, /: common name evil\.test not allowed by this role$/);
    e = await refused({ common_name: "a.example.com", alt_names: "b.example.com,evil.test" });
    assert.match(e.message, /: subject alternate name evil\.test not allowed by this role$/);
    e = await refused({});
    assert.match(e.message, /: the common_name field is required, or must be provided in a CSR/);
    e = await refused({ common_name: "a.example.com", uri_sans: "spiffe://x/y" });
    assert.match(e.message, /URI Subject Alternative Names are not allowed in this role, but were/);
    server.addPkiRole("noip", { allow_any_name: true, allow_ip_sans: false, key_type: "ec" });
    e = await refused({ common_name: "a", ip_sans: "10.0.0.1" }, "pki/issue/noip");
    assert.match(
      e.message,
      /IP Subject Alternative Names are not allowed in this role, but was provided \[10\.0\.0\.1\]$/,
    );
    e = (await rejection(client.read("pki/issue/web"))) as VaultError;
    assert.equal(e.status, 405);
    assert.match(e.message, /unsupported operation/);
    // A TTL over the role's max_ttl is capped, with Vault's warning.
    const capped = await client.write("pki/issue/web", { common_name: "a.example.com", ttl: "2m" });
    assert.deepEqual(capped.warnings, [
      'TTL "2m0s" is longer than permitted maxTTL "1m0s", so maxTTL is being used',
    ]);
    const x = new X509Certificate(String(capped.data!.certificate));
    assert.ok(Math.abs(Date.parse(x.validTo) - (Date.now() + 60_000)) < 3000);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("issueCertificate() returns a certificate that matches its key and chains to the CA, with the SANs and TTL asked for", async () => {
  const server = await startServer();
  const client = await mtlsClient(server, { auth: tokenAuth({ token: server.rootToken }) });
  try {
    server.addPkiRole("web", {
      allowed_domains: ["example.com"],
      allow_subdomains: true,
      allow_bare_domains: true, // ops@example.com: an email's domain must be allowed as a bare domain
      allowed_uri_sans: ["spiffe://example.com/*"],
      key_type: "ec",
    });
    const before = Date.now();
    const cert = await issueCertificate(client, "pki", "web", {
      commonName: "app.example.com",
      altNames: ["www.example.com", "ops@example.com"],
      ipSans: ["127.0.0.1", "::1"],
      uriSans: ["spiffe://example.com/app"],
      ttlS: 120,
    });
    const body = server.requestsTo("pki/issue/web").length;
    assert.equal(body, 1);
    const x = new X509Certificate(cert.certificate);
    assert.equal(x.subject, "CN=app.example.com");
    for (
      const n of [
        "DNS:app.example.com",
        "DNS:www.example.com",
        "email:ops@example.com",
        "IP Address:127.0.0.1",
        "URI:spiffe://example.com/app",
      ]
    ) {
      assert.ok(x.subjectAltName?.includes(n), `${n} in ${x.subjectAltName}`);
    }
    assert.ok(x.checkPrivateKey(createPrivateKey(cert.privateKey)), "the key matches");
    const ca = new X509Certificate(cert.issuingCa);
    assert.ok(x.verify(ca.publicKey), "signed by the issuing CA");
    assert.equal(
      ca.fingerprint256,
      new X509Certificate(server.pki().ca.certificate.pem).fingerprint256,
    );
    const notAfter = Date.parse(x.validTo);
    assert.ok(Math.abs(notAfter - (before + 120_000)) < 3000, `TTL honoured: ${x.validTo}`);
    assert.equal(cert.expiration, Math.floor(notAfter / 1000));
    assert.equal(
      x.serialNumber.toLowerCase(),
      cert.serialNumber.replaceAll(":", "").replace(/^0+/, ""),
    );
    const values = certificateValues(cert);
    assert.equal(values.ca_chain, cert.caChain.join("\n"));
    assert.equal(values.private_key_type, "ec");

    // exclude_cn_from_sans leaves the CN out of the SANs.
    const bare = await issueCertificate(client, "pki", "web", {
      commonName: "only-cn.example.com",
      excludeCnFromSans: true,
    });
    assert.equal(new X509Certificate(bare.certificate).subjectAltName, undefined);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("VaultSecretSource (engine: pki) delivers the keys, renews at renew_fraction and keeps the certificate when renewal fails", async () => {
  const server = await startServer();
  server.addPkiRole("web", { allow_any_name: true, key_type: "ec" });
  const log = new LogSink();
  const client = await mtlsClient(server, {
    auth: tokenAuth({ token: server.rootToken }),
    logger: log.logger,
  });
  const source = new VaultSecretSource(
    client,
    pkiSpec("tls", { role: "web", common_name: "app.test", ttl_s: 3, renew_fraction: 0.5 }, [
      "certificate",
      "private_key",
      "ca_chain",
      "serial_number",
    ]),
    { logger: log.logger },
  );
  const events: RotationEvent[] = [];
  source.subscribe((e) => events.push(e));
  const keys: string[] = [];
  try {
    assert.equal(source.rotation, "lease");
    assert.equal(source.path, "pki/issue/web");
    const started = Date.now();
    const first = await source.fetch();
    const serial = dec.decode(first.values.get("serial_number"));
    assert.equal(first.version, serial);
    const x = new X509Certificate(dec.decode(first.values.get("certificate")));
    const key = dec.decode(first.values.get("private_key"));
    keys.push(key);
    assert.ok(x.checkPrivateKey(createPrivateKey(key)));
    assert.match(dec.decode(first.values.get("ca_chain")), /^-----BEGIN CERTIFICATE-----/);

    await waitFor(() => events.length > 0, 5000, "a renewed certificate");
    const waited = Date.now() - started;
    // Half of the validity left at receipt: `expiration` has whole seconds, so between 1 s and 1.5 s.
    assert.ok(waited >= 900 && waited < 3000, `renewed after ${waited} ms (half of 3 s)`);
    const e = events[0]!;
    assert.ok(e.type === "changed");
    assert.equal(e.reason, "certificate_renewed");
    const renewed = dec.decode(e.secret.values.get("serial_number"));
    assert.notEqual(renewed, serial);
    assert.equal(e.secret.version, renewed);
    keys.push(dec.decode(e.secret.values.get("private_key")));

    // The role goes away: renewals fail, are reported, and nothing changes for the workload.
    server.deletePkiRole("web");
    await waitFor(() => events.some((e) => e.type === "error"), 5000, "a failed renewal");
    const failed = events.find((e) => e.type === "error")!;
    assert.ok(failed.type === "error");
    assert.match(
      failed.error.message,
      /^Cannot fetch secret 'tls' from Vault path 'pki\/issue\/web': request refused \(HTTP 400\): unknown role: web$/,
    );
    assert.equal(events.filter((e) => e.type === "changed").length, 1);
    assert.match(log.text, /the workload keeps its current values; retrying in \d+ ms/);
    // Back again: the next attempt issues a certificate.
    server.addPkiRole("web", { allow_any_name: true, key_type: "ec" });
    await waitFor(
      () => events.filter((e) => e.type === "changed").length >= 2,
      6000,
      "a certificate after the failures",
    );
    const last = events.filter((e) => e.type === "changed").at(-1)!;
    assert.ok(last.type === "changed");
    keys.push(dec.decode(last.secret.values.get("private_key")));
  } finally {
    await source.close();
    await client.close();
    await server.close();
  }
  // No private key in any log line or error message.
  for (const k of keys) {
    const body = k.split("\n").slice(1, -1).join("");
    for (const part of [body, ...k.split("\n").slice(1, -1)]) {
      assert.ok(!log.text.includes(part), "no private key in the log");
    }
  }
  for (const e of events) {
    if (e.type === "error") assert.ok(!Deno.inspect(e.error).includes("PRIVATE KEY"));
  }
});
