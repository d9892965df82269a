/**
 * The test Vault's PKI secrets engine: `POST <mount>/issue/<role>` as Vault documents and implements it
 * (builtin/logical/pki: path_issue_sign.go, issuing/issue_common.go), with real X.509 certificates signed by a test
 * CA (`x509.ts`).
 *
 * Parameters: `common_name`, `alt_names` (a comma-separated string of DNS names and email addresses), `ip_sans` and
 * `uri_sans` (comma-separated strings or lists), `ttl` (seconds or a Go duration), `format` (`pem` by default,
 * `der`, `pem_bundle`), `exclude_cn_from_sans`. Role settings: `allowed_domains`, `allow_subdomains`,
 * `allow_bare_domains`, `allow_any_name`, `allow_localhost`, `allow_ip_sans`, `allowed_uri_sans`,
 * `enforce_hostnames`, `key_type`, `ttl`, `max_ttl`, `not_before_duration`, `require_cn`, `generate_lease`, with
 * Vault's defaults. Errors are Vault's strings with HTTP 400 (`unknown role: X`,
 * `common name X not allowed by this role`, ...); any other method than POST/PUT is 405.
 *
 * @module
 */

import { ipBytes, type KeyType, newKey, TestCa } from "./x509.ts";

/** A PKI role (Vault's names; durations in seconds). */
export interface PkiRole {
  allowed_domains: string[];
  allow_subdomains: boolean;
  allow_bare_domains: boolean;
  allow_any_name: boolean;
  allow_localhost: boolean;
  allow_ip_sans: boolean;
  allowed_uri_sans: string[];
  enforce_hostnames: boolean;
  key_type: KeyType | "any";
  ttl_s: number;
  max_ttl_s: number;
  not_before_duration_s: number;
  require_cn: boolean;
  generate_lease: boolean;
}

/** Vault's defaults for a new role (`vault write pki/roles/x` with no parameters). */
export const ROLE_DEFAULTS: PkiRole = {
  allowed_domains: [],
  allow_subdomains: false,
  allow_bare_domains: false,
  allow_any_name: false,
  allow_localhost: true,
  allow_ip_sans: true,
  allowed_uri_sans: [],
  enforce_hostnames: true,
  key_type: "rsa",
  ttl_s: 0,
  max_ttl_s: 0,
  not_before_duration_s: 30,
  require_cn: true,
  generate_lease: false,
};

/** What the server answers: an error (status, Vault's `errors`) or the envelope's fields. */
export type PkiAnswer =
  | { status: number; errors: string[] }
  | { status: 200; envelope: Record<string, unknown> };

/** The mount's default and max TTL: Vault's system defaults (768h). */
const MOUNT_TTL_S = 768 * 3600;

const HOSTNAME =
  /^(?:(?:\*|\*?[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\*?)\.)?(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\.)*(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\.?$/;

/** One PKI mount with its CA and roles. */
export class PkiMount {
  /** The CA that signs every certificate of this mount. */
  readonly ca: TestCa;
  readonly roles = new Map<string, PkiRole>();
  /** Serial numbers issued, in order. */
  readonly serials: string[] = [];
  /** What was issued, in order, for the tests to look for (the PEM texts as sent in `pem` format). */
  readonly issued: { serial: string; certificate: string; privateKey: string }[] = [];

  constructor(ca = new TestCa()) {
    this.ca = ca;
  }

  /** Creates or replaces a role. */
  setRole(name: string, settings: Partial<PkiRole>): void {
    this.roles.set(name, { ...ROLE_DEFAULTS, ...settings });
  }

  /** Handles `<mount>/<rest>`. */
  handle(method: string, mount: string, rest: string, body: Record<string, unknown>): PkiAnswer {
    const m = /^issue\/(\w(?:[\w.-]*\w)?)$/.exec(rest);
    if (!m) return bad(404, `no handler for route "${mount}/${rest}". route entry not found.`);
    if (method !== "POST") return bad(405, "1 error occurred:\n\t* unsupported operation\n\n");
    // Field validation (framework.FieldData.Validate) comes before the handler.
    const ttl = durationSeconds(body.ttl);
    if (ttl === undefined) {
      return bad(
        400,
        `error converting input ${String(body.ttl)} for field "ttl": invalid duration`,
      );
    }
    for (const f of ["common_name", "alt_names", "format"]) {
      if (body[f] !== undefined && typeof body[f] !== "string") {
        return bad(
          400,
          `error converting input ${String(body[f])} for field "${f}": expected a string`,
        );
      }
    }
    const roleName = m[1]!;
    const role = this.roles.get(roleName);
    if (!role) return bad(400, `unknown role: ${roleName}`);
    if (role.key_type === "any") {
      return bad(400, `role key type "any" not allowed for issuing certificates, only signing`);
    }
    const format = (body.format as string | undefined) ?? "pem";
    if (!["pem", "der", "pem_bundle"].includes(format)) {
      return bad(400, `the "format" path parameter must be "pem", "der", or "pem_bundle"`);
    }
    const cn = (body.common_name as string | undefined) ?? "";
    if (cn === "" && role.require_cn) {
      return bad(
        400,
        `the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false`,
      );
    }
    const dns: string[] = [];
    const emails: string[] = [];
    const exclude = body.exclude_cn_from_sans === true || body.exclude_cn_from_sans === "true";
    if (cn !== "" && !exclude) {
      if (cn.includes("@")) emails.push(cn);
      else if (HOSTNAME.test(cn)) dns.push(cn.toLowerCase());
    }
    if (typeof body.alt_names === "string") {
      const alt = [
        ...new Set(body.alt_names.split(",").map((s) => s.trim()).filter((s) => s !== "")),
      ].sort();
      for (const v of alt) {
        if (v.includes("@")) emails.push(v);
        else if (HOSTNAME.test(v)) dns.push(v.toLowerCase());
        else {
          return bad(
            400,
            `subject alternate name ${v} is not a valid DNS name and cannot be included as a SAN`,
          );
        }
      }
    }
    if (cn !== "" && badName(role, [cn]) !== "") {
      return bad(400, `common name ${cn} not allowed by this role`);
    }
    const badDns = badName(role, dns);
    if (badDns !== "") return bad(400, `subject alternate name ${badDns} not allowed by this role`);
    const badEmail = badName(role, emails);
    if (badEmail !== "") return bad(400, `email address ${badEmail} not allowed by this role`);
    const ipAlt = commaSlice(body.ip_sans);
    const ips: Uint8Array[] = [];
    if (ipAlt.length > 0) {
      if (!role.allow_ip_sans) {
        return bad(
          400,
          `IP Subject Alternative Names are not allowed in this role, but was provided [${
            ipAlt.join(" ")
          }]`,
        );
      }
      for (const v of ipAlt) {
        const b = ipBytes(v);
        if (b === undefined) return bad(400, `the value "${v}" is not a valid IP address`);
        ips.push(b);
      }
    }
    const uris = commaSlice(body.uri_sans);
    if (uris.length > 0) {
      if (role.allowed_uri_sans.length === 0) {
        return bad(
          400,
          "URI Subject Alternative Names are not allowed in this role, but were provided via the API",
        );
      }
      for (const u of uris) {
        if (!role.allowed_uri_sans.some((g) => glob(g, u))) {
          return bad(
            400,
            "URI Subject Alternative Names were provided via the API which are not valid for this role",
          );
        }
      }
    }
    // GetCertificateNotAfter: the request's ttl, else the role's, else the mount's; capped at the max.
    const warnings: string[] = [];
    let ttlS = ttl !== 0 ? ttl : role.ttl_s !== 0 ? role.ttl_s : MOUNT_TTL_S;
    const maxS = role.max_ttl_s !== 0 ? role.max_ttl_s : MOUNT_TTL_S;
    if (ttlS > maxS) {
      warnings.push(
        `TTL "${goDuration(ttlS)}" is longer than permitted maxTTL "${
          goDuration(maxS)
        }", so maxTTL is being used`,
      );
      ttlS = maxS;
    }
    const now = Date.now();
    const notAfter = now + ttlS * 1000;
    if (notAfter > this.ca.notAfterMs) {
      return bad(
        400,
        `cannot satisfy request, as TTL would result in notAfter of ${
          new Date(notAfter).toISOString()
        } that is beyond the expiration of the CA certificate at ${
          new Date(this.ca.notAfterMs).toISOString()
        }`,
      );
    }
    const key = newKey(role.key_type);
    const cert = this.ca.issue(
      { commonName: cn, dns: [...new Set(dns)], emails: [...new Set(emails)], ips, uris },
      key.publicKey,
      now - role.not_before_duration_s * 1000,
      notAfter,
    );
    this.serials.push(cert.serialNumber);
    this.issued.push({ serial: cert.serialNumber, certificate: cert.pem, privateKey: key.pem });
    const caPem = this.ca.certificate.pem;
    const b64 = (p: string) => p.replace(/-----[A-Z ]+-----|\s/g, "");
    const data: Record<string, unknown> = {
      expiration: Math.floor(cert.notAfterMs / 1000),
      serial_number: cert.serialNumber,
      certificate: format === "der"
        ? b64(cert.pem)
        : format === "pem_bundle"
        ? `${key.pem}\n${cert.pem}\n${caPem}`
        : cert.pem,
      issuing_ca: format === "der" ? b64(caPem) : caPem,
      ca_chain: [format === "der" ? b64(caPem) : caPem],
      private_key: format === "der" ? b64(key.pem) : key.pem,
      private_key_type: role.key_type,
    };
    const envelope: Record<string, unknown> = {
      data,
      warnings: warnings.length > 0 ? warnings : null,
    };
    if (role.generate_lease) {
      envelope.lease_id = `${mount}/issue/${roleName}/${crypto.randomUUID()}`;
      envelope.lease_duration = ttlS;
    }
    return { status: 200, envelope };
  }
}

function bad(status: number, error: string): PkiAnswer {
  return { status, errors: [error] };
}

/** framework.TypeDurationSecond: absent -> 0, integer seconds, or a Go duration string. */
function durationSeconds(v: unknown): number | undefined {
  if (v === undefined || v === null || v === "") return 0;
  if (typeof v === "number") return Number.isInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== "string") return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(v);
  if (!m || v === "") return undefined;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/** framework.TypeCommaStringSlice: a list, or a comma-separated string. */
function commaSlice(v: unknown): string[] {
  const items = Array.isArray(v) ? v.map(String) : typeof v === "string" ? v.split(",") : [];
  return items.map((s) => s.trim()).filter((s) => s !== "");
}

/** Go's time.Duration String() for whole seconds: 3s, 1m30s, 1h0m0s. */
function goDuration(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m${s % 60}s`;
}

/** go-glob: `*` matches any run of characters. */
function glob(pattern: string, s: string): boolean {
  const re = new RegExp(
    `^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`,
  );
  return re.test(s);
}

/** issuing.ValidateNames, for the role settings above: the first name not allowed, or "". */
function badName(role: PkiRole, names: string[]): string {
  for (const name of names) {
    let reduced = name;
    const isEmail = name.includes("@");
    if (isEmail) {
      const parts = name.split("@");
      if (parts.length !== 2) return name;
      reduced = parts[1]!;
    }
    const isWildcard = reduced.includes("*");
    if (isWildcard) {
      if (isEmail || (reduced.match(/\*/g) ?? []).length > 1) return name;
      const i = reduced.indexOf(".");
      if (i < 0) reduced = "";
      else {
        reduced = reduced.slice(i + 1);
        if (reduced.includes("*")) return name;
      }
    }
    if (role.enforce_hostnames && reduced !== "" && !HOSTNAME.test(reduced)) return name;
    if (role.allow_any_name) continue;
    if (role.allow_localhost && (reduced === "localhost" || reduced === "localdomain")) continue;
    const ok = role.allowed_domains.some((d) => {
      if (d === "") return false;
      const lower = d.toLowerCase();
      if (
        role.allow_bare_domains &&
        (name.toLowerCase() === lower || (isEmail && reduced.toLowerCase() === lower))
      ) return true;
      return role.allow_subdomains &&
        (reduced.toLowerCase().endsWith(`.${lower}`) ||
          (isWildcard && reduced.toLowerCase() === lower));
    });
    if (!ok) return name;
  }
  return "";
}
