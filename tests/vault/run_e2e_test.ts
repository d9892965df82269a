/**
 * `x00 run` end to end with Vault over mTLS: KV v2, KV v1 and a dynamic secret through each auth method reach the
 * workload (env and memfd); rotation restarts or signals the workload exactly when a value changes; a secret that
 * cannot be fetched keeps the workload from starting; no token or value appears in x00's output or audit log.
 * Runs on any host x00 audit runs on (mode audit: the kernel side is covered by the VM suite).
 */
import assert from "node:assert/strict";
import { certs, startServer, vaultTokenYaml } from "./_helpers.ts";
import { generateJwtKey, signJwt, workloadClaims } from "./_jwt.ts";
import { startX00 } from "./_process.ts";
import type { VaultTestServer, VaultTestServerOptions } from "./server.ts";

const IN_VM = Deno.env.get("X00_VM") === "1";
const POLICIES = ["secret/*", "kv/*", "database/creds/*", "sys/leases/renew"];

type Auth = "token" | "approle" | "kubernetes" | "jwt" | "cert" | "approle-wrapped";

async function writePolicy(
  server: VaultTestServer,
  dir: string,
  auth: Auth,
  extra = "",
): Promise<string> {
  const c = await certs();
  let authBlock = "";
  if (auth === "token") {
    const token = server.createToken({ policies: POLICIES });
    await Deno.writeTextFile(`${dir}/token`, token);
    authBlock = `    method: token\n    token_file_path: ${dir}/token\n`;
  } else if (auth === "approle") {
    const secretId = "sid-" + crypto.randomUUID();
    server.addAppRole({ roleId: "role-1", secretId, policies: POLICIES });
    await Deno.writeTextFile(`${dir}/role-id`, "role-1");
    await Deno.writeTextFile(`${dir}/secret-id`, secretId);
    authBlock = `    method: approle\n    role_id_file_path: ${dir}/role-id\n` +
      `    secret_id_file_path: ${dir}/secret-id\n    remove_secret_id_file_after_reading: true\n`;
  } else if (auth === "approle-wrapped") {
    server.addAppRole({
      roleId: "role-1",
      secretId: "unused-" + crypto.randomUUID(),
      policies: POLICIES,
    });
    const { wrappingToken } = server.wrapNewSecretId({ role: "app" });
    await Deno.writeTextFile(`${dir}/role-id`, "role-1");
    await Deno.writeTextFile(`${dir}/secret-id`, wrappingToken);
    authBlock = `    method: approle\n    role_id_file_path: ${dir}/role-id\n` +
      `    secret_id_file_path: ${dir}/secret-id\n` +
      `    secret_id_response_wrapping_path: auth/approle/role/app/secret-id\n`;
  } else if (auth === "jwt") {
    const key = await generateJwtKey();
    server.configureJwt({ publicKeys: [key.publicKey] });
    server.addJwtRole("app", { boundAudiences: ["vault"], policies: POLICIES });
    await Deno.writeTextFile(`${dir}/jwt`, await signJwt(key.privateKey, workloadClaims()));
    authBlock = `    method: jwt\n    role: app\n    token_path: ${dir}/jwt\n`;
  } else if (auth === "cert") {
    server.addCertRole("web", {
      certificate: await Deno.readTextFile(c.caCert),
      policies: POLICIES,
    });
    authBlock = `    method: cert\n    name: web\n`;
  } else {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4MDAifQ." + crypto.randomUUID();
    server.addKubernetesRole({ role: "app", jwt, policies: POLICIES });
    await Deno.writeTextFile(`${dir}/jwt`, jwt);
    authBlock = `    method: kubernetes\n    role: app\n    token_path: ${dir}/jwt\n`;
  }
  const file = `${dir}/policy.yaml`;
  await Deno.writeTextFile(
    file,
    `policy:\n  mode: audit\n` +
      `secrets:\n` +
      `  - name: app\n    source: { type: vault, engine: kv-v2, mount: secret, path: app, key: api_key }\n` +
      `    delivery: { env: KV2 }\n` +
      `  - name: legacy\n    source: { type: vault, engine: kv-v1, mount: kv, path: legacy, key: pw }\n` +
      `    delivery: { env: KV1 }\n` +
      `  - name: db\n    source: { type: vault, engine: dynamic, path: database/creds/readonly }\n` +
      `    keys:\n      username: { env: DB_USER }\n      password: { file: DB_PASSWORD_FILE }\n` +
      `audit:\n  output: ${dir}/audit.jsonl\n` +
      `vault:\n  address: ${server.address}\n  ca_cert: ${c.caCert}\n  client_cert: ${c.clientCert}\n` +
      `  client_key: ${c.clientKey}\n  max_retries: 2\n  timeout: 2s\n  auth:\n${authBlock}` +
      extra,
  );
  return file;
}

/** A test of `x00 run` against a fresh mTLS Vault test server and a temporary directory, both removed after it. */
function vaultRunTest(
  name: string,
  prefix: string,
  fn: (server: VaultTestServer, dir: string) => Promise<void>,
  serverOptions: Partial<VaultTestServerOptions> = {},
): void {
  Deno.test({
    name,
    ignore: IN_VM,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const server = await startServer(serverOptions);
      const dir = await Deno.makeTempDir({ prefix });
      try {
        await fn(server, dir);
      } finally {
        await server.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

const SHOW = `echo "START kv2=$KV2 kv1=$KV1 user=$DB_USER pw=$(cat "$DB_PASSWORD_FILE")"; ` +
  `trap 'echo HUP' HUP; while :; do sleep 0.2; done`;

/** The values of writePolicy()'s three entries: KV v2 secret/app, KV v1 kv/legacy, the readonly database role. */
function seedSecrets(server: VaultTestServer, apiKey: string, pw = "legacy"): void {
  server.putKvV2("secret", "app", { api_key: apiKey });
  server.putKvV1("kv", "legacy", { pw });
  server.addDatabaseRole("readonly", { ttlS: 3600, maxTtlS: 7200 });
}

for (
  const auth of ["token", "approle", "kubernetes", "jwt", "cert", "approle-wrapped"] as const
) {
  vaultRunTest(
    `x00 run delivers KV v2, KV v1 and dynamic secrets from Vault over mTLS (${auth} auth)`,
    "x00-vault-e2e-",
    async (server, dir) => {
      const kv2 = `kv2-${crypto.randomUUID()}`;
      const kv1 = `kv1-${crypto.randomUUID()}`;
      seedSecrets(server, kv2, kv1);
      const policy = await writePolicy(server, dir, auth);
      const x = startX00(policy, SHOW);
      const line = await x.waitLine(/^START /);
      assert.match(line, new RegExp(`kv2=${kv2} kv1=${kv1} user=v-\\S+ pw=\\S+`));
      assert.equal(server.issuedCount("readonly"), 1, "one dynamic credential issued");
      const code = await x.finish();
      assert.equal(code, 143);
      const audit = await Deno.readTextFile(`${dir}/audit.jsonl`);
      for (const t of server.allTokens) {
        assert.ok(!x.stderr.includes(t) && !audit.includes(t), "no Vault token in x00's output");
      }
      for (const v of [kv2, kv1]) {
        assert.ok(!x.stderr.includes(v) && !audit.includes(v), "no value leaked");
      }
      if (auth === "jwt") {
        const jwt = await Deno.readTextFile(`${dir}/jwt`);
        assert.ok(!x.stderr.includes(jwt) && !audit.includes(jwt), "no JWT in x00's output");
        assert.ok(Deno.statSync(`${dir}/jwt`).isFile, "the JWT file is kept (it rotates)");
      }
      if (auth === "cert") assert.equal(server.requestsTo("auth/cert/login").length, 1);
      if (auth === "approle-wrapped") {
        assert.equal(server.requestsTo("sys/wrapping/unwrap").length, 1);
      }
      if (auth === "approle" || auth === "approle-wrapped") {
        assert.throws(
          () => Deno.statSync(`${dir}/secret-id`),
          "secret_id file removed after reading",
        );
      }
    },
    // Cert auth: the listener requests a client certificate without requiring one, as Vault's does.
    auth === "cert" ? { clientCertOptional: true } : {},
  );
}

/** `x00 run` of writePolicy()'s entries (token auth, api_key "one") with `rotation`, once the workload started. */
async function startRotating(server: VaultTestServer, dir: string, rotation: string) {
  seedSecrets(server, "one");
  const x = startX00(await writePolicy(server, dir, "token", rotation), SHOW);
  await x.waitLine(/^START kv2=one /);
  return x;
}

vaultRunTest(
  "x00 run restarts the workload exactly when a Vault value changes (on_change: restart)",
  "x00-vault-rot-",
  async (server, dir) => {
    const x = await startRotating(
      server,
      dir,
      "rotation:\n  on_change: restart\n  stop_signal: SIGTERM\n  grace_period: 2s\n  poll_interval: 1s\n",
    );
    // A new version with the same value: nothing restarts.
    server.putKvV2("secret", "app", { api_key: "one" });
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(
      x.lines.filter((l) => l.startsWith("START")).length,
      1,
      "unchanged value: no restart",
    );
    // A changed value: exactly one restart, with the new value.
    server.putKvV2("secret", "app", { api_key: "two" });
    await x.waitLine(/^START kv2=two /);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(x.lines.filter((l) => l.startsWith("START")).length, 2, x.lines.join("\n"));
    assert.match(x.stderr, /secret 'app' changed \(kv_version\); on_change: restart/);
    assert.equal(await x.finish(), 143);
  },
);

vaultRunTest(
  "x00 run signals the workload when a Vault value changes (on_change: signal) and does not restart it",
  "x00-vault-sig-",
  async (server, dir) => {
    const x = await startRotating(
      server,
      dir,
      "rotation:\n  on_change: signal\n  signal: SIGHUP\n  poll_interval: 1s\n",
    );
    server.putKvV2("secret", "app", { api_key: "changed" });
    await x.waitLine(/^HUP$/);
    assert.equal(x.lines.filter((l) => l.startsWith("START")).length, 1, "no restart");
    assert.equal(await x.finish(), 143);
  },
);

vaultRunTest(
  "x00 run does not start the workload when Vault refuses a secret (403) or is sealed; exit code 5",
  "x00-vault-fail-",
  async (server, dir) => {
    server.putKvV1("kv", "legacy", { pw: "legacy" });
    server.addDatabaseRole("readonly", { ttlS: 3600, maxTtlS: 7200 });
    // secret/app does not exist: 404 names the path.
    const policy = await writePolicy(server, dir, "token");
    const marker = `${dir}/started`;
    let x = startX00(policy, `touch ${marker}`);
    let code = await x.child.status.then((s) => s.code);
    await x.finish();
    assert.equal(code, 5, x.stderr);
    assert.match(x.stderr, /secret\/data\/app/);
    assert.throws(() => Deno.statSync(marker));

    server.putKvV2("secret", "app", { api_key: "v" });
    server.faults.sealed = true;
    x = startX00(policy, `touch ${marker}`);
    code = await x.child.status.then((s) => s.code);
    await x.finish();
    assert.equal(code, 5, x.stderr);
    assert.match(
      x.stderr,
      /^x00: Cannot fetch secret '[a-z]+' from Vault path '[^']+': Vault is sealed/m,
    );
    const last = x.stderr.trim().split("\n").filter((l) => l.startsWith("x00: ")).at(-1) ?? "";
    assert.ok(!last.includes("lookup-self"), `the last line names the secret: ${last}`);
    assert.throws(() => Deno.statSync(marker));
  },
);

/** A policy with one KV v2 secret `db` delivered with all_keys and read by three templates. */
async function templatePolicy(server: VaultTestServer, dir: string, extra = ""): Promise<string> {
  const c = await certs();
  await Deno.writeTextFile(`${dir}/token`, server.createToken({ policies: POLICIES }));
  const file = `${dir}/policy.yaml`;
  await Deno.writeTextFile(
    file,
    `policy:\n  mode: audit\n` +
      `secrets:\n  - name: db\n    source: { type: vault, engine: kv-v2, mount: secret, path: db }\n` +
      `    all_keys: { env: DB_ }\n` +
      `templates:\n` +
      `  - name: dsn\n` +
      `    template: "postgres://{{ db:username }}:{{ db:password | url }}@{{ db:db-host }}/app"\n` +
      `    delivery: { env: DATABASE_URL }\n` +
      `  - name: pgpass\n    template: |\n      {{ db:db-host }}:5432:app:{{ db:username }}:{{ db:password }}\n` +
      `    delivery: { file: PGPASSFILE }\n` +
      `  - name: creds\n    template: '{"password": {{ db:password | json }}}'\n` +
      `    delivery: { file: CREDS_FILE }\n` +
      extra +
      `audit:\n  output: ${dir}/audit.jsonl\n` +
      `rotation:\n  on_change: restart\n  grace_period: 2s\n  poll_interval: 1s\n` +
      `vault:\n  address: ${server.address}\n  ca_cert: ${c.caCert}\n  client_cert: ${c.clientCert}\n` +
      `  client_key: ${c.clientKey}\n  max_retries: 1\n  timeout: 2s\n` +
      `  auth:\n    method: token\n    token_file_path: ${dir}/token\n`,
  );
  return file;
}

vaultRunTest(
  "x00 run delivers templates and all_keys from Vault and renders them again when the secret rotates",
  "x00-vault-tpl-",
  async (server, dir) => {
    server.putKvV2("secret", "db", {
      username: "app",
      password: 'p@ss:w/rd"1',
      "db-host": "db.internal",
    });
    const policy = await templatePolicy(server, dir);
    const x = startX00(
      policy,
      `echo "START url=$DATABASE_URL host=$DB_DB_HOST user=$DB_USERNAME pw=$DB_PASSWORD ` +
        `pgpass=$(cat "$PGPASSFILE") creds=$(cat "$CREDS_FILE") fd=$PGPASSFILE"; ` +
        `while :; do sleep 0.2; done`,
    );
    const first = await x.waitLine(/^START /);
    assert.equal(
      first.replace(/ fd=.*$/, ""),
      "START url=postgres://app:p%40ss%3Aw%2Frd%221@db.internal/app host=db.internal user=app " +
        'pw=p@ss:w/rd"1 pgpass=db.internal:5432:app:app:p@ss:w/rd"1 creds={"password": "p@ss:w/rd\\"1"}',
    );
    assert.match(first, / fd=\/proc\/self\/fd\/\d+$/, "file deliveries are memfds");
    server.putKvV2("secret", "db", { username: "app", password: "two", "db-host": "db2" });
    const second = await x.waitLine(/^START url=postgres:\/\/app:two@db2\/app /);
    assert.match(second, / pgpass=db2:5432:app:app:two creds=\{"password": "two"\} /);
    assert.equal(await x.finish(), 143);
    const audit = await Deno.readTextFile(`${dir}/audit.jsonl`);
    for (const v of ["p@ss", "p%40ss", "two"]) {
      assert.ok(!x.stderr.includes(v) && !audit.includes(v), `no value in x00's output: ${v}`);
    }
    const delivered = audit.split("\n").filter((l) => l.includes('"secret_delivered"'));
    for (const name of ["dsn", "pgpass", "creds"]) {
      assert.ok(delivered.some((l) => l.includes(`"secret":"${name}"`)), `${name} delivered`);
    }
  },
);

vaultRunTest(
  "x00 run does not start the workload when a template reads a key the Vault secret lacks (exit 5)",
  "x00-vault-tpl-",
  async (server, dir) => {
    server.putKvV2("secret", "db", { username: "app", password: "pw", "db-host": "h" });
    const policy = await templatePolicy(
      server,
      dir,
      `  - name: port\n    template: "{{ db:port }}"\n    delivery: { env: PORT }\n`,
    );
    const x = startX00(policy, `echo STARTED`);
    const code = await x.child.status.then((s) => s.code);
    await x.finish();
    assert.equal(code, 5, x.stderr);
    assert.ok(!x.lines.includes("STARTED"), "the workload never starts");
    assert.match(
      x.stderr,
      /Cannot fetch secret 'db' from Vault path 'secret\/data\/db': no key 'port' \(keys present: db-host, password, username\)/,
    );
    assert.ok(!x.stderr.includes("pw"), "no value in the message");
  },
);

vaultRunTest(
  "x00 run says warnings and errors only by default; X00_LOG_LEVEL=info adds logins, a bad level is exit 2",
  "x00-vault-log-",
  async (server, dir) => {
    server.putKvV2("secret", "db", { username: "app", password: "pw", "db-host": "h" });
    const policy = await templatePolicy(server, dir);
    const run = async (env: Record<string, string>) => {
      const x = startX00(policy, `echo STARTED`, env);
      const code = (await x.child.status).code;
      await x.finish();
      return { code, stderr: x.stderr, started: x.lines.includes("STARTED") };
    };
    const quiet = await run({});
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.ok(!quiet.stderr.includes("x00: vault info:"), quiet.stderr);
    const info = await run({ X00_LOG_LEVEL: "info" });
    assert.match(info.stderr, /^x00: vault info: Authenticated to Vault with token/m);
    assert.ok(!info.stderr.includes("x00: vault debug:"));
    const bad = await run({ X00_LOG_LEVEL: "verbose" });
    assert.equal(bad.code, 2);
    assert.equal(bad.started, false);
    assert.equal(
      bad.stderr.trim(),
      'x00: X00_LOG_LEVEL must be one of debug, info, warn, error: current value is "verbose"',
    );
  },
);

vaultRunTest(
  "x00 run does not start the workload when the wrapped secret_id was already unwrapped by someone else; exit code 5",
  "x00-vault-wrap-",
  async (server, dir) => {
    seedSecrets(server, "v");
    const policy = await writePolicy(server, dir, "approle-wrapped");
    const wrappingToken = (await Deno.readTextFile(`${dir}/secret-id`)).trim();
    // Intercepted: the attacker unwraps it first.
    const c = await certs();
    const http = Deno.createHttpClient({
      caCerts: [await Deno.readTextFile(c.caCert)],
      cert: await Deno.readTextFile(c.clientCert),
      key: await Deno.readTextFile(c.clientKey),
    });
    const res = await fetch(`${server.address}/v1/sys/wrapping/unwrap`, {
      method: "POST",
      headers: { "X-Vault-Token": wrappingToken },
      client: http,
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    http.close();
    const marker = `${dir}/started`;
    const x = startX00(policy, `touch ${marker}`);
    const code = await x.child.status.then((s) => s.code);
    await x.finish();
    assert.equal(code, 5, x.stderr);
    assert.match(
      x.stderr,
      /wrapping token is not valid or does not exist \(sys\/wrapping\/lookup, HTTP 400\): it was already used/,
    );
    assert.ok(!x.stderr.includes(wrappingToken), "the wrapping token is never printed");
    assert.equal(server.requestsTo("auth/approle/login").length, 0);
    assert.throws(() => Deno.statSync(marker));
  },
);

async function writePkiPolicy(
  server: VaultTestServer,
  dir: string,
  source: string,
  extra = "",
): Promise<string> {
  const file = `${dir}/policy.yaml`;
  await Deno.writeTextFile(
    file,
    `policy:\n  mode: audit\n` +
      `secrets:\n  - name: tls\n    source: { type: vault, engine: pki, mount: pki, ${source} }\n` +
      `    keys:\n      certificate: { file: TLS_CERT_FILE }\n      private_key: { file: TLS_KEY_FILE }\n` +
      `      ca_chain: { file: TLS_CA_FILE }\n      serial_number: { env: TLS_SERIAL }\n` +
      `audit:\n  output: ${dir}/audit.jsonl\n` +
      (await vaultTokenYaml(server, dir, ["pki/issue/*"])) + extra,
  );
  return file;
}

/** The workload: checks with openssl that the certificate chains to the CA and matches its key. */
const SHOW_CERT =
  `cert=$(openssl x509 -in "$TLS_CERT_FILE" -noout -serial -subject -nameopt RFC2253 | tr '\\n' ' '); ` +
  `chain=$(openssl verify -CAfile "$TLS_CA_FILE" "$TLS_CERT_FILE" >/dev/null 2>&1 && echo ok); ` +
  `a=$(openssl x509 -in "$TLS_CERT_FILE" -noout -pubkey | openssl sha256); ` +
  `b=$(openssl pkey -in "$TLS_KEY_FILE" -pubout | openssl sha256); ` +
  `[ "$a" = "$b" ] && key=ok; ` +
  `echo "START serial=$TLS_SERIAL $cert chain=$chain key=$key"; while :; do sleep 0.2; done`;

vaultRunTest(
  "x00 run delivers a Vault PKI certificate, its key and CA chain as sealed memfds",
  "x00-vault-pki-",
  async (server, dir) => {
    server.addPkiRole("web", {
      allowed_domains: ["example.com"],
      allow_subdomains: true,
      key_type: "ec",
    });
    const policy = await writePkiPolicy(
      server,
      dir,
      "role: web, common_name: app.example.com, ttl: 1h",
    );
    const x = startX00(policy, SHOW_CERT);
    const line = await x.waitLine(/^START /);
    const serial = server.pki().serials[0]!;
    assert.equal(server.pki().serials.length, 1);
    assert.match(
      line,
      new RegExp(`^START serial=${serial} serial=${serial.replaceAll(":", "").toUpperCase()} `),
    );
    assert.match(line, /subject=CN=app\.example\.com +chain=ok key=ok$/);
    assert.equal(await x.finish(), 143);
    const audit = await Deno.readTextFile(`${dir}/audit.jsonl`);
    assert.ok(!/PRIVATE KEY/.test(x.stderr + audit), "no private key in x00's output");
  },
);

vaultRunTest(
  "x00 run restarts the workload with a new certificate before the old one expires (on_change: restart)",
  "x00-vault-pki-rot-",
  async (server, dir) => {
    server.addPkiRole("web", { allow_any_name: true, key_type: "ec" });
    const policy = await writePkiPolicy(
      server,
      dir,
      "role: web, common_name: app.test, ttl: 4s, renew_fraction: 0.5",
      "rotation: { on_change: restart, grace_period: 2s }\n",
    );
    const x = startX00(policy, SHOW_CERT);
    const first = await x.waitLine(/^START /);
    // A second start, with another serial number.
    await x.waitLine(new RegExp(`^START (?!${first.split(" ")[1]} )`), 15_000);
    const starts = x.lines.filter((l) => l.startsWith("START"));
    assert.ok(starts.every((l) => l.endsWith("chain=ok key=ok")), starts.join("\n"));
    assert.match(x.stderr, /secret 'tls' changed \(certificate_renewed\); on_change: restart/);
    assert.equal(await x.finish(), 143);
  },
);

vaultRunTest(
  "x00 run does not start the workload when the PKI role refuses the certificate; one line, exit code 5",
  "x00-vault-pki-fail-",
  async (server, dir) => {
    server.addPkiRole("web", {
      allowed_domains: ["example.com"],
      allow_subdomains: true,
      key_type: "ec",
    });
    const policy = await writePkiPolicy(server, dir, "role: web, common_name: evil.test");
    const marker = `${dir}/started`;
    const x = startX00(policy, `touch ${marker}`);
    const code = await x.child.status.then((s) => s.code);
    await x.finish();
    assert.equal(code, 5, x.stderr);
    const lines = x.stderr.trim().split("\n").filter((l) => l.startsWith("x00: Cannot"));
    assert.deepEqual(lines, [
      "x00: Cannot fetch secret 'tls' from Vault path 'pki/issue/web': request refused (HTTP 400): common name evil.test not allowed by this role",
    ]);
    assert.throws(() => Deno.statSync(marker));
  },
);

Deno.test({
  name:
    "x00 run trusts only the configured CA: an impostor whose CA is in DENO_CERT, NODE_EXTRA_CA_CERTS or " +
    "the system store is refused, and the workload gets those variables back unchanged",
  ignore: IN_VM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const c = await certs();
    // Each of these makes Deno trust the other CA on every connection, whatever caCerts says.
    const env = {
      DENO_CERT: c.otherCaCert,
      NODE_EXTRA_CA_CERTS: c.otherCaCert,
      DENO_TLS_CA_STORE: "system",
      SSL_CERT_FILE: c.otherCaCert,
      DENO_NO_UPDATE_CHECK: "", // X00 runs with "1"; the workload gets this back
    };
    const show =
      `echo "TRUST $DENO_CERT|$NODE_EXTRA_CA_CERTS|$DENO_TLS_CA_STORE|\${X00_ORIGINAL_DENO-unset}|` +
      `\${DENO_NO_UPDATE_CHECK-unset}"; ` +
      `echo "START kv2=$KV2"`;
    for (const impostor of [true, false]) {
      const server = await startServer(
        impostor ? { cert: c.otherServerCert, key: c.otherServerKey } : {},
      );
      const dir = await Deno.makeTempDir({ prefix: "x00-vault-trust-" });
      try {
        seedSecrets(server, "real-key");
        const policy = await writePolicy(server, dir, "token"); // ca_cert: the test CA only
        const x = startX00(policy, `touch ${dir}/started; ${show}`, env);
        const code = await x.child.status.then((s) => s.code);
        await x.finish();
        if (impostor) {
          assert.equal(code, 5, x.stderr);
          assert.match(x.stderr, /TLS handshake with Vault at 127\.0\.0\.1:\d+ failed/);
          assert.equal(
            server.requests.length,
            0,
            "the impostor received no request (no token, no login)",
          );
          assert.throws(() => Deno.statSync(`${dir}/started`), "the workload did not start");
        } else {
          assert.equal(code, 0, x.stderr);
          assert.ok(x.lines.includes("START kv2=real-key"), x.lines.join("\n"));
          assert.ok(
            x.lines.includes(`TRUST ${c.otherCaCert}|${c.otherCaCert}|system|unset|`),
            x.lines.join("\n"),
          );
        }
      } finally {
        await server.close();
        await Deno.remove(dir, { recursive: true });
      }
    }
  },
});
