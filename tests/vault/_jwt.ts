/**
 * Test JWTs: an ES256 key pair made with WebCrypto and compact JWS signing, for the test server's JWT auth.
 *
 * @module
 */

/** A signing key pair: `publicKey` goes in the server's JWT config. */
export function generateJwtKey(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
    "verify",
  ]);
}

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

/** Signs `claims` as an ES256 compact JWS. */
export async function signJwt(key: CryptoKey, claims: Record<string, unknown>): Promise<string> {
  const enc = new TextEncoder();
  const head = b64url(enc.encode(JSON.stringify({ alg: "ES256", typ: "JWT", kid: "test" })));
  const body = b64url(enc.encode(JSON.stringify(claims)));
  const sig = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    enc.encode(`${head}.${body}`),
  );
  return `${head}.${body}.${b64url(new Uint8Array(sig))}`;
}

/** Claims of a workload identity token: `sub`, `aud`, `iat`, `exp` (`ttlS` from now; negative: expired). */
export function workloadClaims(
  opts: { aud?: string | string[]; ttlS?: number; sub?: string } = {},
): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const ttl = opts.ttlS ?? 600;
  return {
    iss: "https://issuer.test",
    sub: opts.sub ?? "system:serviceaccount:app:web",
    aud: opts.aud ?? "vault",
    iat: ttl < 0 ? now + ttl - 600 : now,
    exp: now + ttl,
  };
}
