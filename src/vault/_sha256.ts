/**
 * SHA-256, synchronous, without Node compatibility: `@noble/hashes` (audited, dependency-free ES modules). The
 * Vault side fingerprints values it must recognise but never keep (secret values for redaction, the delivered
 * secret for change detection, a wrapping token's unwrapped file). `node:crypto` would do the same but costs
 * 40-65 ms of start-up to import; `crypto.subtle.digest` is asynchronous, a thread-pool round trip per call.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2";

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * The SHA-256 of `data` (a string is hashed as its UTF-8 bytes), as 64 lower-case hex digits.
 *
 * @example Usage
 * ```ts
 * import { sha256Hex } from "./_sha256.ts";
 * console.assert(sha256Hex("abc").startsWith("ba7816bf"));
 * ```
 */
export function sha256Hex(data: string | Uint8Array): string {
  const digest = sha256(typeof data === "string" ? new TextEncoder().encode(data) : data);
  let out = "";
  for (const b of digest) out += HEX[b];
  return out;
}
