/**
 * Internal: keeps text that comes from outside (Vault's error strings, TLS library messages) free of credentials
 * before it reaches an error message or a log line.
 *
 * @module
 */

import { sha256Hex } from "./_sha256.ts";

/** Credential shapes: Vault tokens (`hvs.`/`hvb.`/`hvr.`, legacy `s.`/`b.`/`r.`, UUIDs), JWTs, PEM blocks. */
const TOKEN_PATTERNS: RegExp[] = [
  /\bhv[sbr]\.[A-Za-z0-9_-]{8,}/g,
  /\b[sbr]\.[A-Za-z0-9]{20,}/g,
  /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi,
  /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, // JWTs
  // PEM blocks (private keys, certificates), to their END line or, cut short, to the end of the text.
  /-----BEGIN ([A-Z0-9 ]{1,40})-----[\s\S]*?(?:-----END \1-----|$)/g,
];

/** How many value hashes a redactor remembers (the oldest are forgotten first). */
const MAX_VALUE_HASHES = 4096;

/** The shortest word of a multi-word secret value that is registered on its own. */
const MIN_PART_LENGTH = 16;

/** A word of foreign text: split on whitespace, quotes, brackets and commas. */
const WORD = /[^\s"'`,;()[\]{}<>]+/g;

/** Longest piece of foreign text kept in a message. */
const MAX_FOREIGN_LENGTH = 200;

/**
 * Remembers credentials (tokens, secret_ids, JWTs) the client has handled and removes them, and anything shaped
 * like a token, from text before it is used in a message.
 */
export class Redactor {
  #known = new Set<string>();
  #valueHashes = new Set<string>();

  /** Registers a credential to remove from any text later cleaned. Short strings are ignored (too many hits). */
  add(secret: string): void {
    if (secret.length >= 6) this.#known.add(secret);
  }

  /**
   * Registers a secret value by its SHA-256 only (the value itself is not kept): a word of a later cleaned text
   * that equals it is replaced. A value of several words (a PEM text's base64 lines, say) also registers each of
   * its words of {@linkcode MIN_PART_LENGTH} characters or more, so a text quoting part of it loses those words;
   * shorter words of such a value are not found this way.
   */
  addValue(value: string): void {
    if (value.length < 6) return;
    this.#addHash(value);
    const words = value.match(WORD) ?? [];
    if (words.length > 1) {
      for (const w of words) if (w.length >= MIN_PART_LENGTH) this.#addHash(w);
    }
  }

  #addHash(value: string): void {
    if (this.#valueHashes.size >= MAX_VALUE_HASHES) {
      const oldest = this.#valueHashes.values().next().value;
      if (oldest !== undefined) this.#valueHashes.delete(oldest);
    }
    this.#valueHashes.add(sha256Hex(value));
  }

  /** Returns `text` without known credentials, token-shaped strings or control characters, cut to 200 chars. */
  clean(text: string): string {
    let out = text;
    for (const s of this.#known) out = out.split(s).join("[redacted]");
    if (this.#valueHashes.size > 0) {
      out = out.replace(
        WORD,
        (w) => w.length >= 6 && this.#valueHashes.has(sha256Hex(w)) ? "[redacted]" : w,
      );
    }
    for (const re of TOKEN_PATTERNS) out = out.replace(re, "[redacted]");
    // deno-lint-ignore no-control-regex
    out = out.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
    if (out.length > MAX_FOREIGN_LENGTH) out = out.slice(0, MAX_FOREIGN_LENGTH) + "…";
    return out;
  }
}
