/**
 * No debugger port, ever. Deno 2.9.2 and later (`deno run`) open a V8 inspector on 127.0.0.1:9229, without
 * authentication, when the process receives SIGUSR1 (`spawn_sigusr1_inspector_listener` in Deno's
 * `cli/worker.rs`, started about 500 ms after start-up). No flag, variable or API turns it off; a JavaScript
 * listener, a mask in one thread or an inherited SIG_IGN do not stop it. A process whose threads all have
 * SIGUSR1 blocked never opens it: the signal stays pending, and only a signalfd reads it.
 *
 * So X00 re-executes itself once, first thing, with SIGUSR1 blocked: the mask survives `execve`, and every
 * thread the new runtime creates inherits it. `x00 run` reads SIGUSR1 from a signalfd and forwards it to the
 * workload, which starts with an empty mask (Deno's spawn resets it).
 *
 * @module
 */
import { blockSignals, execve } from "../../ffi/libc.ts";
import { X00Error } from "../errors.ts";
import { denoSettingsPrepared, ownDenoEnvironment } from "./deno_settings.ts";

/** SIGUSR1 on Linux. */
export const SIGUSR1 = 10;

/** The blocked-signal masks of every thread of this process (from /proc/self/task/TID/status). */
export function threadSignalMasks(pid: number | "self" = "self"): bigint[] {
  const masks: bigint[] = [];
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    let status: string;
    try {
      status = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/status`);
    } catch {
      continue; // the thread ended meanwhile
    }
    const m = /^SigBlk:\s*([0-9a-f]+)$/m.exec(status);
    if (m) masks.push(BigInt(`0x${m[1]}`));
  }
  return masks;
}

/** Whether SIGUSR1 is blocked in every thread of this process (then no inspector can be opened by it). */
export function inspectorSignalBlocked(): boolean {
  const bit = 1n << BigInt(SIGUSR1 - 1);
  const masks = threadSignalMasks();
  return masks.length > 0 && masks.every((m) => (m & bit) !== 0n);
}

/** This process's argv as the kernel holds it. */
function ownArgv(): string[] {
  const raw = Deno.readTextFileSync("/proc/self/cmdline");
  const argv = raw.split("\0");
  if (argv.at(-1) === "") argv.pop();
  return argv;
}

/**
 * Makes sure SIGUSR1 is blocked in every thread and this process runs with X00's Deno settings (no TLS root of
 * Deno's own, no update check: src/hardening/deno_settings.ts): returns at once when both hold, else re-executes
 * this process (same executable and argv, the environment of `ownDenoEnvironment`) with SIGUSR1 blocked and never
 * returns. Throws when `execve` fails: X00 must not go on with a process that a signal can open a debugger in.
 *
 * @example Usage
 * ```ts ignore
 * ensureInspectorSignalBlocked(); // first statement of the CLI entry point
 * ```
 */
export function ensureInspectorSignalBlocked(): void {
  const own = Deno.env.toObject();
  if (inspectorSignalBlocked() && denoSettingsPrepared(own)) return;
  blockSignals([SIGUSR1]);
  const env = Object.entries(ownDenoEnvironment(own)).map(([k, v]) => `${k}=${v}`);
  try {
    execve("/proc/self/exe", ownArgv(), env);
  } catch (e) {
    throw new X00Error(
      `Cannot restart x00 with SIGUSR1 blocked (Deno would open a debugger on it): ${
        e instanceof Error ? e.message : String(e)
      }`,
      { cause: e },
    );
  }
}
