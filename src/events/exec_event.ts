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

/** A NUL-terminated C string inside `buf`. */
export function cString(buf: Uint8Array, offset: number, max: number): string {
  const slice = buf.subarray(offset, offset + max);
  const end = slice.indexOf(0);
  return decoder.decode(end < 0 ? slice : slice.subarray(0, end));
}

/** Splits a NUL-separated argv block. */
export function splitArgs(block: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < block.length; i++) {
    if (block[i] === 0) {
      out.push(decoder.decode(block.subarray(start, i)));
      start = i + 1;
    }
  }
  if (start < block.length) out.push(decoder.decode(block.subarray(start)));
  return out;
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
    cgroup_id: v.getBigUint64(8, true).toString(),
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
