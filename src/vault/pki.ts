/**
 * Certificates from Vault's PKI secrets engine: `POST <mount>/issue/<role>` with Vault's documented parameters,
 * the answer checked and flattened into the values X00 delivers (PEM texts, the CA chain joined by newlines), and
 * when to issue the next certificate.
 *
 * @module
 */

import type { VaultRequester } from "./types.ts";
import { VaultError } from "./errors.ts";
import { PKI_RESPONSE_KEYS } from "./defaults.ts";

/** What to ask `<mount>/issue/<role>` for (Vault's parameters, camel-cased). */
export interface IssueCertificateOptions {
  /** `common_name`: the certificate's CN (and, unless `excludeCnFromSans`, a DNS or email SAN). */
  commonName: string;
  /** `alt_names`: DNS names or email addresses (sent comma-separated). */
  altNames?: readonly string[];
  /** `ip_sans`: IP addresses (sent comma-separated). */
  ipSans?: readonly string[];
  /** `uri_sans`: URIs (sent comma-separated). */
  uriSans?: readonly string[];
  /** `ttl` in whole seconds; the role's TTL (or the mount's default) when absent. Vault caps it at the role's max. */
  ttlS?: number;
  /** `exclude_cn_from_sans`. */
  excludeCnFromSans?: boolean;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** An issued certificate. Secret: `privateKey` (never log it); the other fields are public. */
export interface IssuedCertificate {
  /** The leaf certificate, PEM. */
  certificate: string;
  /** The issuing CA's certificate, PEM. */
  issuingCa: string;
  /** The CA chain, PEM each (the issuer first); `[issuingCa]` when Vault sends none. */
  caChain: string[];
  /** The private key, PEM. */
  privateKey: string;
  /** `rsa`, `ec` or `ed25519`. */
  privateKeyType: string;
  /** Colon-separated hex, as Vault writes it (`39:dd:2e:...`). */
  serialNumber: string;
  /** The certificate's notAfter, seconds since the epoch. */
  expiration: number;
}

export { PKI_RESPONSE_KEYS };

/** One of {@linkcode PKI_RESPONSE_KEYS}. */
export type PkiResponseKey = typeof PKI_RESPONSE_KEYS[number];

/**
 * Issues a certificate and its private key: `POST <mount>/issue/<role>` with `common_name`, `alt_names`,
 * `ip_sans`, `uri_sans` (comma-separated strings, as documented), `ttl` (`"<n>s"`), `exclude_cn_from_sans` and
 * `format: "pem"`. A role refusal is Vault's 400 (`unknown role: web`, `common name x not allowed by this role`),
 * reported as a `bad_request` {@linkcode VaultError} that quotes it.
 *
 * @example Usage
 * ```ts ignore
 * import { issueCertificate } from "./pki.ts";
 * const cert = await issueCertificate(client, "pki", "web", { commonName: "app.example.com", ttlS: 3600 });
 * console.log(cert.serialNumber, new Date(cert.expiration * 1000));
 * ```
 */
export async function issueCertificate(
  client: VaultRequester,
  mount: string,
  role: string,
  options: IssueCertificateOptions,
): Promise<IssuedCertificate> {
  const path = issuePath(mount, role);
  const body: Record<string, unknown> = { common_name: options.commonName, format: "pem" };
  if (options.altNames?.length) body.alt_names = options.altNames.join(",");
  if (options.ipSans?.length) body.ip_sans = options.ipSans.join(",");
  if (options.uriSans?.length) body.uri_sans = options.uriSans.join(",");
  if (options.ttlS !== undefined) body.ttl = `${options.ttlS}s`;
  if (options.excludeCnFromSans !== undefined) {
    body.exclude_cn_from_sans = options.excludeCnFromSans;
  }
  const res = await client.write(path, body, options.signal ? { signal: options.signal } : {});
  return parseIssued(res.data, path);
}

/** `<mount>/issue/<role>`, without leading or trailing slashes. */
export function issuePath(mount: string, role: string): string {
  return `${mount.replace(/^\/+|\/+$/g, "")}/issue/${role}`;
}

function parseIssued(data: Record<string, unknown> | null, path: string): IssuedCertificate {
  const bad = (what: string) =>
    new VaultError(
      `Cannot write to '${path}' in Vault: the answer is not a certificate (${what})`,
      {
        kind: "invalid_response",
        path,
      },
    );
  if (data === null || typeof data !== "object") throw bad("no data");
  const pem = (key: string, label: RegExp): string => {
    const v = data[key];
    if (typeof v !== "string" || !label.test(v)) throw bad(`no PEM '${key}'`);
    return v.trim();
  };
  const certificate = pem("certificate", /-----BEGIN CERTIFICATE-----/);
  const issuingCa = pem("issuing_ca", /-----BEGIN CERTIFICATE-----/);
  const privateKey = pem("private_key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  let caChain = [issuingCa];
  if (data.ca_chain !== undefined && data.ca_chain !== null) {
    const chain = data.ca_chain;
    if (!Array.isArray(chain) || chain.some((c) => typeof c !== "string")) {
      throw bad("'ca_chain' is not a list of PEM certificates");
    }
    if (chain.length > 0) caChain = (chain as string[]).map((c) => c.trim());
  }
  const serialNumber = data.serial_number;
  if (typeof serialNumber !== "string" || serialNumber === "") throw bad("no 'serial_number'");
  const expiration = data.expiration;
  if (typeof expiration !== "number" || !Number.isFinite(expiration)) {
    throw bad("no 'expiration'");
  }
  const privateKeyType = typeof data.private_key_type === "string" ? data.private_key_type : "";
  return {
    certificate,
    issuingCa,
    caChain,
    privateKey,
    privateKeyType,
    serialNumber,
    expiration,
  };
}

/**
 * The values an entry may deliver, by {@linkcode PKI_RESPONSE_KEYS} name: the PEM texts as Vault sent them
 * (trimmed), `ca_chain` as its PEM certificates joined by `"\n"`, `expiration` as decimal seconds.
 *
 * @example Usage
 * ```ts ignore
 * const values = certificateValues(cert);
 * console.log(Object.keys(values));
 * ```
 */
export function certificateValues(cert: IssuedCertificate): Record<PkiResponseKey, string> {
  return {
    certificate: cert.certificate,
    private_key: cert.privateKey,
    issuing_ca: cert.issuingCa,
    ca_chain: cert.caChain.join("\n"),
    serial_number: cert.serialNumber,
    private_key_type: cert.privateKeyType,
    expiration: String(cert.expiration),
  };
}

/** The shortest wait before a renewal, so a certificate that is already (nearly) expired cannot cause a loop. */
export const MIN_RENEWAL_DELAY_MS = 1000;

/**
 * Milliseconds from `nowMs` (when the certificate was received) until a new one should be issued:
 * `fraction × (expiration − now)`, at least {@linkcode MIN_RENEWAL_DELAY_MS}.
 *
 * @example Usage
 * ```ts
 * import { renewalDelayMs } from "./pki.ts";
 * console.assert(renewalDelayMs(1_003, 2 / 3, 1_000_000) === 2000);
 * ```
 */
export function renewalDelayMs(expirationS: number, fraction: number, nowMs: number): number {
  const lifetime = expirationS * 1000 - nowMs;
  return Math.max(MIN_RENEWAL_DELAY_MS, Math.round(lifetime * fraction));
}

/**
 * When to retry a failed renewal, and what to add to its log line. A certificate that is still valid is retried
 * within half of its remaining validity (at least every {@linkcode MIN_RENEWAL_DELAY_MS}), so several attempts
 * fit before it expires; the note says when it expires once that is near, or that it has expired.
 *
 * @example Usage
 * ```ts
 * import { certificateRetry } from "./pki.ts";
 * const r = certificateRetry(30_000, 10_000, 0);
 * console.assert(r.delayMs === 5000 && r.note.includes("expires at"));
 * ```
 */
export function certificateRetry(
  backoffMs: number,
  expiresAtMs: number | undefined,
  nowMs: number,
): { delayMs: number; note: string } {
  if (expiresAtMs === undefined) return { delayMs: backoffMs, note: "" };
  const left = expiresAtMs - nowMs;
  const at = new Date(expiresAtMs).toISOString();
  if (left <= 0) {
    return { delayMs: backoffMs, note: `; the workload's certificate expired at ${at}` };
  }
  const delayMs = Math.min(backoffMs, Math.max(MIN_RENEWAL_DELAY_MS, Math.round(left / 2)));
  const note = left > 2 * delayMs
    ? ""
    : `; the workload's certificate expires at ${at} (in ${
      Math.ceil(left / 1000)
    } s), possibly before a retry succeeds`;
  return { delayMs, note };
}
