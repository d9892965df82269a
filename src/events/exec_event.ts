/**
 * Decodes `struct x00_exec_event` (bpf/exec_monitor.h) into {@linkcode ExecEvent}, {@linkcode ForkEvent} and
 * {@linkcode ExitEvent}. Offsets mirror the C struct; `EXEC_EVENT_SIZE` is checked on every record.
 *
 * @module
 */
import { bootNsToRfc3339 } from "./time.ts";
import type { ExecEvent, ExitEvent, ForkEvent, ProcessIdentity } from "./types.ts";

/** sizeof(struct x00_exec_event). */
export const EXEC_EVENT_SIZE = 840;

const KIND_EXEC = 1;
const KIND_FORK = 2;
const KIND_EXIT = 3;
const COMM = 56;
const FILENAME = 72;
const ARGS = 328;
const ARGS_LEN = 512;

const decoder = new TextDecoder();

/**
 * `buf[start, end)` as UTF-8 text, exactly as `TextDecoder` decodes it. ASCII, which nearly every command name,
 * path and argument is, is turned into a string without leaving JavaScript (a `TextDecoder` call costs about as
 * much as the rest of an exec event's decoding); anything else goes to `TextDecoder`.
 */
export function utf8(buf: Uint8Array, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    if (buf[i]! >= 0x80) return decoder.decode(buf.subarray(start, end));
  }
  // At most a few hundred bytes here (the record's fields are bounded), far below the argument-count limit.
  return String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
}

/** A NUL-terminated C string inside `buf`. */
export function cString(buf: Uint8Array, offset: number, max: number): string {
  const limit = Math.min(offset + max, buf.length);
  let end = offset;
  while (end < limit && buf[end] !== 0) end++;
  return utf8(buf, offset, end);
}

/** Splits a NUL-separated argv block. */
export function splitArgs(block: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < block.length; i++) {
    if (block[i] === 0) {
      out.push(utf8(block, start, i));
      start = i + 1;
    }
  }
  if (start < block.length) out.push(utf8(block, start, block.length));
  return out;
}

/** The decimal string of the u64 at `offset`, remembered for the last value (a cgroup id repeats). */
let lastCgroup = { lo: -1, hi: -1, text: "" };
function cgroupIdText(v: DataView, offset: number): string {
  const lo = v.getUint32(offset, true);
  const hi = v.getUint32(offset + 4, true);
  if (lo !== lastCgroup.lo || hi !== lastCgroup.hi) {
    lastCgroup = { lo, hi, text: v.getBigUint64(offset, true).toString() };
  }
  return lastCgroup.text;
}

/** Thrown for a record of the wrong size (an object and a decoder out of step). */
export class EventSizeError extends Error {
  constructor(what: string, got: number, want: number) {
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
  if (data.length !== EXEC_EVENT_SIZE) {
    throw new EventSizeError("exec event", data.length, EXEC_EVENT_SIZE);
  }
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const kind = v.getUint32(16, true);
  const process: ProcessIdentity = {
    pid: v.getUint32(20, true),
    tid: v.getUint32(24, true),
    ppid: v.getUint32(28, true),
    uid: v.getUint32(32, true),
    gid: v.getUint32(36, true),
    comm: cString(data, COMM, 16),
    cgroup_id: cgroupIdText(v, 8),
  };
  const time = bootNsToRfc3339(v.getBigUint64(0, true));
  if (kind === KIND_FORK) {
    return { type: "fork", time, process, child_pid: v.getUint32(52, true) };
  }
  if (kind === KIND_EXIT) {
    const raw = v.getInt32(48, true);
    return { type: "exit", time, process, exit_code: (raw >> 8) & 0xff, signal: raw & 0x7f };
  }
  if (kind !== KIND_EXEC) throw new Error(`Cannot decode exec event as kind ${kind} is unknown`);
  const argsLen = Math.min(v.getUint32(40, true), ARGS_LEN);
  const filename = cString(data, FILENAME, 256);
  process.exe = filename;
  return {
    type: "exec",
    time,
    process,
    filename,
    args: splitArgs(data.subarray(ARGS, ARGS + argsLen)),
    args_truncated: v.getUint32(44, true) !== 0,
  };
}
