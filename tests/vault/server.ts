/**
 * A Vault-API-compatible HTTPS server for tests. It follows Vault's documented HTTP API: `/v1/` paths, the JSON
 * envelope (request_id, lease_id, renewable, lease_duration, data, wrap_info, warnings, auth, mount_type), the
 * `{"errors":[...]}` body on every error, the status codes Vault uses (400, 403, 404, 405, 412, 429, 500, 503),
 * the `X-Vault-Token`, `X-Vault-Namespace` and `X-Vault-Request` headers, and `Retry-After` on 429.
 *
 * Implemented: KV v2 (`<mount>/data/<path>`, `?version=`, deleted/destroyed versions), KV v1, dynamic database
 * credentials (`database/creds/<role>`) with leases, PKI certificates (`<mount>/issue/<role>`, see `pki_mount.ts`),
 * `sys/leases/renew`, `auth/token/lookup-self`, `auth/token/renew-self`, AppRole, Kubernetes, JWT and TLS
 * certificate logins, response wrapping (`sys/wrapping/wrap|lookup|unwrap`, see `server_auth.ts`), path ACLs,
 * namespaces, and switches to inject faults.
 *
 * It is built on Deno's `node:https` because `Deno.listenTls` cannot request or verify client certificates.
 *
 * @module
 */

import https from "node:https";
import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { X509Certificate } from "node:crypto";
import {
  appRoleLogin,
  CertBackend,
  type CertRole,
  INVALID_WRAPPING_TOKEN,
  JwtBackend,
  type JwtConfig,
  type JwtRole,
  kubernetesLogin,
  type LoginOutcome,
  WrapBackend,
} from "./server_auth.ts";
import { PkiMount, type PkiRole } from "./pki_mount.ts";

/** One recorded request (headers lower-cased; the test process may look at tokens, the client never logs them). */
export interface RecordedRequest {
  method: string;
  /** Path without `/v1/`. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Client certificate subject CN, when one was presented. */
  clientCn?: string;
}

/** A fault that applies to the next `count` requests whose path starts with `path` (all paths if absent). */
interface CountedFault {
  count: number;
  path?: string;
}

/** Fault switches. Counted faults are consumed request by request. */
export interface Faults {
  /** 503 "Vault is sealed" to every request. */
  sealed?: boolean;
  /** 503 "Vault is in standby mode" to every request. */
  standby?: boolean;
  /** 500 "local node not active but active cluster node not found" to every request. */
  standbyNoLeader?: boolean;
  /** Close the connection without answering. */
  drop?: CountedFault;
  /** Answer after `ms` milliseconds (`count` requests, or every request when count is -1). */
  delay?: CountedFault & { ms: number };
  /** Answer with a 5xx status. */
  errorBurst?: CountedFault & { status: number; errors?: string[] };
  /** Answer 429 with `Retry-After: retryAfterS`. */
  rateLimit?: CountedFault & { retryAfterS: number };
  /** Answer 412 (eventual consistency). */
  precondition?: CountedFault;
  /** Answer 200 with this body (not JSON, for example). */
  malformed?: CountedFault & { body: string };
  /** `auth/token/renew-self` answers 403 permission denied. */
  refuseTokenRenewal?: boolean;
}

interface TokenEntry {
  policies: string[];
  /** ms since epoch; 0: never expires. */
  expiresAt: number;
  maxExpiresAt: number;
  renewable: boolean;
  ttlS: number;
  accessor: string;
  createdAt: number;
  path: string;
  revoked: boolean;
}

interface KvVersion {
  data: Record<string, unknown>;
  created: string;
  deletion: string;
  destroyed: boolean;
}

interface DynamicRole {
  ttlS: number;
  maxTtlS: number;
  renewable: boolean;
  issued: number;
}

interface LeaseEntry {
  path: string;
  expiresAt: number;
  maxExpiresAt: number;
  renewable: boolean;
  ttlS: number;
  revoked: boolean;
}

/** Options of {@linkcode VaultTestServer.start}. */
export interface VaultTestServerOptions {
  /** Server certificate and key (PEM file paths). Absent: plain HTTP. */
  cert?: string;
  key?: string;
  /** CA (PEM file path) that client certificates must chain to; when set, a client certificate is required. */
  clientCa?: string;
  /**
   * Request a client certificate without requiring one, as Vault's listener does by default: any certificate is
   * accepted by the handshake, and cert auth verifies it against its roles.
   */
  clientCertOptional?: boolean;
}

function rid(): string {
  return crypto.randomUUID();
}

function randomToken(prefix = "hvs."): string {
  const b = crypto.getRandomValues(new Uint8Array(18));
  return prefix + btoa(String.fromCharCode(...b)).replace(/[+/=]/g, "x");
}

/** A Vault-compatible test server. */
export class VaultTestServer {
  /** Requests received, in order. */
  readonly requests: RecordedRequest[] = [];
  /** Fault switches; change them at any time. */
  faults: Faults = {};
  /** A root token (policy `root`). */
  readonly rootToken: string;
  readonly port: number;
  readonly tls: boolean;

  #server: http.Server | https.Server;
  #sockets = new Set<Socket>();
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #tokens = new Map<string, TokenEntry>();
  #kv2 = new Map<string, KvVersion[]>();
  #kv1 = new Map<string, Record<string, unknown>>();
  #dynamic = new Map<string, DynamicRole>();
  #leases = new Map<string, LeaseEntry>();
  #approles = new Map<
    string,
    { roleId: string; secretIds: Set<string>; ttlS: number; maxTtlS: number; policies: string[] }
  >();
  #k8s = new Map<string, { jwt: string; ttlS: number; maxTtlS: number; policies: string[] }>();
  #jwt = new JwtBackend();
  #cert = new CertBackend();
  #wrap = new WrapBackend();
  /** Mount -> engine. */
  #pki = new Map<string, PkiMount>();
  #mounts = new Map<string, "kv-v2" | "kv-v1" | "database" | "pki">([
    ["secret", "kv-v2"],
    ["kv", "kv-v1"],
    ["database", "database"],
  ]);

  private constructor(server: http.Server | https.Server, port: number, tls: boolean) {
    this.#server = server;
    this.port = port;
    this.tls = tls;
    this.rootToken = this.createToken({ policies: ["root"], ttlS: 0 });
  }

  /**
   * Starts a server on 127.0.0.1 and a random port.
   *
   * @example Usage
   * ```ts ignore
   * const server = await VaultTestServer.start({ cert, key, clientCa: ca });
   * server.putKvV2("secret", "app", { password: "x" });
   * await server.close();
   * ```
   */
  static async start(options: VaultTestServerOptions = {}): Promise<VaultTestServer> {
    const tls = options.cert !== undefined && options.key !== undefined;
    const ref: { server?: VaultTestServer } = {};
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      ref.server?.handle(req, res);
    };
    let server: http.Server | https.Server;
    if (tls) {
      const opts: https.ServerOptions = {
        cert: await Deno.readTextFile(options.cert!),
        key: await Deno.readTextFile(options.key!),
      };
      if (options.clientCa !== undefined) {
        opts.ca = await Deno.readTextFile(options.clientCa);
        opts.requestCert = true;
        opts.rejectUnauthorized = options.clientCertOptional !== true;
      } else if (options.clientCertOptional) {
        opts.requestCert = true;
        opts.rejectUnauthorized = false;
      }
      server = https.createServer(opts, handler);
      server.on("tlsClientError", () => {});
    } else {
      server = http.createServer(handler);
    }
    const port = await new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const addr = server.address();
        resolve(typeof addr === "object" && addr !== null ? addr.port : 0);
      });
    });
    const self = new VaultTestServer(server, port, tls);
    ref.server = self;
    const track = (s: Socket) => {
      self.#sockets.add(s);
      s.on("close", () => self.#sockets.delete(s));
    };
    server.on(tls ? "secureConnection" : "connection", track);
    if (tls) server.on("connection", track);
    return self;
  }

  /** `https://127.0.0.1:<port>` (or http://). */
  get address(): string {
    return `${this.tls ? "https" : "http"}://127.0.0.1:${this.port}`;
  }

  /** Stops the server, drops connections and pending delayed answers. */
  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  // ---- state -------------------------------------------------------------------------------------------------

  /** Creates a token. `policies`: path patterns (`secret/data/app`, `secret/*`) or `root`. */
  createToken(
    opts: {
      policies: string[];
      ttlS?: number;
      maxTtlS?: number;
      renewable?: boolean;
      path?: string;
    },
  ): string {
    const token = randomToken();
    const now = Date.now();
    const ttlS = opts.ttlS ?? 3600;
    const maxTtlS = opts.maxTtlS ?? (ttlS === 0 ? 0 : 86400);
    this.#tokens.set(token, {
      policies: opts.policies,
      ttlS,
      expiresAt: ttlS === 0 ? 0 : now + ttlS * 1000,
      maxExpiresAt: maxTtlS === 0 ? 0 : now + maxTtlS * 1000,
      renewable: opts.renewable ?? ttlS !== 0,
      accessor: randomToken("").slice(0, 24),
      createdAt: now,
      path: opts.path ?? "auth/token/create",
      revoked: false,
    });
    return token;
  }

  /** Makes every token except the root token expire now. */
  expireTokens(): void {
    for (const [t, e] of this.#tokens) if (t !== this.rootToken) e.expiresAt = Date.now() - 1;
  }

  /** Every token the server ever issued, wrapping tokens included (for leak scans). */
  get allTokens(): string[] {
    return [...this.#tokens.keys(), ...this.#wrap.issued];
  }

  /** Number of live (unexpired, unrevoked) tokens. */
  get tokenCount(): number {
    return [...this.#tokens.values()].filter((e) => this.#tokenValid(e)).length;
  }

  /** Writes a new KV v2 version; returns its number. */
  putKvV2(mount: string, path: string, data: Record<string, unknown>, namespace = ""): number {
    const key = `${namespace}|${mount}|${path}`;
    const versions = this.#kv2.get(key) ?? [];
    versions.push({
      data: structuredClone(data),
      created: new Date().toISOString(),
      deletion: "",
      destroyed: false,
    });
    this.#kv2.set(key, versions);
    return versions.length;
  }

  /** Soft-deletes a KV v2 version. */
  deleteKvV2Version(mount: string, path: string, version: number, namespace = ""): void {
    const v = this.#kv2.get(`${namespace}|${mount}|${path}`)?.[version - 1];
    if (v) v.deletion = new Date().toISOString();
  }

  /** Writes a KV v1 secret. */
  putKvV1(mount: string, path: string, data: Record<string, unknown>, namespace = ""): void {
    this.#kv1.set(`${namespace}|${mount}|${path}`, structuredClone(data));
  }

  /** Declares a mount (KV v2 `secret/`, KV v1 `kv/` and `database/` exist by default). */
  mount(name: string, engine: "kv-v2" | "kv-v1" | "database"): void {
    this.#mounts.set(name, engine);
  }

  /**
   * Enables a PKI mount (default `pki`) with a new test CA, or returns the existing one. Its CA certificate is
   * `server.pki().ca.certificate.pem`.
   */
  pki(mount = "pki"): PkiMount {
    let m = this.#pki.get(mount);
    if (m === undefined) {
      m = new PkiMount();
      this.#pki.set(mount, m);
      this.#mounts.set(mount, "pki");
    }
    return m;
  }

  /** Creates or replaces a PKI role (`<mount>/roles/<name>`); unset settings take Vault's defaults. */
  addPkiRole(name: string, settings: Partial<PkiRole> = {}, mount = "pki"): void {
    this.pki(mount).setRole(name, settings);
  }

  /** Deletes a PKI role: issuing with it then answers 400 `unknown role: <name>`. */
  deletePkiRole(name: string, mount = "pki"): void {
    this.#pki.get(mount)?.roles.delete(name);
  }

  /** Declares a database role: `database/creds/<role>` issues credentials with these lease TTLs. */
  addDatabaseRole(
    role: string,
    opts: { ttlS: number; maxTtlS: number; renewable?: boolean },
  ): void {
    this.#dynamic.set(role, {
      ttlS: opts.ttlS,
      maxTtlS: opts.maxTtlS,
      renewable: opts.renewable ?? true,
      issued: 0,
    });
  }

  /** Number of credentials issued for a database role. */
  issuedCount(role: string): number {
    return this.#dynamic.get(role)?.issued ?? 0;
  }

  /** Makes every lease expire (renewal then answers 400 "lease not found"). */
  expireLeases(): void {
    for (const l of this.#leases.values()) l.expiresAt = Date.now() - 1;
  }

  /** Declares an AppRole. */
  addAppRole(
    opts: {
      mount?: string;
      roleId: string;
      secretId: string;
      ttlS?: number;
      maxTtlS?: number;
      policies: string[];
    },
  ): void {
    this.#approles.set(opts.mount ?? "approle", {
      roleId: opts.roleId,
      secretIds: new Set([opts.secretId]),
      ttlS: opts.ttlS ?? 3600,
      maxTtlS: opts.maxTtlS ?? 86400,
      policies: opts.policies,
    });
  }

  /** Declares a Kubernetes auth role accepting one JWT. */
  addKubernetesRole(
    opts: {
      mount?: string;
      role: string;
      jwt: string;
      ttlS?: number;
      maxTtlS?: number;
      policies: string[];
    },
  ): void {
    this.#k8s.set(`${opts.mount ?? "kubernetes"}|${opts.role}`, {
      jwt: opts.jwt,
      ttlS: opts.ttlS ?? 3600,
      maxTtlS: opts.maxTtlS ?? 86400,
      policies: opts.policies,
    });
  }

  /** `auth/<mount>/config` of a JWT mount (default mount `jwt`): the public keys that verify JWTs. */
  configureJwt(config: JwtConfig, mount = "jwt"): void {
    this.#jwt.configs.set(mount, config);
  }

  /** Declares a JWT role (`auth/<mount>/role/<role>`, role_type jwt unless said otherwise). */
  addJwtRole(role: string, opts: JwtRole, mount = "jwt"): void {
    this.#jwt.roles.set(`${mount}|${role}`, opts);
  }

  /** Declares a cert role (`auth/<mount>/certs/<name>`, default mount `cert`). */
  addCertRole(name: string, opts: CertRole, mount = "cert"): void {
    this.#cert.add(mount, name, opts);
  }

  /**
   * Revokes a certificate serial (hex) on a cert mount: stands in for posting a CRL listing it to
   * `auth/<mount>/crls/<name>`. Vault checks every certificate of the verified chain against the CRLs.
   */
  revokeCertSerial(serialHex: string, mount = "cert"): void {
    this.#cert.revoke(mount, serialHex);
  }

  /**
   * Response-wraps a whole answer as Vault does for a request with `X-Vault-Wrap-TTL`; returns the wrapping token.
   */
  wrapResponse(data: Record<string, unknown>, creationPath: string, ttlS = 300): string {
    const token = randomToken();
    this.#wrap.wrap(
      this.#envelope({ data, mount_type: creationPath.split("/")[1] ?? "" }),
      creationPath,
      token,
      randomToken("").slice(0, 24),
      ttlS,
    );
    return token;
  }

  /**
   * Issues a new secret_id for the AppRole of `mount` and response-wraps it, as
   * `POST auth/<mount>/role/<role>/secret-id` with `X-Vault-Wrap-TTL` does (creation path
   * `auth/<mount>/role/<role>/secret-id`). Returns the wrapping token and, for assertions, the secret_id.
   */
  wrapNewSecretId(
    opts: { mount?: string; role: string; ttlS?: number },
  ): { wrappingToken: string; secretId: string } {
    const mount = opts.mount ?? "approle";
    const approle = this.#approles.get(mount);
    if (approle === undefined) throw new Error(`no AppRole on mount ${mount}`);
    const secretId = crypto.randomUUID();
    approle.secretIds.add(secretId);
    const wrappingToken = this.wrapResponse(
      {
        secret_id: secretId,
        secret_id_accessor: crypto.randomUUID(),
        secret_id_ttl: 0,
        secret_id_num_uses: 0,
      },
      `auth/${mount}/role/${opts.role}/secret-id`,
      opts.ttlS,
    );
    return { wrappingToken, secretId };
  }

  /** Requests whose path starts with `prefix`. */
  requestsTo(prefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(prefix));
  }

  // ---- HTTP --------------------------------------------------------------------------------------------------

  #peers = new WeakMap<RecordedRequest, X509Certificate>();

  #take(f: CountedFault | undefined, path: string): boolean {
    if (!f || f.count === 0) return false;
    if (f.path !== undefined && !path.startsWith(f.path)) return false;
    if (f.count > 0) f.count--;
    return true;
  }

  /** Handles one request (public for the server's listener only). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Uint8Array[] = [];
    req.on("data", (c: Uint8Array) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const path = url.pathname.replace(/^\/v1\//, "").replace(/\/+$/, "");
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      const rec: RecordedRequest = {
        method: req.method ?? "GET",
        path,
        query: Object.fromEntries(url.searchParams),
        headers,
      };
      const peer = (req.socket as unknown as {
        getPeerCertificate?: (detailed: boolean) => { subject?: { CN?: string }; raw?: Uint8Array };
      }).getPeerCertificate?.(true);
      if (peer?.subject?.CN) rec.clientCn = peer.subject.CN;
      if (peer?.raw) this.#peers.set(rec, new X509Certificate(peer.raw));
      this.requests.push(rec);
      const text = new TextDecoder().decode(concat(chunks));
      const f = this.faults;
      if (this.#take(f.drop, path)) {
        req.socket.destroy();
        return;
      }
      const answer = () => this.#answer(req, res, rec, text);
      if (f.delay && this.#take(f.delay, path)) {
        const t = setTimeout(() => {
          this.#timers.delete(t);
          if (!res.writableEnded && !req.socket.destroyed) answer();
        }, f.delay.ms);
        this.#timers.add(t);
        return;
      }
      answer();
    });
  }

  #send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, {
      "Content-Type": "application/json",
      "Cache-Control": "no-store",
      "Content-Length": String(new TextEncoder().encode(text).length),
      ...headers,
    });
    res.end(text);
  }

  #error(
    res: ServerResponse,
    status: number,
    errors: string[],
    headers: Record<string, string> = {},
  ): void {
    this.#send(res, status, { errors }, headers);
  }

  #envelope(fields: Record<string, unknown>): Record<string, unknown> {
    return {
      request_id: rid(),
      lease_id: "",
      renewable: false,
      lease_duration: 0,
      data: null,
      wrap_info: null,
      warnings: null,
      auth: null,
      ...fields,
    };
  }

  #tokenValid(e: TokenEntry | undefined): e is TokenEntry {
    if (!e || e.revoked) return false;
    return e.expiresAt === 0 || e.expiresAt > Date.now();
  }

  #allowed(e: TokenEntry, path: string): boolean {
    if (e.policies.includes("root")) return true;
    return e.policies.some((p) => p.endsWith("*") ? path.startsWith(p.slice(0, -1)) : path === p);
  }

  #authBlock(token: string, e: TokenEntry, meta: Record<string, string>): Record<string, unknown> {
    return {
      client_token: token,
      accessor: e.accessor,
      policies: ["default", ...e.policies],
      token_policies: ["default", ...e.policies],
      metadata: meta,
      lease_duration: e.ttlS,
      renewable: e.renewable,
      entity_id: rid(),
      token_type: "service",
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
    };
  }

  #answer(req: IncomingMessage, res: ServerResponse, rec: RecordedRequest, text: string): void {
    const f = this.faults;
    const path = rec.path;
    if (f.sealed) return this.#error(res, 503, ["Vault is sealed"]);
    if (f.standby) return this.#error(res, 503, ["Vault is in standby mode"]);
    if (f.standbyNoLeader) {
      return this.#error(res, 500, ["local node not active but active cluster node not found"]);
    }
    if (f.errorBurst && this.#take(f.errorBurst, path)) {
      return this.#error(res, f.errorBurst.status, f.errorBurst.errors ?? ["internal error"]);
    }
    if (f.rateLimit && this.#take(f.rateLimit, path)) {
      return this.#error(res, 429, [`request path "${path}": rate limit quota exceeded`], {
        "Retry-After": String(f.rateLimit.retryAfterS),
      });
    }
    if (this.#take(f.precondition, path)) {
      return this.#error(res, 412, ["required index state not present"]);
    }
    if (f.malformed && this.#take(f.malformed, path)) return this.#send(res, 200, f.malformed.body);

    let body: Record<string, unknown> = {};
    if (text.trim() !== "") {
      try {
        const parsed = JSON.parse(text);
        if (typeof parsed !== "object" || parsed === null) throw new Error();
        body = parsed;
      } catch {
        return this.#error(res, 400, ["failed to parse JSON input: invalid character"]);
      }
    }
    const method = req.method === "PUT" ? "POST" : req.method ?? "GET";
    const ns = (rec.headers["x-vault-namespace"] ?? "").replace(/^\/+|\/+$/g, "");

    // Unauthenticated login endpoints.
    const login = /^auth\/(.+)\/login$/.exec(path);
    if (login) {
      if (method !== "POST") {
        return this.#error(res, 405, ["1 error occurred:\n\t* unsupported operation\n\n"]);
      }
      return this.#login(res, login[1]!, body, this.#peers.get(rec));
    }

    // Wrapping tokens are not client tokens: lookup and unwrap are checked against the wrapping store.
    if (path === "sys/wrapping/lookup" || path === "sys/wrapping/unwrap") {
      if (method !== "POST" && !(method === "GET" && path === "sys/wrapping/lookup")) {
        return this.#error(res, 405, ["1 error occurred:\n\t* unsupported operation\n\n"]);
      }
      const wrapping = typeof body.token === "string" && body.token !== ""
        ? body.token
        : rec.headers["x-vault-token"];
      if (path === "sys/wrapping/lookup") {
        const data = this.#wrap.lookup(wrapping);
        if (data === undefined) return this.#error(res, 400, [INVALID_WRAPPING_TOKEN]);
        return this.#send(res, 200, this.#envelope({ data, mount_type: "system" }));
      }
      const inner = this.#wrap.unwrap(wrapping);
      if (inner === undefined) return this.#error(res, 400, [INVALID_WRAPPING_TOKEN]);
      return this.#send(res, 200, inner);
    }

    const token = rec.headers["x-vault-token"];
    const entry = token === undefined ? undefined : this.#tokens.get(token);
    if (!this.#tokenValid(entry)) return this.#error(res, 403, ["permission denied"]);

    if (path === "auth/token/lookup-self") {
      if (method !== "GET") {
        return this.#error(res, 405, ["1 error occurred:\n\t* unsupported operation\n\n"]);
      }
      const ttl = entry.expiresAt === 0
        ? 0
        : Math.max(0, Math.round((entry.expiresAt - Date.now()) / 1000));
      return this.#send(
        res,
        200,
        this.#envelope({
          data: {
            accessor: entry.accessor,
            creation_time: Math.floor(entry.createdAt / 1000),
            creation_ttl: entry.ttlS,
            display_name: "token",
            entity_id: "",
            expire_time: entry.expiresAt === 0 ? null : new Date(entry.expiresAt).toISOString(),
            explicit_max_ttl: 0,
            id: token,
            issue_time: new Date(entry.createdAt).toISOString(),
            meta: null,
            num_uses: 0,
            orphan: true,
            path: entry.path,
            policies: ["default", ...entry.policies],
            renewable: entry.renewable,
            ttl,
            type: "service",
          },
          mount_type: "token",
        }),
      );
    }
    if (path === "auth/token/renew-self") {
      if (method !== "POST") {
        return this.#error(res, 405, ["1 error occurred:\n\t* unsupported operation\n\n"]);
      }
      if (f.refuseTokenRenewal) return this.#error(res, 403, ["permission denied"]);
      if (!entry.renewable || entry.expiresAt === 0) {
        return this.#error(res, 400, ["lease is not renewable"]);
      }
      const inc = parseIncrement(body.increment) ?? entry.ttlS;
      const { ttl, warning } = capped(inc, entry.maxExpiresAt);
      entry.expiresAt = Date.now() + ttl * 1000;
      const auth = this.#authBlock(token!, entry, {});
      auth.lease_duration = ttl;
      return this.#send(
        res,
        200,
        this.#envelope({ auth, warnings: warning ? [warning] : null, mount_type: "token" }),
      );
    }
    if (path === "sys/wrapping/wrap") {
      if (method !== "POST") {
        return this.#error(res, 405, ["1 error occurred:\n\t* unsupported operation\n\n"]);
      }
      const ttl = parseIncrement(rec.headers["x-vault-wrap-ttl"]) ?? 300;
      const wrapToken = randomToken();
      const wrapInfo = this.#wrap.wrap(
        this.#envelope({ data: body, mount_type: "system" }),
        "sys/wrapping/wrap",
        wrapToken,
        randomToken("").slice(0, 24),
        ttl,
      );
      return this.#send(res, 200, this.#envelope({ wrap_info: wrapInfo }));
    }
    if (path === "sys/leases/renew" || path.startsWith("sys/leases/renew/")) {
      if (method !== "POST") {
        return this.#error(res, 405, ["1 error occurred:\n\t* unsupported operation\n\n"]);
      }
      if (!this.#allowed(entry, "sys/leases/renew")) {
        return this.#error(res, 403, ["permission denied"]);
      }
      const leaseId = typeof body.lease_id === "string"
        ? body.lease_id
        : path.slice("sys/leases/renew/".length);
      if (!leaseId) return this.#error(res, 400, ["lease_id must be specified"]);
      const lease = this.#leases.get(leaseId);
      if (!lease || lease.revoked || lease.expiresAt <= Date.now()) {
        return this.#error(res, 400, ["lease not found"]);
      }
      if (!lease.renewable) return this.#error(res, 400, ["lease is not renewable"]);
      const inc = parseIncrement(body.increment) ?? lease.ttlS;
      const { ttl, warning } = capped(inc, lease.maxExpiresAt);
      lease.expiresAt = Date.now() + ttl * 1000;
      return this.#send(
        res,
        200,
        this.#envelope({
          lease_id: leaseId,
          renewable: true,
          lease_duration: ttl,
          warnings: warning ? [warning] : null,
          mount_type: "system",
        }),
      );
    }

    // An ACL denial: Vault wraps it with go-multierror.
    if (!this.#allowed(entry, path)) {
      return this.#error(res, 403, ["1 error occurred:\n\t* permission denied\n\n"]);
    }
    const mountName = path.split("/")[0] ?? "";
    const engine = this.#mounts.get(mountName);
    if (engine === undefined) {
      return this.#error(res, 404, [`no handler for route "${path}". route entry not found.`]);
    }
    const rest = path.slice(mountName.length + 1);
    if (engine === "kv-v2") {
      if (!rest.startsWith("data/")) return this.#error(res, 404, []);
      if (method !== "GET") {
        return this.#error(res, 405, ["1 error occurred:\n\t* unsupported operation\n\n"]);
      }
      const versions = this.#kv2.get(`${ns}|${mountName}|${rest.slice(5)}`);
      if (!versions || versions.length === 0) return this.#error(res, 404, []);
      const wanted = rec.query.version !== undefined && rec.query.version !== "0"
        ? Number(rec.query.version)
        : versions.length;
      const v = versions[wanted - 1];
      if (!v) return this.#error(res, 404, []);
      const metadata = {
        created_time: v.created,
        custom_metadata: null,
        deletion_time: v.deletion,
        destroyed: v.destroyed,
        version: wanted,
      };
      if (v.deletion !== "" || v.destroyed) {
        return this.#send(
          res,
          404,
          this.#envelope({ data: { data: null, metadata }, mount_type: "kv" }),
        );
      }
      return this.#send(
        res,
        200,
        this.#envelope({ data: { data: v.data, metadata }, mount_type: "kv" }),
      );
    }
    if (engine === "kv-v1") {
      if (method !== "GET") {
        return this.#error(res, 405, ["1 error occurred:\n\t* unsupported operation\n\n"]);
      }
      const data = this.#kv1.get(`${ns}|${mountName}|${rest}`);
      if (!data) return this.#error(res, 404, []);
      return this.#send(
        res,
        200,
        this.#envelope({ data, lease_duration: 2764800, mount_type: "kv" }),
      );
    }
    if (engine === "pki") {
      const answer = this.#pki.get(mountName)!.handle(method, mountName, rest, body);
      if ("errors" in answer) return this.#error(res, answer.status, answer.errors);
      return this.#send(res, 200, this.#envelope({ ...answer.envelope, mount_type: "pki" }));
    }
    // database
    const creds = /^creds\/([^/]+)$/.exec(rest);
    if (!creds) {
      return this.#error(res, 404, [`no handler for route "${path}". route entry not found.`]);
    }
    if (method !== "GET") {
      return this.#error(res, 405, ["1 error occurred:\n\t* unsupported operation\n\n"]);
    }
    const role = this.#dynamic.get(creds[1]!);
    if (!role) return this.#error(res, 400, [`unknown role: ${creds[1]}`]);
    role.issued++;
    const leaseId = `${path}/${randomToken("").slice(0, 24)}`;
    const now = Date.now();
    this.#leases.set(leaseId, {
      path,
      ttlS: role.ttlS,
      expiresAt: now + role.ttlS * 1000,
      maxExpiresAt: now + role.maxTtlS * 1000,
      renewable: role.renewable,
      revoked: false,
    });
    return this.#send(
      res,
      200,
      this.#envelope({
        lease_id: leaseId,
        renewable: role.renewable,
        lease_duration: role.ttlS,
        data: { username: `v-token-${creds[1]}-${role.issued}`, password: randomToken("A1a-") },
        mount_type: "database",
      }),
    );
  }

  #issue(res: ServerResponse, mount: string, outcome: LoginOutcome): void {
    if ("errors" in outcome) return this.#error(res, outcome.status, outcome.errors);
    const token = this.createToken({
      policies: outcome.policies,
      ttlS: outcome.ttlS,
      maxTtlS: outcome.maxTtlS,
      path: `auth/${mount}/login`,
    });
    const e = this.#tokens.get(token)!;
    return this.#send(
      res,
      200,
      this.#envelope({
        auth: this.#authBlock(token, e, outcome.metadata),
        mount_type: outcome.mountType,
      }),
    );
  }

  #login(
    res: ServerResponse,
    mount: string,
    body: Record<string, unknown>,
    peer: X509Certificate | undefined,
  ): void {
    if (this.#jwt.has(mount)) {
      this.#jwt.login(mount, body).then(
        (outcome) => this.#issue(res, mount, outcome),
        () => this.#error(res, 500, ["internal error"]),
      );
      return;
    }
    if (this.#cert.has(mount)) return this.#issue(res, mount, this.#cert.login(mount, body, peer));
    const approle = this.#approles.get(mount);
    if (approle) return this.#issue(res, mount, appRoleLogin(approle, body));
    if ([...this.#k8s.keys()].some((k) => k.startsWith(`${mount}|`))) {
      const role = typeof body.role === "string" ? body.role : "";
      return this.#issue(
        res,
        mount,
        kubernetesLogin(role, this.#k8s.get(`${mount}|${role}`), body),
      );
    }
    return this.#error(res, 404, [
      `no handler for route "auth/${mount}/login". route entry not found.`,
    ]);
  }
}

function parseIncrement(v: unknown): number | undefined {
  if (typeof v === "number" && v > 0) return v;
  if (typeof v === "string") {
    const m = /^(\d+)(s|m|h)?$/.exec(v.trim());
    if (m) return Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
  }
  return undefined;
}

/** Caps a requested TTL at what is left before the max TTL, with Vault's warning text. */
function capped(requestedS: number, maxExpiresAt: number): { ttl: number; warning?: string } {
  if (maxExpiresAt === 0) return { ttl: requestedS };
  const left = Math.max(0, Math.floor((maxExpiresAt - Date.now()) / 1000));
  if (requestedS <= left) return { ttl: requestedS };
  return {
    ttl: left,
    warning:
      `TTL of "${requestedS}s" exceeded the effective max_ttl of "${left}s"; TTL value is capped accordingly`,
  };
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
