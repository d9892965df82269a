/**
 * `x00 run` end to end with Vault over mTLS: KV v2, KV v1 and a dynamic secret through each auth method reach the
 * workload (env and memfd); rotation restarts or signals the workload exactly when a value changes; a secret that
 * cannot be fetched keeps the workload from starting; no token or value appears in x00's output or audit log.
 * Runs on any host x00 audit runs on (mode audit: the kernel side is covered by the VM suite).
 */
import assert from "node:assert/strict";
import { certs, startServer } from "./_helpers.ts";
import type { VaultTestServer } from "./server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const IN_VM = Deno.env.get("X00_VM") === "1";
const POLICIES = ["secret/*", "kv/*", "database/creds/*", "sys/leases/renew"];

type Auth = "token" | "approle" | "kubernetes";

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

/** A running `x00 run`; `lines` collects the workload's stdout. */
function startX00(policy: string, script: string, env: Record<string, string> = {}) {
  const child = new Deno.Command("deno", {
    args: ["run", "-A", `${ROOT}mod.ts`, "run", "--policy", policy, "--", "sh", "-c", script],
    env: { ...env, X00_LIBBPF_SYSTEM: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let stderr = "";
  const out = (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
  })();
  const err = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  return {
    child,
    lines,
    get stderr() {
      return stderr;
    },
    async waitLine(re: RegExp, ms = 20_000): Promise<string> {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const hit = lines.find((l) => re.test(l));
        if (hit) return hit;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no line ${re} in ${JSON.stringify(lines)}; stderr: ${stderr}`);
    },
    async finish(): Promise<number> {
      try {
        child.kill("SIGTERM");
      } catch {
        // gone
      }
      const s = await child.status;
      await out;
      await err;
      return s.code;
    },
  };
}

const SHOW = `echo "START kv2=$KV2 kv1=$KV1 user=$DB_USER pw=$(cat "$DB_PASSWORD_FILE")"; ` +
  `trap 'echo HUP' HUP; while :; do sleep 0.2; done`;

for (const auth of ["token", "approle", "kubernetes"] as const) {
  Deno.test({
    name: `x00 run delivers KV v2, KV v1 and dynamic secrets from Vault over mTLS (${auth} auth)`,
    ignore: IN_VM,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const server = await startServer();
      const dir = await Deno.makeTempDir({ prefix: "x00-vault-e2e-" });
      try {
        const kv2 = `kv2-${crypto.randomUUID()}`;
        const kv1 = `kv1-${crypto.randomUUID()}`;
        server.putKvV2("secret", "app", { api_key: kv2 });
        server.putKvV1("kv", "legacy", { pw: kv1 });
        server.addDatabaseRole("readonly", { ttlS: 3600, maxTtlS: 7200 });
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
        if (auth === "approle") {
          assert.throws(
            () => Deno.statSync(`${dir}/secret-id`),
            "secret_id file removed after reading",
          );
        }
      } finally {
        await server.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "x00 run restarts the workload exactly when a Vault value changes (on_change: restart)",
  ignore: IN_VM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startServer();
    const dir = await Deno.makeTempDir({ prefix: "x00-vault-rot-" });
    try {
      server.putKvV2("secret", "app", { api_key: "one" });
      server.putKvV1("kv", "legacy", { pw: "legacy" });
      server.addDatabaseRole("readonly", { ttlS: 3600, maxTtlS: 7200 });
      const policy = await writePolicy(
        server,
        dir,
        "token",
        "rotation:\n  on_change: restart\n  stop_signal: SIGTERM\n  grace_period: 2s\n  poll_interval: 1s\n",
      );
      const x = startX00(policy, SHOW);
      await x.waitLine(/^START kv2=one /);
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
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "x00 run signals the workload when a Vault value changes (on_change: signal) and does not restart it",
  ignore: IN_VM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startServer();
    const dir = await Deno.makeTempDir({ prefix: "x00-vault-sig-" });
    try {
      server.putKvV2("secret", "app", { api_key: "one" });
      server.putKvV1("kv", "legacy", { pw: "legacy" });
      server.addDatabaseRole("readonly", { ttlS: 3600, maxTtlS: 7200 });
      const policy = await writePolicy(
        server,
        dir,
        "token",
        "rotation:\n  on_change: signal\n  signal: SIGHUP\n  poll_interval: 1s\n",
      );
      const x = startX00(policy, SHOW);
      await x.waitLine(/^START kv2=one /);
      server.putKvV2("secret", "app", { api_key: "changed" });
      await x.waitLine(/^HUP$/);
      assert.equal(x.lines.filter((l) => l.startsWith("START")).length, 1, "no restart");
      assert.equal(await x.finish(), 143);
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "x00 run does not start the workload when Vault refuses a secret (403) or is sealed; exit code 5",
  ignore: IN_VM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startServer();
    const dir = await Deno.makeTempDir({ prefix: "x00-vault-fail-" });
    try {
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
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

async function writePkiPolicy(
  server: VaultTestServer,
  dir: string,
  source: string,
  extra = "",
): Promise<string> {
  const c = await certs();
  await Deno.writeTextFile(`${dir}/token`, server.createToken({ policies: ["pki/issue/*"] }));
  const file = `${dir}/policy.yaml`;
  await Deno.writeTextFile(
    file,
    `policy:\n  mode: audit\n` +
      `secrets:\n  - name: tls\n    source: { type: vault, engine: pki, mount: pki, ${source} }\n` +
      `    keys:\n      certificate: { file: TLS_CERT_FILE }\n      private_key: { file: TLS_KEY_FILE }\n` +
      `      ca_chain: { file: TLS_CA_FILE }\n      serial_number: { env: TLS_SERIAL }\n` +
      `audit:\n  output: ${dir}/audit.jsonl\n` +
      `vault:\n  address: ${server.address}\n  ca_cert: ${c.caCert}\n  client_cert: ${c.clientCert}\n` +
      `  client_key: ${c.clientKey}\n  max_retries: 2\n  timeout: 2s\n` +
      `  auth: { method: token, token_file_path: ${dir}/token }\n` + extra,
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

Deno.test({
  name: "x00 run delivers a Vault PKI certificate, its key and CA chain as sealed memfds",
  ignore: IN_VM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startServer();
    const dir = await Deno.makeTempDir({ prefix: "x00-vault-pki-" });
    try {
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
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "x00 run restarts the workload with a new certificate before the old one expires (on_change: restart)",
  ignore: IN_VM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startServer();
    const dir = await Deno.makeTempDir({ prefix: "x00-vault-pki-rot-" });
    try {
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
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "x00 run does not start the workload when the PKI role refuses the certificate; one line, exit code 5",
  ignore: IN_VM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startServer();
    const dir = await Deno.makeTempDir({ prefix: "x00-vault-pki-fail-" });
    try {
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
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
