/**
 * Durations as X00 writes them everywhere (CLI flags and policy files): `500ms`, `30s`, `5m`, `1h`, `1m30s`.
 *
 * @module
 */

/** The grammar as a regular expression source (also used by the policy JSON Schema). */
export const DURATION_PATTERN = "^(?=\\d)(?:(\\d+)h)?(?:(\\d+)m(?!s))?(?:(\\d+)s)?(?:(\\d+)ms)?$";
const DURATION = new RegExp(DURATION_PATTERN);

/**
 * Milliseconds of a duration, or `undefined` when the text is not one.
 *
 * @example Usage
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * console.assert(parseDuration("1m30s") === 90_000);
 * console.assert(parseDuration("soon") === undefined);
 * ```
 */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const [, h = "0", min = "0", s = "0", ms = "0"] = m;
  const total = Number(h) * 3_600_000 + Number(min) * 60_000 + Number(s) * 1000 + Number(ms);
  return Number.isSafeInteger(total) ? total : undefined;
}
