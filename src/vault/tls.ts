/**
 * Loading TLS material for the Vault client: CA bundles (a file or a directory of PEM files, as `VAULT_CACERT`
 * and `VAULT_CAPATH`), and the client certificate and key for mTLS, checked before the first connection so that
 * an expired certificate is reported as such and not as a failed handshake.
 *
 * @module
 */

import { readCertificate } from "./_x509.ts";
import { VaultError } from "./errors.ts";
import { describeFsError, readTextFile } from "./_fs.ts";

/** Paths to TLS files. */
export interface TlsFiles {
  /** A PEM file with one or more CA certificates. */
  caCert?: string;
  /** A directory whose PEM files are CA certificates. */
  caPath?: string;
  /** The client certificate (PEM) for mTLS. */
  clientCert?: string;
  /** The client private key (PEM) for mTLS. */
  clientKey?: string;
  /**
   * With neither `caCert` nor `caPath`, verify with the system's roots ({@linkcode systemRoots}); X00 sets it for
   * an `https://` address it verifies. Without it the list stays empty (Deno's own roots, in a process whose
   * environment src/hardening/deno_settings.ts did not prepare).
   */
  systemRoots?: boolean;
}

/** TLS material in memory, ready for the transport. */
export interface TlsMaterial {
  /**
   * The roots that verify Vault's certificate, one PEM block each: the configured CA file and directory, else the
   * system's bundle ({@linkcode systemRoots}). The only ones: X00's process trusts no root of Deno's own
   * (src/hardening/deno_settings.ts).
   */
  caCerts: string[];
  /** Client certificate chain (PEM). */
  clientCert?: string;
  /** Client private key (PEM). Never logged. */
  clientKey?: string;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Splits a PEM bundle into its certificate blocks.
 *
 * @example Usage
 * ```ts
 * import { splitPemCertificates } from "./tls.ts";
 * console.assert(splitPemCertificates("no certificate here").length === 0);
 * ```
 */
export function splitPemCertificates(pem: string): string[] {
  return [...pem.matchAll(CERT_BLOCK)].map((m) => m[0] + "\n");
}

/**
 * The PEM certificates of every file in `dir`, files in name order. Unreadable entries (dangling links, sockets)
 * are skipped, as Go's rootcerts does; throws when the directory itself cannot be read.
 */
async function readCertificateDirectory(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile || e.isSymlink) names.push(e.name);
  const certs: string[] = [];
  for (const name of names.sort()) {
    let text: string;
    try {
      text = await Deno.readTextFile(`${dir.replace(/\/+$/, "")}/${name}`);
    } catch {
      continue;
    }
    certs.push(...splitPemCertificates(text));
  }
  return certs;
}

/** CA bundles of Linux distributions, in the order Go's crypto/x509 (Vault's own clients) looks for them. */
export const SYSTEM_CA_FILES = [
  "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Alpine (ca-certificates)
  "/etc/pki/tls/certs/ca-bundle.crt", // Fedora, RHEL 6
  "/etc/ssl/ca-bundle.pem", // openSUSE
  "/etc/pki/tls/cacert.pem", // OpenELEC
  "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
  "/etc/ssl/cert.pem", // Alpine
] as const;

/** Directories of single CA files, read when no bundle is found. */
export const SYSTEM_CA_DIRS = ["/etc/ssl/certs", "/etc/pki/tls/certs"] as const;

/**
 * The system's CA certificates, for a Vault configuration that names no CA: `SSL_CERT_FILE` when set, else the
 * first bundle of {@linkcode SYSTEM_CA_FILES} that exists; else the files of `SSL_CERT_DIR` (colon-separated) or
 * {@linkcode SYSTEM_CA_DIRS}. Throws a {@linkcode VaultError} of kind `config` when none holds a certificate.
 */
export async function systemRoots(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Promise<string[]> {
  const files = env.SSL_CERT_FILE ? [env.SSL_CERT_FILE] : SYSTEM_CA_FILES;
  for (const file of files) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch {
      continue;
    }
    const certs = splitPemCertificates(text);
    if (certs.length > 0) return certs;
  }
  const dirs = env.SSL_CERT_DIR
    ? env.SSL_CERT_DIR.split(":").filter((d) => d !== "")
    : SYSTEM_CA_DIRS;
  const certs: string[] = [];
  for (const dir of dirs) {
    try {
      certs.push(...await readCertificateDirectory(dir));
    } catch {
      // a missing or unreadable directory holds no root
    }
  }
  if (certs.length === 0) {
    throw new VaultError(
      "Cannot verify Vault's certificate: no CA is configured (vault.ca_cert, vault.ca_path, VAULT_CACERT, " +
        `VAULT_CAPATH) and the system has no CA bundle (${files.join(", ")})`,
      { kind: "config" },
    );
  }
  return certs;
}

/**
 * Reads the CA bundle, CA directory and client certificate/key named in `files`; with neither a CA bundle nor a CA
 * directory and `files.systemRoots`, the system's roots ({@linkcode systemRoots}). Throws a
 * {@linkcode VaultError} of kind `config` that names the file when one is unreadable, holds no certificate, or
 * when the client certificate is expired or not yet valid at `now`.
 *
 * @example Usage
 * ```ts
 * import { loadTlsMaterial } from "./tls.ts";
 * const tls = await loadTlsMaterial({});
 * console.assert(tls.caCerts.length === 0);
 * ```
 */
export async function loadTlsMaterial(
  files: TlsFiles,
  now: Date = new Date(),
): Promise<TlsMaterial> {
  const caCerts: string[] = [];
  if (files.caCert !== undefined) {
    const certs = splitPemCertificates(await readTextFile(files.caCert, "CA certificate file"));
    if (certs.length === 0) {
      throw new VaultError(
        `Cannot use CA certificate file '${files.caCert}' as it holds no PEM certificate`,
        {
          kind: "config",
        },
      );
    }
    caCerts.push(...certs);
  }
  if (files.caPath !== undefined) {
    let certs: string[];
    try {
      certs = await readCertificateDirectory(files.caPath);
    } catch (err) {
      throw new VaultError(`Cannot read CA directory '${files.caPath}': ${describeFsError(err)}`, {
        kind: "config",
        cause: err,
      });
    }
    if (certs.length === 0) {
      throw new VaultError(
        `Cannot use CA directory '${files.caPath}' as it holds no PEM certificate`,
        {
          kind: "config",
        },
      );
    }
    caCerts.push(...certs);
  }
  if ((files.clientCert === undefined) !== (files.clientKey === undefined)) {
    throw new VaultError(
      "Cannot use a client certificate without its key: set both client_cert and client_key " +
        "(VAULT_CLIENT_CERT and VAULT_CLIENT_KEY) or neither",
      { kind: "config" },
    );
  }
  if (files.caCert === undefined && files.caPath === undefined && files.systemRoots === true) {
    caCerts.push(...await systemRoots());
  }
  const out: TlsMaterial = { caCerts };
  if (files.clientCert !== undefined && files.clientKey !== undefined) {
    const cert = await readTextFile(files.clientCert, "client certificate file");
    const blocks = splitPemCertificates(cert);
    if (blocks.length === 0) {
      throw new VaultError(
        `Cannot use client certificate file '${files.clientCert}' as it holds no PEM certificate`,
        { kind: "config" },
      );
    }
    checkValidity(blocks[0]!, files.clientCert, now);
    const key = await readTextFile(files.clientKey, "client key file");
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
      throw new VaultError(
        `Cannot use client key file '${files.clientKey}' as it holds no PEM private key`,
        {
          kind: "config",
        },
      );
    }
    out.clientCert = cert;
    out.clientKey = key;
    checkUsable(cert, key, files.clientCert, files.clientKey);
  }
  return out;
}

/**
 * Whether Deno's TLS stack (rustls) takes this client certificate and key: it refuses some that OpenSSL, Vault and
 * curl accept, with messages about "peer" certificates. Checked here, where the files are known, so the error
 * names them and says what to do.
 */
function checkUsable(cert: string, key: string, certPath: string, keyPath: string): void {
  let client: Deno.HttpClient;
  try {
    client = Deno.createHttpClient({ cert, key });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const why = /UnsupportedCertVersion/.test(reason)
      ? "it is an X.509 v1 certificate, which Deno's TLS (rustls) does not accept: reissue it as v3 " +
        "(e.g. openssl x509 -req ... -extfile <(printf 'extendedKeyUsage=clientAuth'))"
      : /key/i.test(reason)
      ? `the key does not fit or cannot be used (${
        reason.replace(/^invalid peer certificate: /, "")
      })`
      : reason.replace(/^invalid peer certificate: /, "");
    throw new VaultError(
      `Cannot use client certificate file '${certPath}' with key file '${keyPath}': ${why}`,
      { kind: "config", cause: err },
    );
  }
  client.close();
}

/** Refuses an expired or not yet valid client certificate with a message naming it. */
function checkValidity(pem: string, path: string, now: Date): void {
  let cert;
  try {
    cert = readCertificate(pem);
  } catch (err) {
    throw new VaultError(`Cannot parse client certificate file '${path}'`, {
      kind: "config",
      cause: err,
    });
  }
  const { notAfter, notBefore } = cert;
  if (notAfter.getTime() < now.getTime()) {
    throw new VaultError(
      `Cannot use client certificate '${path}' (${
        cert.subject.replaceAll("\n", ", ")
      }) as it expired on ` +
        `${notAfter.toISOString()}`,
      { kind: "config", certificate: "expired" },
    );
  }
  if (notBefore.getTime() > now.getTime()) {
    throw new VaultError(
      `Cannot use client certificate '${path}' as it is not valid before ${notBefore.toISOString()}`,
      { kind: "config", certificate: "not_yet_valid" },
    );
  }
}
