/**
 * Decodes `struct x00_exec_event` (bpf/exec_monitor.h) into {@linkcode ExecEvent}, {@linkcode ForkEvent} and
 * {@linkcode ExitEvent}. Offsets mirror the C struct. Records have variable size: the header
 * (`EXEC_HEADER_SIZE`), then for an exec the filename and argv bytes it counts; every record's size is checked
 * against its own header.
 *
 * @module
 */
import { bootStampRfc3339 } from "./time.ts";
import type { ExecEvent, ExitEvent, ForkEvent, ProcessIdentity } from "./types.ts";

/** sizeof(struct x00_exec_event): the largest record. */
export const EXEC_EVENT_SIZE = 848;
/** X00_EXEC_HEADER_LEN: a fork or exit record's size, and where an exec record's filename starts. */
export const EXEC_HEADER_SIZE = 80;

const KIND_EXEC = 1;
const KIND_FORK = 2;
const KIND_EXIT = 3;
const COMM = 56;
const FILENAME_LEN_AT = 72;
const FILENAME_MAX = 255;
const ARGS_MAX = 512;

const decoder = new TextDecoder();

/** A byte that is not ASCII, in a string made of bytes (one char per byte). */
const NON_ASCII = /[\x80-\xff]/;

/**
 * `buf[start, end)` as UTF-8 text, exactly as `TextDecoder` decodes it. ASCII, which nearly every command name,
 * path and argument is, is turned into a string by a builtin without leaving JavaScript (a `TextDecoder` call
 * costs about as much as the rest of an exec event's decoding); anything else goes to `TextDecoder`. Builtins
 * (`String.fromCharCode`, a regular expression, `indexOf`) rather than loops in JavaScript: a consumer decodes
 * most of its records before V8 has optimized its code, and builtins are fast from the first call.
 */
export function utf8(buf: Uint8Array, start: number, end: number): string {
  if (start >= end) return "";
  // At most a few hundred bytes here (the record's fields are bounded), far below the argument-count limit.
  const bytes = String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  return NON_ASCII.test(bytes) ? decoder.decode(buf.subarray(start, end)) : bytes;
}

/** A NUL-terminated C string inside `buf`. */
export function cString(buf: Uint8Array, offset: number, max: number): string {
  const limit = Math.min(offset + max, buf.length);
  const nul = buf.indexOf(0, offset);
  return utf8(buf, offset, nul < 0 || nul > limit ? limit : nul);
}

/** The NUL-separated argv in `buf[start, end)`. */
function argsOf(buf: Uint8Array, start: number, end: number): string[] {
  const out: string[] = [];
  let from = start;
  while (from < end) {
    const nul = buf.indexOf(0, from);
    const to = nul < 0 || nul > end ? end : nul;
    out.push(utf8(buf, from, to));
    from = to + 1;
  }
  return out;
}

/** Splits a NUL-separated argv block. */
export function splitArgs(block: Uint8Array): string[] {
  return argsOf(block, 0, block.length);
}

/** The little-endian u32 at `offset`. */
function u32(b: Uint8Array, offset: number): number {
  return (b[offset]! | b[offset + 1]! << 8 | b[offset + 2]! << 16 | b[offset + 3]! << 24) >>> 0;
}

/** The decimal string of the u64 at `offset`, remembered for the last value (a cgroup id repeats). */
let lastCgroup = { lo: -1, hi: -1, text: "" };
function cgroupIdText(b: Uint8Array, offset: number): string {
  const lo = u32(b, offset);
  const hi = u32(b, offset + 4);
  if (lo !== lastCgroup.lo || hi !== lastCgroup.hi) {
    lastCgroup = { lo, hi, text: ((BigInt(hi) << 32n) | BigInt(lo)).toString() };
  }
  return lastCgroup.text;
}

/** Thrown for a record of the wrong size (an object and a decoder out of step). */
export class EventSizeError extends Error {
  constructor(what: string, got: number, want: number | string) {
    super(`Cannot decode ${what} as the record has ${got} bytes: expected ${want}`);
    this.name = "EventSizeError";
  }
}

/**
 * Decodes one exec-monitor record.
 *
 * @example Usage
 * ```ts ignore
 * ring.add(obj.map("events"), (data) => sink.write(decodeExecEvent(data)));
 * ```
 */
export function decodeExecEvent(data: Uint8Array): ExecEvent | ForkEvent | ExitEvent {
  if (data.length < EXEC_HEADER_SIZE) {
    throw new EventSizeError("exec event", data.length, `at least ${EXEC_HEADER_SIZE}`);
  }
  const kind = u32(data, 16);
  const time = bootStampRfc3339(u32(data, 0), u32(data, 4));
  if (kind === KIND_EXEC) {
    const filenameLen = u32(data, FILENAME_LEN_AT);
    const argsLen = u32(data, 40);
    const size = EXEC_HEADER_SIZE + filenameLen + argsLen;
    if (filenameLen > FILENAME_MAX || argsLen > ARGS_MAX || data.length !== size) {
      throw new EventSizeError(
        "exec event",
        data.length,
        `${EXEC_HEADER_SIZE} + ${filenameLen} (filename) + ${argsLen} (args)`,
      );
    }
    const args = EXEC_HEADER_SIZE + filenameLen;
    const filename = utf8(data, EXEC_HEADER_SIZE, args);
    // One object literal per kind, fields in the order of the JSON (exe last): one shape each.
    const process: ProcessIdentity = {
      pid: u32(data, 20),
      tid: u32(data, 24),
      ppid: u32(data, 28),
      uid: u32(data, 32),
      gid: u32(data, 36),
      comm: cString(data, COMM, 16),
      cgroup_id: cgroupIdText(data, 8),
      exe: filename,
    };
    return {
      type: "exec",
      time,
      process,
      filename,
      args: argsOf(data, args, size),
      args_truncated: u32(data, 44) !== 0,
    };
  }
  if (kind !== KIND_FORK && kind !== KIND_EXIT) {
    throw new Error(`Cannot decode exec event as kind ${kind} is unknown`);
  }
  if (data.length !== EXEC_HEADER_SIZE) {
    throw new EventSizeError("exec event", data.length, EXEC_HEADER_SIZE);
  }
  const process: ProcessIdentity = {
    pid: u32(data, 20),
    tid: u32(data, 24),
    ppid: u32(data, 28),
    uid: u32(data, 32),
    gid: u32(data, 36),
    comm: cString(data, COMM, 16),
    cgroup_id: cgroupIdText(data, 8),
  };
  if (kind === KIND_FORK) return { type: "fork", time, process, child_pid: u32(data, 52) };
  const raw = u32(data, 48) | 0;
  return { type: "exit", time, process, exit_code: (raw >> 8) & 0xff, signal: raw & 0x7f };
}
