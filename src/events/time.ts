/**
 * Converts kernel boot-time nanoseconds (bpf_ktime_get_boot_ns) to RFC 3339 UTC with nanoseconds.
 *
 * @module
 */
import { CLOCK_BOOTTIME, CLOCK_REALTIME, clockNs } from "../../ffi/libc.ts";

let offset: bigint | undefined;

/** Nanoseconds to add to a boot-time stamp to get Unix time (measured once). */
function bootToRealtime(): bigint {
  offset ??= clockNs(CLOCK_REALTIME) - clockNs(CLOCK_BOOTTIME);
  return offset;
}

/** The `YYYY-MM-DDTHH:MM:SS` of the last second formatted (events come in bursts within one second). */
let lastSecond = -1n;
let lastBase = "";

/** Formats Unix nanoseconds as `2026-11-28T22:01:47.123456789Z`. */
export function rfc3339Nanos(unixNs: bigint): string {
  const second = unixNs / 1_000_000_000n;
  const frac = (unixNs - second * 1_000_000_000n).toString().padStart(9, "0");
  if (second !== lastSecond || unixNs < 0n) {
    const base = new Date(Number(unixNs / 1_000_000n)).toISOString().slice(0, 19);
    if (unixNs < 0n) return `${base}.${frac}Z`; // before 1970 (not a real event): not cached
    lastBase = base;
    lastSecond = second;
  }
  return `${lastBase}.${frac}Z`;
}

/** RFC 3339 time of a boot-time stamp. */
export function bootNsToRfc3339(bootNs: bigint): string {
  return rfc3339Nanos(bootNs + bootToRealtime());
}

/** Unix seconds and nanoseconds of the boot-time stamp (`stampHi`, `stampLo`), worked out with BigInt. */
let stampHi = -1;
let stampLo = 0;
let stampSecond = 0;
let stampNanos = 0;
const NINE_ZEROS = "000000000";

/**
 * `bootNsToRfc3339()` of the u64 `hi * 2^32 + lo`, with the same text, without BigInt for most stamps: only a
 * stamp whose high word differs from the last one's (every 4.3 s) is converted with BigInt; the others are that
 * one plus the difference of the low words, which a double holds exactly.
 */
export function bootStampRfc3339(lo: number, hi: number): string {
  if (hi !== stampHi) {
    const unixNs = ((BigInt(hi) << 32n) | BigInt(lo)) + bootToRealtime();
    if (unixNs < 0n) return rfc3339Nanos(unixNs); // before 1970: not a real event, not cached
    stampSecond = Number(unixNs / 1_000_000_000n);
    stampNanos = Number(unixNs % 1_000_000_000n);
    stampHi = hi;
    stampLo = lo;
  }
  let second = stampSecond;
  let nanos = stampNanos + (lo - stampLo); // |lo - stampLo| < 2^32: exact
  if (nanos < 0 || nanos >= 1_000_000_000) {
    const carry = Math.floor(nanos / 1_000_000_000);
    second += carry;
    nanos -= carry * 1_000_000_000;
  }
  if (second !== lastSecondNumber) {
    lastSecondNumber = second;
    lastBaseNumber = new Date(second * 1000).toISOString().slice(0, 19);
  }
  const frac = String(nanos);
  return lastBaseNumber + "." + NINE_ZEROS.slice(frac.length) + frac + "Z";
}
let lastSecondNumber = -1;
let lastBaseNumber = "";

/** RFC 3339 time of now. */
export function nowRfc3339(): string {
  return rfc3339Nanos(clockNs(CLOCK_REALTIME));
}
