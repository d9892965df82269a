/**
 * JWT auth, TLS certificate auth and the response-wrapped AppRole secret_id against the test server: success and
 * the failure modes, each a one-line message that never contains the JWT or a token.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import {
  appRoleAuth,
  certAuth,
  jwtAuth,
  loadTlsMaterial,
  readKvV2,
  VaultClient,
  VaultError,
} from "../../src/vault/mod.ts";
import { certs, mtlsClient, rejection, startServer } from "./_helpers.ts";
import { generateJwtKey, signJwt, workloadClaims } from "./_jwt.ts";
import type { VaultTestServer } from "./server.ts";

const POLICIES = ["secret/*"];

/** Asserts a one-line message containing none of `secrets`, in the message or anywhere in the error. */
function assertClean(err: Error, secrets: string[]): void {
  assert.ok(!err.message.includes("\n"), `one line: ${err.message}`);
  const all = Deno.inspect(err, { depth: 10 });
  for (const s of secrets) assert.ok(!all.includes(s), `no credential in: ${err.message}`);
}

async function jwtSetup(server: VaultTestServer) {
  const key = await generateJwtKey();
  server.configureJwt({ publicKeys: [key.publicKey], boundIssuer: "https://issuer.test" });
  server.addJwtRole("app", { boundAudiences: ["vault"], policies: POLICIES });
  server.putKvV2("secret", "app", { k: "v" });
  const dir = await Deno.makeTempDir();
  return { key, dir, file: `${dir}/jwt` };
}

Deno.test("jwtAuth() logs in with the role and the JWT file, re-read at every login", async () => {
  const server = await startServer();
  const { key, dir, file } = await jwtSetup(server);
  const first = await signJwt(key.privateKey, workloadClaims());
  await Deno.writeTextFile(file, first + "\n");
  const client = await mtlsClient(server, { auth: jwtAuth({ role: "app", tokenPath: file }) });
  try {
    assert.equal((await readKvV2(client, "secret", "app")).data.k, "v");
    assert.equal(server.requestsTo("auth/jwt/login").length, 1);
    // The token rotates; the next login reads the new one (and the file is kept).
    const second = await signJwt(key.privateKey, workloadClaims({ ttlS: 900 }));
    await Deno.writeTextFile(file, second);
    server.expireTokens();
    assert.equal((await readKvV2(client, "secret", "app")).data.k, "v");
    assert.equal(server.requestsTo("auth/jwt/login").length, 2);
    assert.ok(Deno.statSync(file).isFile, "remove_jwt_after_reading is false by default");
  } finally {
    await client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jwtAuth() accepts a JWT expired within Vault's 60 s clock skew leeway", async () => {
  const server = await startServer();
  const { key, dir, file } = await jwtSetup(server);
  await Deno.writeTextFile(file, await signJwt(key.privateKey, workloadClaims({ ttlS: -30 })));
  const client = await mtlsClient(server, { auth: jwtAuth({ role: "app", tokenPath: file }) });
  try {
    await client.login();
  } finally {
    await client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jwtAuth() failures: expired, wrong role, wrong audience, bad signature — Vault's 400s", async () => {
  const server = await startServer();
  const { key, dir, file } = await jwtSetup(server);
  const other = await generateJwtKey();
  const cases: [string, Promise<string>, string, RegExp][] = [
    [
      "expired",
      signJwt(key.privateKey, workloadClaims({ ttlS: -120 })),
      "app",
      /auth\/jwt\/login.*HTTP 400.*error validating token: invalid expiration time \(exp\) claim: token is expired$/,
    ],
    [
      "wrong role",
      signJwt(key.privateKey, workloadClaims()),
      "nope",
      /HTTP 400\): role "nope" could not be found$/,
    ],
    [
      "wrong audience",
      signJwt(key.privateKey, workloadClaims({ aud: "someone-else" })),
      "app",
      /error validating token: invalid audience \(aud\) claim: audience claim does not match any expected audience$/,
    ],
    [
      "signed by another key",
      signJwt(other.privateKey, workloadClaims()),
      "app",
      /error verifying token signature: no known key successfully validated the token signature$/,
    ],
  ];
  try {
    for (const [what, jwtP, role, re] of cases) {
      const jwt = await jwtP;
      await Deno.writeTextFile(file, jwt);
      const client = await mtlsClient(server, { auth: jwtAuth({ role, tokenPath: file }) });
      try {
        const err = await rejection(client.login());
        assert.ok(err instanceof VaultError && err.kind === "bad_request", what);
        assert.match(err.message, re, what);
        assertClean(err, [jwt, jwt.split(".")[1]!, jwt.split(".")[2]!]);
      } finally {
        await client.close();
      }
    }
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jwtAuth() names a missing or empty JWT file and sends nothing", async () => {
  const server = await startServer();
  const { dir, file } = await jwtSetup(server);
  try {
    for (
      const [setup, re] of [
        [() => {}, /^Cannot read JWT file '[^']+\/jwt': no such file or directory$/],
        [
          () => Deno.writeTextFileSync(file, " \n"),
          /^Cannot authenticate to Vault: JWT file '[^']+\/jwt' is empty$/,
        ],
      ] as const
    ) {
      setup();
      const client = await mtlsClient(server, { auth: jwtAuth({ role: "app", tokenPath: file }) });
      try {
        const err = await rejection(client.login());
        assert.ok(err instanceof VaultError && err.kind === "auth");
        assert.match(err.message, re);
      } finally {
        await client.close();
      }
    }
    assert.equal(server.requestsTo("auth/jwt/login").length, 0);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jwtAuth() with removeJwtAfterReading deletes the file and logs in again from memory", async () => {
  const server = await startServer();
  const { key, dir, file } = await jwtSetup(server);
  await Deno.writeTextFile(file, await signJwt(key.privateKey, workloadClaims()));
  const client = await mtlsClient(server, {
    auth: jwtAuth({
      role: "app",
      tokenPath: file,
      removeJwtAfterReading: true,
      mountPath: "auth/jwt",
    }),
  });
  try {
    await client.login();
    assert.throws(() => Deno.statSync(file));
    server.expireTokens();
    assert.equal((await readKvV2(client, "secret", "app")).data.k, "v");
    assert.equal(server.requestsTo("auth/jwt/login").length, 2);
  } finally {
    await client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- cert ----------------------------------------------------------------------------------------------------

async function certClient(
  server: VaultTestServer,
  auth: ReturnType<typeof certAuth>,
  pair?: [string, string],
): Promise<VaultClient> {
  const c = await certs();
  return new VaultClient({
    address: server.address,
    tls: await loadTlsMaterial({
      caCert: c.caCert,
      ...(pair ? { clientCert: pair[0], clientKey: pair[1] } : {}),
    }),
    maxRetries: 0,
    timeoutMs: 2000,
    auth,
  });
}

Deno.test("certAuth() logs in with the mTLS client certificate against a named role", async () => {
  const server = await startServer({ clientCertOptional: true });
  const c = await certs();
  server.addCertRole("web", { certificate: await Deno.readTextFile(c.caCert), policies: POLICIES });
  server.putKvV2("secret", "app", { k: "v" });
  const client = await certClient(server, certAuth({ name: "web" }), [c.clientCert, c.clientKey]);
  const any = await certClient(server, certAuth(), [c.clientCert, c.clientKey]);
  try {
    assert.equal((await readKvV2(client, "secret", "app")).data.k, "v");
    assert.equal(server.requestsTo("auth/cert/login")[0]!.clientCn, "x00-client");
    await any.login(); // no name: every role of the mount is tried, as Vault does
  } finally {
    await client.close();
    await any.close();
    await server.close();
  }
});

Deno.test("certAuth() failures: no certificate, untrusted, revoked, wrong role — Vault's 400s", async () => {
  const server = await startServer({ clientCertOptional: true });
  const c = await certs();
  server.addCertRole("web", { certificate: await Deno.readTextFile(c.caCert), policies: POLICIES });
  const mine: [string, string] = [c.clientCert, c.clientKey];
  const serial = new X509Certificate(await Deno.readTextFile(c.clientCert)).serialNumber;
  const cases: [string, () => Promise<VaultClient>, RegExp][] = [
    [
      "no client certificate",
      () => certClient(server, certAuth({ name: "web" })),
      /'auth\/cert\/login'.*HTTP 400\): client certificate must be supplied$/,
    ],
    [
      "a certificate the role does not trust",
      () => certClient(server, certAuth({ name: "web" }), [c.otherClientCert, c.otherClientKey]),
      /HTTP 400\): invalid certificate or no client certificate supplied$/,
    ],
    [
      "a role name that does not exist",
      () => certClient(server, certAuth({ name: "nope" }), mine),
      /HTTP 400\): invalid certificate or no client certificate supplied$/,
    ],
    [
      "a revoked certificate",
      () => {
        server.revokeCertSerial(serial);
        return certClient(server, certAuth({ name: "web" }), mine);
      },
      /HTTP 400\): no chain matching all constraints could be found for this login certificate$/,
    ],
  ];
  try {
    for (const [what, make, re] of cases) {
      const client = await make();
      try {
        const err = await rejection(client.login());
        assert.ok(err instanceof VaultError && err.kind === "bad_request", what);
        assert.match(err.message, re, what);
        assertClean(err, server.allTokens);
      } finally {
        await client.close();
      }
    }
  } finally {
    await server.close();
  }
});

// ---- response-wrapped secret_id -------------------------------------------------------------------------------

const WRAP_PATH = "auth/approle/role/app/secret-id";

async function wrapSetup(server: VaultTestServer) {
  server.addAppRole({ roleId: "role-1", secretId: "never-used", policies: POLICIES });
  server.putKvV2("secret", "app", { k: "v" });
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/role_id`, "role-1");
  const auth = appRoleAuth({
    roleIdFile: `${dir}/role_id`,
    secretIdFile: `${dir}/secret_id`,
    secretIdResponseWrappingPath: WRAP_PATH,
    removeSecretIdFileAfterReading: true,
  });
  return { dir, auth };
}

Deno.test("appRoleAuth() unwraps a response-wrapped secret_id once and re-logs in from memory", async () => {
  const server = await startServer();
  const { dir, auth } = await wrapSetup(server);
  const { wrappingToken, secretId } = server.wrapNewSecretId({ role: "app" });
  await Deno.writeTextFile(`${dir}/secret_id`, wrappingToken);
  const client = await mtlsClient(server, { auth });
  try {
    assert.equal((await readKvV2(client, "secret", "app")).data.k, "v");
    assert.deepEqual(
      server.requests.filter((r) => /^(sys\/wrapping|auth\/approle)/.test(r.path)).map((r) =>
        r.path
      ),
      ["sys/wrapping/lookup", "sys/wrapping/unwrap", "auth/approle/login"],
    );
    assert.equal(
      server.requestsTo("sys/wrapping/unwrap")[0]!.headers["x-vault-token"],
      wrappingToken,
    );
    assert.throws(() => Deno.statSync(`${dir}/secret_id`), "removed after reading");
    // A later login (the file gone, or holding the same spent token) uses the unwrapped secret_id.
    server.expireTokens();
    await readKvV2(client, "secret", "app");
    await Deno.writeTextFile(`${dir}/secret_id`, wrappingToken);
    server.expireTokens();
    await readKvV2(client, "secret", "app");
    assert.equal(server.requestsTo("sys/wrapping/unwrap").length, 1);
    assert.equal(server.requestsTo("auth/approle/login").length, 3);
    // A new wrapping token in the file is unwrapped.
    const next = server.wrapNewSecretId({ role: "app" });
    await Deno.writeTextFile(`${dir}/secret_id`, next.wrappingToken);
    server.expireTokens();
    await readKvV2(client, "secret", "app");
    assert.equal(server.requestsTo("sys/wrapping/unwrap").length, 2);
    assert.ok(!secretId.includes(wrappingToken));
  } finally {
    await client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("appRoleAuth() fails loudly when someone else unwrapped the secret_id first", async () => {
  const server = await startServer();
  const { dir, auth } = await wrapSetup(server);
  const { wrappingToken, secretId } = server.wrapNewSecretId({ role: "app" });
  await Deno.writeTextFile(`${dir}/secret_id`, wrappingToken);
  const attacker = await mtlsClient(server);
  const client = await mtlsClient(server, { auth });
  try {
    const stolen = await attacker.write("sys/wrapping/unwrap", {}, {
      token: wrappingToken,
      authenticated: false,
    });
    assert.equal(stolen.data?.secret_id, secretId);
    const err = await rejection(client.login());
    assert.ok(err instanceof VaultError && err.kind === "auth");
    assert.match(
      err.message,
      /^Cannot unwrap the response-wrapped AppRole secret_id of '[^']+': Vault says the wrapping token is not valid or does not exist \(sys\/wrapping\/lookup, HTTP 400\): it was already used, expired or revoked; if X00 did not unwrap it, someone else may have/,
    );
    assertClean(err, [wrappingToken, secretId]);
    assert.equal(server.requestsTo("auth/approle/login").length, 0);
    assert.ok(
      Deno.statSync(`${dir}/secret_id`).isFile,
      "a refused token's file is left for inspection",
    );
  } finally {
    await attacker.close();
    await client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("appRoleAuth() refuses a wrapping token created at another path and does not unwrap it", async () => {
  const server = await startServer();
  const { dir, auth } = await wrapSetup(server);
  // The attacker wraps a secret_id of their own with sys/wrapping/wrap and swaps the file.
  const attacker = await mtlsClient(server);
  const swapped = await attacker.write("sys/wrapping/wrap", { secret_id: "attacker-sid" }, {
    token: server.createToken({ policies: ["sys/wrapping/wrap"] }),
    authenticated: false,
  });
  const token = (swapped.wrap_info as { token: string; creation_path: string }).token;
  assert.equal((swapped.wrap_info as { creation_path: string }).creation_path, "sys/wrapping/wrap");
  await Deno.writeTextFile(`${dir}/secret_id`, token);
  const client = await mtlsClient(server, { auth });
  try {
    const err = await rejection(client.login());
    assert.ok(err instanceof VaultError && err.kind === "auth");
    assert.match(
      err.message,
      /^Refusing the response-wrapped AppRole secret_id of '[^']+': the wrapping token was created at 'sys\/wrapping\/wrap', not at secret_id_response_wrapping_path 'auth\/approle\/role\/app\/secret-id' \(a swapped token\?\); it was not unwrapped$/,
    );
    assertClean(err, [token]);
    assert.equal(server.requestsTo("sys/wrapping/unwrap").length, 0);
    assert.equal(server.requestsTo("auth/approle/login").length, 0);
  } finally {
    await attacker.close();
    await client.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
