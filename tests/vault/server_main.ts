/**
 * Runs the Vault test server as its own process (for benchmarks, or to try `x00 run` by hand): generates
 * certificates, seeds `secret/bench/0..N-1` (KV v2), prints one JSON line with the address, the root token and
 * the certificate paths, and serves until stdin closes or SIGTERM. A second argument adds latency (ms) to every
 * answer, as a network round trip and Vault's storage would.
 *
 * ```sh
 * deno run --allow-all tests/vault/server_main.ts 20 5
 * ```
 *
 * @module
 */

import { generateTestCerts } from "./certs.ts";
import { VaultTestServer } from "./server.ts";

if (import.meta.main) {
  const count = Number(Deno.args[0] ?? "20");
  const latencyMs = Number(Deno.args[1] ?? "0");
  const certs = await generateTestCerts();
  const server = await VaultTestServer.start({
    cert: certs.serverCert,
    key: certs.serverKey,
    clientCa: certs.caCert,
  });
  for (let i = 0; i < count; i++) {
    server.putKvV2("secret", `bench/${i}`, {
      username: `user-${i}`,
      password: crypto.randomUUID(),
    });
  }
  if (latencyMs > 0) server.faults.delay = { count: -1, ms: latencyMs };
  console.log(JSON.stringify({
    address: server.address,
    token: server.rootToken,
    caCert: certs.caCert,
    clientCert: certs.clientCert,
    clientKey: certs.clientKey,
    count,
    latencyMs,
  }));
  const stop = async () => {
    await server.close();
    await certs.remove();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", () => void stop());
  // Stop when the parent closes our stdin.
  for await (const _ of Deno.stdin.readable) { /* drain */ }
  await stop();
}
