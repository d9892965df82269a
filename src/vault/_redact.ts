/**
 * Internal: keeps text that comes from outside (Vault's error strings, TLS library messages) free of credentials
 * before it reaches an error message or a log line.
 *
 * @module
 */

/** Vault token shapes: `hvs.`/`hvb.`/`hvr.` (1.10+), legacy `s.`/`b.`/`r.` service tokens, UUIDs (old tokens). */
const TOKEN_PATTERNS: RegExp[] = [
  /\bhv[sbr]\.[A-Za-z0-9_-]{8,}/g,
  /\b[sbr]\.[A-Za-z0-9]{20,}/g,
  /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi,
  /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, // JWTs
];

/** Longest piece of foreign text kept in a message. */
const MAX_FOREIGN_LENGTH = 200;

/**
 * Remembers credentials (tokens, secret_ids, JWTs) the client has handled and removes them, and anything shaped
 * like a token, from text before it is used in a message.
 */
export class Redactor {
  #known = new Set<string>();

  /** Registers a credential to remove from any text later cleaned. Short strings are ignored (too many hits). */
  add(secret: string): void {
    if (secret.length >= 6) this.#known.add(secret);
  }

  /** Returns `text` without known credentials, token-shaped strings or control characters, cut to 200 chars. */
  clean(text: string): string {
    let out = text;
    for (const s of this.#known) out = out.split(s).join("[redacted]");
    for (const re of TOKEN_PATTERNS) out = out.replace(re, "[redacted]");
    // deno-lint-ignore no-control-regex
    out = out.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
    if (out.length > MAX_FOREIGN_LENGTH) out = out.slice(0, MAX_FOREIGN_LENGTH) + "…";
    return out;
  }
}
