import assert from "node:assert/strict";
import {
  backoffDelay,
  classifyTransportError,
  isRetryableStatus,
  parseRetryAfter,
  parseVaultCliDuration,
  readVaultEnv,
  splitPemCertificates,
  VaultError,
} from "../../src/vault/mod.ts";
import { unwrapMultiError } from "../../src/vault/client.ts";
import { Redactor } from "../../src/vault/_redact.ts";

Deno.test("readVaultEnv() reads every VAULT_* variable and ignores empty ones", () => {
  const s = readVaultEnv({
    VAULT_ADDR: "https://v:8200",
    VAULT_TOKEN: "hvs.abc",
    VAULT_CACERT: "/ca.pem",
    VAULT_CAPATH: "/ca.d",
    VAULT_CLIENT_CERT: "/c.pem",
    VAULT_CLIENT_KEY: "/c.key",
    VAULT_NAMESPACE: "ns1",
    VAULT_TLS_SERVER_NAME: "vault.internal",
    VAULT_SKIP_VERIFY: "1",
    VAULT_MAX_RETRIES: "4",
    VAULT_CLIENT_TIMEOUT: "90",
  });
  assert.deepEqual(s, {
    address: "https://v:8200",
    token: "hvs.abc",
    caCert: "/ca.pem",
    caPath: "/ca.d",
    clientCert: "/c.pem",
    clientKey: "/c.key",
    namespace: "ns1",
    tlsServerName: "vault.internal",
    tlsSkipVerify: true,
    maxRetries: 4,
    timeoutMs: 90_000,
  });
  assert.deepEqual(readVaultEnv({ VAULT_ADDR: "", VAULT_SKIP_VERIFY: " " }), {});
  assert.equal(readVaultEnv({ VAULT_SKIP_VERIFY: "False" }).tlsSkipVerify, false);
});

Deno.test("readVaultEnv() names the variable of a bad value", () => {
  assert.throws(
    () => readVaultEnv({ VAULT_SKIP_VERIFY: "yes" }),
    /VAULT_SKIP_VERIFY as it must be a boolean/,
  );
  assert.throws(
    () => readVaultEnv({ VAULT_CLIENT_TIMEOUT: "soon" }),
    /VAULT_CLIENT_TIMEOUT .*current value is 'soon'/,
  );
  assert.throws(() => readVaultEnv({ VAULT_MAX_RETRIES: "-1" }), VaultError);
});

Deno.test("parseVaultCliDuration() reads Go durations and bare seconds", () => {
  assert.equal(parseVaultCliDuration("1h2m3s"), 3_723_000);
  assert.equal(parseVaultCliDuration("500ms"), 500);
  assert.equal(parseVaultCliDuration("1.5s"), 1500);
  assert.equal(parseVaultCliDuration("30"), 30_000);
  assert.equal(parseVaultCliDuration("1x"), undefined);
  assert.equal(parseVaultCliDuration(""), undefined);
});

Deno.test("isRetryableStatus() retries 412, 429 and 5xx except 501", () => {
  assert.deepEqual(
    [400, 403, 404, 412, 429, 500, 501, 502, 503].map(isRetryableStatus),
    [false, false, false, true, true, true, false, true, true],
  );
});

Deno.test("backoffDelay() grows exponentially, is capped, and jitters between half and all", () => {
  const o = { maxRetries: 9, minDelayMs: 100, maxDelayMs: 1000 };
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, o, () => 1)), [
    100,
    200,
    400,
    800,
    1000,
    1000,
  ]);
  assert.equal(backoffDelay(3, o, () => 0), 400);
});

Deno.test("parseRetryAfter() reads seconds and HTTP dates", () => {
  assert.equal(parseRetryAfter("3"), 3000);
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter("Thu, 01 Jan 1970 00:00:10 GMT", 4000), 6000);
  assert.equal(parseRetryAfter("later"), undefined);
});

Deno.test("Redactor removes known credentials, token shapes, JWTs and registered values", () => {
  const r = new Redactor();
  r.add("my-secret-id-123");
  r.addValue("p4ssw0rd-value");
  const out = r.clean(
    "bad my-secret-id-123 hvs.CAESIabcdefghijkl s.abcdefghijklmnopqrstuvwx eyJhbGc.eyJzdWIi.c2ln 'p4ssw0rd-value'\n",
  );
  assert.equal(out, "bad [redacted] [redacted] [redacted] [redacted] '[redacted]'");
  assert.ok(r.clean("x".repeat(500)).length <= 201);
});

Deno.test("Redactor removes PEM blocks, whole or cut short, and the long words of registered multi-word values", () => {
  const r = new Redactor();
  const line1 = "MHcCAQEEIJDJHmIAc2F4DyNiU9Hi+UMuau6/GqcD4MW4/QpYJGZCoAoGCCqGSM49";
  const line2 = "AwEHoUQDQgAE34TNOE5obvfWjKGDihwabNJaCi7k0H+DCpdG2ShI/54MSrS/HbAV";
  const key = `-----BEGIN EC PRIVATE KEY-----\n${line1}\n${line2}\n-----END EC PRIVATE KEY-----`;
  assert.equal(r.clean(`bad key ${key} for app`), "bad key [redacted] for app");
  assert.equal(
    r.clean(`cut: -----BEGIN CERTIFICATE-----\n${line1}\n${line2.slice(0, 20)}`),
    "cut: [redacted]",
  );
  // Quoted without its armour: found only once the value is registered, line by line.
  assert.equal(r.clean(`line ${line2} here`), `line ${line2} here`);
  r.addValue(key);
  assert.equal(r.clean(`line ${line2} here; "${line1}"`), 'line [redacted] here; "[redacted]"');
  // Short words of a multi-word value stay (too many hits): "horse" of a passphrase.
  r.addValue("correct horse battery staple");
  assert.equal(r.clean("horse 404"), "horse 404");
});

Deno.test("classifyTransportError() tells TLS failures apart and says what to set", () => {
  const a = new URL("https://vault:8200");
  const cases: [string, RegExp][] = [
    ["invalid peer certificate: UnknownIssuer", /not signed by a trusted CA/],
    [
      'invalid peer certificate: certificate not valid for name "vault"',
      /not valid for the name 'vault'/,
    ],
    ["received fatal alert: CertificateRequired", /requires a client certificate/],
    [
      "received fatal alert: BadCertificate",
      /refused the client certificate \(TLS alert BadCertificate\)/,
    ],
    ["invalid peer certificate: Expired", /server certificate has expired/],
    ["tcp connect error: Connection refused (os error 111)", /connection refused/],
    ["dns error: failed to lookup address information", /does not resolve/],
  ];
  for (const [text, re] of cases) {
    assert.match(classifyTransportError(text, a, false).message, re, text);
  }
  assert.equal(classifyTransportError("Connection refused", a, false).kind, "connection");
  assert.equal(classifyTransportError("UnknownIssuer", a, false).kind, "tls");
});

Deno.test("splitPemCertificates() splits a bundle", () => {
  const block = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
  assert.equal(splitPemCertificates(`${block}\n${block}\n`).length, 2);
});

Deno.test("unwrapMultiError() takes the errors out of Vault's go-multierror text", () => {
  assert.deepEqual(unwrapMultiError("1 error occurred:\n\t* permission denied\n\n"), [
    "permission denied",
  ]);
  assert.deepEqual(unwrapMultiError("2 errors occurred:\n\t* a\n\t* b\n\n"), ["a", "b"]);
  assert.deepEqual(unwrapMultiError("permission denied"), ["permission denied"]);
});
