/**
 * `x00 agent` serving a Vault PKI certificate to `x00 exec` clients, end to end on this host: the test Vault over
 * mTLS issues real X.509 certificates, the agent (runAgent(), as the CLI runs it, in its own process) fetches one
 * and serves it over its Unix socket, and a real `x00 exec` becomes a shell that receives the certificate as an
 * env value and its private key and CA chain as sealed memfds. When the certificate is renewed the agent stops
 * the served client (`on_change: restart`), and the next `x00 exec` (what its container runtime would start)
 * receives the new one; a renewal that fails (Vault's error quoting the key) leaves the client running. No private
 * key or token appears in the agent's stderr, the clients' stderr or the audit log.
 *
 * This host's kernel refuses BPF-LSM, so the agent here identifies clients by SO_PEERCRED and protects nothing
 * (tests/vault/_agent_host.ts); the kernel side of the same exchange is tests/vm/sidecar_test.ts.
 */
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { pemParts, quotingFaults, startServer, vaultTokenYaml, waitFor } from "./_helpers.ts";
import { type Collected, spawnDeno } from "./_process.ts";
import type { VaultTestServer } from "./server.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const IN_VM = Deno.env.get("X00_VM") === "1";

/** The client: every delivered value on one line (PEM texts base64-encoded), then it waits. */
const CLIENT =
  `printf 'START serial=%s cert=%s key=%s ca=%s keyfd=%s sealed=%s\\n' "$TLS_SERIAL" ` +
  `"$(printf %s "$TLS_CERT" | base64 -w0)" "$(base64 -w0 < "$TLS_KEY_FILE")" ` +
  `"$(base64 -w0 < "$TLS_CA_FILE")" "$(readlink "$TLS_KEY_FILE")" ` +
  `"$(if printf x 2>/dev/null >> "$TLS_KEY_FILE"; then echo no; else echo yes; fi)"; ` +
  `while :; do sleep 0.2; done`;

interface Served {
  serial: string;
  cert: X509Certificate;
  certPem: string;
  key: string;
  ca: string;
  keyFd: string;
  sealed: string;
}

function parseStart(line: string): Served {
  const f = Object.fromEntries(
    line.replace(/^START /, "").split(" ").map((kv) => {
      const i = kv.indexOf("=");
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
  const b64 = (s: string | undefined) => new TextDecoder().decode(Uint8Array.fromBase64(s ?? ""));
  const certPem = b64(f.cert);
  return {
    serial: f.serial ?? "",
    cert: new X509Certificate(certPem),
    certPem,
    key: b64(f.key),
    ca: b64(f.ca),
    keyFd: f.keyfd ?? "",
    sealed: f.sealed ?? "",
  };
}

/** Checks that `s` is the certificate the test Vault issued as `serial`, with its key, chained to the CA. */
function assertIssued(server: VaultTestServer, s: Served): void {
  assert.ok(server.pki().serials.includes(s.serial), `${s.serial} was issued`);
  assert.equal(s.cert.serialNumber.toLowerCase(), s.serial.replaceAll(":", "").replace(/^0+/, ""));
  assert.equal(s.cert.subject, "CN=app.example.com");
  assert.ok(s.cert.checkPrivateKey(createPrivateKey(s.key)), "the private key matches");
  const ca = new X509Certificate(s.ca);
  assert.ok(s.cert.verify(ca.publicKey), "signed by the CA delivered as ca_chain");
  assert.equal(
    ca.fingerprint256,
    new X509Certificate(server.pki().ca.certificate.pem).fingerprint256,
  );
  assert.match(s.key, /^-----BEGIN EC PRIVATE KEY-----\n/);
  assert.match(s.keyFd, /^\/memfd:/, "the key is a memfd");
  assert.equal(s.sealed, "yes", "the key's memfd cannot be written");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForSocket(path: string, agent: Collected): Promise<void> {
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    try {
      if (Deno.lstatSync(path).isSocket) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no agent socket at ${path}; agent stderr: ${agent.stderr}`);
}

Deno.test({
  name:
    "x00 agent serves a Vault PKI certificate to x00 exec (env + sealed memfds) and the renewed one after a restart",
  ignore: IN_VM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startServer();
    const dir = await Deno.makeTempDir({ prefix: "x00-agent-pki-" });
    const socket = `${dir}/agent.sock`;
    const started: Collected[] = [];
    const exec = () => {
      const c = spawnDeno([`${ROOT}mod.ts`, "exec", "--socket", socket, "--", "sh", "-c", CLIENT]);
      started.push(c);
      return c;
    };
    try {
      server.addPkiRole("web", {
        allowed_domains: ["example.com"],
        allow_subdomains: true,
        key_type: "ec",
      });
      // Renewal at half of the 12 s: time enough to serve a client first, and a new client after it.
      await Deno.writeTextFile(
        `${dir}/policy.yaml`,
        `policy:\n  mode: audit\n` +
          `secrets:\n  - name: tls\n    source: { type: vault, engine: pki, mount: pki, role: web, ` +
          `common_name: app.example.com, ttl: 12s, renew_fraction: 0.5 }\n` +
          `    keys:\n      certificate: { env: TLS_CERT }\n      private_key: { file: TLS_KEY_FILE }\n` +
          `      ca_chain: { file: TLS_CA_FILE }\n      serial_number: { env: TLS_SERIAL }\n` +
          `audit:\n  output: ${dir}/audit.jsonl\n` +
          `rotation: { on_change: restart, grace_period: 2s }\n` +
          (await vaultTokenYaml(server, dir, ["pki/issue/*"])) +
          `clients:\n  - { name: app, uids: [${Deno.uid()}] }\n`,
      );
      const agent = spawnDeno([
        `${ROOT}tests/vault/_agent_host.ts`,
        "--policy",
        `${dir}/policy.yaml`,
        "--socket",
        socket,
      ]);
      started.push(agent);
      await waitForSocket(socket, agent);
      assert.equal(server.requestsTo("pki/issue/web").length, 1, "one certificate at start-up");

      const first = exec();
      const one = parseStart(await first.waitLine(/^START /));
      assertIssued(server, one);
      assert.equal(one.serial, server.pki().serials[0], "the certificate issued at start-up");

      // Renewal: the agent stops the client that holds the old certificate ...
      const status = await first.status();
      assert.equal(status.signal, "SIGTERM", `stopped by the agent: ${JSON.stringify(status)}`);
      assert.ok(server.pki().serials.length >= 2, "a second certificate was issued");
      assert.match(
        agent.stderr,
        /secret 'tls' changed \(certificate_renewed\); on_change: restart/,
      );
      assert.match(
        agent.stderr,
        new RegExp(`rotation of 'tls': client app \\(pid ${first.child.pid}\\) stopped`),
      );
      // ... and the next x00 exec receives the renewed one.
      const second = exec();
      const two = parseStart(await second.waitLine(/^START /));
      assertIssued(server, two);
      assert.notEqual(two.serial, one.serial, "a new serial number after renewal");
      const serials = server.pki().serials;
      assert.ok(serials.indexOf(two.serial) > serials.indexOf(one.serial), "a later certificate");
      assert.notEqual(two.key, one.key, "a new private key");
      // The next renewal fails, Vault's error quoting the key, the certificate and a token: logged, the
      // served client keeps running with its certificate.
      server.faults = quotingFaults(server.pki().issued.at(-1)!, server.rootToken);
      await waitFor(
        () => /x00: vault: keeping the current values: .*HTTP 500/.test(agent.stderr),
        15_000,
        "a failed renewal in the agent",
      );
      assert.ok(
        await Promise.race([second.status().then(() => false), sleep(500).then(() => true)]),
        "a failed renewal does not stop the client",
      );
      server.faults = {};
      await second.finish();
      assert.equal(await agent.finish(), 0, agent.stderr);

      const audit = await Deno.readTextFile(`${dir}/audit.jsonl`);
      const events = audit.trim().split("\n").map((l) => JSON.parse(l));
      const served = events.filter((e) => e.type === "client" && e.action === "served");
      assert.deepEqual(served.map((e) => e.pid), [first.child.pid, second.child.pid]);
      for (const pid of [first.child.pid, second.child.pid]) {
        assert.deepEqual(
          events.filter((e) => e.type === "secret_delivered" && e.pid === pid)
            .map((e) => `${e.secret}:${e.delivery}:${e.var}`).sort(),
          [
            "tls:env:TLS_CERT",
            "tls:env:TLS_SERIAL",
            "tls:file:TLS_CA_FILE",
            "tls:file:TLS_KEY_FILE",
          ],
        );
      }
      // Nothing secret in what X00 wrote: the agent's stderr, x00 exec's stderr, the audit log.
      const output = [agent.stderr, first.stderr, second.stderr, audit].join("\n");
      assert.ok(!output.includes("PRIVATE KEY"), "no private key in X00's output");
      for (const part of [...pemParts(one.key), ...pemParts(two.key)]) {
        assert.ok(
          !output.includes(part),
          `no private key line in X00's output: ${part.slice(0, 8)}`,
        );
      }
      for (const t of server.allTokens) assert.ok(!output.includes(t), "no Vault token");
      assert.equal(first.stderr + second.stderr, "", "x00 exec says nothing when it works");
    } finally {
      for (const c of started) await c.finish().catch(() => {});
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
