/**
 * {@linkcode VaultSecretSource}: one Vault secret entry of the policy (KV v2, KV v1, a dynamic secret with its
 * lease, a PKI certificate), read, kept alive and issued again when it must be.
 *
 * @module
 */

import { sha256Hex } from "../../vault/_sha256.ts";
import { VaultSourceError, wrap } from "./errors.ts";
import { X00Error } from "../../errors.ts";
import type { SecretSpec, VaultSource } from "../../policy/types.ts";
import type { FetchedSecret, FetchOptions, SecretSource } from "../source.ts";
import { zeroSecret } from "../source.ts";
import {
  backoffDelay,
  certificateRetry,
  certificateValues,
  issueCertificate,
  LeaseKeeper,
  type Logger,
  readKvV1,
  readKvV2,
  readLeased,
  type ReissueReason,
  renewalDelayMs,
  VaultClient,
} from "../../vault/mod.ts";

/** A change of one entry's values, or a failure while watching it. */
export type VaultSourceEvent =
  | {
    type: "changed";
    /** The secret entry's name. */
    name: string;
    /**
     * `kv_version`: a new KV v2 version; `kv_value`: a KV v1 value changed; `lease_reissued`: new credentials;
     * `certificate_renewed`: a new certificate (`engine: pki`) before the previous one expires.
     */
    reason: "kv_version" | "kv_value" | "lease_reissued" | "certificate_renewed";
    /** For `lease_reissued`: why the credentials were issued again. */
    detail?: ReissueReason;
    /** The new values; the listener owns them and zeroes them once delivered (or unused). */
    secret: FetchedSecret;
  }
  | {
    type: "error";
    /** The secret entry's name. */
    name: string;
    /** What failed; the running workload keeps its values. */
    error: VaultSourceError;
  };

/** Options of {@linkcode VaultSecretSource}. */
export interface VaultSecretSourceOptions {
  logger?: Logger;
}

/**
 * The source of one Vault secret entry: reads KV v2 (latest or pinned), KV v1 or a dynamic secret, and delivers
 * the keys the entry's deliveries name. For a dynamic secret it keeps the lease alive and, when the credentials
 * must be issued again (max TTL, renewal refused, lease expired), issues new ones and emits a `changed` event.
 *
 * Each `fetch()` of a dynamic entry issues new credentials (and keeps their lease instead of the previous one);
 * after start-up, take new values from the events.
 *
 * @example Usage
 * ```ts ignore
 * const source = new VaultSecretSource(client, spec);
 * const secret = await source.fetch();
 * console.log([...secret.values.keys()], secret.version);
 * ```
 */
export class VaultSecretSource implements SecretSource {
  /** The secret entry's name. */
  readonly name: string;
  /** The entry's Vault source. */
  readonly source: VaultSource;
  /** The keys delivered or read by templates (`""`: the whole data object as JSON). */
  readonly keys: readonly string[];
  /** Whether every key of the secret is delivered (`all_keys`), `keys` included. */
  readonly allKeys: boolean;
  #client: VaultClient;
  #logger: Logger;
  #keeper: LeaseKeeper | undefined;
  #digest: string | undefined;
  #version: string | undefined;
  #listeners = new Set<(e: VaultSourceEvent) => void>();
  #closed = false;
  #reissueTimer: ReturnType<typeof setTimeout> | undefined;
  /** `engine: pki`: when the certificate handed out last expires (ms since the epoch). */
  #certExpiresAt: number | undefined;

  constructor(client: VaultClient, spec: SecretSpec, options: VaultSecretSourceOptions = {}) {
    if (spec.source.type !== "vault") {
      throw new X00Error(
        `Cannot use secret '${spec.name}' as a Vault source: its source is ${spec.source.type}`,
      );
    }
    this.name = spec.name;
    this.source = spec.source;
    this.keys = [...new Set([...spec.deliveries.keys(), ...(spec.template_keys ?? [])])];
    this.allKeys = spec.all_keys !== undefined;
    this.#client = client;
    this.#logger = options.logger ?? client.logger;
  }

  /** The Vault path read, e.g. `secret/data/app` (for messages). */
  get path(): string {
    const s = this.source;
    const join = (...p: (string | undefined)[]) => p.filter((x) => x).join("/");
    if (s.engine === "kv-v2") return join(s.mount, "data", s.path);
    if (s.engine === "kv-v1" || s.engine === "pki") return join(s.mount, s.path);
    return s.path;
  }

  /**
   * How changes are detected: `poll` (KV, latest), `lease` (dynamic; pki, whose certificates are renewed before
   * they expire) or `never` (KV v2 pinned version).
   */
  get rotation(): "poll" | "lease" | "never" {
    if (this.source.engine === "dynamic" || this.source.engine === "pki") return "lease";
    if (this.source.engine === "kv-v2" && this.source.version !== undefined) return "never";
    return "poll";
  }

  /** The version marker of the values last handed out (KV v2 version, lease id). */
  get version(): string | undefined {
    return this.#version;
  }

  /** Registers a listener for this entry's events; returns a function that removes it. */
  subscribe(listener: (e: VaultSourceEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Reads the entry's current values.
   *
   * @throws {VaultSourceError} Exit code 5, naming the entry, the path and the reason.
   */
  async fetch(options: FetchOptions = {}): Promise<FetchedSecret> {
    const read = await this.#read(options.signal);
    const secret = this.#extract(read.data, read.version);
    this.#keepAll(read);
    this.#digest = digest(secret);
    this.#version = read.version;
    return secret;
  }

  /**
   * Checks KV entries for new values (used by the watcher). Returns the new values when the delivered keys'
   * values differ from those last handed out, `undefined` otherwise (a new KV version with the same values
   * included). Dynamic and pinned entries return `undefined`.
   *
   * @throws {VaultSourceError} When Vault cannot be read.
   */
  async poll(signal?: AbortSignal): Promise<VaultSourceEvent | undefined> {
    if (this.rotation !== "poll" || this.#closed) return undefined;
    const read = await this.#read(signal);
    const secret = this.#extract(read.data, read.version);
    const d = digest(secret);
    if (d === this.#digest) {
      if (read.version !== this.#version) {
        this.#logger(
          "debug",
          `Secret '${this.name}': version ${this.#version} -> ${read.version}, delivered values unchanged`,
        );
        this.#version = read.version;
      }
      zeroSecret(secret);
      return undefined;
    }
    this.#digest = d;
    this.#version = read.version;
    this.#logger(
      "info",
      `Secret '${this.name}' changed in Vault` +
        (read.version !== undefined ? ` (version ${read.version})` : ""),
    );
    return {
      type: "changed",
      name: this.name,
      reason: this.source.engine === "kv-v2" ? "kv_version" : "kv_value",
      secret,
    };
  }

  /** Stops lease renewal and re-issue. The client is not closed (it is shared). */
  close(): Promise<void> {
    this.#closed = true;
    this.#keeper?.stop();
    this.#keeper = undefined;
    if (this.#reissueTimer !== undefined) clearTimeout(this.#reissueTimer);
    this.#listeners.clear();
    return Promise.resolve();
  }

  async #read(signal: AbortSignal | undefined): Promise<ReadResult> {
    const s = this.source;
    const opts = signal ? { signal } : {};
    try {
      if (s.engine === "pki") {
        const p = s.pki!;
        const cert = await issueCertificate(this.#client, s.mount ?? "pki", p.role, {
          ...opts,
          commonName: p.common_name,
          ...(p.alt_names ? { altNames: p.alt_names } : {}),
          ...(p.ip_sans ? { ipSans: p.ip_sans } : {}),
          ...(p.uri_sans ? { uriSans: p.uri_sans } : {}),
          ...(p.ttl_s !== undefined ? { ttlS: p.ttl_s } : {}),
          ...(p.exclude_cn_from_sans !== undefined
            ? { excludeCnFromSans: p.exclude_cn_from_sans }
            : {}),
        });
        return {
          data: certificateValues(cert),
          version: cert.serialNumber,
          expiration: cert.expiration,
        };
      }
      if (s.engine === "kv-v2") {
        const r = await readKvV2(this.#client, s.mount ?? "secret", s.path, {
          ...opts,
          ...(s.version !== undefined ? { version: s.version } : {}),
        });
        return { data: r.data, version: String(r.metadata.version) };
      }
      if (s.engine === "kv-v1") {
        return { data: (await readKvV1(this.#client, s.mount ?? "secret", s.path, opts)).data };
      }
      const r = await readLeased(this.#client, s.path, opts);
      return {
        data: r.data,
        ...(r.leaseId !== "" ? { version: r.leaseId } : {}),
        lease: { leaseId: r.leaseId, leaseDurationS: r.leaseDurationS, renewable: r.renewable },
      };
    } catch (err) {
      throw wrap(this.name, err, this.path);
    }
  }

  #extract(data: Record<string, unknown>, version: string | undefined): FetchedSecret {
    const enc = new TextEncoder();
    const values = new Map<string, Uint8Array>();
    for (const key of this.keys) {
      if (key === "") {
        values.set(key, enc.encode(JSON.stringify(data)));
        continue;
      }
      if (!Object.hasOwn(data, key)) {
        for (const v of values.values()) v.fill(0);
        const present = Object.keys(data).sort().slice(0, 20).join(", ") || "none";
        throw new VaultSourceError(
          this.name,
          `no key '${key}' (keys present: ${present})`,
          "missing_key",
          {
            path: this.path,
          },
        );
      }
      const v = data[key];
      values.set(key, enc.encode(typeof v === "string" ? v : JSON.stringify(v)));
    }
    if (this.allKeys) {
      for (const [key, v] of Object.entries(data)) {
        if (values.has(key)) continue;
        values.set(key, enc.encode(typeof v === "string" ? v : JSON.stringify(v)));
      }
    }
    return version !== undefined ? { values, version } : { values };
  }

  #keepAll(read: ReadResult): void {
    if (read.lease !== undefined) this.#keep(read.lease);
    if (read.expiration !== undefined) this.#keepCertificate(read.expiration);
  }

  /** Schedules the next certificate at `renew_fraction` of the validity left now. */
  #keepCertificate(expirationS: number): void {
    if (this.#reissueTimer !== undefined) clearTimeout(this.#reissueTimer);
    this.#reissueTimer = undefined;
    this.#certExpiresAt = expirationS * 1000;
    if (this.#closed) return;
    // An engine: pki source always has its request, with renew_fraction (the policy format's default applied).
    const fraction = this.source.pki!.renew_fraction;
    const delay = renewalDelayMs(expirationS, fraction, Date.now());
    this.#logger(
      "debug",
      `Secret '${this.name}': certificate ${this.#version ?? ""}; the next one in ${delay} ms`,
    );
    // The reason only names lease re-issues; a certificate renewal is reported as such.
    const timer = setTimeout(() => void this.#reissue("expired", 0), delay);
    Deno.unrefTimer(timer);
    this.#reissueTimer = timer;
  }

  #keep(lease: LeaseInfoLike): void {
    this.#keeper?.stop();
    this.#keeper = undefined;
    if (this.#closed || lease.leaseDurationS <= 0) return;
    const keeper = new LeaseKeeper(this.#client, lease, {
      label: this.name,
      logger: this.#logger,
      onReissue: (reason) => void this.#reissue(reason, 0),
    });
    this.#keeper = keeper;
    keeper.start();
  }

  async #reissue(reason: ReissueReason, failures: number): Promise<void> {
    if (this.#closed) return;
    try {
      const read = await this.#read(undefined);
      if (this.#closed) return;
      const secret = this.#extract(read.data, read.version);
      this.#keepAll(read);
      this.#digest = digest(secret);
      this.#version = read.version;
      if (read.expiration !== undefined) {
        this.#logger(
          "info",
          `Secret '${this.name}': new certificate issued (serial ${read.version}, expires ${
            new Date(read.expiration * 1000).toISOString()
          })`,
        );
        this.#emit({ type: "changed", name: this.name, reason: "certificate_renewed", secret });
        return;
      }
      this.#logger(
        "info",
        `Secret '${this.name}': new credentials issued (${reason.replaceAll("_", " ")})`,
      );
      this.#emit({
        type: "changed",
        name: this.name,
        reason: "lease_reissued",
        detail: reason,
        secret,
      });
    } catch (err) {
      const error = wrap(this.name, err, this.path);
      const backoff = backoffDelay(failures, {
        maxRetries: 0,
        minDelayMs: 1000,
        maxDelayMs: 30_000,
      });
      const { delayMs: delay, note } = certificateRetry(backoff, this.#certExpiresAt, Date.now());
      this.#logger(
        "error",
        `${error.message}; the workload keeps its current values; retrying in ${delay} ms${note}`,
      );
      this.#emit({ type: "error", name: this.name, error });
      if (this.#closed) return;
      const timer = setTimeout(() => void this.#reissue(reason, failures + 1), delay);
      Deno.unrefTimer(timer);
      this.#reissueTimer = timer;
    }
  }

  #emit(e: VaultSourceEvent): void {
    const listeners = [...this.#listeners];
    if (e.type === "changed" && listeners.length === 0) {
      this.#logger(
        "warn",
        `Secret '${this.name}' changed but nothing listens for rotation: new values dropped`,
      );
      zeroSecret(e.secret);
      return;
    }
    listeners.forEach((l, i) => {
      // Each listener owns its copy of the values; the last one gets the original.
      const ev: VaultSourceEvent = e.type === "changed" && i < listeners.length - 1
        ? { ...e, secret: cloneSecret(e.secret) }
        : e;
      try {
        l(ev);
      } catch (err) {
        this.#logger(
          "error",
          `A rotation listener failed: ${err instanceof Error ? err.name : "error"}`,
        );
      }
    });
  }
}

/** What one read of an entry returned. */
interface ReadResult {
  data: Record<string, unknown>;
  /** KV v2 version, lease id or certificate serial number. */
  version?: string;
  lease?: LeaseInfoLike;
  /** `engine: pki`: the certificate's notAfter, seconds since the epoch. */
  expiration?: number;
}

interface LeaseInfoLike {
  leaseId: string;
  leaseDurationS: number;
  renewable: boolean;
}

export function cloneSecret(s: FetchedSecret): FetchedSecret {
  const values = new Map([...s.values].map(([k, v]) => [k, v.slice()]));
  return s.version !== undefined ? { values, version: s.version } : { values };
}

/** SHA-256 over the delivered keys and values (lengths included), hex. Values are never kept, only this. */
export function digest(s: FetchedSecret): string {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const k of [...s.values.keys()].sort()) {
    const kb = enc.encode(k);
    const v = s.values.get(k)!;
    parts.push(u32(kb.length), kb, u32(v.length), v);
  }
  const total = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    total.set(p, off);
    off += p.length;
  }
  const hex = sha256Hex(total);
  total.fill(0);
  return hex;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}
