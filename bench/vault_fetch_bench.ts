/**
 * Time to fetch Vault secrets against the local test server (tests/vault/server_main.ts, its own process, HTTPS
 * with mTLS): one secret, 20 secrets one after another, 20 secrets concurrently (as `x00 run` fetches them), and
 * a cold start (new client: TLS handshakes + token lookup + 20 concurrent reads). Target: 20 concurrent within
 * 2x of one.
 *
 * Two servers: one that answers at once (the cost is all CPU: TLS, HTTP, JSON on both sides of a 2-core machine)
 * and one that adds 5 ms to every answer, as a network round trip and Vault's storage backend do in production.
 *
 * ```sh
 * deno bench --allow-all bench/vault_fetch_bench.ts
 * ```
 *
 * Results: bench/RESULTS_vault.md.
 *
 * @module
 */

import { loadTlsMaterial, tokenAuth, VaultClient } from "../src/vault/mod.ts";
import { VaultSecretSource } from "../src/secrets/vault/mod.ts";
import type { Delivery, SecretSpec } from "../src/policy/types.ts";
import { zeroSecret } from "../src/secrets/source.ts";

const N = 20;

interface ServerInfo {
  address: string;
  token: string;
  caCert: string;
  clientCert: string;
  clientKey: string;
}

async function spawnServer(latencyMs: number): Promise<ServerInfo> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL("../tests/vault/server_main.ts", import.meta.url).pathname,
      String(N),
      String(latencyMs),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  globalThis.addEventListener("unload", () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  });
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let line = "";
  while (!line.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the test server exited before printing its address");
    line += value;
  }
  reader.releaseLock();
  return JSON.parse(line.split("\n")[0]!) as ServerInfo;
}

function spec(i: number): SecretSpec {
  return {
    name: `bench-${i}`,
    source: { type: "vault", engine: "kv-v2", mount: "secret", path: `bench/${i}` },
    deliveries: new Map<string, Delivery>([
      ["username", { kind: "env", var: `U${i}` }],
      ["password", { kind: "env", var: `P${i}` }],
    ]),
  };
}

async function setup(latencyMs: number) {
  const info = await spawnServer(latencyMs);
  const tls = await loadTlsMaterial({
    caCert: info.caCert,
    clientCert: info.clientCert,
    clientKey: info.clientKey,
  });
  const newClient = () =>
    new VaultClient({
      address: info.address,
      tls,
      auth: tokenAuth({ token: info.token }),
      maxRetries: 0,
    });
  const client = newClient();
  await client.login();
  const sources = Array.from({ length: N }, (_, i) => new VaultSecretSource(client, spec(i)));
  // Warm the connection pool, as a running X00 has it.
  await Promise.all(sources.map((s) => s.fetch().then(zeroSecret)));
  const raw = Deno.createHttpClient({
    caCerts: tls.caCerts,
    cert: tls.clientCert!,
    key: tls.clientKey!,
  });
  const rawGet = async (i: number) => {
    const res = await fetch(`${info.address}/v1/secret/data/bench/${i}`, {
      client: raw,
      headers: { "X-Vault-Token": info.token, "X-Vault-Request": "true" },
    });
    await res.arrayBuffer();
  };
  await Promise.all(sources.map((_, i) => rawGet(i)));
  return { newClient, sources, rawGet };
}

for (const latencyMs of [0, 5]) {
  const { newClient, sources, rawGet } = await setup(latencyMs);
  const group = `vault fetch, warm client, mTLS, server latency ${latencyMs} ms`;
  Deno.bench({
    name: `1 secret (latency ${latencyMs} ms)`,
    group,
    baseline: true,
    async fn() {
      zeroSecret(await sources[0]!.fetch());
    },
  });
  Deno.bench({
    name: `${N} secrets, sequential (latency ${latencyMs} ms)`,
    group,
    n: latencyMs > 0 ? 30 : undefined,
    async fn() {
      for (const s of sources) zeroSecret(await s.fetch());
    },
  });
  Deno.bench({
    name: `${N} secrets, concurrent (latency ${latencyMs} ms)`,
    group,
    async fn() {
      (await Promise.all(sources.map((s) => s.fetch()))).forEach(zeroSecret);
    },
  });
  if (latencyMs === 0) {
    // Deno's fetch alone, without the Vault client: the floor set by TLS + HTTP on this machine.
    Deno.bench({
      name: "reference: 1 raw fetch() (no Vault client)",
      group,
      async fn() {
        await rawGet(0);
      },
    });
    Deno.bench({
      name: `reference: ${N} raw fetch(), concurrent (no Vault client)`,
      group,
      async fn() {
        await Promise.all(sources.map((_, i) => rawGet(i)));
      },
    });
  }
  Deno.bench({
    name: `cold start: new client, token lookup, ${N} concurrent (latency ${latencyMs} ms)`,
    group: `vault fetch, cold client, mTLS, server latency ${latencyMs} ms`,
    n: 50,
    async fn() {
      const c = newClient();
      const ss = Array.from({ length: N }, (_, i) => new VaultSecretSource(c, spec(i)));
      (await Promise.all(ss.map((s) => s.fetch()))).forEach(zeroSecret);
      await c.close();
    },
  });
}
