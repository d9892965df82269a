/**
 * The few fields of an X.509 certificate that X00 reads itself (RFC 5280, DER): the validity period and the
 * subject, for refusing an expired or not yet valid client certificate with a message that names it. A DER walk
 * instead of `node:crypto`'s `X509Certificate`, whose import brings up Node compatibility (40-65 ms of start-up).
 * Nothing here decides trust: Vault and Deno's TLS stack verify certificates.
 *
 * @module
 */

/** What {@linkcode readCertificate} returns. */
export interface CertificateFields {
  notBefore: Date;
  notAfter: Date;
  /** `C=..\nO=..\nCN=..`, one attribute per line in certificate order (as `node:crypto` writes it). */
  subject: string;
}

/** A malformed certificate. */
export class CertificateParseError extends Error {
  override name = "CertificateParseError";
}

/** Short names of the attribute types a subject usually holds (OpenSSL's, as `node:crypto` prints them). */
const ATTRIBUTES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.4": "SN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "street",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.12": "title",
  "2.5.4.42": "GN",
  "1.2.840.113549.1.9.1": "emailAddress",
  "0.9.2342.19200300.100.1.1": "UID",
  "0.9.2342.19200300.100.1.25": "DC",
};

interface Tlv {
  tag: number;
  /** Start of the contents. */
  start: number;
  /** End of the contents. */
  end: number;
}

function tlv(der: Uint8Array, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new CertificateParseError("truncated");
  const tag = der[at]!;
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n < 1 || n > 4 || start + n > limit) throw new CertificateParseError("bad length");
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[start + i]!;
    start += n;
  }
  if (start + length > limit) throw new CertificateParseError("truncated");
  return { tag, start, end: start + length };
}

/** The elements of a constructed value, in order. */
function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end;) {
    const t = tlv(der, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (t === undefined || t.tag !== tag) throw new CertificateParseError(`no ${what}`);
  return t;
}

function oid(der: Uint8Array, t: Tlv): string {
  const parts: number[] = [];
  let value = 0;
  for (let i = t.start; i < t.end; i++) {
    value = value * 128 + (der[i]! & 0x7f);
    if ((der[i]! & 0x80) === 0) {
      if (parts.length === 0) {
        parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      } else parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}

function time(der: Uint8Array, t: Tlv): Date {
  const text = new TextDecoder().decode(der.subarray(t.start, t.end));
  const m = t.tag === 0x17
    ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) // UTCTime
    : t.tag === 0x18
    ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) // GeneralizedTime
    : null;
  if (!m) throw new CertificateParseError(`bad time '${text}'`);
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year < 50 ? 2000 : 1900; // RFC 5280 4.1.2.5.1
  return new Date(
    Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])),
  );
}

function name(der: Uint8Array, t: Tlv): string {
  const lines: string[] = [];
  for (const rdn of children(der, t)) {
    const values = children(der, expect(rdn, 0x31, "relative distinguished name")).map((atv) => {
      const [type, value] = children(der, expect(atv, 0x30, "attribute"));
      const id = oid(der, expect(type, 0x06, "attribute type"));
      if (value === undefined) throw new CertificateParseError("attribute without a value");
      const text = value.tag === 0x1e // BMPString
        ? new TextDecoder("utf-16be").decode(der.subarray(value.start, value.end))
        : new TextDecoder().decode(der.subarray(value.start, value.end));
      return `${ATTRIBUTES[id] ?? id}=${text}`;
    });
    lines.push(values.join(" + "));
  }
  return lines.join("\n");
}

/** The DER bytes of the first `CERTIFICATE` block of `pem`. */
function pemToDer(pem: string): Uint8Array {
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new CertificateParseError("no PEM certificate");
  try {
    return Uint8Array.from(atob(m[1]!.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  } catch {
    throw new CertificateParseError("bad base64");
  }
}

/**
 * Reads the validity and subject of a PEM certificate. Throws {@linkcode CertificateParseError} when it is not one.
 *
 * @example Usage
 * ```ts ignore
 * const { notAfter, subject } = readCertificate(await Deno.readTextFile("client.crt"));
 * ```
 */
export function readCertificate(pem: string): CertificateFields {
  const der = pemToDer(pem);
  const cert = expect(tlv(der, 0, der.length), 0x30, "certificate");
  const tbs = children(der, expect(children(der, cert)[0], 0x30, "to-be-signed certificate"));
  let i = tbs[0]?.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version
  expect(tbs[i++], 0x02, "serial number");
  expect(tbs[i++], 0x30, "signature algorithm");
  expect(tbs[i++], 0x30, "issuer");
  const [notBefore, notAfter] = children(der, expect(tbs[i++], 0x30, "validity"));
  if (notBefore === undefined || notAfter === undefined) {
    throw new CertificateParseError("no validity");
  }
  return {
    notBefore: time(der, notBefore),
    notAfter: time(der, notAfter),
    subject: name(der, expect(tbs[i], 0x30, "subject")),
  };
}
