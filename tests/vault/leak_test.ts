/**
 * Runs the Vault client and source through successes and every fault, collects every error (message, cause chain
 * and stack as `Deno.inspect` prints them), every event and every log line, then scans them for tokens,
 * secret_ids, JWTs and secret values. For Vault PKI, the same in-process and through `x00 run` as a process: no
 * private key, certificate or token in x00's stdout, stderr or audit log, when an issue is refused, when Vault's
 * error text quotes them, or when a renewal fails.
 */
import assert from "node:assert/strict";
import type { Delivery, SecretSpec, VaultSource } from "../../src/policy/types.ts";
import { type RotationEvent, VaultSecretSource } from "../../src/secrets/vault/mod.ts";
import {
  appRoleAuth,
  certAuth,
  issueCertificate,
  jwtAuth,
  kubernetesAuth,
  LeaseKeeper,
  readKvV2,
  readLeased,
  tokenAuth,
  type VaultClient,
} from "../../src/vault/mod.ts";
import {
  certs,
  LogSink,
  mtlsClient,
  pemParts,
  quotingFaults,
  startServer,
  vaultTokenYaml,
  waitFor,
} from "./_helpers.ts";
import { generateJwtKey, signJwt, workloadClaims } from "./_jwt.ts";
import { startX00 } from "./_process.ts";

const POLICIES = ["secret/*", "kv/*", "database/creds/*", "sys/leases/renew"];

function spec(name: string, source: Omit<VaultSource, "type">, keys: string[]): SecretSpec {
  return {
    name,
    source: { type: "vault", ...source },
    deliveries: new Map<string, Delivery>(
      keys.map((k) => [k, { kind: "env", var: k.toUpperCase() }]),
    ),
  };
}

Deno.test("no token, secret_id, JWT or secret value appears in any error, event or log line", async () => {
  const server = await startServer();
  const logs = new LogSink();
  const collected: string[] = [];
  const secrets = new Set<string>();
  const record = (err: unknown) => {
    collected.push(Deno.inspect(err, { depth: 10 }));
    if (err instanceof Error) collected.push(err.message, String(err.stack));
  };
  const attempt = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      record(err);
    }
  };

  const secretId = "6a1b2c3d-secret-id-4e5f";
  const wrongSecretId = "9z8y7x-wrong-secret-id";
  const jwt =
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDphcHAifQ.c2lnLXNlY3JldA";
  const wrongJwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3cm9uZyJ9.d3Jvbmctc2ln";
  for (const s of [secretId, wrongSecretId, jwt, wrongJwt]) secrets.add(s);
  const kvValues = { password: "kv-password-Zq81", api_key: "kv-api-key-77Hx" };
  for (const v of Object.values(kvValues)) secrets.add(v);

  server.addAppRole({ roleId: "role-id-leak", secretId, ttlS: 1, maxTtlS: 60, policies: POLICIES });
  server.addKubernetesRole({ role: "app", jwt, policies: POLICIES });
  server.addDatabaseRole("app", { ttlS: 1, maxTtlS: 2 });
  server.putKvV2("secret", "app", kvValues);

  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/role_id`, "role-id-leak");
  await Deno.writeTextFile(`${dir}/secret_id`, secretId);
  await Deno.writeTextFile(`${dir}/bad_secret_id`, wrongSecretId);
  await Deno.writeTextFile(`${dir}/jwt`, jwt);
  await Deno.writeTextFile(`${dir}/bad_jwt`, wrongJwt);
  await Deno.writeTextFile(`${dir}/token`, server.rootToken);
  // JWT, cert and a response-wrapped secret_id.
  const key = await generateJwtKey();
  server.configureJwt({ publicKeys: [key.publicKey] });
  server.addJwtRole("app", { boundAudiences: ["vault"], policies: POLICIES });
  const signed = await signJwt(key.privateKey, workloadClaims());
  const expired = await signJwt(key.privateKey, workloadClaims({ ttlS: -600 }));
  await Deno.writeTextFile(`${dir}/signed_jwt`, signed);
  await Deno.writeTextFile(`${dir}/expired_jwt`, expired);
  server.addCertRole("web", {
    certificate: await Deno.readTextFile((await certs()).caCert),
    policies: POLICIES,
  });
  const wrapped = server.wrapNewSecretId({ role: "app" });
  const usedWrap = server.wrapNewSecretId({ role: "app" });
  const swapped = server.wrapResponse({ secret_id: "swapped-secret-id-1" }, "sys/wrapping/wrap");
  for (const s of [signed, expired, wrapped.secretId, usedWrap.secretId, "swapped-secret-id-1"]) {
    secrets.add(s);
  }
  await Deno.writeTextFile(`${dir}/wrapped`, wrapped.wrappingToken);
  await Deno.writeTextFile(`${dir}/used_wrap`, usedWrap.wrappingToken);
  await Deno.writeTextFile(`${dir}/swapped`, swapped);
  const wrappedAuth = (file: string) =>
    appRoleAuth({
      roleIdFile: `${dir}/role_id`,
      secretIdFile: `${dir}/${file}`,
      secretIdResponseWrappingPath: "auth/approle/role/app/secret-id",
    });

  const clients: VaultClient[] = [];
  const make = async (opts: Parameters<typeof mtlsClient>[1]) => {
    const c = await mtlsClient(server, { logger: logs.logger, ...opts });
    clients.push(c);
    return c;
  };
  const events: RotationEvent[] = [];
  const sources: VaultSecretSource[] = [];
  const keepers: LeaseKeeper[] = [];
  try {
    const approle = await make({
      auth: appRoleAuth({ roleIdFile: `${dir}/role_id`, secretIdFile: `${dir}/secret_id` }),
    });
    const k8s = await make({ auth: kubernetesAuth({ role: "app", tokenPath: `${dir}/jwt` }) });
    const fileToken = await make({ auth: tokenAuth({ tokenFile: `${dir}/token` }) });
    const envToken = await make({
      auth: tokenAuth({ token: server.rootToken }),
      maxRetries: 1,
      timeoutMs: 300,
    });

    const jwtClient = await make({
      auth: jwtAuth({ role: "app", tokenPath: `${dir}/signed_jwt` }),
    });
    const cert = await make({ auth: certAuth({ name: "web" }) });
    const unwrapped = await make({ auth: wrappedAuth("wrapped") });

    // Successes, with their values remembered as secrets.
    for (const c of [approle, k8s, fileToken, envToken, jwtClient, cert, unwrapped]) {
      const s = await readKvV2(c, "secret", "app");
      for (const v of Object.values(s.data)) secrets.add(String(v));
    }
    const creds = await readLeased(approle, "database/creds/app");
    for (const v of Object.values(creds.data)) secrets.add(String(v));
    const keeper = new LeaseKeeper(approle, creds, {
      label: "db",
      logger: logs.logger,
      onReissue: () => {},
    });
    keepers.push(keeper);
    keeper.start();
    const source = new VaultSecretSource(
      approle,
      spec("db", { engine: "dynamic", path: "database/creds/app" }, ["username", "password"]),
      { logger: logs.logger },
    );
    sources.push(source);
    source.subscribe((e) => {
      events.push(e);
      if (e.type === "changed") {
        for (const v of e.secret.values.values()) secrets.add(new TextDecoder().decode(v));
      }
    });
    const first = await source.fetch();
    for (const v of first.values.values()) secrets.add(new TextDecoder().decode(v));

    // Faults.
    await attempt(envToken.read("secret/data/missing"));
    await attempt(
      (await make({ auth: tokenAuth({ token: server.createToken({ policies: ["nothing"] }) }) }))
        .read(
          "secret/data/app",
        ),
    );
    server.faults.errorBurst = {
      count: 3,
      status: 500,
      path: "secret/",
      errors: [`token ${server.rootToken} is bad`, `secret ${kvValues.password} leaked`],
    };
    await attempt(envToken.read("secret/data/app"));
    server.faults = { rateLimit: { count: 5, retryAfterS: 0, path: "secret/" } };
    await attempt(envToken.read("secret/data/app"));
    server.faults = { sealed: true };
    await attempt(envToken.read("secret/data/app"));
    server.faults = { standby: true };
    await attempt(envToken.read("secret/data/app"));
    server.faults = { drop: { count: 5, path: "secret/" } };
    await attempt(envToken.read("secret/data/app"));
    server.faults = { delay: { count: 2, ms: 600, path: "secret/" } };
    await attempt(envToken.read("secret/data/app"));
    server.faults = {
      malformed: { count: 3, body: `{"data":{"password":"${kvValues.password}"`, path: "secret/" },
    };
    await attempt(envToken.read("secret/data/app"));
    server.faults = {};
    await attempt(
      (await make({
        auth: appRoleAuth({ roleIdFile: `${dir}/role_id`, secretIdFile: `${dir}/bad_secret_id` }),
      })).login(),
    );
    await attempt(
      (await make({ auth: kubernetesAuth({ role: "app", tokenPath: `${dir}/bad_jwt` }) })).login(),
    );
    await attempt(
      (await make({ auth: kubernetesAuth({ role: "nope", tokenPath: `${dir}/jwt` }) })).login(),
    );
    await attempt(
      (await make({ auth: jwtAuth({ role: "app", tokenPath: `${dir}/expired_jwt` }) })).login(),
    );
    await attempt(
      (await make({ auth: jwtAuth({ role: "x", tokenPath: `${dir}/signed_jwt` }) })).login(),
    );
    await attempt((await make({ auth: certAuth({ name: "nope" }) })).login());
    await (await make({})).write("sys/wrapping/unwrap", {}, {
      token: usedWrap.wrappingToken,
      authenticated: false,
    });
    await attempt((await make({ auth: wrappedAuth("used_wrap") })).login());
    await attempt((await make({ auth: wrappedAuth("swapped") })).login());
    // Renewal refused, tokens expired, leases expired: background paths that only log.
    server.faults.refuseTokenRenewal = true;
    server.expireTokens();
    await readKvV2(approle, "secret", "app");
    server.expireLeases();
    await waitFor(() => events.some((e) => e.type === "changed"), 4000, "a re-issue");
    server.faults = { sealed: true };
    await new Promise((r) => setTimeout(r, 1500)); // renewals and re-issues fail while sealed
    server.faults = {};
    for (const e of events) if (e.type === "error") record(e.error);
    for (const t of server.allTokens) secrets.add(t);
  } finally {
    for (const k of keepers) k.stop();
    for (const s of sources) await s.close();
    for (const c of clients) await c.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }

  const haystack = [...collected, logs.text, Deno.inspect(events.filter((e) => e.type === "error"))]
    .join("\n");
  assert.ok(collected.length >= 12, `only ${collected.length} errors collected`);
  assert.ok(logs.lines.length >= 10, `only ${logs.lines.length} log lines`);
  assert.match(haystack, /permission denied/);
  assert.match(haystack, /Vault is sealed/);
  assert.match(
    haystack,
    /\[redacted\] is bad/,
    "server text quoting a token is kept, the token is not",
  );
  for (const s of secrets) {
    if (s.length < 6) continue;
    assert.ok(!haystack.includes(s), `a credential or secret value leaked: ${s.slice(0, 3)}…`);
  }
});

/** A pki entry `tls` (role `web`) delivering `keys` as env variables named after them. */
function pkiSpec(ttlS: number, keys: string[]): SecretSpec {
  return spec("tls", {
    engine: "pki",
    mount: "pki",
    path: "issue/web",
    pki: { role: "web", common_name: "app.example.com", ttl_s: ttlS, renew_fraction: 0.5 },
  }, keys);
}

Deno.test({
  name:
    "no PKI private key, certificate or Vault token appears in x00's output, errors, events or logs (issue refused, renewal failed)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startServer();
    const dir = await Deno.makeTempDir({ prefix: "x00-leak-pki-" });
    const logs = new LogSink();
    const collected: string[] = [];
    const events: RotationEvent[] = [];
    const record = (err: unknown) => {
      collected.push(Deno.inspect(err, { depth: 10 }));
      if (err instanceof Error) collected.push(err.message, String(err.stack));
    };
    const errors = () => events.filter((e) => e.type === "error").length;
    server.addPkiRole("web", {
      allowed_domains: ["example.com"],
      allow_subdomains: true,
      key_type: "ec",
    });
    const client = await mtlsClient(server, {
      auth: tokenAuth({ token: server.rootToken }),
      logger: logs.logger,
    });
    const source = new VaultSecretSource(
      client,
      pkiSpec(4, ["certificate", "private_key", "ca_chain", "serial_number"]),
      { logger: logs.logger },
    );
    source.subscribe((e) => events.push(e));
    try {
      // In process: an issue, a renewal, then renewals failing in every way, and refused issues.
      await source.fetch();
      await waitFor(() => events.some((e) => e.type === "changed"), 6000, "a renewal");
      server.faults = quotingFaults(server.pki().issued.at(-1)!, server.rootToken);
      await waitFor(() => errors() >= 1, 8000, "a renewal refused with quoted secrets");
      const last = server.pki().issued.at(-1)!;
      server.faults = {
        malformed: {
          count: 1000,
          body: `{"data":{"private_key":${JSON.stringify(last.privateKey)},"certificate":"`,
          path: "pki/",
        },
      };
      await waitFor(() => errors() >= 2, 8000, "a malformed renewal answer");
      server.faults = {};
      server.deletePkiRole("web");
      await waitFor(() => errors() >= 3, 8000, "a renewal of a removed role");
      for (const e of events) if (e.type === "error") record(e.error);
      for (const cn of ["app.example.com", "evil.test"]) {
        try {
          await issueCertificate(client, "pki", cn === "evil.test" ? "web" : "nope", {
            commonName: cn,
          });
        } catch (e) {
          record(e);
        }
      }
    } finally {
      await source.close();
      await client.close();
    }

    // x00 run as a process: start-up refused (by the role; by Vault quoting secrets), then renewals failing.
    server.addPkiRole("web", {
      allowed_domains: ["example.com"],
      allow_subdomains: true,
      key_type: "ec",
    });
    const policy = async (commonName: string) => {
      const file = `${dir}/policy-${commonName}.yaml`;
      await Deno.writeTextFile(
        file,
        `policy:\n  mode: audit\n` +
          `secrets:\n  - name: tls\n    source: { type: vault, engine: pki, mount: pki, role: web, ` +
          `common_name: ${commonName}, ttl: 4s, renew_fraction: 0.5 }\n` +
          `    keys:\n      certificate: { file: TLS_CERT_FILE }\n      private_key: { env: TLS_KEY }\n` +
          `      serial_number: { env: TLS_SERIAL }\n` +
          `audit:\n  output: ${dir}/audit.jsonl\n` +
          `rotation: { on_change: restart, grace_period: 1s }\n` +
          (await vaultTokenYaml(server, dir, ["pki/issue/*"])),
      );
      return file;
    };
    const outputs: string[] = [];
    const run = (file: string) =>
      startX00(file, `echo "START $TLS_SERIAL"; while :; do sleep 0.2; done`, {
        X00_LOG_LEVEL: "debug",
      });
    const keep = async (x: ReturnType<typeof run>) => {
      const code = await x.finish();
      outputs.push(x.stderr, x.lines.join("\n"));
      return code;
    };
    try {
      let x = run(await policy("evil.test"));
      assert.equal((await x.status()).code, 5);
      await keep(x);
      assert.match(outputs.at(-2)!, /common name evil\.test not allowed by this role/);
      server.faults = quotingFaults(server.pki().issued.at(-1)!, server.rootToken);
      x = run(await policy("app.example.com"));
      assert.equal((await x.status()).code, 5);
      await keep(x);
      assert.match(outputs.at(-2)!, /HTTP 500/);
      server.faults = {};

      x = run(await policy("app.example.com"));
      const serial = (await x.waitLine(/^START /)).split(" ")[1]!;
      await x.waitLine(new RegExp(`^START (?!${serial}$)`), 10_000); // a renewal restarted it
      server.faults = quotingFaults(server.pki().issued.at(-1)!, server.rootToken);
      await waitFor(
        () => /vault: keeping the running workload: .*HTTP 500/.test(x.stderr),
        10_000,
        "a failed renewal in x00 run",
      );
      server.faults = {};
      server.deletePkiRole("web");
      await waitFor(
        () => /unknown role: web/.test(x.stderr),
        10_000,
        "a renewal of a removed role in x00 run",
      );
      await keep(x);
      outputs.push(await Deno.readTextFile(`${dir}/audit.jsonl`));
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }

    const haystack = [...collected, logs.text, ...outputs].join("\n");
    assert.match(haystack, /unknown role: web/);
    assert.match(
      haystack,
      /\[redacted\] expired/,
      "server text quoting a token is kept, the token is not",
    );
    assert.ok(!haystack.includes("PRIVATE KEY"), "no private key block");
    const issued = server.pki().issued;
    assert.ok(issued.length >= 4, `${issued.length} certificates issued`);
    for (const c of issued) {
      for (const part of [...pemParts(c.privateKey), ...pemParts(c.certificate)]) {
        assert.ok(
          !haystack.includes(part),
          `a PKI key or certificate leaked: ${part.slice(0, 8)}…`,
        );
      }
    }
    for (const t of server.allTokens) {
      assert.ok(!haystack.includes(t), `a Vault token leaked: ${t.slice(0, 4)}…`);
    }
  },
});
