/**
 * HTTP transports of the Vault client.
 *
 * - `fetch` (the default): Deno's `fetch` with `Deno.createHttpClient({ caCerts, cert, key })`: custom CA, mTLS,
 *   connection pooling, HTTP/1.1 and HTTP/2.
 * - `node`: Deno's built-in `node:https`, used only when `tls_server_name` names another host than the address or
 *   when `tls_skip_verify` is set. Deno's own TLS APIs have no server-name override (`Deno.connectTls` verifies
 *   the name it connects to; `Deno.startTls` cannot present a client certificate) and no way to skip
 *   certificate verification per connection; `node:https` supports `servername`, client certificates and
 *   `rejectUnauthorized: false`.
 *
 * Both turn failures into a {@linkcode VaultError} of kind `tls`, `connection` or `timeout` with a message that
 * says what to fix; an abort by the caller rejects with the signal's reason.
 *
 * @module
 */

import type https from "node:https";
import type { IncomingMessage } from "node:http";
import { VaultError } from "./errors.ts";
import type { TlsMaterial } from "./tls.ts";
import { Redactor } from "./_redact.ts";

/** One HTTP request. */
export interface TransportRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
  /** Aborts the request (caller abort or timeout). */
  signal: AbortSignal;
}

/** One HTTP answer, body read completely. */
export interface TransportResponse {
  status: number;
  headers: Headers;
  body: string;
}

/** Sends requests to one Vault address. */
export interface Transport {
  /** `fetch` or `node` (see the module documentation). */
  readonly kind: "fetch" | "node";
  /** Sends one request and reads the whole answer. */
  request(req: TransportRequest): Promise<TransportResponse>;
  /** Closes pooled connections. */
  close(): void;
}

/** TLS settings of a transport. */
export interface TransportOptions {
  /** CA certificates and client certificate/key. */
  tls: TlsMaterial;
  /** Name to send in SNI and to verify the server certificate against, when not the address's host. */
  serverName?: string;
  /** Do not verify the server certificate at all. */
  skipVerify?: boolean;
}

/**
 * Creates the transport for `address`: `fetch` unless a server-name override or `skipVerify` requires `node`.
 *
 * @example Usage
 * ```ts
 * import { createTransport } from "./transport.ts";
 * const t = createTransport(new URL("https://127.0.0.1:8200"), { tls: { caCerts: [] } });
 * console.assert(t.kind === "fetch");
 * t.close();
 * ```
 */
export function createTransport(address: URL, options: TransportOptions): Transport {
  const overrideName = options.serverName !== undefined &&
    options.serverName !== stripBrackets(address.hostname);
  if (address.protocol === "https:" && (overrideName || options.skipVerify === true)) {
    return new NodeTransport(address, options);
  }
  return new FetchTransport(address, options);
}

function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

function stripBrackets(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** The default transport, on Deno's `fetch`. */
export class FetchTransport implements Transport {
  readonly kind = "fetch" as const;
  #client: Deno.HttpClient;
  #address: URL;
  #hasClientCert: boolean;

  constructor(address: URL, options: TransportOptions) {
    this.#address = address;
    const tls = options.tls;
    this.#hasClientCert = tls.clientCert !== undefined;
    const opts: Deno.CreateHttpClientOptions & Partial<Deno.TlsCertifiedKeyPem> = {};
    if (tls.caCerts.length > 0) opts.caCerts = tls.caCerts;
    if (tls.clientCert !== undefined && tls.clientKey !== undefined) {
      opts.cert = tls.clientCert;
      opts.key = tls.clientKey;
    }
    this.#client = Deno.createHttpClient(opts);
  }

  async request(req: TransportRequest): Promise<TransportResponse> {
    try {
      const init: RequestInit & { client: Deno.HttpClient } = {
        method: req.method,
        headers: req.headers,
        signal: req.signal,
        client: this.#client,
      };
      if (req.body !== undefined) init.body = req.body;
      const res = await fetch(req.url, init);
      const body = await res.text();
      return { status: res.status, headers: res.headers, body };
    } catch (err) {
      if (req.signal.aborted) throw req.signal.reason;
      throw classifyTransportError(errorText(err), this.#address, this.#hasClientCert, err);
    }
  }

  close(): void {
    this.#client.close();
  }
}

let nodeHttps: Promise<typeof https> | undefined;
/** `node:https`, imported on first use: loading it (and Node compatibility) costs tens of ms of start-up. */
function loadNodeHttps(): Promise<typeof https> {
  return nodeHttps ??= import("node:https").then((m) => m.default);
}

/** The transport for `tls_server_name` overrides and `tls_skip_verify`, on `node:https`. */
export class NodeTransport implements Transport {
  readonly kind = "node" as const;
  /** `node:https` and this transport's agent, once the module is loaded. */
  #https: Promise<{ https: typeof https; agent: https.Agent }>;
  #address: URL;
  #hasClientCert: boolean;
  #serverName: string;

  constructor(address: URL, options: TransportOptions) {
    this.#address = address;
    const tls = options.tls;
    this.#hasClientCert = tls.clientCert !== undefined;
    this.#serverName = options.serverName ?? stripBrackets(address.hostname);
    const agentOptions: https.AgentOptions = {
      keepAlive: true,
      rejectUnauthorized: options.skipVerify !== true,
    };
    // SNI carries host names only; an IP address is verified against the certificate's IP SANs without it.
    if (!isIpAddress(this.#serverName)) agentOptions.servername = this.#serverName;
    if (tls.caCerts.length > 0) agentOptions.ca = tls.caCerts;
    if (tls.clientCert !== undefined && tls.clientKey !== undefined) {
      agentOptions.cert = tls.clientCert;
      agentOptions.key = tls.clientKey;
    }
    this.#https = loadNodeHttps().then((h) => ({ https: h, agent: new h.Agent(agentOptions) }));
  }

  async request(req: TransportRequest): Promise<TransportResponse> {
    const { https: h, agent } = await this.#https;
    return await new Promise<TransportResponse>((resolve, reject) => {
      if (req.signal.aborted) return reject(req.signal.reason);
      const fail = (err: unknown) => {
        if (req.signal.aborted) return reject(req.signal.reason);
        const code = (err as { code?: unknown }).code;
        const text = `${typeof code === "string" ? code + " " : ""}${errorText(err)}`;
        reject(
          classifyTransportError(text, this.#address, this.#hasClientCert, err, this.#serverName),
        );
      };
      let r: ReturnType<typeof https.request>;
      try {
        r = h.request(req.url, {
          method: req.method,
          headers: req.headers,
          agent,
          signal: req.signal,
        }, onResponse);
      } catch (err) {
        return fail(err);
      }
      r.on("error", fail);
      if (req.body !== undefined) r.write(req.body);
      r.end();
      function onResponse(res: IncomingMessage) {
        const chunks: Uint8Array[] = [];
        res.on("data", (c: Uint8Array) => chunks.push(c));
        res.on("error", fail);
        res.on("end", () => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v === undefined) continue;
            for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
          }
          const body = new TextDecoder().decode(concat(chunks));
          resolve({ status: res.statusCode ?? 0, headers, body });
        });
      }
    });
  }

  close(): void {
    void this.#https.then(({ agent }) => agent.destroy());
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** The messages of an error and its causes, joined. */
function errorText(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 5 && e !== undefined && e !== null; i++) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ");
}

const scrub = new Redactor();

/**
 * Turns the text of a TLS or socket failure into a {@linkcode VaultError} with a message that says what to do.
 * Exported for the tests of both transports.
 *
 * @example Usage
 * ```ts
 * import { classifyTransportError } from "./transport.ts";
 * const e = classifyTransportError("invalid peer certificate: UnknownIssuer", new URL("https://v:8200"), false);
 * console.assert(e.kind === "tls");
 * ```
 */
export function classifyTransportError(
  text: string,
  address: URL,
  hasClientCert: boolean,
  cause?: unknown,
  serverName?: string,
): VaultError {
  const where = address.host;
  const name = serverName ?? stripBrackets(address.hostname);
  const tls = (reason: string) =>
    new VaultError(`TLS handshake with Vault at ${where} failed: ${reason}`, {
      kind: "tls",
      cause: safeCause(cause),
    });
  if (
    /NotValidForName|not valid for name|ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate/i
      .test(text)
  ) {
    return tls(
      `the server certificate is not valid for the name '${name}' ` +
        "(set tls_server_name or VAULT_TLS_SERVER_NAME if Vault's certificate names another host)",
    );
  }
  if (
    /received fatal alert: CertificateRequired|certificate required|peer sent no certificates/i
      .test(text)
  ) {
    return tls("the server requires a client certificate (set client_cert and client_key)");
  }
  const alert =
    /received fatal alert: (BadCertificate|UnknownCA|CertificateExpired|CertificateUnknown|CertificateRevoked|AccessDenied|UnsupportedCertificate|DecryptError)/i
      .exec(text);
  if (alert) return tls(`the server refused the client certificate (TLS alert ${alert[1]})`);
  if (
    /UnknownIssuer|unknown issuer|SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|self.signed certificate|BadSignature/i
      .test(text)
  ) {
    return tls(
      "the server certificate is not signed by a trusted CA (unknown issuer; set ca_cert or ca_path, " +
        "VAULT_CACERT or VAULT_CAPATH, to the CA that issued it)",
    );
  }
  if (/invalid peer certificate: Expired|CERT_HAS_EXPIRED|certificate has expired/i.test(text)) {
    return tls("the server certificate has expired");
  }
  if (/CERT_NOT_YET_VALID|NotValidYet/i.test(text)) {
    return tls("the server certificate is not valid yet");
  }
  if (/invalid peer certificate/i.test(text)) {
    return tls(
      `the server certificate was rejected (${
        scrub.clean(text.replace(/^.*invalid peer certificate:\s*/i, ""))
      })`,
    );
  }
  const conn = (reason: string) =>
    new VaultError(`Cannot reach Vault at ${where}: ${reason}`, {
      kind: "connection",
      cause: safeCause(cause),
    });
  if (/Connection refused|ECONNREFUSED/i.test(text)) return conn("connection refused");
  if (/dns error|failed to lookup|ENOTFOUND|EAI_AGAIN|Name or service not known/i.test(text)) {
    return conn("the host name does not resolve");
  }
  if (
    /close_notify|socket hang up|ECONNRESET|connection reset|connection closed|IncompleteMessage|EPIPE|broken pipe|unexpected eof/i
      .test(text)
  ) {
    return conn(
      "the connection was closed before Vault answered" +
        (hasClientCert
          ? " (if this persists, the server may be refusing the client certificate)"
          : ""),
    );
  }
  return conn(scrub.clean(text) || "unknown network error");
}

/** Causes kept on errors carry only a cleaned message, never a response body or header. */
function safeCause(cause: unknown): Error | undefined {
  if (cause === undefined) return undefined;
  const e = new Error(scrub.clean(errorText(cause)));
  e.name = cause instanceof Error ? cause.name : "Error";
  return e;
}
