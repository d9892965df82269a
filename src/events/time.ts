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

/** RFC 3339 time of now. */
export function nowRfc3339(): string {
  return rfc3339Nanos(clockNs(CLOCK_REALTIME));
}
