/**
 * Shared fixtures of the Vault tests: certificates generated once per test module, a server with mTLS, clients,
 * and a log collector.
 *
 * @module
 */

import { generateTestCerts, type TestCerts } from "./certs.ts";
import { type Faults, VaultTestServer, type VaultTestServerOptions } from "./server.ts";
import {
  loadTlsMaterial,
  type LogLevel,
  VaultClient,
  type VaultClientOptions,
} from "../../src/vault/mod.ts";

let certsPromise: Promise<TestCerts> | undefined;

/** The module's certificates (generated on first use, removed at unload). */
export function certs(): Promise<TestCerts> {
  if (certsPromise === undefined) {
    certsPromise = generateTestCerts();
    globalThis.addEventListener("unload", () => {
      certsPromise?.then((c) => Deno.removeSync(c.dir, { recursive: true })).catch(() => {});
    });
  }
  return certsPromise;
}

/** Starts an mTLS server (server cert for localhost/127.0.0.1, client certs must chain to the test CA). */
export async function startServer(
  options: Partial<VaultTestServerOptions> = {},
): Promise<VaultTestServer> {
  const c = await certs();
  return await VaultTestServer.start({
    cert: c.serverCert,
    key: c.serverKey,
    clientCa: c.caCert,
    ...options,
  });
}

/** Collected log lines. */
export class LogSink {
  readonly lines: { level: LogLevel; message: string }[] = [];
  readonly logger = (level: LogLevel, message: string): void => {
    this.lines.push({ level, message });
  };
  /** All messages joined by newlines. */
  get text(): string {
    return this.lines.map((l) => `${l.level}: ${l.message}`).join("\n");
  }
}

/** A client for `server` over mTLS with the test CA, fast retries, a short timeout. */
export async function mtlsClient(
  server: VaultTestServer,
  options: Partial<VaultClientOptions> = {},
): Promise<VaultClient> {
  const c = await certs();
  return new VaultClient({
    address: server.address,
    tls: await loadTlsMaterial({
      caCert: c.caCert,
      clientCert: c.clientCert,
      clientKey: c.clientKey,
    }),
    maxRetries: 2,
    timeoutMs: 2000,
    retry: { minDelayMs: 20, maxDelayMs: 100, maxElapsedMs: 10_000 },
    ...options,
  });
}

/** Waits until `cond()` is true, polling every 20 ms, or throws after `ms`. */
export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Catches the rejection of `p` (fails when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`rejected with a non-Error: ${String(err)}`);
  }
  throw new Error("expected a rejection, got a value");
}

/**
 * A policy's `vault:` section for `server` over mTLS with the test certificates, 2 retries and a 2 s timeout,
 * authenticating with a token of `policies` written to `DIR/token`.
 */
export async function vaultTokenYaml(
  server: VaultTestServer,
  dir: string,
  policies: string[],
): Promise<string> {
  const c = await certs();
  await Deno.writeTextFile(`${dir}/token`, server.createToken({ policies }));
  return `vault:\n  address: ${server.address}\n  ca_cert: ${c.caCert}\n  client_cert: ${c.clientCert}\n` +
    `  client_key: ${c.clientKey}\n  max_retries: 2\n  timeout: 2s\n` +
    `  auth: { method: token, token_file_path: ${dir}/token }\n`;
}

/**
 * The pieces of a PEM text that must not appear in X00's output: every base64 line of 8 characters or more and
 * the whole base64 body on one line (the armour lines are public).
 */
export function pemParts(pem: string): string[] {
  const lines = pem.trim().split("\n");
  const body = lines.filter((l) => !l.startsWith("-----"));
  return [...body.filter((l) => l.length >= 8), body.join("")];
}

/** Vault answers quoting `last` (key and certificate) and `token`: every PKI request fails with them. */
export function quotingFaults(
  last: { privateKey: string; certificate: string },
  token: string,
): Faults {
  return {
    errorBurst: {
      count: 1000,
      status: 500,
      path: "pki/",
      errors: [`bad key ${last.privateKey}`, `for ${last.certificate}`, `token ${token} expired`],
    },
  };
}
