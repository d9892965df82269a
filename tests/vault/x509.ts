/**
 * Just enough X.509 for the test Vault's PKI mount: a DER encoder, a self-signed EC P-256 CA and leaf certificates
 * it signs (ECDSA with SHA-256) with a subject CN, DNS/email/IP/URI SANs and a validity to the second. Keys come
 * from `node:crypto`; nothing is spawned, so an issue takes a few milliseconds.
 *
 * @module
 */

import { createPrivateKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";

const enc = new TextEncoder();

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A DER TLV. */
function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concat(content);
  const n = body.length;
  let len: number[];
  if (n < 0x80) len = [n];
  else if (n < 0x100) len = [0x81, n];
  else if (n < 0x10000) len = [0x82, n >> 8, n & 0xff];
  else len = [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return concat([new Uint8Array([tag, ...len]), body]);
}

const seq = (...c: Uint8Array[]) => tlv(0x30, ...c);
const set = (...c: Uint8Array[]) => tlv(0x31, ...c);
const octets = (b: Uint8Array) => tlv(0x04, b);
const bool = (v: boolean) => tlv(0x01, new Uint8Array([v ? 0xff : 0]));
const utf8 = (s: string) => tlv(0x0c, enc.encode(s));

function integer(bytes: Uint8Array): Uint8Array {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  return tlv(0x02, (b[0]! & 0x80) !== 0 ? concat([new Uint8Array([0]), b]) : b);
}

function oid(text: string): Uint8Array {
  const parts = text.split(".").map(Number);
  const out = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk = [p & 0x7f];
    for (let v = p >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, new Uint8Array(out));
}

function time(ms: number): Uint8Array {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString(); // 2026-01-02T03:04:05.000Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, "") + "Z"; // 20260102030405Z
  const year = Number(iso.slice(0, 4));
  return year < 2050 ? tlv(0x17, enc.encode(digits.slice(2))) : tlv(0x18, enc.encode(digits));
}

function bits(b: Uint8Array, unused = 0): Uint8Array {
  return tlv(0x03, new Uint8Array([unused]), b);
}

function name(cn: string): Uint8Array {
  return seq(set(seq(oid("2.5.4.3"), utf8(cn))));
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

/** IPv4 or IPv6 text to its bytes; `undefined` when it is neither. */
export function ipBytes(text: string): Uint8Array | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const b = v4.slice(1).map(Number);
    return b.every((x) => x <= 255) ? new Uint8Array(b) : undefined;
  }
  if (!/^[0-9a-fA-F:]+$/.test(text) || (text.match(/::/g) ?? []).length > 1) return undefined;
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const groups = (s: string | undefined) => (s ? s.split(":") : []);
  const h = groups(head);
  const t = groups(tail);
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  if (fill < 0 || (tail === undefined && h.length !== 8)) return undefined;
  const all = [...h, ...Array(fill).fill("0"), ...t];
  if (all.length !== 8 || all.some((g) => g.length === 0 || g.length > 4)) return undefined;
  return new Uint8Array(all.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

/** The names a certificate is for. */
export interface SubjectNames {
  commonName: string;
  dns?: string[];
  emails?: string[];
  ips?: Uint8Array[];
  uris?: string[];
}

function san(n: SubjectNames): Uint8Array | undefined {
  const items = [
    ...(n.emails ?? []).map((e) => tlv(0x81, enc.encode(e))),
    ...(n.dns ?? []).map((d) => tlv(0x82, enc.encode(d))),
    ...(n.uris ?? []).map((u) => tlv(0x86, enc.encode(u))),
    ...(n.ips ?? []).map((ip) => tlv(0x87, ip)),
  ];
  return items.length > 0 ? seq(...items) : undefined;
}

function pem(label: string, der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der)).replace(/.{64}/g, "$&\n").trimEnd();
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----`;
}

/** The key types a test role can ask for, as Vault names them. */
export type KeyType = "ec" | "rsa" | "ed25519";

/** A new key pair and its private key in Vault's PEM form (SEC1 for EC, PKCS#1 for RSA, PKCS#8 for Ed25519). */
export function newKey(
  type: KeyType,
): { publicKey: KeyObject; privateKey: KeyObject; pem: string } {
  const pair = type === "ec"
    ? generateKeyPairSync("ec", { namedCurve: "prime256v1" })
    : type === "rsa"
    ? generateKeyPairSync("rsa", { modulusLength: 2048 })
    : generateKeyPairSync("ed25519");
  const format = type === "ec" ? "sec1" : type === "rsa" ? "pkcs1" : "pkcs8";
  const text = pair.privateKey.export({ type: format, format: "pem" }) as string;
  return { ...pair, pem: text.trim() };
}

/** A certificate made here. */
export interface MadeCertificate {
  pem: string;
  /** Vault's form: lower-case hex bytes separated by colons. */
  serialNumber: string;
  notAfterMs: number;
}

/** A CA that signs leaf certificates. */
export class TestCa {
  readonly certificate: MadeCertificate;
  readonly #key: KeyObject;
  readonly #name: Uint8Array;
  readonly notAfterMs: number;

  constructor(commonName = "x00 test PKI CA", lifetimeMs = 365 * 24 * 3600 * 1000) {
    const key = newKey("ec");
    this.#key = key.privateKey;
    this.#name = name(commonName);
    const now = Date.now();
    this.notAfterMs = now + lifetimeMs;
    this.certificate = this.#make(this.#name, key.publicKey, now - 60_000, this.notAfterMs, [
      extension("2.5.29.19", true, seq(bool(true))),
      extension("2.5.29.15", true, bits(new Uint8Array([0x06]), 1)), // keyCertSign, cRLSign
    ]);
  }

  /** Signs a leaf certificate for `names` with `publicKey`, valid from `notBeforeMs` to `notAfterMs`. */
  issue(
    names: SubjectNames,
    publicKey: KeyObject,
    notBeforeMs: number,
    notAfterMs: number,
  ): MadeCertificate {
    const exts = [
      extension("2.5.29.19", true, seq()),
      // digitalSignature, keyEncipherment, keyAgreement
      extension("2.5.29.15", true, bits(new Uint8Array([0xa8]), 3)),
      extension(
        "2.5.29.37",
        false,
        seq(oid("1.3.6.1.5.5.7.3.1"), oid("1.3.6.1.5.5.7.3.2")),
      ),
    ];
    const altNames = san(names);
    if (altNames !== undefined) exts.push(extension("2.5.29.17", false, altNames));
    return this.#make(name(names.commonName), publicKey, notBeforeMs, notAfterMs, exts);
  }

  #make(
    subject: Uint8Array,
    publicKey: KeyObject,
    notBeforeMs: number,
    notAfterMs: number,
    exts: Uint8Array[],
  ): MadeCertificate {
    const serial = crypto.getRandomValues(new Uint8Array(16));
    serial[0] = (serial[0]! & 0x7f) | 0x10;
    const alg = seq(oid("1.2.840.10045.4.3.2"));
    const spki = new Uint8Array(publicKey.export({ type: "spki", format: "der" }) as Uint8Array);
    const tbs = seq(
      tlv(0xa0, integer(new Uint8Array([2]))),
      integer(serial),
      alg,
      this.#name,
      seq(time(notBeforeMs), time(notAfterMs)),
      subject,
      spki,
      tlv(0xa3, seq(...exts)),
    );
    const signature = new Uint8Array(sign("sha256", tbs, this.#key));
    const der = seq(tbs, alg, bits(signature));
    return {
      pem: pem("CERTIFICATE", der),
      serialNumber: [...serial].map((b) => b.toString(16).padStart(2, "0")).join(":"),
      notAfterMs: Math.floor(notAfterMs / 1000) * 1000,
    };
  }
}

/** Parses a PEM private key (for tests that check a key matches its certificate). */
export function privateKeyFromPem(text: string): KeyObject {
  return createPrivateKey(text);
}
