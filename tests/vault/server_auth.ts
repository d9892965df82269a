/**
 * The JWT, TLS certificate and response-wrapping parts of the Vault test server (`server.ts`), answering as Vault
 * does:
 *
 * - JWT (hashicorp/vault-plugin-auth-jwt with hashicorp/cap's validator): static public keys (ES256/RS256, checked
 *   with WebCrypto), `bound_issuer`, roles with `bound_audiences`, `bound_subject`, `user_claim`, `role_type` and
 *   the leeways (`clock_skew_leeway` 60 s on exp/nbf/iat; `expiration_leeway` and `not_before_leeway` 150 s for a
 *   missing exp or nbf). Errors are 400 with the plugin's strings.
 * - Cert (builtin/credential/cert): roles holding a CA or a leaf certificate PEM, optional `allowed_common_names`;
 *   the chain is verified against the role, revoked serials (standing in for a CRL posted to
 *   `auth/cert/crls/<name>`) fail the chain. Errors are 400 with Vault's strings.
 * - Wrapping (`sys/wrapping/wrap`, `lookup`, `unwrap`): single-use tokens with `wrap_info`; an unknown, used or
 *   expired token is 400 "wrapping token is not valid or does not exist".
 *
 * @module
 */

import { X509Certificate } from "node:crypto";

/** A login outcome: a Vault error, or what the token to issue looks like. */
export type LoginOutcome =
  | { status: number; errors: string[] }
  | {
    policies: string[];
    ttlS: number;
    maxTtlS: number;
    metadata: Record<string, string>;
    mountType: string;
  };

function fail(status: number, error: string): LoginOutcome {
  return { status, errors: [error] };
}

/** What every role of the test server grants: its policies and token TTLs. */
interface Grant {
  policies: string[];
  ttlS: number;
  maxTtlS: number;
}

/** A successful login: a token of `role`'s policies and TTLs, with the auth method's metadata. */
function granted(role: Grant, metadata: Record<string, string>, mountType: string): LoginOutcome {
  return {
    policies: role.policies,
    ttlS: role.ttlS,
    maxTtlS: role.maxTtlS,
    metadata,
    mountType,
  };
}

// ---- AppRole and Kubernetes ----------------------------------------------------------------------------------

/** `POST auth/<mount>/login` with `{ role_id, secret_id }` against an AppRole mount's role. */
export function appRoleLogin(
  approle: Grant & { roleId: string; secretIds: ReadonlySet<string> },
  body: Record<string, unknown>,
): LoginOutcome {
  if (typeof body.role_id !== "string" || body.role_id === "") {
    return fail(400, "missing role_id");
  }
  if (
    body.role_id !== approle.roleId || typeof body.secret_id !== "string" ||
    !approle.secretIds.has(body.secret_id)
  ) {
    return fail(400, "invalid role or secret ID");
  }
  return granted(approle, { role_name: "x00" }, "approle");
}

/** `POST auth/<mount>/login` with `{ role, jwt }` against a Kubernetes mount's role `r` (absent: no such role). */
export function kubernetesLogin(
  role: string,
  r: (Grant & { jwt: string }) | undefined,
  body: Record<string, unknown>,
): LoginOutcome {
  if (!r) return fail(400, `invalid role name "${role}"`);
  if (typeof body.jwt !== "string" || body.jwt !== r.jwt) return fail(403, "permission denied");
  return granted(r, { role, service_account_name: "app" }, "kubernetes");
}

// ---- JWT -----------------------------------------------------------------------------------------------------

/** `auth/<mount>/config` of a JWT mount with `jwt_validation_pubkeys`. */
export interface JwtConfig {
  /** Public keys (ECDSA P-256 for ES256 or RSASSA-PKCS1-v1_5 SHA-256 for RS256), usage `verify`. */
  publicKeys: CryptoKey[];
  boundIssuer?: string;
}

/** `auth/<mount>/role/<name>` of a JWT mount. */
export interface JwtRole {
  /** Vault's default is `oidc`, which a JWT login refuses; tests declare `jwt` roles unless they say otherwise. */
  roleType?: "jwt" | "oidc";
  boundAudiences?: string[];
  boundSubject?: string;
  /** Default `sub`. */
  userClaim?: string;
  /** Seconds; Vault's defaults: 60, 150, 150. */
  clockSkewLeewayS?: number;
  expirationLeewayS?: number;
  notBeforeLeewayS?: number;
  ttlS?: number;
  maxTtlS?: number;
  policies: string[];
}

const b64urlDecode = (s: string): Uint8Array<ArrayBuffer> => {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - s.length % 4) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
};

/** The JWT auth backend of the test server. */
export class JwtBackend {
  readonly configs = new Map<string, JwtConfig>();
  readonly roles = new Map<string, JwtRole>();

  /** Whether `mount` is a JWT mount. */
  has(mount: string): boolean {
    return this.configs.has(mount) || [...this.roles.keys()].some((k) => k.startsWith(`${mount}|`));
  }

  /** `POST auth/<mount>/login` with `{ role, jwt }`, checked as vault-plugin-auth-jwt's pathLogin does. */
  async login(mount: string, body: Record<string, unknown>): Promise<LoginOutcome> {
    const config = this.configs.get(mount);
    if (config === undefined) return fail(400, "could not load configuration");
    const roleName = typeof body.role === "string" ? body.role : "";
    if (roleName === "") return fail(400, "missing role");
    const role = this.roles.get(`${mount}|${roleName}`);
    if (role === undefined) return fail(400, `role "${roleName}" could not be found`);
    if ((role.roleType ?? "jwt") === "oidc") {
      return fail(400, "role with oidc role_type is not allowed");
    }
    const token = typeof body.jwt === "string" ? body.jwt : "";
    if (token === "") return fail(400, "missing token");
    const claims = await verifySignature(token, config.publicKeys);
    if (typeof claims === "string") {
      return fail(400, `error validating token: error verifying token signature: ${claims}`);
    }
    const invalid = validateClaims(claims, config, role);
    if (invalid !== undefined) return fail(400, `error validating token: ${invalid}`);
    const aud = claims.aud;
    if (
      (role.boundAudiences ?? []).length === 0 &&
      ((Array.isArray(aud) && aud.length > 0) || (typeof aud === "string" && aud !== ""))
    ) {
      return fail(400, "audience claim found in JWT but no audiences bound to the role");
    }
    const userClaim = role.userClaim ?? "sub";
    if (!(userClaim in claims)) return fail(400, `claim "${userClaim}" not found in token`);
    return granted(
      { policies: role.policies, ttlS: role.ttlS ?? 3600, maxTtlS: role.maxTtlS ?? 86400 },
      { role: roleName },
      "jwt",
    );
  }
}

/** The claims of a JWT whose signature one of `keys` verifies, or go-jose's/cap's error text. */
async function verifySignature(
  token: string,
  keys: CryptoKey[],
): Promise<Record<string, unknown> | string> {
  const parts = token.split(".");
  if (parts.length !== 3) return "go-jose/go-jose: compact JWS format must have three parts";
  let header: { alg?: string };
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(b64urlDecode(parts[0]!)));
    claims = JSON.parse(new TextDecoder().decode(b64urlDecode(parts[1]!)));
  } catch {
    return "go-jose/go-jose: invalid JWS";
  }
  const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
  let sig: Uint8Array<ArrayBuffer>;
  try {
    sig = b64urlDecode(parts[2]!);
  } catch {
    return "go-jose/go-jose: invalid JWS";
  }
  for (const key of keys) {
    const alg = header.alg === "ES256" && key.algorithm.name === "ECDSA"
      ? { name: "ECDSA", hash: "SHA-256" }
      : header.alg === "RS256" && key.algorithm.name === "RSASSA-PKCS1-v1_5"
      ? { name: "RSASSA-PKCS1-v1_5" }
      : undefined;
    if (alg === undefined) continue;
    try {
      if (await crypto.subtle.verify(alg, key, sig, signed)) return claims;
    } catch {
      // a malformed signature: not verified by this key
    }
  }
  return "no known key successfully validated the token signature";
}

/** hashicorp/cap's `Validator.Validate` claim checks, in its order; `undefined` when valid. */
function validateClaims(
  claims: Record<string, unknown>,
  config: JwtConfig,
  role: JwtRole,
): string | undefined {
  if (config.boundIssuer !== undefined && claims.iss !== config.boundIssuer) {
    return "invalid issuer (iss) claim";
  }
  if (role.boundSubject !== undefined && claims.sub !== role.boundSubject) {
    return "invalid subject (sub) claim";
  }
  const bound = role.boundAudiences ?? [];
  const aud = typeof claims.aud === "string"
    ? [claims.aud]
    : Array.isArray(claims.aud)
    ? claims.aud
    : [];
  if (bound.length > 0 && !bound.some((a) => aud.includes(a))) {
    return "invalid audience (aud) claim: audience claim does not match any expected audience";
  }
  const num = (v: unknown) => (typeof v === "number" ? Math.trunc(v) : 0);
  const iat = num(claims.iat);
  let exp = num(claims.exp);
  let nbf = num(claims.nbf);
  if (iat === 0 && exp === 0 && nbf === 0) {
    return "no issued at (iat), not before (nbf), or expiration time (exp) claims in token";
  }
  if (exp === 0) exp = Math.max(iat, nbf) + (role.expirationLeewayS ?? 150);
  if (nbf === 0) nbf = iat !== 0 ? iat : exp - (role.notBeforeLeewayS ?? 150);
  const skew = role.clockSkewLeewayS ?? 60;
  const now = Date.now() / 1000;
  if (now + skew < nbf) return "invalid not before (nbf) claim: token not yet valid";
  if (now - skew > exp) return "invalid expiration time (exp) claim: token is expired";
  if (iat !== 0 && now + skew < iat) {
    return "invalid issued at (iat) claim: token issued in the future";
  }
  return undefined;
}

// ---- cert ----------------------------------------------------------------------------------------------------

/** `auth/<mount>/certs/<name>` of a cert mount. */
export interface CertRole {
  /** PEM: a CA (clients it signed are trusted) or a leaf certificate (that certificate only). */
  certificate: string;
  allowedCommonNames?: string[];
  ttlS?: number;
  maxTtlS?: number;
  policies: string[];
}

interface ParsedRole {
  name: string;
  role: CertRole;
  cert: X509Certificate;
}

/** The cert auth backend of the test server. */
export class CertBackend {
  readonly #roles = new Map<string, ParsedRole>();
  /** mount -> revoked serial numbers (upper-case hex), standing in for the mount's CRLs. */
  readonly #revoked = new Map<string, Set<string>>();

  /** Declares a role. */
  add(mount: string, name: string, role: CertRole): void {
    this.#roles.set(`${mount}|${name}`, {
      name,
      role,
      cert: new X509Certificate(role.certificate),
    });
  }

  /** Revokes a serial number (hex, as `openssl x509 -serial` prints it) on `mount`. */
  revoke(mount: string, serialHex: string): void {
    const set = this.#revoked.get(mount) ?? new Set();
    set.add(serialHex.replace(/^0+/, "").toUpperCase());
    this.#revoked.set(mount, set);
  }

  /** Whether `mount` is a cert mount. */
  has(mount: string): boolean {
    return [...this.#roles.keys()].some((k) => k.startsWith(`${mount}|`));
  }

  /** `POST auth/<mount>/login` with optional `{ name }`, checked as builtin/credential/cert's verifyCredentials. */
  login(
    mount: string,
    body: Record<string, unknown>,
    peer: X509Certificate | undefined,
  ): LoginOutcome {
    if (peer === undefined) return fail(400, "client certificate must be supplied");
    const name = typeof body.name === "string" ? body.name : "";
    const roles = [...this.#roles.entries()]
      .filter(([k]) => k.startsWith(`${mount}|`) && (name === "" || k === `${mount}|${name}`))
      .map(([, r]) => r);
    const revoked = this.#revoked.get(mount) ?? new Set();
    const isRevoked = (c: X509Certificate) =>
      revoked.has(c.serialNumber.replace(/^0+/, "").toUpperCase());
    const now = Date.now();
    const valid = (c: X509Certificate) =>
      Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
    const matchesNames = (r: ParsedRole) =>
      (r.role.allowedCommonNames ?? []).length === 0 ||
      r.role.allowedCommonNames!.includes(commonName(peer));
    // A leaf registered as is.
    for (const r of roles) {
      if (
        !r.cert.ca && r.cert.fingerprint256 === peer.fingerprint256 && !isRevoked(peer) &&
        matchesNames(r)
      ) {
        return this.#success(r, peer);
      }
    }
    // Chains to a CA of the selected roles.
    const chains = roles.filter((r) =>
      r.cert.ca && valid(peer) && peer.checkIssued(r.cert) && peer.verify(r.cert.publicKey)
    );
    if (chains.length === 0) {
      return fail(400, "invalid certificate or no client certificate supplied");
    }
    const match = chains.find((r) => !isRevoked(peer) && !isRevoked(r.cert) && matchesNames(r));
    if (match === undefined) {
      return fail(
        400,
        "no chain matching all constraints could be found for this login certificate",
      );
    }
    return this.#success(match, peer);
  }

  #success(r: ParsedRole, peer: X509Certificate): LoginOutcome {
    return granted(
      { policies: r.role.policies, ttlS: r.role.ttlS ?? 3600, maxTtlS: r.role.maxTtlS ?? 86400 },
      {
        cert_name: r.name,
        common_name: commonName(peer),
        serial_number: BigInt(`0x${peer.serialNumber}`).toString(),
      },
      "cert",
    );
  }
}

function commonName(c: X509Certificate): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(c.subject)?.[1] ?? "";
}

// ---- response wrapping ---------------------------------------------------------------------------------------

interface Wrapped {
  response: Record<string, unknown>;
  creationPath: string;
  creationTime: string;
  ttlS: number;
  expiresAt: number;
  accessor: string;
}

/** Vault's error for a wrapping token that is unknown, used or expired (sdk/helper/consts). */
export const INVALID_WRAPPING_TOKEN = "wrapping token is not valid or does not exist";

/** Response-wrapping tokens of the test server (their cubbyholes). */
export class WrapBackend {
  readonly #tokens = new Map<string, Wrapped>();
  /** Every wrapping token ever issued (for leak scans). */
  readonly issued: string[] = [];

  /** Wraps `response` (a whole Vault answer); returns the `wrap_info` block. */
  wrap(
    response: Record<string, unknown>,
    creationPath: string,
    token: string,
    accessor: string,
    ttlS = 300,
  ): Record<string, unknown> {
    const creationTime = new Date().toISOString();
    this.#tokens.set(token, {
      response,
      creationPath,
      creationTime,
      ttlS,
      expiresAt: Date.now() + ttlS * 1000,
      accessor,
    });
    this.issued.push(token);
    return {
      token,
      accessor,
      ttl: ttlS,
      creation_time: creationTime,
      creation_path: creationPath,
      wrapped_accessor: "",
    };
  }

  #valid(token: string | undefined): Wrapped | undefined {
    const w = token === undefined ? undefined : this.#tokens.get(token);
    if (w === undefined || w.expiresAt <= Date.now()) return undefined;
    return w;
  }

  /** `sys/wrapping/lookup` data, or `undefined` for an invalid token. */
  lookup(token: string | undefined): Record<string, unknown> | undefined {
    const w = this.#valid(token);
    if (w === undefined) return undefined;
    return {
      creation_path: w.creationPath,
      creation_time: w.creationTime,
      creation_ttl: w.ttlS,
    };
  }

  /** `sys/wrapping/unwrap`: the wrapped answer, once; `undefined` for an invalid token. */
  unwrap(token: string | undefined): Record<string, unknown> | undefined {
    const w = this.#valid(token);
    if (w === undefined) return undefined;
    this.#tokens.delete(token!);
    return w.response;
  }
}
